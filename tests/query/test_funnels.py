"""Funnels on a hand-built story of four shoppers and a bot (site s1, 2026-11-20..22, UTC).

- P: product view 10:00, add to cart 10:05, purchase 10:10 (the whole funnel), after /home and /pricing.
- Q: product view 11:00, add to cart 11:01.
- R: add to cart 12:00, then product view 12:05 (the steps in the wrong order).
- S: product view on the 20th at 13:00, add to cart two days later (outside a 24 h window).
- a bot: the whole funnel, left out.

For breakdowns: P's product view has variant A from DE (its cart says variant B: only the
entry event counts), Q's variant B from FR, R's (its entry, the product view) variant A
from FR; S's has neither.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from clicklake.errors import InputError
from clicklake.query import funnels
from clicklake.query.sandbox import Limits, Sandbox
from transform.lakes import Lake, event

PRODUCT = {"product_id": "p1"}
ORDER = {"order_id": "o1", "revenue_minor": 100, "currency": "EUR"}
RANGE = ["2026-11-20", "2026-11-22"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    lake = Lake(tmp_path_factory.mktemp("funnel"))
    records = []
    for visitor, bot in (("P", False), ("bot", True)):
        records += [
            event("page_view", "2026-11-20T09:50:00Z", visitor=visitor, page="https://s1.example/home", bot=bot),
            event("page_view", "2026-11-20T09:55:00Z", visitor=visitor, page="https://s1.example/pricing", bot=bot),
            event(
                "product_view",
                "2026-11-20T10:00:00Z",
                visitor=visitor,
                product=PRODUCT,
                bot=bot,
                variant="A",
                country="DE",
            ),
            event("add_to_cart", "2026-11-20T10:05:00Z", visitor=visitor, product=PRODUCT, bot=bot, variant="B"),
            event("purchase", "2026-11-20T10:10:00Z", visitor=visitor, order=ORDER, bot=bot),
        ]
    records += [
        event("product_view", "2026-11-20T11:00:00Z", visitor="Q", product=PRODUCT, variant="B", country="FR"),
        event("add_to_cart", "2026-11-20T11:01:00Z", visitor="Q", product=PRODUCT),
        event("add_to_cart", "2026-11-20T12:00:00Z", visitor="R", product=PRODUCT),
        event("product_view", "2026-11-20T12:05:00Z", visitor="R", product=PRODUCT, variant="A", country="FR"),
        event("product_view", "2026-11-20T13:00:00Z", visitor="S", product=PRODUCT),
        event("add_to_cart", "2026-11-22T13:00:00Z", visitor="S", product=PRODUCT),
        event("product_view", "2026-11-20T10:00:00Z", site="s2", visitor="Z", product=PRODUCT),
    ]
    # site s3: 21 countries on /x, two visitors from AA and one from each of C01..C20
    for i in range(22):
        country = "AA" if i < 2 else f"C{i - 1:02d}"
        records.append(
            event("page_view", "2026-11-21T10:00:00Z", site="s3", visitor=f"c{i}", page="https://s3/x", country=country)
        )
    lake.add(*records)
    lake.run()
    return Sandbox(lake.catalog, Limits())


def run(sandbox: Sandbox, **body: Any) -> list[tuple[int, int, float | None, float | None]]:
    body = {"site_ids": ["s1"], "date_range": RANGE, **body}
    query = funnels.parse(msgspec.json.encode(body))
    rows = sandbox.run(query.site_ids, funnels.build_sql(query)).table.to_pylist()
    return [(r["step"], r["visitors"], r["pct_of_first"], r["pct_of_previous"]) for r in rows]


def test_the_shop_funnel_in_sequence(sandbox: Sandbox) -> None:
    # step 1: P, Q, R, S; step 2 after step 1 within 24 h: P, Q; step 3: P
    assert run(sandbox, funnel="shop") == [(1, 4, 100.0, None), (2, 2, 50.0, 50.0), (3, 1, 25.0, 50.0)]


def test_the_shop_funnel_in_any_order(sandbox: Sandbox) -> None:
    # R's cart before its product view counts now; S's cart two days later still does not
    assert run(sandbox, funnel="shop", order="any") == [(1, 4, 100.0, None), (2, 3, 75.0, 75.0), (3, 1, 25.0, 33.3)]


def test_a_longer_window_lets_s_finish(sandbox: Sandbox) -> None:
    assert run(sandbox, funnel="shop", window_minutes=3 * 24 * 60)[1][1] == 3


def test_page_and_event_steps(sandbox: Sandbox) -> None:
    steps = [{"page": "/home"}, {"page": "/pri*"}, {"event": "purchase"}]
    assert run(sandbox, steps=steps) == [(1, 1, 100.0, None), (2, 1, 100.0, 100.0), (3, 1, 100.0, 100.0)]
    assert run(sandbox, steps=[{"page": "/pricing"}, {"page": "/home"}])[1][1] == 0  # the wrong order


def test_a_strict_funnel_allows_no_other_event_between_steps(sandbox: Sandbox) -> None:
    # P: /home, /pricing, product view, cart, purchase; the product view and the cart come
    # between /pricing and the purchase, so strictly P stops at step 2
    steps = [{"page": "/home"}, {"page": "/pricing"}, {"event": "purchase"}]
    assert run(sandbox, steps=steps, order="strict") == [(1, 1, 100.0, None), (2, 1, 100.0, 100.0), (3, 0, 0.0, 0.0)]
    # the shop funnel is P's and Q's very next events: both reach the cart, P the purchase
    strict = run(sandbox, funnel="shop", order="strict")
    assert strict == [(1, 4, 100.0, None), (2, 2, 50.0, 50.0), (3, 1, 25.0, 50.0)]
    # a step may not be skipped: /home then the product view has /pricing between
    assert run(sandbox, steps=[{"page": "/home"}, {"event": "product_view"}], order="strict")[1][1] == 0
    assert run(sandbox, steps=[{"page": "/home"}, {"event": "product_view"}])[1][1] == 1


def split(sandbox: Sandbox, **body: Any) -> list[tuple[str, int, int, float | None, float | None]]:
    body = {"site_ids": ["s1"], "date_range": RANGE, **body}
    query = funnels.parse(msgspec.json.encode(body))
    rows = sandbox.run(query.site_ids, funnels.build_sql(query)).table.to_pylist()
    return [(r["group"], r["step"], r["visitors"], r["pct_of_first"], r["pct_of_previous"]) for r in rows]


def test_the_shop_funnel_split_by_the_entry_events_variant(sandbox: Sandbox) -> None:
    # A: P (all three steps) and R (its cart came first); B: Q (to the cart); none: S (product view only).
    # P's cart says B, but P's group is its entry's A. Ties (B and none, one each) in the groups' order.
    assert split(sandbox, funnel="shop", breakdown="variant") == [
        ("A", 1, 2, 100.0, None),
        ("A", 2, 1, 50.0, 50.0),
        ("A", 3, 1, 50.0, 100.0),
        ("(none)", 1, 1, 100.0, None),
        ("(none)", 2, 0, 0.0, 0.0),
        ("(none)", 3, 0, 0.0, None),
        ("B", 1, 1, 100.0, None),
        ("B", 2, 1, 100.0, 100.0),
        ("B", 3, 0, 0.0, 0.0),
    ]
    # in any order R's cart counts: A reaches the cart with both
    assert split(sandbox, funnel="shop", order="any", breakdown="variant")[1] == ("A", 2, 2, 100.0, 100.0)


def test_split_by_country_and_by_source(sandbox: Sandbox) -> None:
    # FR: Q and R, one reaches the cart; DE: P, the whole funnel; S has no country
    by_country = split(sandbox, funnel="shop", breakdown="country")
    assert [(g, step, n) for g, step, n, _, _ in by_country] == [
        ("FR", 1, 2), ("FR", 2, 1), ("FR", 3, 0),
        ("(none)", 1, 1), ("(none)", 2, 0), ("(none)", 3, 0),
        ("DE", 1, 1), ("DE", 2, 1), ("DE", 3, 1),
    ]  # fmt: skip
    # no UTM and no referrer: everyone came direct, and the one group is the whole funnel
    assert split(sandbox, funnel="shop", breakdown="source") == [
        ("direct", 1, 4, 100.0, None),
        ("direct", 2, 2, 50.0, 50.0),
        ("direct", 3, 1, 25.0, 50.0),
    ]


def test_a_split_keeps_the_20_largest_groups(sandbox: Sandbox) -> None:
    rows = split(sandbox, site_ids=["s3"], steps=[{"page": "/x"}, {"event": "purchase"}], breakdown="country")
    firsts = [(g, n) for g, step, n, _, _ in rows if step == 1]
    # AA (two visitors) first, then the ones by name; C20, the 21st group, is left out
    assert firsts == [("AA", 2)] + [(f"C{i:02d}", 1) for i in range(1, 20)]
    assert len(rows) == 40


def test_an_unknown_breakdown_is_refused_naming_the_allowed_ones() -> None:
    body = {"site_ids": ["s1"], "date_range": RANGE, "funnel": "shop", "breakdown": "city"}
    with pytest.raises(InputError, match=r"'city'.*variant, channel, country, device, source, utm_campaign"):
        funnels.parse(msgspec.json.encode(body))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"funnel": "shop", "steps": [{"page": "/"}, {"page": "/x"}]},
        {"steps": [{"page": "/"}]},
        {"steps": [{"page": "/", "event": "x"}, {"page": "/x"}]},
        {"funnel": "nope"},
        {"funnel": "shop", "window_minutes": 0},
    ],
)
def test_bad_funnels_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        funnels.parse(msgspec.json.encode({"site_ids": ["s1"], "date_range": RANGE, **body}))
