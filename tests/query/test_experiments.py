"""Experiments on a hand-built story (site s1, UTC): variant A has 4 visits of which 2 convert
(an order, an affiliate click), variant B 2 visits and none; a visit without a variant and a
bot's converting visit in A are left out."""

from __future__ import annotations

import msgspec
import pytest

from clicklake.errors import InputError
from clicklake.query import experiments
from clicklake.query.sandbox import Limits, Sandbox
from transform.lakes import Lake, event

ORDER = {"order_id": "o1", "revenue_minor": 100, "currency": "EUR"}
CLICK = {"link_id": "L", "target": "https://shop.example", "payout_cents": 10}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    lake = Lake(tmp_path_factory.mktemp("ab"))
    day = "2026-11-20T1{}:00:00Z"
    lake.add(
        event("page_view", day.format(0), visitor="a1", variant="A", page="https://s1.example/"),
        event("purchase", day.format(0).replace(":00:00", ":05:00"), visitor="a1", variant="A", order=ORDER),
        event("page_view", day.format(1), visitor="a2", variant="A", page="https://s1.example/"),
        event("affiliate_click", day.format(1).replace(":00:00", ":01:00"), visitor="a2", variant="A", affiliate=CLICK),
        event("page_view", day.format(2), visitor="a3", variant="A", page="https://s1.example/"),
        event("page_view", day.format(3), visitor="a4", variant="A", page="https://s1.example/"),
        event("page_view", day.format(4), visitor="b1", variant="B", page="https://s1.example/"),
        event("page_view", day.format(5), visitor="b2", variant="B", page="https://s1.example/"),
        event("page_view", day.format(6), visitor="n1", page="https://s1.example/"),
        event("affiliate_click", day.format(7), visitor="bot", variant="A", affiliate=CLICK, bot=True),
    )
    lake.run()
    return Sandbox(lake.catalog, Limits())


def test_conversion_per_variant_with_a_wilson_interval(sandbox: Sandbox) -> None:
    body = {"site_ids": ["s1"], "date_range": ["2026-11-20", "2026-11-20"]}
    query = experiments.parse(msgspec.json.encode(body))
    rows = sandbox.run(["s1"], experiments.build_sql(query)).table.to_pylist()
    # Wilson, z = 1.96: 2 of 4 → 50 % in [15.0, 85.0]; 0 of 2 → 0 % in [0.0, 65.8]
    assert [(r["variant"], r["visits"], r["conversions"], r["conversion_rate"]) for r in rows] == [
        ("A", 4, 2, 50.0),
        ("B", 2, 0, 0.0),
    ]
    assert [(r["ci95_low"], r["ci95_high"]) for r in rows] == [(15.0, 85.0), (0.0, 65.8)]


def test_a_bad_range_is_refused() -> None:
    with pytest.raises(InputError):
        experiments.parse(b'{"site_ids": ["s1"], "date_range": ["2026-11-21", "2026-11-20"]}')
