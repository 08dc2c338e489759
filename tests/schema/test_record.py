"""The enriched record becomes an Arrow table with the bronze schema, for every event type."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pyarrow as pa

from clicklake.schema import SCHEMA_HASH
from clicklake.schema.arrow import arrow_schema
from clicklake.schema.record import Record
from samples import EVENTS, records

SCHEMA = arrow_schema(Record)


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
