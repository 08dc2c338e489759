-- gold.kpi_daily: the dashboard's figures, pre-aggregated per site, day, dimension and value.
--
-- Reads silver.sessions, silver.events and session_events for the days in scope(day).
-- Sessions of bots are left out.
--   * Session dimensions (all, entry_page, referrer, channel, utm_source, utm_medium,
--     utm_campaign, country, device, browser, os, ab_variant): the sessions that started
--     that day, by their entry attributes. visitors are distinct visitors; pageviews,
--     bounces, duration_ms (summed), conversions (sessions with an order), revenue_minor,
--     affiliate_clicks and payout_cents are the sessions' own totals.
--   * The page dimension: the events of that day, by page path. visitors, sessions,
--     bounces and conversions count those with a page view of the page; revenue_minor,
--     affiliate_clicks and payout_cents the purchases and clicks made on it; duration_ms
--     is null (time on a page is not measured).
-- A missing value is "(none)". Revenue adds minor units as they come: it assumes one
-- currency per site (a data-quality check warns when a day has several).
--
-- Distinct visitors and sessions are counted without a wide row per dimension value: the
-- session dimensions are grouping sets over one narrow pass of the sessions; the page
-- dimension groups the events once by page and session and once by page and visitor, and
-- counts the groups.
with sessions as (
    select
        site_id,
        event_dt,
        visitor_id,
        pageviews,
        is_bounce,
        duration_ms,
        orders,
        revenue_minor,
        affiliate_clicks,
        payout_cents,
        coalesce(entry_page, '(none)') as entry_page,
        coalesce(referrer_host, '(none)') as referrer,
        coalesce(channel, '(none)') as channel,
        coalesce(utm_source, '(none)') as utm_source,
        coalesce(utm_medium, '(none)') as utm_medium,
        coalesce(utm_campaign, '(none)') as utm_campaign,
        coalesce(geo_country, '(none)') as country,
        coalesce(device_type, '(none)') as device,
        coalesce(browser, '(none)') as browser,
        coalesce(os, '(none)') as os,
        coalesce(ab_variant, '(none)') as ab_variant
    from silver.sessions
    where event_dt in (select day from scope) and not is_bot
),

-- one grouping set per dimension; a value is never null (a missing one is '(none)'), so the
-- set a row comes from is the one column that is not null, or none for 'all'
session_rows as (
    select
        site_id,
        event_dt,
        case
            when grouping(entry_page) = 0 then 'entry_page'
            when grouping(referrer) = 0 then 'referrer'
            when grouping(channel) = 0 then 'channel'
            when grouping(utm_source) = 0 then 'utm_source'
            when grouping(utm_medium) = 0 then 'utm_medium'
            when grouping(utm_campaign) = 0 then 'utm_campaign'
            when grouping(country) = 0 then 'country'
            when grouping(device) = 0 then 'device'
            when grouping(browser) = 0 then 'browser'
            when grouping(os) = 0 then 'os'
            when grouping(ab_variant) = 0 then 'ab_variant'
            else 'all'
        end as dimension,
        coalesce(
            entry_page, referrer, channel, utm_source, utm_medium, utm_campaign, country, device, browser, os,
            ab_variant, 'all'
        ) as value,
        count(distinct visitor_id) as visitors,
        count(*) as sessions,
        sum(pageviews) as pageviews,
        count(*) filter (where is_bounce) as bounces,
        sum(duration_ms) as duration_ms,
        count(*) filter (where orders > 0) as conversions,
        sum(revenue_minor) as revenue_minor,
        sum(affiliate_clicks) as affiliate_clicks,
        sum(payout_cents) as payout_cents
    from sessions
    group by grouping sets (
        (site_id, event_dt),
        (site_id, event_dt, entry_page),
        (site_id, event_dt, referrer),
        (site_id, event_dt, channel),
        (site_id, event_dt, utm_source),
        (site_id, event_dt, utm_medium),
        (site_id, event_dt, utm_campaign),
        (site_id, event_dt, country),
        (site_id, event_dt, device),
        (site_id, event_dt, browser),
        (site_id, event_dt, os),
        (site_id, event_dt, ab_variant)
    )
),

page_events as (
    select
        e.site_id,
        e.event_dt,
        coalesce(e.page_path, '(none)') as value,
        e.event_type,
        e.visitor_id,
        e.revenue_minor,
        e.is_duplicate_order,
        e.payout_cents,
        s.session_id,
        s.is_bounce,
        s.orders
    from silver.events as e
    join session_events as se
        on se.site_id = e.site_id and se.event_id = e.event_id and se.event_dt = e.event_dt
    join silver.sessions as s
        on s.site_id = se.site_id and s.session_id = se.session_id and s.event_dt = se.session_dt
    where e.event_dt in (select day from scope) and not s.is_bot
),

-- one row per page and session (by_visitor = 0), and one per page and visitor (by_visitor = 1):
-- counting these groups gives exactly the distinct sessions and visitors
page_groups as (
    select
        site_id,
        event_dt,
        value,
        session_id,
        visitor_id,
        grouping(session_id) as by_visitor,
        count(*) filter (where event_type = 'page_view') as pageviews,
        bool_or(is_bounce) filter (where event_type = 'page_view') as is_bounce,
        bool_or(orders > 0) filter (where event_type = 'page_view') as converted,
        sum(revenue_minor) filter (where event_type = 'purchase' and not is_duplicate_order) as revenue_minor,
        count(*) filter (where event_type = 'affiliate_click') as affiliate_clicks,
        sum(payout_cents) filter (where event_type = 'affiliate_click') as payout_cents
    from page_events
    group by grouping sets ((site_id, event_dt, value, session_id), (site_id, event_dt, value, visitor_id))
),

page_rows as (
    select
        site_id,
        event_dt,
        'page' as dimension,
        value,
        count(*) filter (where by_visitor = 1 and visitor_id is not null and pageviews > 0) as visitors,
        count(*) filter (where by_visitor = 0 and pageviews > 0) as sessions,
        coalesce(sum(pageviews) filter (where by_visitor = 0), 0) as pageviews,
        count(*) filter (where by_visitor = 0 and is_bounce) as bounces,
        null as duration_ms,
        count(*) filter (where by_visitor = 0 and converted) as conversions,
        coalesce(sum(revenue_minor) filter (where by_visitor = 0), 0) as revenue_minor,
        coalesce(sum(affiliate_clicks) filter (where by_visitor = 0), 0) as affiliate_clicks,
        coalesce(sum(payout_cents) filter (where by_visitor = 0), 0) as payout_cents
    from page_groups
    group by site_id, event_dt, value
)

select * from session_rows
union all by name
select * from page_rows
order by site_id, event_dt, dimension, value
