"""Click-through of recommendations per site and day: answers served against answers clicked.

Served answers are counted by the web stage as it answers (`recommendations_served` in the
metadata database: the lake never sees an answer). Clicks are the storefront's
`recommendation_click` events (`track("recommendation_click", {rec_id, product_id})`), in
silver.events; an answer counts as clicked once however many of its items were clicked.
click_through = clicked answers / served answers, per UTC day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from clicklake.errors import InputError
from clicklake.query.sandbox import Sandbox
from clicklake.recommend.keys import served

MAX_DAYS: Final = 366
CLICK_EVENT: Final = "recommendation_click"


def parse_days(value: str | None) -> int:
    if value is None or value == "":
        return 30
    if not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise InputError(f"days must be a whole number from 1 to {MAX_DAYS}; got {value!r}")
    return int(value)


def parse_range(days: str | None, first: str | None, last: str | None) -> tuple[date, date]:
    """The UTC days asked for: `from`..`to` (ISO dates, both or neither), else the last `days` up to today."""
    if not first and not last:
        end = datetime.now(UTC).date()
        return end - timedelta(days=parse_days(days) - 1), end
    try:
        start, end = date.fromisoformat(first or ""), date.fromisoformat(last or "")
    except ValueError:
        raise InputError(f"from and to must both be dates (YYYY-MM-DD); got {first!r} and {last!r}") from None
    if not 1 <= (end - start).days + 1 <= MAX_DAYS:
        raise InputError(f"from .. to must be 1 to {MAX_DAYS} days, from before to; got {first} .. {last}")
    return start, end


def clicks_sql(site_id: str, first_day: str, last_day: str) -> str:
    """Clicks and clicked answers per UTC day of one site, over silver.events."""
    quoted = "'" + site_id.replace("'", "''") + "'"
    return (
        "select cast(event_dt as varchar) as day, count(*) as clicks, "
        "count(distinct custom_properties['rec_id']) as clicked_answers\n"
        "from silver.events\n"
        f"where site_id = {quoted} and event_type = 'custom' and custom_name = '{CLICK_EVENT}'\n"
        f"    and event_dt between date '{first_day}' and date '{last_day}' and not coalesce(is_bot, false)\n"
        "group by all order by day"
    )


def report(engine: sa.Engine, sandbox: Sandbox, site_id: str, first: date, last: date) -> dict[str, Any]:
    """`{results: [{day, served, clicks, clicked_answers, click_through}], totals, meta}` for the UTC
    days `first` to `last`."""
    days = (last - first).days + 1
    sql = clicks_sql(site_id, first.isoformat(), last.isoformat())
    result = sandbox.run([site_id], sql)
    clicked = {row["day"]: row for row in result.table.to_pylist()}
    counts = served(engine, site_id, first.isoformat(), last.isoformat())
    rows: list[dict[str, Any]] = []
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        n = counts.get(day, 0)
        c = clicked.get(day, {})
        answers = int(c.get("clicked_answers", 0))
        rows.append(
            {
                "day": day,
                "served": n,
                "clicks": int(c.get("clicks", 0)),
                "clicked_answers": answers,
                "click_through": round(answers / n, 4) if n else None,
            }
        )
    total_served: int = sum(r["served"] for r in rows)
    total_answers: int = sum(r["clicked_answers"] for r in rows)
    totals = {
        "served": total_served,
        "clicks": sum(r["clicks"] for r in rows),
        "clicked_answers": total_answers,
        "click_through": round(total_answers / total_served, 4) if total_served else None,
    }
    meta = {
        "site_id": site_id,
        "date_range": [first.isoformat(), last.isoformat()],
        "clicks_sql": sql,
        "served_from": "metadata database table recommendations_served, counted by the web stage",
        "freshness": result.freshness,
    }
    return {"results": rows, "totals": totals, "meta": meta}
