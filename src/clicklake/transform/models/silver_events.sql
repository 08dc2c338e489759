-- silver.events: one row per event, flattened and normalised (seed 004 section 4.1).
--
-- Reads bronze.events for the event days in scope(day), the UTC dates of `ts`.
--   * event_dt is the UTC date of ts and event_hour its hour ("00" to "23"), so an
--     event that arrives days late still lands on the day it happened;
--   * nested objects become flat columns, and empty strings become null;
--   * bots are kept, flagged by is_bot;
--   * an event id that a site sent twice on one day is kept once, the copy ingested
--     first (silver_events_filtered.sql lists the others with the reason);
--   * is_duplicate_order marks a purchase whose order id the site sent earlier that day.
-- is_comparison_page(site_id, url) is a macro that the runner defines from the
-- settings transform.comparison_pattern and transform.site_comparison_patterns.
--
-- Written to be fast as well as read: the wide rows are read once and go through no
-- window, sort or regular expression. Repeated event ids and order ids are found on the
-- key columns alone (there are few, usually none), and each distinct URL is parsed once.
with in_scope as not materialized (
    select *, cast(ts as date) as day
    from bronze.events
    where cast(ts as date) in (select day from scope)
),

-- the columns that decide which rows are kept and how they are flagged, for every copy
keys as materialized (
    select
        site_id,
        event_id,
        day,
        ingest_ts,
        ts,
        event_type,
        nullif("order".order_id, '') as order_id,
        nullif(ctx.page_url, '') as page_url
    from in_scope
),

-- (site_id, event_id, day) sent more than once
repeated as (
    select site_id, event_id, day
    from keys
    group by all
    having count(*) > 1
),

-- the copy of each event that silver keeps: of the copies of a repeated event, the one
-- ingested first; kept_keys for the key columns, kept for the whole rows
kept_keys as (
    select k.*
    from keys as k
    anti join repeated as r on r.site_id = k.site_id and r.event_id = k.event_id and r.day = k.day
    union all
    (
        select k.*
        from keys as k
        semi join repeated as r on r.site_id = k.site_id and r.event_id = k.event_id and r.day = k.day
        qualify row_number() over (partition by site_id, event_id, day order by ingest_ts, ts, event_type) = 1
    )
),

kept as not materialized (
    select i.*
    from in_scope as i
    anti join repeated as r on r.site_id = i.site_id and r.event_id = i.event_id and r.day = i.day
    union all
    (
        select i.*
        from in_scope as i
        semi join repeated as r on r.site_id = i.site_id and r.event_id = i.event_id and r.day = i.day
        qualify row_number() over (partition by site_id, event_id, day order by ingest_ts, ts, event_type) = 1
    )
),

-- purchases whose order id the site sent earlier the same day (a reloaded thank-you page)
repeated_orders as (
    select site_id, event_id, day
    from kept_keys
    where event_type = 'purchase' and order_id is not null
    qualify row_number() over (partition by site_id, order_id, day order by ts, event_id) > 1
),

-- each distinct page URL once: its path (what the dashboard groups pages by), and whether
-- it is one of the site's comparison pages
pages as (
    select
        site_id,
        page_url,
        case
            when regexp_matches(page_url, '^[A-Za-z][A-Za-z0-9+.-]*://')
                then coalesce(
                    nullif(regexp_extract(page_url, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1), ''), '/'
                )
            else nullif(regexp_extract(page_url, '^[^?#]*'), '')
        end as page_path,
        coalesce(is_comparison_page(site_id, page_url), false) as comparison_page
    from (select distinct site_id, page_url from keys where page_url is not null)
),

flat as not materialized (
    select
        site_id,
        event_id,
        event_type,
        ts,
        ingest_ts,
        nullif(session.session_id, '') as session_id,
        nullif("user".visitor_id, '') as visitor_id,
        nullif("user".user_id_hash, '') as user_id_hash,
        nullif("user".anonymous_id, '') as anonymous_id,
        nullif("user".geo_country, '') as geo_country,
        nullif(ctx.page_url, '') as page_url,
        nullif(ctx.title, '') as page_title,
        nullif(ctx.referrer, '') as referrer,
        nullif(traffic.referrer_host, '') as referrer_host,
        nullif(traffic.referrer_class, '') as referrer_class,
        nullif(ctx.locale, '') as locale,
        nullif(ctx.user_agent, '') as user_agent,
        nullif(ctx.ab_variant, '') as ab_variant,
        nullif(session.utm.source, '') as utm_source,
        nullif(session.utm.medium, '') as utm_medium,
        nullif(session.utm.campaign, '') as utm_campaign,
        nullif(session.utm.term, '') as utm_term,
        nullif(session.utm.content, '') as utm_content,
        nullif(device.device_type, '') as device_type,
        nullif(device.browser, '') as browser,
        nullif(device.browser_version, '') as browser_version,
        nullif(device.os, '') as os,
        nullif(device.os_version, '') as os_version,
        coalesce(device.is_bot, false) as is_bot,
        nullif(chart.action, '') as chart_action,
        nullif(chart.control_id, '') as chart_control_id,
        nullif(chart.control_value, '') as chart_control_value,
        chart.product_ids as product_ids,
        nullif(affiliate.link_id, '') as affiliate_link_id,
        nullif(affiliate.target, '') as affiliate_target,
        affiliate.payout_cents as payout_cents,
        nullif(product.product_id, '') as product_id,
        nullif(product.name, '') as product_name,
        nullif(product.category, '') as product_category,
        nullif(product.brand, '') as product_brand,
        nullif(product.variant, '') as product_variant,
        product.price_minor as product_price_minor,
        nullif(product.currency, '') as product_currency,
        product.quantity as product_quantity,
        nullif(product.list_name, '') as product_list_name,
        product.position as product_position,
        nullif("order".order_id, '') as order_id,
        "order".revenue_minor as revenue_minor,
        nullif("order".currency, '') as currency,
        "order".tax_minor as tax_minor,
        "order".shipping_minor as shipping_minor,
        "order".discount_minor as discount_minor,
        nullif("order".coupon, '') as coupon,
        "order".items as order_items,
        nullif(search.query, '') as search_query,
        search.results_count as search_results_count,
        nullif(search.category, '') as search_category,
        nullif(qr.link_id, '') as qr_link_id,
        nullif(qr.placement, '') as qr_placement,
        nullif(qr.target, '') as qr_target,
        nullif(custom.name, '') as custom_name,
        custom.properties as custom_properties,
        nullif(metadata.sdk_version, '') as sdk_version,
        metadata.experiment_keys as experiment_keys,
        nullif(metadata.schema_hash, '') as schema_hash,
        nullif(schema_version, '') as schema_version,
        nullif(source, '') as source,
        privacy.ads as consent_ads,
        nullif(privacy.source_ip_anonymized, '') as source_ip_anonymized,
        day as event_dt,
        strftime(ts, '%H') as event_hour
    from kept
)

select
    f.*,
    p.page_path,
    f.event_type = 'page_view' and coalesce(p.comparison_page, false) as is_comparison,
    o.event_id is not null as is_duplicate_order
from flat as f
left join pages as p on p.site_id = f.site_id and p.page_url = f.page_url
left join repeated_orders as o on o.site_id = f.site_id and o.event_id = f.event_id and o.day = f.event_dt
