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
-- "First" and "last" go by (ts, event_id): event_seq (from session_events) numbers the events
-- in that order, and arg_min_null(x, event_seq) is x of the first event (null if it has none),
-- arg_min(x, event_seq) the first x that is not null. One hash aggregate, no sort per session.
with events as (
    select
        se.session_id,
        se.session_source,
        se.session_dt,
        se.event_seq,
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
    arg_min_null(sdk_session_id, event_seq) as sdk_session_id,
    arg_min_null(visitor_id, event_seq) as visitor_id,
    max(user_id_hash) as user_id_hash,
    min(ts) as session_start_ts,
    max(ts) as session_end_ts,
    epoch_ms(max(ts)) - epoch_ms(min(ts)) as duration_ms,
    count(*) as events,
    count(*) filter (where event_type = 'page_view') as pageviews,
    count(*) filter (where event_type = 'chart_interaction') as chart_interactions,
    count(*) filter (where event_type = 'affiliate_click') as affiliate_clicks,
    coalesce(sum(payout_cents) filter (where event_type = 'affiliate_click'), 0) as payout_cents,
    arg_min(affiliate_target, event_seq) filter (where event_type = 'affiliate_click') as affiliate_target,
    count(*) filter (where is_comparison) as comparison_pages,
    count(*) filter (where event_type = 'product_view') as product_views,
    count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
    count(*) filter (where event_type = 'purchase' and not is_duplicate_order) as orders,
    coalesce(sum(revenue_minor) filter (where event_type = 'purchase' and not is_duplicate_order), 0)
        as revenue_minor,
    arg_min_null(currency, event_seq) filter (where event_type = 'purchase' and not is_duplicate_order) as currency,
    count(*) = 1 and count(*) filter (where event_type = 'page_view') = 1 as is_bounce,
    arg_min_null(page_url, event_seq) filter (where event_type = 'page_view') as first_page_url,
    arg_max_null(page_url, event_seq) filter (where event_type = 'page_view') as last_page_url,
    coalesce(
        arg_min_null(page_path, event_seq) filter (where event_type = 'page_view'),
        arg_min(page_path, event_seq)
    ) as entry_page,
    arg_min_null(referrer, event_seq) as entry_referrer,
    arg_min_null(referrer_host, event_seq) as referrer_host,
    coalesce(arg_min(referrer_class, event_seq), 'direct') as channel,
    arg_min_null(utm_source, event_seq) filter (where has_utm) as utm_source,
    arg_min_null(utm_medium, event_seq) filter (where has_utm) as utm_medium,
    arg_min_null(utm_campaign, event_seq) filter (where has_utm) as utm_campaign,
    arg_min_null(utm_term, event_seq) filter (where has_utm) as utm_term,
    arg_min_null(utm_content, event_seq) filter (where has_utm) as utm_content,
    arg_min(device_type, event_seq) as device_type,
    arg_min(browser, event_seq) as browser,
    arg_min(os, event_seq) as os,
    arg_min(geo_country, event_seq) as geo_country,
    arg_min(locale, event_seq) as locale,
    arg_min(ab_variant, event_seq) as ab_variant,
    bool_or(is_bot) as is_bot,
    session_dt as event_dt
from events
group by site_id, session_id, session_dt
order by site_id, session_start_ts
