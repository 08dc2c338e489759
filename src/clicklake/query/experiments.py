"""Experiments: conversion per A/B variant with a 95 % confidence interval, as one SQL statement.

The unit is the visit (`silver.sessions`, bots left out) that started in the date range
(its days in time zone `tz`) with an A/B variant (`ctx.ab_variant` of its first event
that has one); a visit converts as in the Stats API's `conversions` (an order or an affiliate click). The
interval is Wilson's score interval for a binomial share, which stays inside 0-100 %
and behaves for small counts and for 0 or all conversions.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from clicklake.errors import InputError
from clicklake.query.common import Days, days, within
from clicklake.query.periods import SHORTHANDS, UTC_NAME
from clicklake.query.stats import literal

Z_95: Final = 1.959964


class ExperimentQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Annotated[list[str], Meta(min_length=1)]
    date_range: Days


def parse(body: bytes) -> ExperimentQuery:
    try:
        query = msgspec.json.decode(body, type=ExperimentQuery)
    except msgspec.ValidationError as exc:
        hint = f" (date_range is [from, to] or one of {', '.join(SHORTHANDS)})" if "date_range" in str(exc) else ""
        raise InputError(f"bad experiment query: {exc}{hint}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    if not isinstance(query.date_range, str) and query.date_range[1] < query.date_range[0]:
        raise InputError("date_range ends before it starts")
    return query


def build_sql(query: ExperimentQuery, tz: str = UTC_NAME) -> str:
    start, end = days(query, tz)
    sites = ", ".join(literal(s) for s in sorted(set(query.site_ids)))
    z2 = f"{Z_95 * Z_95:.6f}"
    return f"""with v as (
    select ab_variant as variant, count(*) as visits, count(distinct visitor_id) as visitors,
        count(*) filter (where orders > 0 or affiliate_clicks > 0) as conversions
    from silver.sessions
    where site_id in ({sites}) and ab_variant is not null and not coalesce(is_bot, false)
      and {within("session_start_ts", start, end, tz)}
    group by 1
),
w as (
    select *, conversions / visits as p, 1 + {z2} / visits as d from v
)
select variant, visitors, visits, conversions,
    round(100 * p, 1) as conversion_rate,
    round(100 * greatest(0, (p + {z2} / (2 * visits)
        - {Z_95} * sqrt(p * (1 - p) / visits + {z2} / (4 * visits * visits))) / d), 1) as ci95_low,
    round(100 * least(1, (p + {z2} / (2 * visits)
        + {Z_95} * sqrt(p * (1 - p) / visits + {z2} / (4 * visits * visits))) / d), 1) as ci95_high
from w order by variant"""
