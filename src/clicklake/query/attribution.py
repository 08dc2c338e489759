"""Attribution: which source, channel or campaign brought the conversions, by first or last touch.

A conversion is an order (`gold.fact_orders`: one row per order id, its revenue) or an
affiliate click (`gold.fact_affiliate_clicks`: its payout) in the date range (its days in
time zone `tz`), bots left out. A touch is a visit (`silver.sessions`) and what brought it: its `source` (the UTM
source, else the referrer host, else `direct`), its `channel` or its `utm_campaign`.

- `model: "last"`: the visit the conversion happened in.
- `model: "first"`: the visitor's first visit that started in the `window_days` before
  the conversion (up to the conversion); the converting visit when there is none, or
  when the conversion has no visitor id.

Direct visits are touches like any other (no "last non-direct" rule): a visitor who came
from a campaign and came back by typing the address converts on a direct last touch.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from clicklake.query.common import NOT_BOT, SOURCE, Days, Sites, day, days, decode, sites, within
from clicklake.query.periods import UTC_NAME, event_days

TOUCHES: Final = {"source": SOURCE, "channel": "coalesce(channel, 'direct')", "utm_campaign": "utm_campaign"}


class AttributionQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Sites
    date_range: Days
    model: Literal["first", "last"] = "last"
    by: Literal["source", "channel", "utm_campaign"] = "source"
    window_days: Annotated[int, Meta(ge=1, le=90)] = 30


def parse(body: bytes) -> AttributionQuery:
    return decode(body, AttributionQuery, "attribution query")


def build_sql(query: AttributionQuery, tz: str = UTC_NAME) -> str:
    """One SELECT of (touch, conversions, orders, revenue, affiliate_clicks, affiliate_payout, share)."""
    start, end = date_range = days(query, tz)
    where = f"site_id in ({sites(query.site_ids)}) and {NOT_BOT}\n      and {within('ts', start, end, tz)}"
    lo, hi = event_days(date_range, tz)
    earliest = lo - timedelta(days=query.window_days + 2)  # a visit may start the day before it is counted
    candidates = """select c.kind, c.site_id, c.event_id, s.session_start_ts, s.touch
    from conv as c join s on s.site_id = c.site_id and s.session_id = c.session_id"""
    if query.model == "first":
        candidates += f"""
    union all
    select c.kind, c.site_id, c.event_id, s.session_start_ts, s.touch
    from conv as c join s on s.site_id = c.site_id and s.visitor_id = c.visitor_id
    where s.session_start_ts >= c.ts - interval {query.window_days} day and s.session_start_ts <= c.ts"""
    pick = "arg_min_null" if query.model == "first" else "arg_max_null"
    return f"""with conv as (
    select 'order' as kind, site_id, event_id, visitor_id, session_id, ts, revenue_minor as amount
    from gold.fact_orders
    where {where}
    union all
    select 'click', site_id, event_id, visitor_id, session_id, ts, payout_cents
    from gold.fact_affiliate_clicks
    where {where}
),
s as (
    select site_id, session_id, visitor_id, session_start_ts, {TOUCHES[query.by]} as touch
    from silver.sessions
    where site_id in ({sites(query.site_ids)}) and {NOT_BOT}
      and event_dt between {day(earliest)} and {day(hi)}
),
t as (
    select kind, site_id, event_id, {pick}(touch, session_start_ts) as touch
    from (
    {candidates}
    )
    group by kind, site_id, event_id
),
r as (
    select c.kind, c.amount, t.touch from conv as c
    left join t on t.kind = c.kind and t.site_id = c.site_id and t.event_id = c.event_id
)
select touch as "{query.by}", count(*) as conversions,
    count(*) filter (where kind = 'order') as orders,
    coalesce(sum(amount) filter (where kind = 'order'), 0) / 100.0 as revenue,
    count(*) filter (where kind = 'click') as affiliate_clicks,
    coalesce(sum(amount) filter (where kind = 'click'), 0) / 100.0 as affiliate_payout,
    round(100.0 * count(*) / sum(count(*)) over (), 1) as share
from r group by touch
order by conversions desc, revenue desc, touch nulls last"""
