"""The enriched record becomes an Arrow table with the bronze schema, for every event type."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import msgspec
import pyarrow as pa

from clicklake.schema import SCHEMA_HASH, decode_batch, to_record
from clicklake.schema.arrow import arrow_schema
from clicklake.schema.record import Record

NOW_MS = int(datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp() * 1000)
BASE = {"ts": "2026-11-22T11:00:00.5Z", "user": {"consent": {"analytics": True, "ads": False}, "user_id_hash": "u1"}}
EVENTS = [
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
SCHEMA = arrow_schema(Record)


def records() -> list[Record]:
    batch = decode_batch(json.dumps(EVENTS).encode(), now_ms=NOW_MS)
    assert batch.rejected == []
    ingest = NOW_MS + 7 * 60_000
    return [
        to_record(e, ts, site_id="s1", ingest_ts=ingest, event_id=f"e{i}", schema_hash=SCHEMA_HASH)
        for i, (e, ts) in enumerate(zip(batch.events, batch.ts_ms, strict=True))
    ]


def test_records_fill_the_bronze_schema_for_every_event_type() -> None:
    table = pa.Table.from_pylist(msgspec.to_builtins(records()), schema=SCHEMA)
    rows = table.to_pylist()
    assert [r["event_type"] for r in rows] == [e["event_type"] for e in EVENTS]
    first = rows[0]
    assert first["ts"] == datetime(2026, 11, 22, 11, 0, 0, 500_000, tzinfo=UTC)
    assert first["ingest_dt"] == date(2026, 11, 22) and first["hour"] == "12"
    assert first["ctx"]["ab_variant"] == "B" and first["chart"] is None
    assert first["privacy"] == {"analytics": True, "ads": False, "source_ip_anonymized": None}
    assert first["user"]["visitor_id"] == "u1"
    assert first["metadata"]["schema_hash"] == SCHEMA_HASH
    assert rows[1]["chart"]["control_value"] == "12.5"
    assert rows[2]["affiliate"]["payout_cents"] == 250
    assert rows[5]["order"]["items"][0] == {
        "product_id": "p1",
        "quantity": 1,
        "price_minor": None,
        "name": None,
        "category": None,
        "brand": None,
        "variant": None,
    }
    assert dict(rows[8]["custom"]["properties"]) == {"plan": "pro", "seats": "3"}


def test_bronze_schema_has_the_seed_columns_and_ours() -> None:
    seed = ["schema_version", "event_type", "event_id", "ts", "ingest_ts", "source", "privacy", "user", "session"]
    seed += ["ctx", "chart", "affiliate", "metadata", "ingest_dt", "hour"]
    ours = ["site_id", "device", "traffic", "product", "order", "search", "qr", "custom"]
    assert set(seed + ours) == set(SCHEMA.names)
    assert SCHEMA.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert SCHEMA.field("session").type.field("utm").type.names == ["source", "medium", "campaign", "term", "content"]
