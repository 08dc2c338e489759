-- gold.fact_funnel: one row per session with its funnel steps (seed 004 section 5.1).
--
-- Reads silver.sessions and silver.user_segments for the sessions that start on a day in
-- scope(day).
--   * saw_comparison: a page view of a comparison page (the site's pattern);
--   * interacted_chart: a chart interaction; clicked_affiliate: an affiliate click,
--     affiliate_target the first one's target, payout_cents the sum of their payouts;
--   * segments: the segments the visitor was in just before the session began, sorted.
with sessions as (
    select *
    from silver.sessions
    where event_dt in (select day from scope)
),

held as (
    select s.site_id, s.session_id, s.event_dt, list_sort(list(distinct g.segment_key)) as segments
    from sessions as s
    join silver.user_segments as g
        on g.site_id = s.site_id
        and g.visitor_id = s.visitor_id
        and g.valid_from < s.session_start_ts
        and (g.valid_to is null or s.session_start_ts <= g.valid_to)
    group by s.site_id, s.session_id, s.event_dt
)

select
    s.site_id,
    s.session_id,
    s.visitor_id,
    s.user_id_hash,
    s.session_start_ts,
    s.comparison_pages > 0 as saw_comparison,
    s.chart_interactions > 0 as interacted_chart,
    s.affiliate_clicks > 0 as clicked_affiliate,
    s.orders > 0 as purchased,
    s.affiliate_target,
    s.payout_cents,
    s.revenue_minor,
    coalesce(h.segments, []::varchar[]) as segments,
    s.ab_variant,
    s.geo_country,
    s.channel,
    s.device_type,
    s.is_bot,
    s.event_dt
from sessions as s
left join held as h
    on h.site_id = s.site_id and h.session_id = s.session_id and h.event_dt = s.event_dt
order by s.site_id, s.session_start_ts
