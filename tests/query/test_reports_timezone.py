"""Golden tests of the reports in a site's time zone: America/New_York, UTC-5 in late November.

Each site holds events near midnight UTC that fall on the evening before in New York; the
figures are worked out by hand in the comments, in New York time (and in UTC, to see that
the zone is what changed them). A day D in New York runs from D 05:00 UTC to D+1 05:00 UTC.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from clicklake.query import ecommerce, experiments, funnels, menus, retention
from clicklake.query.sandbox import Limits, Sandbox
from transform.lakes import Lake, event

NY = "America/New_York"


def scan(ts: str, visitor: str) -> Any:
    return event("qr_scan", ts, site="menu", visitor=visitor, qr={"link_id": "q1", "target": "https://menu.example/"})


def order(ts: str, order_id: str, minor: int) -> Any:
    body = {"order_id": order_id, "revenue_minor": minor, "currency": "USD"}
    return event("purchase", ts, site="shop", visitor=f"buyer-{order_id}", order=body)


def visit(ts: str, visitor: str) -> Any:
    return event("page_view", ts, site="ret", visitor=visitor, page="https://ret.example/")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    lake = Lake(tmp_path_factory.mktemp("reports-tz"))
    mug = {"product_id": "p1"}
    lake.add(
        # menu: 19th 23:00, 20th 07:00, 20th 22:30, 21st 07:00 in New York
        scan("2026-11-20T04:00:00Z", "m1"),
        scan("2026-11-20T12:00:00Z", "m2"),
        scan("2026-11-21T03:30:00Z", "m3"),
        scan("2026-11-21T12:00:00Z", "m4"),
        # shop: o1 30.00 on the 20th 21:00 and o2 10.00 on the 21st 01:00 in New York
        order("2026-11-21T02:00:00Z", "o1", 3000),
        order("2026-11-21T06:00:00Z", "o2", 1000),
        # ret: r1 on the 20th 22:00 and the 21st 11:00 in New York; r2 on the 19th 23:30
        # and the 20th 09:00 in New York
        visit("2026-11-21T03:00:00Z", "r1"),
        visit("2026-11-21T16:00:00Z", "r1"),
        visit("2026-11-20T04:30:00Z", "r2"),
        visit("2026-11-20T14:00:00Z", "r2"),
        # fun: f1 views, carts and buys on the 20th 23:00-23:10 in New York (the 21st in UTC);
        # f2 views on the 19th 23:50 in New York (the 20th in UTC)
        event("product_view", "2026-11-21T04:00:00Z", site="fun", visitor="f1", product=mug),
        event("add_to_cart", "2026-11-21T04:05:00Z", site="fun", visitor="f1", product=mug),
        event(
            "purchase",
            "2026-11-21T04:10:00Z",
            site="fun",
            visitor="f1",
            order={"order_id": "f", "revenue_minor": 1, "currency": "USD"},
        ),
        event("product_view", "2026-11-20T04:50:00Z", site="fun", visitor="f2", product=mug),
        # ab: a visit in variant A on the 20th 23:00 in New York (the 21st in UTC)
        event("page_view", "2026-11-21T04:00:00Z", site="ab", visitor="a1", variant="A", page="https://ab.example/"),
    )
    lake.run()
    return Sandbox(lake.catalog, Limits())


def run(sandbox: Sandbox, module: Any, site: str, dates: list[str], tz: str, **body: Any) -> list[dict[str, Any]]:
    query = module.parse(msgspec.json.encode({"site_ids": [site], "date_range": dates, **body}))
    rows: list[dict[str, Any]] = sandbox.run([site], module.build_sql(query, tz)).table.to_pylist()
    return rows


def test_menu_scans_by_hour_of_the_new_york_day(sandbox: Sandbox) -> None:
    # the 20th in New York: m2 at 07:00 and m3 at 22:30 (m1 is the 19th's, m4 the 21st's);
    # the 20th in UTC: m1 at 04:00 and m2 at 12:00
    for tz, hours in ((NY, {7: 1, 22: 1}), ("UTC", {4: 1, 12: 1})):
        rows = run(sandbox, menus, "menu", ["2026-11-20", "2026-11-20"], tz, by="hour")
        assert len(rows) == 24
        assert {r["hour"]: r["scans"] for r in rows if r["scans"]} == hours, tz


def test_revenue_per_new_york_day(sandbox: Sandbox) -> None:
    # o1 (30.00) on the 20th and o2 (10.00) on the 21st in New York; both on the 21st in UTC
    body = {"view": "revenue"}
    rows = run(sandbox, ecommerce, "shop", ["2026-11-20", "2026-11-21"], NY, **body)
    assert [(str(r["day"]), r["orders"], r["revenue"]) for r in rows] == [
        ("2026-11-20", 1, 30.0),
        ("2026-11-21", 1, 10.0),
    ]
    rows = run(sandbox, ecommerce, "shop", ["2026-11-20", "2026-11-21"], "UTC", **body)
    assert [(str(r["day"]), r["orders"], r["revenue"]) for r in rows] == [
        ("2026-11-20", 0, 0.0),
        ("2026-11-21", 2, 40.0),
    ]


def test_retention_cohorts_of_new_york_days(sandbox: Sandbox) -> None:
    # New York, the 20th-21st: r1's first visit is the 20th (22:00) and they come back on the
    # 21st: cohort 20th, period 1 at 100 %. r2 first came on the 19th (23:30): no cohort.
    cols = ("cohort", "cohort_size", "period", "visitors", "pct")
    rows = run(sandbox, retention, "ret", ["2026-11-20", "2026-11-21"], NY, periods=3)
    assert [tuple(str(r[c]) if c == "cohort" else r[c] for c in cols) for r in rows] == [
        ("2026-11-20", 1, 0, 1, 100.0),
        ("2026-11-20", 1, 1, 1, 100.0),
    ]
    # in UTC r2 is the 20th's (04:30 and 14:00, no return) and r1 the 21st's (both visits)
    rows = run(sandbox, retention, "ret", ["2026-11-20", "2026-11-21"], "UTC", periods=3)
    assert [tuple(str(r[c]) if c == "cohort" else r[c] for c in cols) for r in rows] == [
        ("2026-11-20", 1, 0, 1, 100.0),
        ("2026-11-20", 1, 1, 0, 0.0),
        ("2026-11-21", 1, 0, 1, 100.0),
    ]


def test_the_funnel_starts_in_the_new_york_date_range(sandbox: Sandbox) -> None:
    # the 20th in New York: f1 views, carts and buys; f2 viewed on the 19th there: not in it.
    # The 20th in UTC holds f2's view only.
    def visitors(tz: str) -> list[int]:
        return [r["visitors"] for r in run(sandbox, funnels, "fun", ["2026-11-20", "2026-11-20"], tz, funnel="shop")]

    assert visitors(NY) == [1, 1, 1]
    assert visitors("UTC") == [1, 0, 0]


def test_experiment_visits_of_the_new_york_day(sandbox: Sandbox) -> None:
    # a1's visit is on the 20th in New York, on the 21st in UTC
    def visits(tz: str) -> list[tuple[str, int]]:
        rows = run(sandbox, experiments, "ab", ["2026-11-20", "2026-11-20"], tz)
        return [(r["variant"], r["visits"]) for r in rows]

    assert visits(NY) == [("A", 1)]
    assert visits("UTC") == []
