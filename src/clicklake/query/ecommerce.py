"""E-commerce: the top products, and revenue, orders and average order value per day.

From `silver.events` in the date range, bots left out; a purchase repeated with the same
order id the same day (a reloaded thank-you page) counts once, as in the Stats API.

- `view: "products"`: per product id, `views` (product_view events), `carts` (add_to_cart
  events), `purchases` (orders whose items hold it), `quantity` and `revenue` (price ×
  quantity of those items ÷ 100), and `view_to_purchase`: the visitors who bought it ÷
  the visitors who viewed it × 100 (empty when no one viewed it).
- `view: "revenue"`: per day (of time zone `tz`) of the range (every day, 0 when nothing was sold), `orders`,
  `revenue` (the orders' `revenue_minor` ÷ 100) and `aov` (revenue ÷ orders).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from clicklake.query.common import NOT_BOT, Days, Sites, day, days, decode, local, sites, within
from clicklake.query.periods import UTC_NAME

_PURCHASE: Final = "event_type = 'purchase' and not coalesce(is_duplicate_order, false)"


class EcommerceQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Sites
    date_range: Days
    view: Literal["products", "revenue"] = "products"
    limit: Annotated[int, Meta(ge=1, le=10_000)] = 100


def parse(body: bytes) -> EcommerceQuery:
    return decode(body, EcommerceQuery, "e-commerce query")


def build_sql(query: EcommerceQuery, tz: str = UTC_NAME) -> str:
    start, end = days(query, tz)
    where = f"site_id in ({sites(query.site_ids)}) and {NOT_BOT}\n      and {within('ts', start, end, tz)}"
    if query.view == "revenue":
        return f"""with o as (
    select cast({local("ts", tz)} as date) as day, count(distinct order_id) as orders,
        sum(revenue_minor) as revenue_minor
    from silver.events
    where {where} and {_PURCHASE}
    group by 1
)
select cast(d.day as date) as day, coalesce(o.orders, 0) as orders,
    coalesce(o.revenue_minor, 0) / 100.0 as revenue,
    round(o.revenue_minor / 100.0 / nullif(o.orders, 0), 2) as aov
from generate_series({day(start)}, {day(end)}, interval 1 day) as d(day)
left join o on o.day = cast(d.day as date)
order by 1"""
    return f"""with e as materialized (
    select event_type, product_id, product_name, visitor_id, order_id, order_items
    from silver.events
    where {where}
      and (event_type in ('product_view', 'add_to_cart') or {_PURCHASE})
),
seen as (
    select product_id, any_value(product_name) as name,
        count(*) filter (where event_type = 'product_view') as views,
        count(*) filter (where event_type = 'add_to_cart') as carts,
        count(distinct visitor_id) filter (where event_type = 'product_view') as viewers
    from e where event_type <> 'purchase' and product_id is not null
    group by product_id
),
items as (
    select visitor_id, order_id, unnest(order_items) as item from e where event_type = 'purchase'
),
sold as (
    select item.product_id as product_id, any_value(item.name) as name,
        count(distinct order_id) as purchases,
        cast(sum(item.quantity) as bigint) as quantity,
        coalesce(sum(item.price_minor * item.quantity), 0) / 100.0 as revenue
    from items group by 1
),
converted as (
    select w.product_id, count(*) as buyers
    from (select distinct product_id, visitor_id from e where event_type = 'product_view') as w
    semi join items as i on i.item.product_id = w.product_id and i.visitor_id = w.visitor_id
    group by 1
)
select product_id, coalesce(seen.name, sold.name) as name,
    coalesce(views, 0) as views, coalesce(carts, 0) as carts, coalesce(purchases, 0) as purchases,
    coalesce(quantity, 0) as quantity, coalesce(revenue, 0) as revenue,
    round(100.0 * coalesce(buyers, 0) / nullif(viewers, 0), 1) as view_to_purchase
from seen full outer join sold using (product_id) left join converted using (product_id)
order by revenue desc, purchases desc, views desc, product_id
limit {query.limit}"""
