-- rec_interactions: who touched which product, how strongly and how lately; what the
-- recommendation models (gold_item_neighbours, gold_item_popularity, gold_user_items) read.
--
-- Reads silver.events within the last getvariable('rec_window_days') days before
-- getvariable('rec_as_of') (the newest product event in silver: ages are relative to the
-- data, not to the clock). Bots are left out, and purchases repeated with the same order id.
--   * one row per site, session and product; session_key is the SDK's session id, else the
--     visitor and the day;
--   * strength is the strongest event of the session on the product: a view 1, a cart 3, a
--     purchase 5 (each item of the order);
--   * weight is the strength decayed by age: halved every getvariable('rec_half_life_days')
--     days before rec_as_of, from the session's last event on the product.
with touched as (
    select site_id, session_id, visitor_id, event_dt, ts, product_id, 1 as strength
    from silver.events
    where event_type = 'product_view' and not coalesce(is_bot, false)
    union all
    select site_id, session_id, visitor_id, event_dt, ts, product_id, 3 as strength
    from silver.events
    where event_type = 'add_to_cart' and not coalesce(is_bot, false)
    union all
    select site_id, session_id, visitor_id, event_dt, ts, unnest(order_items).product_id as product_id, 5 as strength
    from silver.events
    where event_type = 'purchase' and not coalesce(is_duplicate_order, false) and not coalesce(is_bot, false)
),

recent as (
    select *
    from touched
    where product_id is not null
        and ts > getvariable('rec_as_of') - to_days(cast(getvariable('rec_window_days') as integer))
        and ts <= getvariable('rec_as_of')
)

select
    r.site_id,
    coalesce(r.session_id, r.visitor_id || '/' || cast(r.event_dt as varchar)) as session_key,
    any_value(r.visitor_id) as visitor_id,
    r.product_id,
    max(r.strength) as strength,
    max(r.strength) = 5 as purchased,
    max(r.ts) as last_ts,
    max(r.strength) * pow(
        0.5, (epoch(getvariable('rec_as_of')) - epoch(max(r.ts))) / 86400.0 / getvariable('rec_half_life_days')
    ) as weight
from recent as r
group by r.site_id, session_key, r.product_id
