"""The in-memory index alone: its answers from tables shaped like the transform's."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from clicklake.recommend.index import build_index
from clicklake.transform.tables import (
    GOLD_ITEM_NEIGHBOURS_SCHEMA,
    GOLD_ITEM_POPULARITY_SCHEMA,
    GOLD_USER_ITEMS_SCHEMA,
)

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _tables() -> tuple[pa.Table, pa.Table, pa.Table]:
    pairs = [("a", "b", 0.9), ("a", "c", 0.5), ("a", "d", 0.1), ("b", "a", 0.9), ("b", "e", 0.8), ("c", "a", 0.5)]
    neighbours = pa.Table.from_pylist(
        [
            {"site_id": "s", "product_id": p, "neighbour_id": n, "score": sc, "rank": r, "as_of_ts": AT}
            for r, (p, n, sc) in enumerate(pairs, 1)
        ],
        schema=GOLD_ITEM_NEIGHBOURS_SCHEMA,
    )
    popular = pa.Table.from_pylist(
        [
            {"site_id": "s", "product_id": p, "score": 10.0 - r, "rank": r, "as_of_ts": AT}
            for r, p in enumerate(["e", "d", "a", "b", "c"], 1)
        ],
        schema=GOLD_ITEM_POPULARITY_SCHEMA,
    )
    users = pa.Table.from_pylist(
        [
            {"site_id": "s", "visitor_id": "u", "product_id": "a", "weight": 1.0, "purchased": False, "last_ts": AT},
            {"site_id": "s", "visitor_id": "u", "product_id": "b", "weight": 5.0, "purchased": True, "last_ts": AT},
        ],
        schema=GOLD_USER_ITEMS_SCHEMA,
    )
    return neighbours, popular, users


def test_product_answers_follow_the_ranked_list_then_popularity() -> None:
    site = build_index(*_tables()).sites["s"]
    assert [(i.product_id, i.source) for i in site.for_product("a", 3)] == [
        ("b", "neighbours"),
        ("c", "neighbours"),
        ("d", "neighbours"),
    ]
    got = site.for_product("c", 3)  # one neighbour: popular products fill up, never c itself
    assert [i.product_id for i in got] == ["a", "e", "d"]
    assert [i.source for i in got] == ["neighbours", "popularity", "popularity"]
    assert [i.product_id for i in site.for_product("zzz", 2)] == ["e", "d"]


def test_user_answers_leave_out_purchases() -> None:
    site = build_index(*_tables()).sites["s"]
    got = [i.product_id for i in site.for_user("u", 10)]
    assert "b" not in got
    assert set(got) == {"a", "c", "d", "e"}
    assert [i.product_id for i in site.for_user("stranger", 1)] == ["e"]


def test_layout_is_flat_arrays() -> None:
    site = build_index(*_tables()).sites["s"]
    assert site.neighbours.dtype == np.int32 and site.scores.dtype == np.float32
    assert int(site.offsets[-1]) == 6 and site.nbytes() > 0
