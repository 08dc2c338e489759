"""The Stats API's query shape, made into one SQL statement over silver.sessions and silver.events.

`StatsQuery` is `{site_ids, metrics, dimensions, filters, date_range, compare, order_by,
limit, offset}`. Visit metrics come from `silver.sessions`, event metrics from
`silver.events`; each side is grouped by the dimensions and the two are joined on them.
Bots are left out of every figure. Times are UTC. `docs/metrics.md` defines each metric.
The SQL is returned with the rows, and runs as it is in `clicklake query`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from clicklake.errors import InputError

#: metric → (source, SQL aggregate); "s" is silver.sessions, "e" silver.events.
_CONVERTED: Final = "(orders > 0 or affiliate_clicks > 0)"
_PURCHASE: Final = "event_type = 'purchase' and not coalesce(is_duplicate_order, false)"
METRICS: Final[dict[str, tuple[str, str]]] = {
    "visitors": ("s", "count(distinct visitor_id)"),
    "visits": ("s", "count(*)"),
    "bounce_rate": ("s", "round(100.0 * count(*) filter (where is_bounce) / nullif(count(*), 0), 1)"),
    "visit_duration": ("s", "round(avg(duration_ms) / 1000.0, 1)"),
    "views_per_visit": ("s", "round(sum(pageviews) / nullif(count(*), 0), 2)"),
    "conversions": ("s", f"count(*) filter (where {_CONVERTED})"),
    "conversion_rate": ("s", f"round(100.0 * count(*) filter (where {_CONVERTED}) / nullif(count(*), 0), 1)"),
    "pageviews": ("e", "count(*) filter (where event_type = 'page_view')"),
    "events": ("e", "count(*)"),
    "orders": ("e", f"count(distinct order_id) filter (where {_PURCHASE})"),
    "revenue": ("e", f"coalesce(sum(revenue_minor) filter (where {_PURCHASE}), 0) / 100.0"),
    "aov": (
        "e",
        f"round(sum(revenue_minor) filter (where {_PURCHASE}) / 100.0 "
        f"/ nullif(count(distinct order_id) filter (where {_PURCHASE}), 0), 2)",
    ),
    "affiliate_clicks": ("e", "count(*) filter (where event_type = 'affiliate_click')"),
    "affiliate_payout": ("e", "coalesce(sum(payout_cents) filter (where event_type = 'affiliate_click'), 0) / 100.0"),
    "qr_scans": ("e", "count(*) filter (where event_type = 'qr_scan')"),
}

_PATH_OF_URL: Final = "regexp_extract({}, '^[a-z]+://[^/]+(/[^?#]*)', 1)"
_SOURCE: Final = "coalesce(utm_source, referrer_host, 'direct')"
#: dimension → (SQL on silver.sessions, SQL on silver.events); None where the side lacks it.
DIMENSIONS: Final[dict[str, tuple[str | None, str | None]]] = {
    **{
        f"time:{grain}": (f"date_trunc('{grain}', session_start_ts)", f"date_trunc('{grain}', ts)")
        for grain in ("minute", "hour", "day", "week", "month")
    },
    "page": (None, "page_path"),
    "entry_page": ("entry_page", None),
    "exit_page": (_PATH_OF_URL.format("last_page_url"), None),
    "referrer": ("referrer_host", "referrer_host"),
    "source": (_SOURCE, _SOURCE),
    "channel": ("channel", None),
    **{f"utm_{k}": (f"utm_{k}", f"utm_{k}") for k in ("source", "medium", "campaign", "term", "content")},
    "country": ("geo_country", "geo_country"),
    "device": ("device_type", "device_type"),
    "browser": ("browser", "browser"),
    "os": ("os", "os"),
    "variant": ("ab_variant", "ab_variant"),
    "event_type": (None, "event_type"),
    "event_name": (None, "custom_name"),
    "link": (None, "coalesce(affiliate_link_id, qr_link_id)"),
    "product": (None, "product_id"),
}
_TABLES: Final = {"s": ("silver.sessions", "session_start_ts"), "e": ("silver.events", "ts")}
MAX_LIMIT: Final = 10_000

Op = Literal["is", "is_not", "contains"]


class StatsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One Stats API request."""

    site_ids: Annotated[list[str], Meta(min_length=1)]
    metrics: Annotated[list[str], Meta(min_length=1)]
    date_range: tuple[date, date]
    dimensions: list[str] = msgspec.field(default_factory=list)
    filters: list[tuple[Op, str, list[str]]] = msgspec.field(default_factory=list)
    compare: Literal["previous_period"] | None = None
    order_by: list[tuple[str, Literal["asc", "desc"]]] = msgspec.field(default_factory=list)
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = 1000
    offset: Annotated[int, Meta(ge=0)] = 0


def parse(body: bytes) -> StatsQuery:
    """The request body as a `StatsQuery`; raises `InputError` naming what is wrong."""
    try:
        query = msgspec.json.decode(body, type=StatsQuery)
    except msgspec.ValidationError as exc:
        raise InputError(f"bad query: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    for m in query.metrics:
        if m not in METRICS:
            raise InputError(f"unknown metric {m!r}; the metrics are {', '.join(METRICS)}")
    for d in [*query.dimensions, *(f[1] for f in query.filters)]:
        if d not in DIMENSIONS:
            raise InputError(f"unknown dimension {d!r}; the dimensions are {', '.join(DIMENSIONS)}")
    start, end = query.date_range
    if end < start:
        raise InputError(f"date_range ends ({end}) before it starts ({start})")
    if len(set(query.dimensions)) != len(query.dimensions) or len(set(query.metrics)) != len(query.metrics):
        raise InputError("a metric or dimension is named twice")
    names = {*query.metrics, *query.dimensions}
    for name, _ in query.order_by:
        if name not in names:
            raise InputError(f"order_by {name!r} is not one of the query's metrics or dimensions")
    return query


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The range of the same length that ends the day before `start`."""
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_sql(query: StatsQuery, date_range: tuple[date, date] | None = None) -> str:
    """One SELECT that answers the query over `date_range` (default: the query's own)."""
    start, end = date_range or query.date_range
    sides = sorted({METRICS[m][0] for m in query.metrics})
    dims = query.dimensions
    parts: list[str] = []
    for side in sides:
        table, ts = _TABLES[side]
        index = 0 if side == "s" else 1
        selects: list[str] = []
        for d in dims:
            expr = DIMENSIONS[d][index]
            if expr is None:
                raise InputError(f"dimension {d!r} does not apply to {_metric_names(query, side)}")
            selects.append(f"{expr} as {_column(d)}")
        selects += [f"{METRICS[m][1]} as {_column(m)}" for m in query.metrics if METRICS[m][0] == side]
        where = [
            f"site_id in ({', '.join(literal(s) for s in sorted(set(query.site_ids)))})",
            f"event_dt between date {literal(str(start))} and date {literal(str(end))}",
            f"{ts} >= timestamptz {literal(f'{start} 00:00:00+00')}",
            f"{ts} < timestamptz {literal(f'{end + timedelta(days=1)} 00:00:00+00')}",
            "not coalesce(is_bot, false)",
        ]
        for op, d, values in query.filters:
            expr = DIMENSIONS[d][index]
            if expr is None:
                raise InputError(f"filter on {d!r} does not apply to {_metric_names(query, side)}")
            where.append(_condition(op, expr, values))
        group = f"\n    group by {', '.join(str(i + 1) for i in range(len(dims)))}" if dims else ""
        parts.append(
            f"{side} as (\n    select {', '.join(selects)}\n    from {table}\n    where "
            + "\n      and ".join(where)
            + group
            + "\n)"
        )
    if len(sides) == 1:
        body = f"select * from {sides[0]}"
    elif dims:
        body = f"select * from s full outer join e using ({', '.join(_column(d) for d in dims)})"
    else:
        body = "select * from s cross join e"
    if dims:  # a group with nothing to show (page views of events without a page) is no row
        body += "\nwhere not (" + " and ".join(f"coalesce({_column(m)}, 0) = 0" for m in query.metrics) + ")"
    columns = ", ".join(_column(c) for c in [*dims, *query.metrics])
    order = query.order_by or _default_order(query)
    order_sql = ", ".join(f"{_column(n)} {direction} nulls last" for n, direction in order)
    return (
        "with "
        + ",\n".join(parts)
        + f"\nselect {columns} from ({body}) as r\norder by {order_sql}\nlimit {query.limit} offset {query.offset}"
    )


def _condition(op: str, expr: str, values: list[str]) -> str:
    if not values:
        raise InputError(f"a filter {op!r} needs at least one value")
    if op == "contains":
        return "(" + " or ".join(f"contains({expr}, {literal(v)})" for v in values) + ")"
    listed = ", ".join(literal(v) for v in values)
    return f"{expr} in ({listed})" if op == "is" else f"({expr} is null or {expr} not in ({listed}))"


def _default_order(query: StatsQuery) -> list[tuple[str, Literal["asc", "desc"]]]:
    times = [d for d in query.dimensions if d.startswith("time:")]
    if times:
        return [(times[0], "asc")]
    return [(query.metrics[0], "desc"), *((d, "asc") for d in query.dimensions)]


def _metric_names(query: StatsQuery, side: str) -> str:
    return ", ".join(m for m in query.metrics if METRICS[m][0] == side)
