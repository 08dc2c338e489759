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
with sessions as (
    select *
    from silver.sessions
    where event_dt in (select day from scope) and not is_bot
),

by_dimension as (
    select s.*, d.dimension, d.value
    from sessions as s,
        unnest([
            {'dimension': 'all', 'value': 'all'},
            {'dimension': 'entry_page', 'value': coalesce(s.entry_page, '(none)')},
            {'dimension': 'referrer', 'value': coalesce(s.referrer_host, '(none)')},
            {'dimension': 'channel', 'value': coalesce(s.channel, '(none)')},
            {'dimension': 'utm_source', 'value': coalesce(s.utm_source, '(none)')},
            {'dimension': 'utm_medium', 'value': coalesce(s.utm_medium, '(none)')},
            {'dimension': 'utm_campaign', 'value': coalesce(s.utm_campaign, '(none)')},
            {'dimension': 'country', 'value': coalesce(s.geo_country, '(none)')},
            {'dimension': 'device', 'value': coalesce(s.device_type, '(none)')},
            {'dimension': 'browser', 'value': coalesce(s.browser, '(none)')},
            {'dimension': 'os', 'value': coalesce(s.os, '(none)')},
            {'dimension': 'ab_variant', 'value': coalesce(s.ab_variant, '(none)')}
        ]) as dims(d)
),

session_rows as (
    select
        site_id,
        event_dt,
        dimension,
        value,
        count(distinct visitor_id) as visitors,
        count(*) as sessions,
        sum(pageviews) as pageviews,
        count(*) filter (where is_bounce) as bounces,
        sum(duration_ms) as duration_ms,
        count(*) filter (where orders > 0) as conversions,
        sum(revenue_minor) as revenue_minor,
        sum(affiliate_clicks) as affiliate_clicks,
        sum(payout_cents) as payout_cents
    from by_dimension
    group by site_id, event_dt, dimension, value
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

page_rows as (
    select
        site_id,
        event_dt,
        'page' as dimension,
        value,
        count(distinct visitor_id) filter (where event_type = 'page_view') as visitors,
        count(distinct session_id) filter (where event_type = 'page_view') as sessions,
        count(*) filter (where event_type = 'page_view') as pageviews,
        count(distinct session_id) filter (where event_type = 'page_view' and is_bounce) as bounces,
        null as duration_ms,
        count(distinct session_id) filter (where event_type = 'page_view' and orders > 0) as conversions,
        coalesce(sum(revenue_minor) filter (where event_type = 'purchase' and not is_duplicate_order), 0)
            as revenue_minor,
        count(*) filter (where event_type = 'affiliate_click') as affiliate_clicks,
        coalesce(sum(payout_cents) filter (where event_type = 'affiliate_click'), 0) as payout_cents
    from page_events
    group by site_id, event_dt, value
)

select * from session_rows
union all by name
select * from page_rows
order by site_id, event_dt, dimension, value
