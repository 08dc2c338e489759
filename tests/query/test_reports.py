"""Golden tests of the reports (retention, paths, attribution, affiliates, e-commerce, menus).

The story is in query/reports_story.py; each expected figure is worked out by hand from it
in the comment above the assertion. The range is 2026-11-20..23; the 18th lies before it.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from clicklake.errors import InputError
from clicklake.query import affiliates, attribution, ecommerce, menus, paths, retention
from clicklake.query.sandbox import Sandbox
from query.reports_story import build

RANGE = ["2026-11-20", "2026-11-23"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    return Sandbox(build(tmp_path_factory.mktemp("reports")).catalog)


def run(sandbox: Sandbox, module: Any, *columns: str, **body: Any) -> list[tuple[Any, ...]]:
    query = module.parse(msgspec.json.encode({"site_ids": ["s1"], "date_range": RANGE, **body}))
    rows = sandbox.run(["s1"], module.build_sql(query)).table.to_pylist()
    return [tuple(str(r[c]) if c in ("cohort", "day", "time") else r[c] for c in columns) for r in rows]


# -- retention ------------------------------------------------------------------------


def test_daily_retention(sandbox: Sandbox) -> None:
    # first visits: A on the 18th (before the range: no cohort); B and D on the 20th; C, D2
    # and E on the 21st; F on the 22nd. B comes back on the 21st (period 1) and the 23rd (3).
    # The 21st's period 3 and the 22nd's periods 2-3 fall after the range: not listed.
    cols = ("cohort", "cohort_size", "period", "visitors", "pct")
    assert run(sandbox, retention, *cols, periods=3) == [
        ("2026-11-20", 2, 0, 2, 100.0),
        ("2026-11-20", 2, 1, 1, 50.0),
        ("2026-11-20", 2, 2, 0, 0.0),
        ("2026-11-20", 2, 3, 1, 50.0),
        ("2026-11-21", 3, 0, 3, 100.0),
        ("2026-11-21", 3, 1, 0, 0.0),
        ("2026-11-21", 3, 2, 0, 0.0),
        ("2026-11-22", 1, 0, 1, 100.0),
        ("2026-11-22", 1, 1, 0, 0.0),
    ]


def test_weekly_retention(sandbox: Sandbox) -> None:
    # the 20th-22nd are in the week of Monday the 16th: B, C, D, D2, E, F (not A, first seen
    # on the 18th, before the range); the week of the 23rd sees B again: 1 of 6 = 16.7 %
    cols = ("cohort", "cohort_size", "period", "visitors", "pct")
    assert run(sandbox, retention, *cols, interval="week", periods=4) == [
        ("2026-11-16", 6, 0, 6, 100.0),
        ("2026-11-16", 6, 1, 1, 16.7),
    ]


# -- paths ----------------------------------------------------------------------------


def test_next_and_previous_pages_and_journeys(sandbox: Sandbox) -> None:
    # visits with pages: A 20th /home /pricing (/pricing reload) /product; A 22nd /home;
    # B 20th /home /pricing; B 21st /pricing; B 23rd /home; C /home. /pricing is in 3 visits:
    # after /home in A's and B's, at the entrance of B's 21st; before /product in A's and at
    # the exit of both of B's. Journeys of 2 steps over the 6 visits.
    cols = ("kind", "page", "journey", "visits", "visitors", "share")
    assert run(sandbox, paths, *cols, page="/pricing", steps=2) == [
        ("next", "(exit)", None, 2, 1, 66.7),
        ("next", "/product", None, 1, 1, 33.3),
        ("previous", "/home", None, 2, 2, 66.7),
        ("previous", "(entrance)", None, 1, 1, 33.3),
        ("journey", None, ["/home"], 3, 3, 50.0),
        ("journey", None, ["/home", "/pricing"], 2, 2, 33.3),
        ("journey", None, ["/pricing"], 1, 1, 16.7),
    ]


def test_a_reload_is_one_step_of_a_journey(sandbox: Sandbox) -> None:
    # A's 20th is /home /pricing /product (the reload of /pricing taken once); no page: journeys only
    cols = ("kind", "journey", "visits")
    assert run(sandbox, paths, *cols, steps=3, limit=2) == [
        ("journey", ["/home"], 3),
        ("journey", ["/home", "/pricing"], 1),
    ]
    assert ("journey", ["/home", "/pricing", "/product"], 1) in run(sandbox, paths, *cols, steps=3)


# -- attribution ----------------------------------------------------------------------

ATTRIBUTION = ("conversions", "orders", "revenue", "affiliate_clicks", "affiliate_payout", "share")


def test_last_touch_by_source(sandbox: Sandbox) -> None:
    # o1 (50.00, its reload not again) in A's direct visit of the 20th; L1 (1.50) in B's direct
    # visit of the 21st; L2 (0.50) in C's visit from ads. 3 conversions.
    assert run(sandbox, attribution, "source", *ATTRIBUTION) == [
        ("direct", 2, 1, 50.0, 1, 1.5, 66.7),
        ("ads", 1, 0, 0.0, 1, 0.5, 33.3),
    ]


def test_first_touch_by_source_and_campaign(sandbox: Sandbox) -> None:
    # first visits within 30 days: A's from news/fall on the 18th, B's from ads/winter on the 20th, C's own
    assert run(sandbox, attribution, "source", *ATTRIBUTION, model="first") == [
        ("ads", 2, 0, 0.0, 2, 2.0, 66.7),
        ("news", 1, 1, 50.0, 0, 0.0, 33.3),
    ]
    assert run(sandbox, attribution, "utm_campaign", "conversions", model="first", by="utm_campaign") == [
        ("winter", 2),
        ("fall", 1),
    ]
    # last touch by campaign: A's and B's converting visits had none
    assert run(sandbox, attribution, "utm_campaign", "conversions", by="utm_campaign") == [(None, 2), ("winter", 1)]


def test_the_window_limits_the_first_touch(sandbox: Sandbox) -> None:
    # a day back from o1 (20th 10:06) misses the 18th; from L1 (21st 11:01) misses B's 20th 11:00
    assert run(sandbox, attribution, "source", "conversions", model="first", window_days=1) == [
        ("direct", 2),
        ("ads", 1),
    ]
    assert run(sandbox, attribution, "channel", "conversions", model="first", by="channel") == [("campaign", 3)]


# -- affiliates -----------------------------------------------------------------------


def test_affiliate_revenue_by_link_target_and_campaign(sandbox: Sandbox) -> None:
    # L1: B's click, 1.50 of 2.00; L2: C's, 0.50 (the bot's and site s2's L1 clicks not counted)
    cols = ("clicks", "visitors", "payout", "share_of_payout")
    assert run(sandbox, affiliates, "link", *cols) == [("L1", 1, 1, 1.5, 75.0), ("L2", 1, 1, 0.5, 25.0)]
    # the target's host, lower case, without its port
    assert run(sandbox, affiliates, "target", "payout", by="target") == [("shop.example", 1.5), ("other.example", 0.5)]
    # by day: both on the 21st; B's click was in a visit without a campaign
    assert run(sandbox, affiliates, "time", "campaign", "payout", by="campaign", interval="day") == [
        ("2026-11-21", None, 1.5),
        ("2026-11-21", "winter", 0.5),
    ]


# -- e-commerce -----------------------------------------------------------------------


def test_top_products(sandbox: Sandbox) -> None:
    # p1: viewed by A and C, carted by A, 2 bought in o1 (40.00): 1 of its 2 viewers bought it.
    # p2: only bought (1 x 10.00), never viewed: no rate. o1's reload counts once.
    cols = ("product_id", "name", "views", "carts", "purchases", "quantity", "revenue", "view_to_purchase")
    assert run(sandbox, ecommerce, *cols) == [
        ("p1", "Mug", 2, 1, 1, 2, 40.0, 50.0),
        ("p2", None, 0, 0, 1, 1, 10.0, None),
    ]


def test_revenue_over_time(sandbox: Sandbox) -> None:
    # every day of the range, o1 on the 20th
    assert run(sandbox, ecommerce, "day", "orders", "revenue", "aov", view="revenue") == [
        ("2026-11-20", 1, 50.0, 50.0),
        ("2026-11-21", 0, 0.0, None),
        ("2026-11-22", 0, 0.0, None),
        ("2026-11-23", 0, 0.0, None),
    ]


# -- menus ----------------------------------------------------------------------------


def test_qr_scans_per_restaurant_table_link_and_hour(sandbox: Sandbox) -> None:
    # D twice at table-1, D2 at table-1, E at table-2, F without a placement: 5 scans, 4 visitors
    assert run(sandbox, menus, "site_id", "scans", "visitors") == [("s1", 5, 4)]
    assert run(sandbox, menus, "table", "scans", "visitors", by="table") == [
        ("table-1", 3, 2),
        ("(none)", 1, 1),
        ("table-2", 1, 1),
    ]
    assert run(sandbox, menus, "link_id", "target", "scans", by="link") == [
        ("q1", "https://menu.example/q1", 4),
        ("q2", "https://menu.example/q2", 1),
    ]
    hours = run(sandbox, menus, "hour", "scans", "visitors", by="hour")
    assert len(hours) == 24 and [h for h in hours if h[1]] == [(12, 1, 1), (19, 3, 2), (20, 1, 1)]


# -- bad requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "body"),
    [
        (retention, {"interval": "month"}),
        (retention, {"periods": 0}),
        (paths, {"steps": 6}),
        (paths, {"page": ""}),
        (attribution, {"model": "linear"}),
        (attribution, {"by": "country"}),
        (attribution, {"window_days": 0}),
        (affiliates, {"by": "product"}),
        (ecommerce, {"view": "carts"}),
        (menus, {"by": "waiter"}),
        (menus, {"date_range": ["2026-11-23", "2026-11-20"]}),
        (menus, {"sql": "select 1"}),
    ],
)
def test_bad_requests_are_refused_with_a_reason(module: Any, body: dict[str, Any]) -> None:
    with pytest.raises(InputError) as caught:
        module.parse(msgspec.json.encode({"site_ids": ["s1"], "date_range": RANGE, **body}))
    assert str(caught.value)
