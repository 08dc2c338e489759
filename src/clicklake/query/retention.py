"""Retention cohorts: visitors grouped by the day or week of their first visit, and how many came back.

A visitor's cohort is the day (or the week, from Monday) of their first visit that the
lake holds up to the end of the date range, days and weeks of time zone `tz`, kept when that first visit is in the date
range. Period k is the k-th day (week) from the cohort's; a visitor is in period k when
a visit of theirs starts in it, so period 0 is the whole cohort. Periods that start after
the date range are left out (they have not happened yet). Visits from `silver.sessions`,
bots and visits without a visitor id left out.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from clicklake.query.common import NOT_BOT, Days, Sites, day, days, decode, instant, local, sites
from clicklake.query.periods import UTC_NAME, event_days, utc_bounds


class RetentionQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Sites
    date_range: Days
    interval: Literal["day", "week"] = "day"
    periods: Annotated[int, Meta(ge=1, le=90)] = 7


def parse(body: bytes) -> RetentionQuery:
    return decode(body, RetentionQuery, "retention query")


def build_sql(query: RetentionQuery, tz: str = UTC_NAME) -> str:
    """One SELECT answering cohort, cohort_size, period, visitors and their percent of the cohort (days of `tz`)."""
    start, end = date_range = days(query, tz)
    after = utc_bounds(date_range, tz)[1]
    last = event_days(date_range, tz)[1]
    step = 1 if query.interval == "day" else 7
    return f"""with v as (
    select visitor_id, {local("session_start_ts", tz)} as ts from silver.sessions
    where site_id in ({sites(query.site_ids)}) and visitor_id is not null and {NOT_BOT}
      and event_dt <= {day(last)} and session_start_ts < {instant(after)}
),
f as (
    select visitor_id, cast(date_trunc('{query.interval}', min(ts)) as date) as cohort from v
    group by visitor_id having min(ts) >= cast({day(start)} as timestamp)
),
a as (
    select distinct f.visitor_id, f.cohort,
        (cast(date_trunc('{query.interval}', v.ts) as date) - f.cohort) // {step} as period
    from f join v on v.visitor_id = f.visitor_id
),
s as (
    select cohort, count(*) as cohort_size from f group by cohort
),
g as (
    select s.cohort, s.cohort_size, p.period from s cross join range(0, {query.periods + 1}) as p(period)
    where s.cohort + cast(p.period * {step} as integer) <= {day(end)}
)
select g.cohort, g.cohort_size, g.period, count(a.visitor_id) as visitors,
    round(100.0 * count(a.visitor_id) / g.cohort_size, 1) as pct
from g left join a on a.cohort = g.cohort and a.period = g.period
group by g.cohort, g.cohort_size, g.period
order by g.cohort, g.period"""
