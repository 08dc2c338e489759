-- gold.fact_orders: one row per order, with its items, attributed to its session.
--
-- Reads silver.events, session_events and silver.sessions for the purchases of the event
-- days in scope(day). An order id sent again the same day (a reloaded thank-you page) is
-- counted once, at its first purchase event. The order is attributed to the entry channel,
-- referrer, landing page and UTM campaign of the session it happened in.
select
    e.site_id,
    e.order_id,
    e.event_id,
    e.ts,
    se.session_id,
    e.visitor_id,
    e.user_id_hash,
    e.revenue_minor,
    e.currency,
    e.tax_minor,
    e.shipping_minor,
    e.discount_minor,
    e.coupon,
    e.order_items as items,
    coalesce(list_sum([i.quantity for i in e.order_items]), 0) as item_quantity,
    s.channel,
    s.referrer_host,
    s.entry_page,
    s.utm_source,
    s.utm_medium,
    s.utm_campaign,
    e.ab_variant,
    e.geo_country,
    e.device_type,
    s.is_bot,
    e.event_dt
from silver.events as e
join session_events as se
    on se.site_id = e.site_id and se.event_id = e.event_id and se.event_dt = e.event_dt
join silver.sessions as s
    on s.site_id = se.site_id and s.session_id = se.session_id and s.event_dt = se.session_dt
where e.event_type = 'purchase' and not e.is_duplicate_order and e.event_dt in (select day from scope)
order by e.site_id, e.ts
