"""Funnels: how many visitors reached each of an ordered list of steps, as one SQL statement over silver.events.

A step is a page path (`{"page": "/pricing"}`, `*` matches any text), an event type
(`{"event": "affiliate_click"}`), or a custom event's name (`{"custom": "signup"}`).
Per visitor, the funnel starts at their first step-1 event in the date range (its days
in time zone `tz`). With
`order: "sequence"` each next step must come after the one before (later, not at the
same instant; other events may come between) and within `window_minutes` of the
start; `order: "strict"` is the same with no other event of the visitor between two
steps (each next step is their very next event); with `order: "any"` each step may
come at any time from `window_minutes` before the start to as long after it. Bots are
left out. With `breakdown` (one of `BREAKDOWNS`) the answer is per group of visitors: the
value of that dimension on their entry (step-1) event, `(none)` where it has none, at most
`MAX_GROUPS` groups, the largest first. Two funnels are built in: `comparison` (seed 004:
a comparison page, a chart interaction, an affiliate click) and `shop` (product view,
add to cart, purchase).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from clicklake.errors import InputError
from clicklake.query.common import SOURCE, Days, days, instant
from clicklake.query.periods import SHORTHANDS, UTC_NAME, event_days, utc_bounds
from clicklake.query.stats import literal


class Step(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    page: str | None = None
    event: str | None = None
    custom: str | None = None


BUILT_IN: Final[dict[str, list[Step]]] = {
    "comparison": [Step(event="comparison_page"), Step(event="chart_interaction"), Step(event="affiliate_click")],
    "shop": [Step(event="product_view"), Step(event="add_to_cart"), Step(event="purchase")],
}


#: breakdown → its SQL on silver.events (the entry event's value); channel as the Stats API's on events.
BREAKDOWNS: Final[dict[str, str]] = {
    "variant": "ab_variant",
    "channel": "coalesce(referrer_class, 'direct')",
    "country": "geo_country",
    "device": "device_type",
    "source": SOURCE,
    "utm_campaign": "utm_campaign",
}
MAX_GROUPS: Final = 20
NONE_GROUP: Final = "(none)"


class FunnelQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    site_ids: Annotated[list[str], Meta(min_length=1)]
    date_range: Days
    steps: Annotated[list[Step], Meta(min_length=2, max_length=10)] | None = None
    funnel: Literal["comparison", "shop"] | None = None
    order: Literal["sequence", "strict", "any"] = "sequence"
    window_minutes: Annotated[int, Meta(ge=1, le=90 * 24 * 60)] = 24 * 60
    breakdown: str | None = None


def parse(body: bytes) -> FunnelQuery:
    try:
        query = msgspec.json.decode(body, type=FunnelQuery)
    except msgspec.ValidationError as exc:
        hint = f" (date_range is [from, to] or one of {', '.join(SHORTHANDS)})" if "date_range" in str(exc) else ""
        raise InputError(f"bad funnel: {exc}{hint}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    if (query.steps is None) == (query.funnel is None):
        raise InputError("give either steps (2 to 10) or a built-in funnel: comparison or shop")
    for step in query.steps or []:
        if sum(v is not None for v in (step.page, step.event, step.custom)) != 1:
            raise InputError('a step is one of {"page": PATH}, {"event": TYPE}, {"custom": NAME}')
    if not isinstance(query.date_range, str) and query.date_range[1] < query.date_range[0]:
        raise InputError("date_range ends before it starts")
    if query.breakdown is not None and query.breakdown not in BREAKDOWNS:
        raise InputError(f"unknown breakdown {query.breakdown!r}: give one of {', '.join(BREAKDOWNS)}, or none")
    return query


def _match(step: Step) -> str:
    if step.page is not None:
        pattern = step.page.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
        return f"event_type = 'page_view' and page_path like {literal(pattern)} escape '\\'"
    if step.custom is not None:
        return f"event_type = 'custom' and custom_name = {literal(step.custom)}"
    if step.event == "comparison_page":
        return "coalesce(is_comparison, false)"
    return f"event_type = {literal(step.event or '')}"


def build_sql(query: FunnelQuery, tz: str = UTC_NAME) -> str:
    """One SELECT answering step, its visitors, and the share of step 1 and of the step before;
    with a breakdown, the same per group (first column `group`)."""
    steps = query.steps or BUILT_IN[query.funnel or "shop"]
    date_range = days(query, tz)
    begin, stop = utc_bounds(date_range, tz)
    lo, hi = event_days(date_range, tz)
    sites = ", ".join(literal(s) for s in sorted(set(query.site_ids)))
    window = f"interval {int(query.window_minutes)} minute"
    strict = query.order == "strict"
    # each event's place among the visitor's events, so that a strict step is the very next one
    seq = ",\n        row_number() over (partition by visitor_id order by ts, event_id) as seq" if strict else ""
    split = query.breakdown is not None
    group = f",\n        coalesce({BREAKDOWNS[query.breakdown]}, {literal(NONE_GROUP)}) as g" if query.breakdown else ""
    # events up to a window after the range: a funnel started on its last day may finish the next
    parts = [
        "ev as (\n    select visitor_id, ts, event_type, page_path, custom_name, is_comparison"
        + seq
        + group
        + " from silver.events\n"
        f"    where site_id in ({sites}) and visitor_id is not null and not coalesce(is_bot, false)\n"
        f"      and event_dt between date {literal(str(lo))} "
        f"and date {literal(str(hi + timedelta(days=query.window_minutes // 1440 + 1)))}\n)",
        "s1 as (\n    select visitor_id, min(ts) as t0, min(ts) as t"
        + (", arg_min(seq, ts) as q" if strict else "")
        + (", arg_min(g, ts) as g" if split else "")
        + " from ev\n"
        f"    where {_match(steps[0])}\n"
        f"      and ts >= {instant(begin)}\n"
        f"      and ts < {instant(stop)}\n"
        "    group by visitor_id\n)",
    ]
    for i, step in enumerate(steps[1:], start=2):
        after = {"sequence": "e.ts > p.t", "strict": "e.seq = p.q + 1", "any": f"e.ts >= p.t0 - {window}"}
        parts.append(
            f"s{i} as (\n    select p.visitor_id, any_value(p.t0) as t0, min(e.ts) as t"
            + (", min(e.seq) as q" if strict else "")
            + (", any_value(p.g) as g" if split else "")
            + f"\n    from s{i - 1} as p join ev as e on e.visitor_id = p.visitor_id\n"
            f"    where {_match(step)} and {after[query.order]} and e.ts <= p.t0 + {window}\n"
            "    group by p.visitor_id\n)"
        )
    if split:
        return "with " + ",\n".join(parts) + ",\n" + _per_group(len(steps))
    counts = ",\n    ".join(f"({i + 1}, (select count(*) from s{i + 1}))" for i in range(len(steps)))
    return (
        "with "
        + ",\n".join(parts)
        + f",\nn(step, visitors) as (values\n    {counts}\n)\n"
        + "select step, visitors,\n"
        + "    round(100.0 * visitors / nullif(first_value(visitors) over (order by step), 0), 1) as pct_of_first,\n"
        + "    round(100.0 * visitors / nullif(lag(visitors) over (order by step), 0), 1) as pct_of_previous\n"
        + "from n order by step"
    )


def _per_group(n_steps: int) -> str:
    """The tail of the SQL with a breakdown: each of the largest groups' visitors per step."""
    reached = "\n    union all ".join(f"select g, {i} as step from s{i}" for i in range(1, n_steps + 1))
    return (
        f"reached as (\n    {reached}\n),\n"
        "groups as (\n    select g, count(*) as entered from s1 group by g\n"
        f"    order by entered desc, g limit {MAX_GROUPS}\n),\n"
        "n as (\n    select gr.g, gr.entered, st.step, count(r.g) as visitors\n"
        f"    from groups as gr cross join range(1, {n_steps + 1}) as st(step)\n"
        "    left join reached as r on r.g = gr.g and r.step = st.step\n"
        "    group by gr.g, gr.entered, st.step\n)\n"
        'select g as "group", step, visitors,\n'
        "    round(100.0 * visitors / nullif(first_value(visitors) over (partition by g order by step), 0), 1)"
        " as pct_of_first,\n"
        "    round(100.0 * visitors / nullif(lag(visitors) over (partition by g order by step), 0), 1)"
        " as pct_of_previous\n"
        "from n order by entered desc, g, step"
    )


def steps_of(query: FunnelQuery) -> list[dict[str, str]]:
    """The steps as asked (or the built-in funnel's), for the answer."""
    steps = query.steps or BUILT_IN[query.funnel or "shop"]
    return [msgspec.to_builtins(s) for s in steps]
