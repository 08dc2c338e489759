"""Restaurant menus (seed 000): QR scans per restaurant, per table and per hour of the day.

A scan is a `qr_scan` event in `silver.events` (a `GET /r/{link}` of a QR link, or an
SDK event), in the date range, bots left out. The lake holds no restaurant or table
field: a restaurant is a site (one site per restaurant, its menu the site's pages), and a
table is the scan's placement, the `?at=` of the printed code's URL (`/r/{link}?at=table-12`)
or the SDK's `qr.placement`; a scan without one is under `(none)`. Hours are those of the day in time zone `tz`, 0-23.

- `by: "restaurant"`: per site. `by: "table"`: per site and placement. `by: "link"`: per
  site and QR link (with the link's target). `by: "hour"`: per site and hour, every hour
  listed (0 when no scan).
Each row: `scans` and `visitors` (distinct visitor ids).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from clicklake.query.common import NOT_BOT, Days, Sites, days, decode, local, sites, within
from clicklake.query.periods import UTC_NAME


class MenuQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Sites
    date_range: Days
    by: Literal["restaurant", "table", "link", "hour"] = "restaurant"


def parse(body: bytes) -> MenuQuery:
    return decode(body, MenuQuery, "menu query")


def build_sql(query: MenuQuery, tz: str = UTC_NAME) -> str:
    """One SELECT of (site_id, [table | link_id, target | hour], scans, visitors)."""
    start, end = days(query, tz)
    scans = f"""select site_id, qr_link_id, qr_target, qr_placement, visitor_id,
        cast(hour({local("ts", tz)}) as integer) as hour
    from silver.events
    where site_id in ({sites(query.site_ids)}) and event_type = 'qr_scan' and {NOT_BOT}
      and {within("ts", start, end, tz)}"""
    count = "count(*) as scans, count(distinct visitor_id) as visitors"
    if query.by == "hour":
        return f"""with q as (
    {scans}
)
select s.site_id, h.hour, count(q.site_id) as scans, count(distinct q.visitor_id) as visitors
from (select distinct site_id from q) as s cross join range(0, 24) as h(hour)
left join q on q.site_id = s.site_id and q.hour = h.hour
group by s.site_id, h.hour
order by s.site_id, h.hour"""
    keys = {
        "restaurant": "site_id",
        "table": "site_id, coalesce(qr_placement, '(none)') as \"table\"",
        "link": "site_id, qr_link_id as link_id, any_value(qr_target) as target",
    }[query.by]
    group = {"restaurant": "1", "table": "1, 2", "link": "1, 2"}[query.by]
    return f"""with q as (
    {scans}
)
select {keys}, {count}
from q group by {group}
order by scans desc, visitors desc, {group}"""
