-- silver.sessions: one row per session, on the day it started (seed 004 section 4.3).
--
-- Reads session_events (which session each event belongs to: _session_events.sql) and
-- silver.events, for the sessions that start on a day in scope(day).
--   * entry attributes (first page, referrer, channel, device, country) are those of the
--     session's first event, or its first event that has them; UTM tags come together
--     from the first event that has any;
--   * a bounce is a session of exactly one event, a page view;
--   * orders and revenue leave out purchases repeated with the same order id that day;
--   * is_bot is set when any event of the session came from a bot.
with events as (
    select
        se.session_id,
        se.session_source,
        se.session_dt,
        e.* exclude (session_id),
        e.session_id as sdk_session_id,
        e.utm_source is not null or e.utm_medium is not null or e.utm_campaign is not null as has_utm
    from session_events as se
    join silver.events as e
        on e.site_id = se.site_id and e.event_id = se.event_id and e.event_dt = se.event_dt
    where se.session_dt in (select day from scope)
)

select
    site_id,
    session_id,
    any_value(session_source) as session_source,
    first(sdk_session_id order by ts, event_id) as sdk_session_id,
    first(visitor_id order by ts, event_id) as visitor_id,
    max(user_id_hash) as user_id_hash,
    min(ts) as session_start_ts,
    max(ts) as session_end_ts,
    epoch_ms(max(ts)) - epoch_ms(min(ts)) as duration_ms,
    count(*) as events,
    count(*) filter (where event_type = 'page_view') as pageviews,
    count(*) filter (where event_type = 'chart_interaction') as chart_interactions,
    count(*) filter (where event_type = 'affiliate_click') as affiliate_clicks,
    coalesce(sum(payout_cents) filter (where event_type = 'affiliate_click'), 0) as payout_cents,
    first(affiliate_target order by ts, event_id)
        filter (where event_type = 'affiliate_click' and affiliate_target is not null) as affiliate_target,
    count(*) filter (where is_comparison) as comparison_pages,
    count(*) filter (where event_type = 'product_view') as product_views,
    count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
    count(*) filter (where event_type = 'purchase' and not is_duplicate_order) as orders,
    coalesce(sum(revenue_minor) filter (where event_type = 'purchase' and not is_duplicate_order), 0)
        as revenue_minor,
    first(currency order by ts, event_id) filter (where event_type = 'purchase' and not is_duplicate_order)
        as currency,
    count(*) = 1 and count(*) filter (where event_type = 'page_view') = 1 as is_bounce,
    first(page_url order by ts, event_id) filter (where event_type = 'page_view') as first_page_url,
    last(page_url order by ts, event_id) filter (where event_type = 'page_view') as last_page_url,
    coalesce(
        first(page_path order by ts, event_id) filter (where event_type = 'page_view'),
        first(page_path order by ts, event_id) filter (where page_path is not null)
    ) as entry_page,
    first(referrer order by ts, event_id) as entry_referrer,
    first(referrer_host order by ts, event_id) as referrer_host,
    coalesce(first(referrer_class order by ts, event_id) filter (where referrer_class is not null), 'direct')
        as channel,
    first(utm_source order by ts, event_id) filter (where has_utm) as utm_source,
    first(utm_medium order by ts, event_id) filter (where has_utm) as utm_medium,
    first(utm_campaign order by ts, event_id) filter (where has_utm) as utm_campaign,
    first(utm_term order by ts, event_id) filter (where has_utm) as utm_term,
    first(utm_content order by ts, event_id) filter (where has_utm) as utm_content,
    first(device_type order by ts, event_id) filter (where device_type is not null) as device_type,
    first(browser order by ts, event_id) filter (where browser is not null) as browser,
    first(os order by ts, event_id) filter (where os is not null) as os,
    first(geo_country order by ts, event_id) filter (where geo_country is not null) as geo_country,
    first(locale order by ts, event_id) filter (where locale is not null) as locale,
    first(ab_variant order by ts, event_id) filter (where ab_variant is not null) as ab_variant,
    bool_or(is_bot) as is_bot,
    session_dt as event_dt
from events
group by site_id, session_id, session_dt
order by site_id, session_start_ts
