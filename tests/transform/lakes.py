"""The transform tests' lake: a real Iceberg catalog, and bronze rows made the collector's way.

`event(...)` writes one event as a client would send it, passes it through the contract
(`decode_batch`) and makes it a bronze record with `to_record`, with the enrichment the
collector adds (visitor id, country, device, traffic class). `Lake.add` appends records to
`bronze.events` as the loader does (one Iceberg append), and `Lake.run` runs the real
transformer over the catalog.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
from pyiceberg.catalog import Catalog

from clicklake.config import SegmentRule, TransformSettings
from clicklake.lake.catalog import open_catalog
from clicklake.lake.tables import BRONZE_EVENTS, ensure_tables
from clicklake.query.engine import query
from clicklake.schema import SCHEMA_HASH, decode_batch, to_record
from clicklake.schema.arrow import arrow_schema
from clicklake.schema.record import Device, Record, Traffic
from clicklake.transform import Transformer, TransformReport

_ids = itertools.count()
_RECORD = arrow_schema(Record)
#: Every table the transform writes, with the columns that order its rows in comparisons.
TABLE_KEYS = {
    "silver.events": "site_id, event_dt, event_id",
    "silver.sessions": "site_id, event_dt, session_id",
    "silver.user_segments": "site_id, visitor_id, segment_key, valid_from",
    "gold.fact_funnel": "site_id, event_dt, session_id",
    "gold.fact_affiliate_clicks": "site_id, event_dt, event_id",
    "gold.fact_orders": "site_id, event_dt, order_id",
    "gold.kpi_daily": "site_id, event_dt, dimension, value",
}


def ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def event(
    event_type: str,
    ts: str,
    *,
    site: str = "s1",
    visitor: str | None = "v1",
    sid: str | None = None,
    page: str | None = None,
    referrer_class: str | None = None,
    referrer_host: str | None = None,
    utm: dict[str, str] | None = None,
    country: str | None = None,
    variant: str | None = None,
    bot: bool = False,
    event_id: str | None = None,
    ingest_delay_ms: int = 2_000,
    **payload: Any,
) -> Record:
    """One bronze record of `event_type` at `ts` (ISO 8601), through the contract like a client's event."""
    body: dict[str, Any] = {"event_type": event_type, "ts": ts, "user": {"consent": {"analytics": True}}}
    session: dict[str, Any] = {}
    if sid is not None:
        session["session_id"] = sid
    if utm is not None:
        session["utm"] = utm
    if session:
        body["session"] = session
    ctx: dict[str, Any] = {}
    if page is not None:
        ctx["page_url"] = page
    if variant is not None:
        ctx["ab_variant"] = variant
    if ctx:
        body["ctx"] = ctx
    body.update(payload)
    at = ms(ts)
    batch = decode_batch(json.dumps([body]).encode(), now_ms=at + 60_000)
    assert batch.rejected == [], batch.rejected
    return to_record(
        batch.events[0],
        batch.ts_ms[0],
        site_id=site,
        ingest_ts=at + ingest_delay_ms,
        event_id=event_id or f"e{next(_ids):06d}",
        schema_hash=SCHEMA_HASH,
        visitor_id=visitor,
        geo_country=country,
        device=Device(browser="Firefox", os="Linux", device_type="bot" if bot else "desktop", is_bot=bot),
        traffic=Traffic(
            referrer_host=referrer_host, referrer_class=referrer_class or ("campaign" if utm else "direct")
        ),
    )


class Lake:
    """A catalog in tmp_path with bronze tables, and a transformer over it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.catalog: Catalog = open_catalog(root)
        ensure_tables(self.catalog)
        self.settings = TransformSettings()

    def add(self, *records: Record) -> None:
        """Append records to bronze.events in one commit, as the loader does."""
        rows = pa.Table.from_pylist(msgspec.to_builtins(list(records)), schema=_RECORD)
        self.catalog.load_table(BRONZE_EVENTS).append(rows)

    def transformer(self) -> Transformer:
        return Transformer(self.catalog, self.settings, self.root / "transform")

    def run(self, **options: Any) -> TransformReport:
        report = self.transformer().run(**options)
        failed = [c for c in report.checks if c.blocks]
        assert report.outcome != "blocked" or failed, report
        return report

    def rows(self, sql: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = query(self.catalog, sql).to_pylist()
        return out

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every silver and gold table's rows, in a fixed order."""
        return {name: self.rows(f"select * from {name} order by {keys}") for name, keys in TABLE_KEYS.items()}


def rule(when: str, **options: Any) -> SegmentRule:
    return SegmentRule(when=when, **options)
