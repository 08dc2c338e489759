-- gold.fact_affiliate_clicks: one row per affiliate click (seed 004 section 5.2).
--
-- Reads silver.events, session_events and silver.sessions for the clicks of the event days
-- in scope(day), each with the session it belongs to and that session's entry traffic.
-- One row per (site_id, event_id): rebuilding a day replaces its rows, so a click sent or
-- processed again is never counted twice.
select
    e.site_id,
    e.event_id,
    e.ts,
    se.session_id,
    e.visitor_id,
    e.user_id_hash,
    e.affiliate_link_id,
    e.affiliate_target,
    coalesce(e.payout_cents, 0) as payout_cents,
    e.page_url,
    e.ab_variant,
    e.geo_country,
    s.channel,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    s.is_bot,
    e.event_dt
from silver.events as e
join session_events as se
    on se.site_id = e.site_id and se.event_id = e.event_id and se.event_dt = e.event_dt
join silver.sessions as s
    on s.site_id = se.site_id and s.session_id = se.session_id and s.event_dt = se.session_dt
where e.event_type = 'affiliate_click' and e.event_dt in (select day from scope)
order by e.site_id, e.ts
