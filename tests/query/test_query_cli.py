"""`clicklake query` as a user runs it, over a lake the real catalog wrote."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import CompletedProcess

import msgspec
import pyarrow as pa

from clicklake.lake.catalog import open_catalog
from clicklake.lake.tables import ensure_tables
from clicklake.schema import decode_batch, to_record
from clicklake.schema.arrow import arrow_schema
from clicklake.schema.record import Record

NOW_MS = int(datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp() * 1000)
USER = {"consent": {"analytics": True}}


def append_events(data: Path, event_types: list[str]) -> None:
    events = [{"event_type": t, "ts": "2026-11-22T11:00:00Z", "user": USER} for t in event_types]
    for e in events:
        if e["event_type"] == "affiliate_click":
            e["affiliate"] = {"payout_cents": 120}
    batch = decode_batch(json.dumps(events).encode(), now_ms=NOW_MS)
    assert batch.rejected == []
    records = [
        to_record(e, ts, site_id="s1", ingest_ts=NOW_MS, event_id=f"e{i}")
        for i, (e, ts) in enumerate(zip(batch.events, batch.ts_ms, strict=True))
    ]
    catalog = open_catalog(data)
    ensure_tables(catalog)
    table = pa.Table.from_pylist(msgspec.to_builtins(records), schema=arrow_schema(Record))
    catalog.load_table("bronze.events").append(table)


def test_query_counts_what_was_appended(tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]) -> None:
    append_events(tmp_path / "data", ["page_view", "page_view", "affiliate_click"])
    sql = "select event_type, count(*) as n, sum(affiliate.payout_cents) as payout"
    sql += " from bronze.events group by 1 order by 1"
    result = clicklake("query", sql, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"event_type": "affiliate_click", "n": 1, "payout": 120},
        {"event_type": "page_view", "n": 2, "payout": None},
    ]
    csv = clicklake("query", "select count(*) as n from bronze.events", "--format", "csv")
    assert csv.stdout.splitlines() == ["n", "3"]


def test_query_without_a_data_dir_says_so_and_creates_nothing(
    tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]
) -> None:
    result = clicklake("query", "select count(*) as n from bronze.events", "--format", "json")
    assert result.returncode == 2
    assert "no data directory" in result.stderr and "CLICKLAKE_DATA" in result.stderr
    assert str(tmp_path / "data") in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_reading_writes_nothing_to_the_lake(tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]) -> None:
    append_events(tmp_path / "data", ["page_view"])

    def files() -> dict[str, int]:
        return {str(p): p.stat().st_mtime_ns for p in (tmp_path / "data").rglob("*") if p.is_file()}

    before = files()
    for _ in range(3):
        result = clicklake("query", "select count(*) as n from bronze.events", "--format", "csv")
        assert result.stdout.splitlines() == ["n", "1"], result.stderr
    assert files() == before  # no new metadata file, no catalog write


def test_query_refuses_to_write(clicklake: Callable[..., CompletedProcess[str]]) -> None:
    result = clicklake("query", "insert into bronze.events select * from bronze.events")
    assert result.returncode == 2
    assert "only read-only queries are allowed" in result.stderr
    assert "Traceback" not in result.stderr
