"""Affiliate revenue: clicks, visitors and payout by link, target host or campaign, optionally by day or week.

Reads `gold.fact_affiliate_clicks` (one row per click, with its visit's UTM campaign),
clicks in the date range, bots left out; days and weeks are those of time zone `tz`.
`target` is the host of the click's target URL (lower case, without port); `campaign`
the `utm_campaign` of the visit the click was in.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from clicklake.query.common import NOT_BOT, Days, Sites, days, decode, local, sites, within
from clicklake.query.periods import UTC_NAME

BY: Final = {
    "link": "affiliate_link_id",
    "target": "lower(nullif(regexp_extract(affiliate_target, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]*)', 1), ''))",
    "campaign": "utm_campaign",
}


class AffiliateQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Sites
    date_range: Days
    by: Literal["link", "target", "campaign"] = "link"
    interval: Literal["day", "week"] | None = None
    limit: Annotated[int, Meta(ge=1, le=10_000)] = 1000


def parse(body: bytes) -> AffiliateQuery:
    return decode(body, AffiliateQuery, "affiliate query")


def build_sql(query: AffiliateQuery, tz: str = UTC_NAME) -> str:
    """One SELECT of ([time], link|target|campaign, clicks, visitors, payout, share_of_payout)."""
    start, end = days(query, tz)
    time = f"cast(date_trunc('{query.interval}', {local('ts', tz)}) as date) as time, " if query.interval else ""
    order = "time, payout desc" if query.interval else "payout desc"
    partition = "partition by time" if query.interval else ""
    return f"""select *, round(100.0 * payout / nullif(sum(payout) over ({partition}), 0), 1) as share_of_payout
from (
    select {time}{BY[query.by]} as "{query.by}", count(*) as clicks,
        count(distinct visitor_id) as visitors,
        sum(payout_cents) / 100.0 as payout
    from gold.fact_affiliate_clicks
    where site_id in ({sites(query.site_ids)}) and {NOT_BOT}
      and {within("ts", start, end, tz)}
    group by all
)
order by {order}, clicks desc, "{query.by}" nulls last
limit {query.limit}"""
