-- gold.item_neighbours: for each product of a site, the products most often touched with it,
-- best first (what GET /api/recommendations?product=P answers).
--
-- Reads rec_interactions (_rec_interactions.sql): one row per session and product, with its
-- decayed weight w. Two products co-occur
--   * in a session: both touched in it, for sqrt(w_a * w_b);
--   * in a visitor's history: both touched by one visitor in different sessions, for
--     getvariable('rec_user_factor') times sqrt(w_a * w_b) (each product's strongest weight,
--     among the visitor's rec_user_items most recent products).
-- A session or a history adds at most its rec_user_items most recent products, so a crawler-like
-- session cannot dominate. The score divides the co-occurrence by sqrt(n_a) * n_b ^ rec_beta,
-- n the product's total weight: a product seen with everything (the bestseller) does not
-- crowd every list out. Each product keeps its getvariable('rec_neighbours') best.
with capped as (
    select *
    from rec_interactions
    qualify row_number() over (partition by site_id, session_key order by last_ts desc, product_id)
        <= getvariable('rec_user_items')
),

history as (
    select site_id, visitor_id, product_id, max(weight) as weight, list(distinct session_key) as sessions
    from rec_interactions
    where visitor_id is not null
    group by site_id, visitor_id, product_id
    qualify row_number() over (partition by site_id, visitor_id order by max(last_ts) desc, product_id)
        <= getvariable('rec_user_items')
),

visitors_with_history as (
    select site_id, visitor_id
    from history
    group by all
    having count(*) > 1
),

pairs as (
    select a.site_id, a.product_id, b.product_id as neighbour_id, sqrt(a.weight * b.weight) as w
    from capped as a
    join capped as b
        on a.site_id = b.site_id and a.session_key = b.session_key and a.product_id <> b.product_id
    union all
    select a.site_id, a.product_id, b.product_id, getvariable('rec_user_factor') * sqrt(a.weight * b.weight)
    from history as a
    semi join visitors_with_history as v on v.site_id = a.site_id and v.visitor_id = a.visitor_id
    join history as b
        on a.site_id = b.site_id and a.visitor_id = b.visitor_id and a.product_id <> b.product_id
    -- pairs that met in a session are counted there already
    where len(list_intersect(a.sessions, b.sessions)) = 0
),

totals as (
    select site_id, product_id, sum(weight) as n
    from rec_interactions
    group by all
),

scored as (
    select
        p.site_id,
        p.product_id,
        p.neighbour_id,
        sum(p.w) / (sqrt(any_value(ta.n)) * pow(any_value(tb.n), getvariable('rec_beta'))) as score
    from pairs as p
    join totals as ta on ta.site_id = p.site_id and ta.product_id = p.product_id
    join totals as tb on tb.site_id = p.site_id and tb.product_id = p.neighbour_id
    group by p.site_id, p.product_id, p.neighbour_id
)

select
    site_id,
    product_id,
    neighbour_id,
    score,
    row_number() over (partition by site_id, product_id order by score desc, neighbour_id) as rank,
    getvariable('rec_as_of') as as_of_ts
from scored
qualify rank <= getvariable('rec_neighbours')
order by site_id, product_id, rank
