"""The Stats API's query shape, made into one SQL statement over silver.sessions and silver.events.

`StatsQuery` is `{site_ids, metrics, dimensions, filters, date_range, compare, order_by,
limit, offset}`. Visit metrics come from `silver.sessions`, event metrics from
`silver.events`, `time_on_page` from page views with the next page view of their visit;
each side is grouped by the dimensions and the sides are joined on them. Bots are left
out of every figure. Days and hours are those of a time zone (`clicklake.query.periods`).
`docs/metrics.md` defines each metric. The SQL is returned with the rows, and runs as it
is in `clicklake query`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from clicklake.errors import InputError
from clicklake.query.periods import SHORTHANDS, UTC_NAME, Compare, DateRange, Shorthand, event_days, utc_bounds
from clicklake.query.periods import previous_period as previous_period  # where bench/stats.py looks for it

#: metric → (source, SQL aggregate); "s" is silver.sessions, "e" silver.events, "t" page views
#: with the time of the next page view of their visit. `{visitor}` and `{order}` stand for the
#: visitor and order ids, which a query over several sites counts per site.
_CONVERTED: Final = "(orders > 0 or affiliate_clicks > 0)"
_PURCHASE: Final = "event_type = 'purchase' and not coalesce(is_duplicate_order, false)"
METRICS: Final[dict[str, tuple[str, str]]] = {
    "visitors": ("s", "count(distinct {visitor})"),
    "visits": ("s", "count(*)"),
    "bounce_rate": ("s", "round(100.0 * count(*) filter (where is_bounce) / nullif(count(*), 0), 1)"),
    "visit_duration": ("s", "round(avg(duration_ms) / 1000.0, 1)"),
    "views_per_visit": ("s", "round(sum(pageviews) / nullif(count(*), 0), 2)"),
    "conversions": ("s", f"count(*) filter (where {_CONVERTED})"),
    "conversion_rate": ("s", f"round(100.0 * count(*) filter (where {_CONVERTED}) / nullif(count(*), 0), 1)"),
    "pageviews": ("e", "count(*) filter (where event_type = 'page_view')"),
    "events": ("e", "count(*)"),
    "orders": ("e", f"count(distinct {{order}}) filter (where {_PURCHASE})"),
    "revenue": ("e", f"coalesce(sum(revenue_minor) filter (where {_PURCHASE}), 0) / 100.0"),
    "aov": (
        "e",
        f"round(sum(revenue_minor) filter (where {_PURCHASE}) / 100.0 "
        f"/ nullif(count(distinct {{order}}) filter (where {_PURCHASE}), 0), 2)",
    ),
    "affiliate_clicks": ("e", "count(*) filter (where event_type = 'affiliate_click')"),
    "affiliate_payout": ("e", "coalesce(sum(payout_cents) filter (where event_type = 'affiliate_click'), 0) / 100.0"),
    "qr_scans": ("e", "count(*) filter (where event_type = 'qr_scan')"),
    "time_on_page": ("t", "round(avg(epoch_ms(next_view_ts) - epoch_ms(ts)) / 1000.0, 1)"),
}

#: The path of a URL, as silver.events makes `page_path` of `page_url`.
_PATH_OF_URL: Final = (
    "case when regexp_matches({0}, '^[A-Za-z][A-Za-z0-9+.-]*://') "
    "then coalesce(nullif(regexp_extract({0}, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1), ''), '/') "
    "else nullif(regexp_extract({0}, '^[^?#]*'), '') end"
)
#: The host name of a URL, lower case, without user info or port.
_HOST_OF_URL: Final = "lower(nullif(regexp_extract({}, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]*)', 1), ''))"
_SOURCE: Final = "coalesce(utm_source, referrer_host, 'direct')"
#: The time dimensions' grains; `{tz}` is the time zone's name as an SQL string.
GRAINS: Final = ("minute", "hour", "day", "week", "month")
#: dimension → (SQL on silver.sessions, SQL on silver.events); None where the side lacks it.
#: Page views with their next page view ("t") take the events' SQL.
DIMENSIONS: Final[dict[str, tuple[str | None, str | None]]] = {
    **{
        f"time:{grain}": (
            f"date_trunc('{grain}', timezone({{tz}}, session_start_ts))",
            f"date_trunc('{grain}', timezone({{tz}}, ts))",
        )
        for grain in GRAINS
    },
    "page": (None, "page_path"),
    "entry_page": ("entry_page", None),
    "exit_page": (_PATH_OF_URL.format("last_page_url"), None),
    "hostname": (_HOST_OF_URL.format("first_page_url"), _HOST_OF_URL.format("page_url")),
    "referrer": ("referrer_host", "referrer_host"),
    "source": (_SOURCE, _SOURCE),
    "channel": ("channel", "coalesce(referrer_class, 'direct')"),
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
#: `prop:NAME`: the property NAME of a custom event (`custom.properties`, text), on events only.
PROPERTY_PREFIX: Final = "prop:"
_PROPERTY_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TABLES: Final = {"s": ("silver.sessions", "session_start_ts"), "e": ("silver.events", "ts"), "t": ("t_views", "ts")}
_SIDE_INDEX: Final = {"s": 0, "e": 1, "t": 1}
MAX_LIMIT: Final = 10_000

Op = Literal["is", "is_not", "contains"]


class StatsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One Stats API request."""

    site_ids: Annotated[list[str], Meta(min_length=1)]
    metrics: Annotated[list[str], Meta(min_length=1)]
    date_range: tuple[date, date] | Shorthand
    dimensions: list[str] = msgspec.field(default_factory=list)
    filters: list[tuple[Op, str, list[str]]] = msgspec.field(default_factory=list)
    compare: Compare | None = None
    order_by: list[tuple[str, Literal["asc", "desc"]]] = msgspec.field(default_factory=list)
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = 1000
    offset: Annotated[int, Meta(ge=0)] = 0


def parse(body: bytes) -> StatsQuery:
    """The request body as a `StatsQuery`; raises `InputError` naming what is wrong."""
    try:
        query = msgspec.json.decode(body, type=StatsQuery)
    except msgspec.ValidationError as exc:
        hint = f" (date_range is [from, to] or one of {', '.join(SHORTHANDS)})" if "date_range" in str(exc) else ""
        raise InputError(f"bad query: {exc}{hint}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    for m in query.metrics:
        if m not in METRICS:
            raise InputError(f"unknown metric {m!r}; the metrics are {', '.join(METRICS)}")
    for d in [*query.dimensions, *(f[1] for f in query.filters)]:
        dimension(d)
    if not isinstance(query.date_range, str):
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


def dimension(name: str) -> tuple[str | None, str | None]:
    """The SQL of a dimension on (silver.sessions, silver.events); raise `InputError` for an unknown one."""
    found = DIMENSIONS.get(name)
    if found is not None:
        return found
    if name.startswith(PROPERTY_PREFIX):
        prop = name.removeprefix(PROPERTY_PREFIX)
        if not _PROPERTY_NAME.match(prop):
            raise InputError(
                f"custom property {prop!r} is not a plain name (a letter or _, then letters, digits or _; "
                "at most 64), e.g. prop:plan"
            )
        return None, f"custom_properties[{literal(prop)}]"
    raise InputError(
        f"unknown dimension {name!r}; the dimensions are {', '.join(DIMENSIONS)} and {PROPERTY_PREFIX}NAME"
    )


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _instant(moment: datetime) -> str:
    return f"timestamptz {literal(moment.strftime('%Y-%m-%d %H:%M:%S+00'))}"


def build_sql(query: StatsQuery, date_range: DateRange | None = None, *, tz: str = UTC_NAME) -> str:
    """One SELECT that answers the query over `date_range`, its days counted in time zone `tz`.

    `date_range` defaults to the query's own, which must then be `[from, to]`
    (`clicklake.query.periods.resolve` turns a shorthand into one).
    """
    if date_range is None:
        if isinstance(query.date_range, str):
            raise InputError(f"resolve the date_range {query.date_range!r} first")
        date_range = query.date_range
    begin, after = utc_bounds(date_range, tz)
    lo, hi = event_days(date_range, tz)
    sites = ", ".join(literal(s) for s in sorted(set(query.site_ids)))
    several = len(set(query.site_ids)) > 1
    sides = [side for side in ("s", "e", "t") if any(METRICS[m][0] == side for m in query.metrics)]
    dims = query.dimensions
    parts: list[str] = []
    if "t" in sides:
        parts.append(_views_with_next(sites, lo, hi))
    for side in sides:
        table, ts = _TABLES[side]
        index = _SIDE_INDEX[side]
        selects: list[str] = []
        for d in dims:
            expr = dimension(d)[index]
            if expr is None:
                raise InputError(f"dimension {d!r} does not apply to {_metric_names(query, side)}")
            selects.append(f"{expr.replace('{tz}', literal(tz))} as {_column(d)}")
        for m in query.metrics:
            if METRICS[m][0] == side:
                sql = METRICS[m][1]
                sql = sql.replace("{visitor}", "site_id || ' ' || visitor_id" if several else "visitor_id")
                sql = sql.replace("{order}", "site_id || ' ' || order_id" if several else "order_id")
                selects.append(f"{sql} as {_column(m)}")
        where = [] if side == "t" else [f"site_id in ({sites})", f"event_dt between {_day(lo)} and {_day(hi)}"]
        where += [f"{ts} >= {_instant(begin)}", f"{ts} < {_instant(after)}"]
        if side != "t":
            where.append("not coalesce(is_bot, false)")
        for op, d, values in query.filters:
            expr = dimension(d)[index]
            if expr is None:
                raise InputError(f"filter on {d!r} does not apply to {_metric_names(query, side)}")
            where.append(_condition(op, expr.replace("{tz}", literal(tz)), values))
        group = f"\n    group by {', '.join(str(i + 1) for i in range(len(dims)))}" if dims else ""
        parts.append(
            f"{side} as (\n    select {', '.join(selects)}\n    from {table}\n    where "
            + "\n      and ".join(where)
            + group
            + "\n)"
        )
    body = f"select * from {sides[0]}"
    for side in sides[1:]:
        if dims:
            body += f" full outer join {side} using ({', '.join(_column(d) for d in dims)})"
        else:
            body += f" cross join {side}"
    if dims:  # a group with nothing to show (page views of events without a page) is no row
        body += "\nwhere not (" + " and ".join(f"coalesce({_column(m)}, 0) = 0" for m in query.metrics) + ")"
    columns = ", ".join(_column(c) for c in [*dims, *query.metrics])
    order = query.order_by or _default_order(query)
    named = {name for name, _ in order}
    # every dimension breaks ties, so that rows come in one order and pages (limit, offset) never overlap
    order = [*order, *((d, "asc") for d in dims if d not in named)]
    order_sql = ", ".join(f"{_column(n)} {direction} nulls last" for n, direction in order)
    return (
        "with "
        + ",\n".join(parts)
        + f"\nselect {columns} from ({body}) as r\norder by {order_sql}\nlimit {query.limit} offset {query.offset}"
    )


def _views_with_next(sites: str, lo: date, hi: date) -> str:
    """The CTE `t_views`: page views (no bots) with `next_view_ts`, the time of the next page view of their visit.

    A page view's visit is the row of silver.sessions of its key (the SDK's session id,
    else the visitor) whose first and last events enclose it. A visit spans at most two
    UTC days, so the page views of the range's days and the day after, and the visits
    that started from two days before, are enough.
    """
    key = "coalesce(e.session_id, e.visitor_id)"
    session_key = "case s.session_source when 'sdk' then s.sdk_session_id else s.visitor_id end"
    return (
        "t_views as (\n"
        "    select e.*, lead(e.ts) over (partition by e.site_id, s.session_id order by e.ts, e.event_id)"
        " as next_view_ts\n"
        "    from silver.events as e\n"
        "    join silver.sessions as s\n"
        "      on s.site_id = e.site_id\n"
        "      and s.session_source = case when e.session_id is null then 'visitor' else 'sdk' end\n"
        f"      and {session_key} = {key}\n"
        "      and e.ts between s.session_start_ts and s.session_end_ts\n"
        f"    where e.site_id in ({sites}) and s.site_id in ({sites})\n"
        "      and e.event_type = 'page_view' and not coalesce(e.is_bot, false)\n"
        f"      and e.event_dt between {_day(lo)} and {_day(hi + timedelta(days=1))}\n"
        f"      and s.event_dt between {_day(lo - timedelta(days=2))} and {_day(hi)}\n"
        ")"
    )


def _day(day: date) -> str:
    return f"date {literal(str(day))}"


def data_until_sql(query: StatsQuery, date_range: DateRange, tz: str = UTC_NAME) -> str:
    """A SELECT of `data_until`: the time of the newest event (not a bot's) of the query's sites in the range."""
    begin, after = utc_bounds(date_range, tz)
    lo, hi = event_days(date_range, tz)
    sites = ", ".join(literal(s) for s in sorted(set(query.site_ids)))
    return (
        f"select max(ts) as data_until from silver.events where site_id in ({sites}) "
        f"and event_dt between {_day(lo)} and {_day(hi)} and ts >= {_instant(begin)} and ts < {_instant(after)} "
        "and not coalesce(is_bot, false)"
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
