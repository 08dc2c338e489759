"""Paths: the pages visited after and before a page, and the most common journeys of visits.

A visit's path is its page views in time order, a page repeated right after itself (a
reload) taken once. Each page view is put in its visit by joining `silver.sessions` on
the visit's key (the SDK's session id, else the visitor) and time span, so a visit here
is exactly a visit of the Stats API. The visits are those that started in the date range
(its days in time zone `tz`), bots left out.

- `next`: for the visits that viewed `page`, the page that followed each view of it, or
  `(exit)` when it was the visit's last; `previous`: the page before it, or `(entrance)`.
  `visits` counts visits (a visit that went from `page` to `/x` twice counts once),
  `visitors` their distinct visitors, `share` is visits ÷ the visits that viewed `page`.
- `journey`: the first `steps` pages of each visit (fewer when the visit had fewer),
  `visits` with exactly that start, `share` of all visits with a page view.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import msgspec
from msgspec import Meta

from clicklake.query.common import NOT_BOT, Days, Sites, day, days, decode, sites, within
from clicklake.query.periods import UTC_NAME, event_days
from clicklake.query.stats import literal


class PathQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Sites
    date_range: Days
    page: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None
    steps: Annotated[int, Meta(ge=1, le=5)] = 3
    limit: Annotated[int, Meta(ge=1, le=100)] = 10


def parse(body: bytes) -> PathQuery:
    return decode(body, PathQuery, "paths query")


def build_sql(query: PathQuery, tz: str = UTC_NAME) -> str:
    """One SELECT of rows (kind, page, journey, visits, visitors, share), kind next|previous|journey."""
    start, end = date_range = days(query, tz)
    lo, hi = event_days(date_range, tz)
    where_sites = f"site_id in ({sites(query.site_ids)})"
    parts = [
        f"""s as (
    select site_id, session_id, visitor_id, session_start_ts, session_end_ts,
        coalesce(sdk_session_id, visitor_id) as k
    from silver.sessions
    where {where_sites} and {NOT_BOT} and pageviews > 0
      and {within("session_start_ts", start, end, tz)}
)""",
        f"""pv as (
    select s.session_id, s.visitor_id, e.ts, e.event_id, e.page_path
    from silver.events as e
    join s on s.site_id = e.site_id and s.k = coalesce(e.session_id, e.visitor_id)
        and e.ts between s.session_start_ts and s.session_end_ts
    where e.{where_sites} and e.event_type = 'page_view' and e.page_path is not null
      and e.event_dt between {day(lo)} and {day(hi + timedelta(days=2))}
)""",
        """raw as (
    select session_id, any_value(visitor_id) as visitor_id, list(page_path order by ts, event_id) as pages
    from pv group by session_id
)""",
        # one list of pages per visit, a reload dropped; no window, no sort per row
        """visits as materialized (
    select session_id, visitor_id, [p for p, i in pages if i = 1 or p <> pages[i - 1]] as pages from raw
)""",
    ]
    selects = [
        f"""select 'journey' as kind, null::varchar as page, pages[1:{query.steps}] as journey, count(*) as visits,
        count(distinct visitor_id) as visitors,
        round(100.0 * count(*) / (select count(*) from visits), 1) as share
    from visits group by journey"""
    ]
    if query.page is not None:
        page = literal(query.page)
        parts.append(
            f"""at_page as (
    select session_id, visitor_id, coalesce(pages[i + 1], '(exit)') as next,
        coalesce(pages[i - 1], '(entrance)') as previous
    from (select *, unnest(range(1, len(pages) + 1)) as i from visits where list_contains(pages, {page}))
    where pages[i] = {page}
)"""
        )
        for kind in ("next", "previous"):
            selects.append(
                f"""select '{kind}' as kind, {kind} as page, null::varchar[] as journey,
        count(distinct session_id) as visits, count(distinct visitor_id) as visitors,
        round(100.0 * count(distinct session_id) / (select count(distinct session_id) from at_page), 1) as share
    from at_page group by {kind}"""
            )
    union = "\n    union all\n    ".join(selects)
    return (
        "with "
        + ",\n".join(parts)
        + f"""
select kind, page, journey, visits, visitors, share from (
    {union}
)
qualify row_number() over (partition by kind order by visits desc, visitors desc, page, journey) <= {query.limit}
order by case kind when 'next' then 1 when 'previous' then 2 else 3 end, visits desc, visitors desc, page, journey"""
    )
