"""Sample events and enriched records shared by the tests (importable: `tests/` is on pythonpath).

One valid event of every type, and `records(...)`, which turns copies of them into
bronze records the way the collector does, with distinct event ids.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from clicklake.schema import SCHEMA_HASH, decode_batch, to_record
from clicklake.schema.record import Record

NOW_MS: Final = int(datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp() * 1000)
BASE: Final[dict[str, Any]] = {
    "ts": "2026-11-22T11:00:00.5Z",
    "user": {"consent": {"analytics": True, "ads": False}, "user_id_hash": "u1"},
}
EVENTS: Final[list[dict[str, Any]]] = [
    {"event_type": "page_view", "ctx": {"page_url": "https://a.example/compare", "ab_variant": "B"}, **BASE},
    {"event_type": "chart_interaction", "chart": {"action": "sort", "control_value": 12.5}, **BASE},
    {"event_type": "affiliate_click", "affiliate": {"link_id": "l1", "payout_cents": 250.0}, **BASE},
    {"event_type": "product_view", "product": {"product_id": "p1", "price_minor": 999, "currency": "USD"}, **BASE},
    {"event_type": "add_to_cart", "product": {"product_id": "p1", "quantity": 2}, **BASE},
    {
        "event_type": "purchase",
        "order": {"order_id": "o1", "revenue_minor": 1998, "currency": "USD", "items": [{"product_id": "p1"}]},
        **BASE,
    },
    {"event_type": "search", "search": {"query": "blue shoes"}, **BASE},
    {"event_type": "qr_scan", "qr": {"link_id": "t12", "placement": "table-12"}, **BASE},
    {"event_type": "custom", "custom": {"name": "signup", "properties": {"plan": "pro", "seats": 3}}, **BASE},
]


def records(
    n: int = len(EVENTS),
    *,
    site_id: str = "s1",
    ingest_ts: int = NOW_MS + 7 * 60_000,
    now_ms: int = NOW_MS,
    prefix: str = "e",
    sites: int = 1,
) -> list[Record]:
    """`n` records cycling through the event types, with ids `{prefix}{i}`.

    With `sites > 1` the site ids are `{site_id}-0 .. {site_id}-{sites-1}` in turn; `ts`
    steps back one second per record so that sorting is visible.
    """
    batch = decode_batch(json.dumps(EVENTS).encode(), now_ms=now_ms)
    assert batch.rejected == []
    out = []
    for i in range(n):
        k = i % len(EVENTS)
        site = site_id if sites == 1 else f"{site_id}-{i % sites}"
        ts = batch.ts_ms[k] - i * 1000
        out.append(
            to_record(
                batch.events[k], ts, site_id=site, ingest_ts=ingest_ts, event_id=f"{prefix}{i}", schema_hash=SCHEMA_HASH
            )
        )
    return out


def wait_rows(data: Path, sql: str, expect: int, timeout: float = 15) -> list[dict[str, Any]]:
    """Run `sql` over the lake in `data` until it returns `expect` rows or `timeout` seconds pass; the last rows.

    A table that does not exist yet (the transform creates its tables on first write) counts as no rows.
    """
    from clicklake.lake.catalog import open_catalog
    from clicklake.query.engine import QueryError, query

    deadline = time.monotonic() + timeout
    while True:
        try:
            out: list[dict[str, Any]] = query(open_catalog(data), sql).to_pylist()
        except QueryError as exc:  # a table the transform has not written yet does not exist
            if "does not exist" not in str(exc) or time.monotonic() > deadline:
                raise
            out = []
        if len(out) >= expect or time.monotonic() > deadline:
            return out
        time.sleep(0.2)
