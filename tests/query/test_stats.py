"""Golden tests of the Stats API's metric definitions (docs/metrics.md) on a hand-built story.

The story, site s1 (times UTC; `sid` is the SDK's session id):

- 2026-11-20, visitor A from Germany via a newsletter, session a1: page views of /home at 10:00
  and /pricing at 10:02, an affiliate click (payout 2.50) at 10:03: 3 events, 2 page views,
  180 s, converted (affiliate click).
- 2026-11-20, visitor B from France, session b1: one page view of /home at 11:00: a bounce of 0 s.
- 2026-11-20, visitor B again, session b2: /product at 15:00, a purchase of order o1 (40.00) at
  15:05 and the same order again at 15:06 (a reloaded thank-you page, counted once): 3 events,
  360 s, converted (order).
- 2026-11-20, a bot's page view of /home at 12:00: left out of every figure.
- 2026-11-21, visitor C from Germany, session c1: /home at 09:00 and a QR scan at 09:01: 60 s.

And site s2: one page view at 10:00 on 2026-11-20, never in s1's figures.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from clicklake.errors import InputError
from clicklake.query import stats
from clicklake.query.engine import query
from clicklake.query.sandbox import Limits, Sandbox
from transform.lakes import Lake, event

ORDER = {"order_id": "o1", "revenue_minor": 4000, "currency": "EUR"}
RANGE = ["2026-11-20", "2026-11-21"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    lake = Lake(tmp_path_factory.mktemp("story"))
    a = {"visitor": "A", "sid": "a1", "country": "DE", "utm": {"source": "newsletter", "medium": "email"}}
    b1 = {"visitor": "B", "sid": "b1", "country": "FR"}
    b2 = {"visitor": "B", "sid": "b2", "country": "FR"}
    c = {"visitor": "C", "sid": "c1", "country": "DE"}
    lake.add(
        event("page_view", "2026-11-20T10:00:00Z", page="https://s1.example/home", **a),
        event("page_view", "2026-11-20T10:02:00Z", page="https://s1.example/pricing", **a),
        event(
            "affiliate_click",
            "2026-11-20T10:03:00Z",
            affiliate={"link_id": "L1", "target": "https://shop.example", "payout_cents": 250},
            **a,
        ),
        event("page_view", "2026-11-20T11:00:00Z", page="https://s1.example/home", **b1),
        event("page_view", "2026-11-20T15:00:00Z", page="https://s1.example/product", **b2),
        event("purchase", "2026-11-20T15:05:00Z", order=ORDER, **b2),
        event("purchase", "2026-11-20T15:06:00Z", order=ORDER, **b2),
        event("page_view", "2026-11-20T12:00:00Z", page="https://s1.example/home", visitor="bot", sid="x", bot=True),
        event("page_view", "2026-11-21T09:00:00Z", page="https://s1.example/home", **c),
        event("qr_scan", "2026-11-21T09:01:00Z", qr={"link_id": "Q1", "placement": "table-3"}, **c),
        event("page_view", "2026-11-20T10:00:00Z", site="s2", visitor="Z", sid="z1", page="https://s2.example/home"),
    )
    lake.run()
    return Sandbox(lake.catalog, Limits())


def ask(sandbox: Sandbox, **body: Any) -> list[dict[str, Any]]:
    body.setdefault("site_ids", ["s1"])
    body.setdefault("date_range", RANGE)
    query = stats.parse(msgspec.json.encode(body))
    rows: list[dict[str, Any]] = sandbox.run(query.site_ids, stats.build_sql(query)).table.to_pylist()
    return rows


def test_every_metric_of_the_story(sandbox: Sandbox) -> None:
    [row] = ask(sandbox, metrics=list(stats.METRICS))
    assert row == {
        "visitors": 3,  # A, B, C (the bot is left out)
        "visits": 4,  # a1, b1, b2, c1
        "bounce_rate": 25.0,  # b1 of 4
        "visit_duration": 150.0,  # (180 + 0 + 360 + 60) / 4
        "views_per_visit": 1.25,  # 5 page views / 4 visits
        "conversions": 2,  # a1 (affiliate click), b2 (order)
        "conversion_rate": 50.0,  # 2 of 4 visits
        "pageviews": 5,
        "events": 9,  # 3 + 1 + 3 + 2
        "orders": 1,  # o1 once, though sent twice
        "revenue": 40.0,
        "aov": 40.0,
        "affiliate_clicks": 1,
        "affiliate_payout": 2.5,
        "qr_scans": 1,
    }


def test_by_day(sandbox: Sandbox) -> None:
    rows = ask(sandbox, metrics=["visitors", "visits", "pageviews"], dimensions=["time:day"])
    assert [(str(r["time:day"])[:10], r["visitors"], r["visits"], r["pageviews"]) for r in rows] == [
        ("2026-11-20", 2, 3, 4),
        ("2026-11-21", 1, 1, 1),
    ]


def test_by_page_and_by_entry_page(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["pageviews"], dimensions=["page"]) == [
        {"page": "/home", "pageviews": 3},
        {"page": "/pricing", "pageviews": 1},
        {"page": "/product", "pageviews": 1},
    ]
    assert ask(sandbox, metrics=["visits", "bounce_rate"], dimensions=["entry_page"]) == [
        {"entry_page": "/home", "visits": 3, "bounce_rate": 33.3},
        {"entry_page": "/product", "visits": 1, "bounce_rate": 0.0},
    ]


def test_visits_and_events_by_country_together(sandbox: Sandbox) -> None:
    rows = ask(sandbox, metrics=["visitors", "pageviews", "revenue"], dimensions=["country"])
    assert rows == [
        {"country": "DE", "visitors": 2, "pageviews": 3, "revenue": 0.0},
        {"country": "FR", "visitors": 1, "pageviews": 2, "revenue": 40.0},
    ]


def test_filters(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["visits", "pageviews"], filters=[["is", "country", ["DE"]]]) == [
        {"visits": 2, "pageviews": 3}
    ]
    assert ask(sandbox, metrics=["visits"], filters=[["is_not", "country", ["DE"]]]) == [{"visits": 2}]
    assert ask(sandbox, metrics=["visits"], filters=[["is", "source", ["newsletter"]]]) == [{"visits": 1}]
    assert ask(sandbox, metrics=["pageviews"], filters=[["contains", "page", ["pro", "pri"]]]) == [{"pageviews": 2}]


def test_the_date_range_and_the_previous_period(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["visits"], date_range=["2026-11-21", "2026-11-21"]) == [{"visits": 1}]
    query = stats.parse(
        msgspec.json.encode({"site_ids": ["s1"], "metrics": ["visits"], "date_range": ["2026-11-21", "2026-11-21"]})
    )
    before = stats.previous_period(*query.date_range)
    assert [str(d) for d in before] == ["2026-11-20", "2026-11-20"]
    assert sandbox.run(["s1"], stats.build_sql(query, before)).table.to_pylist() == [{"visits": 3}]


def test_a_rollup_across_sites_and_no_foreign_rows(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["visitors"], site_ids=["s1", "s2"]) == [{"visitors": 4}]
    # the SQL names s2, but a principal of s1 alone runs it: the sandbox keeps s2's rows out
    query = stats.parse(msgspec.json.encode({"site_ids": ["s2"], "metrics": ["visitors"], "date_range": RANGE}))
    assert sandbox.run(["s1"], stats.build_sql(query)).table.to_pylist() == [{"visitors": 0}]


def test_order_limit_offset(sandbox: Sandbox) -> None:
    rows = ask(sandbox, metrics=["pageviews"], dimensions=["page"], order_by=[["page", "desc"]], limit=1, offset=1)
    assert rows == [{"page": "/pricing", "pageviews": 1}]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"metrics": ["nope"]}, "unknown metric"),
        ({"metrics": ["visits"], "dimensions": ["nope"]}, "unknown dimension"),
        ({"metrics": ["visits"], "dimensions": ["page"]}, "does not apply to visits"),
        ({"metrics": ["visits"], "date_range": ["2026-11-21", "2026-11-20"]}, "before it starts"),
        ({"metrics": ["visits"], "date_range": ["x", "y"]}, "bad query"),
        ({"metrics": ["visits"], "filters": [["is", "country", ["x'); drop"]]], "extra": 1}, "bad query"),
        ({"metrics": ["visits"], "order_by": [["pageviews", "asc"]]}, "order_by"),
        ({"metrics": ["visits"], "limit": 10**9}, "bad query"),
    ],
)
def test_bad_queries_are_refused_with_a_reason(body: dict[str, Any], reason: str) -> None:
    body = {"site_ids": ["s1"], "date_range": RANGE, **body}
    with pytest.raises(InputError, match=reason):
        stats.build_sql(stats.parse(msgspec.json.encode(body)))


def test_quotes_in_filter_values_stay_values(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["visits"], filters=[["is", "country", ["DE') or ('1'='1"]]]) == [{"visits": 0}]


def test_the_sql_of_an_answer_reproduces_it_in_clicklake_query(sandbox: Sandbox) -> None:
    body = {"site_ids": ["s1"], "metrics": ["visitors", "pageviews"], "dimensions": ["time:day"], "date_range": RANGE}
    sql = stats.build_sql(stats.parse(msgspec.json.encode(body)))
    assert query(sandbox.catalog, sql).to_pylist() == sandbox.run(["s1"], sql).table.to_pylist() != []
