"""Per-site retention: `clicklake maintain` deletes the rows past each site's limits and frees their files.

Events are made relative to the clock (1, 6 and 10 days old), so the test means the same
whatever day it runs (also a year ahead under faketime).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from clicklake import cli
from clicklake.lake.catalog import open_catalog
from clicklake.query.engine import query
from clicklake.schema import SCHEMA_HASH, decode_batch, to_record
from clicklake.schema.envelope import Rejected, encode_payload
from clicklake.stream import open_stream

DAY_MS = 86_400_000


def _records(site: str, age_days: int, n: int, tag: str) -> list[tuple[str, bytes]]:
    now_ms = int(time.time() * 1000) - age_days * DAY_MS
    ts = datetime.fromtimestamp(now_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    events = [
        {
            "event_type": "page_view",
            "ts": ts,
            "user": {"consent": {"analytics": True}, "user_id_hash": f"u-{tag}-{i % 3}"},
            "session": {"session_id": f"s-{tag}-{i % 3}"},
            "ctx": {"page_url": "https://a.example/x"},
        }
        for i in range(n)
    ]
    batch = decode_batch(json.dumps(events).encode(), now_ms=now_ms)
    out = []
    for i, event in enumerate(batch.events):
        record = to_record(
            event, batch.ts_ms[i], site_id=site, ingest_ts=now_ms, event_id=f"{tag}-{i}", schema_hash=SCHEMA_HASH
        )
        out.append((record.event_id, encode_payload(record)))
    return out


def _rejected(site: str, age_days: int) -> tuple[str, bytes]:
    received = int(time.time() * 1000) - age_days * DAY_MS
    rejected = Rejected(site_id=site, received_ts=received, source="http", reason="bad", raw=b'{"x": 1}')
    return f"rejected:{site}", encode_payload(rejected)


class _Cli:
    """`clicklake` commands run in this process (as a user would type them; no interpreter start-up each)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, _root: Path, *args: str) -> str:
        self.capsys.readouterr()
        code = cli.main(list(args))
        out, err = self.capsys.readouterr()
        assert code == 0, err
        return out


def _count(data: Path, sql: str) -> dict[str, Any]:
    rows = query(open_catalog(data), sql).to_pylist()
    return {f"{r['site_id']}:{r['age']}": r["n"] for r in rows}


def test_maintain_applies_each_sites_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLICKLAKE_DATA", str(tmp_path / "data"))
    _cli = _Cli(capsys)
    data = tmp_path / "data"
    a = json.loads(_cli(tmp_path, "sites", "create", "A", "--domain", "a.example", "--format", "json"))["site_id"]
    b = json.loads(_cli(tmp_path, "sites", "create", "B", "--domain", "b.example", "--format", "json"))["site_id"]
    stream = open_stream(data / "stream")
    try:
        for age in (1, 6, 10):
            stream.append(_records(a, age, 6, f"a{age}"))
            stream.append([_rejected(a, age)])
        stream.append(_records(b, 10, 4, "b10"))
    finally:
        stream.close()
    _cli(tmp_path, "load", "--once")
    _cli(tmp_path, "transform", "--once")
    bronze = (
        "select site_id, cast(current_date - ingest_dt as int) as age, count(*) as n "
        "from bronze.events group by all order by all"
    )
    silver = (
        "select site_id, cast(current_date - event_dt as int) as age, count(*) as n "
        "from silver.events group by all order by all"
    )
    quarantine = (
        "select site_id, cast(current_date - received_dt as int) as age, count(*) as n "
        "from bronze.quarantine group by all order by all"
    )
    assert _count(data, bronze) == {f"{a}:1": 6, f"{a}:6": 6, f"{a}:10": 6, f"{b}:10": 4}
    files_before = set((data / "warehouse").rglob("*.parquet"))

    shown = _cli(
        tmp_path,
        "sites",
        "update",
        a,
        "--retention-bronze-days",
        "5",
        "--retention-silver-days",
        "7",
        "--retention-quarantine-days",
        "3",
    )
    assert "retention_bronze_days      5" in shown
    report = json.loads(_cli(tmp_path, "maintain", "--format", "json"))
    tables = {t["table"]: t for t in report["lake"]["tables"]}
    print({name: (t["rows_deleted"], t["files_deleted"], t["bytes_freed"]) for name, t in tables.items()})

    # site A: bronze keeps 5 days, silver and gold 7, quarantine 3; site B keeps everything (the default)
    assert _count(data, bronze) == {f"{a}:1": 6, f"{b}:10": 4}
    assert _count(data, silver) == {f"{a}:1": 6, f"{a}:6": 6, f"{b}:10": 4}
    assert _count(data, quarantine) == {f"{a}:1": 1}
    assert tables["bronze.events"]["rows_deleted"] == 12
    assert tables["silver.events"]["rows_deleted"] == 6
    assert tables["bronze.quarantine"]["rows_deleted"] == 2
    assert tables["gold.fact_funnel"]["rows_deleted"] > 0
    for name in ("bronze.events", "silver.events", "bronze.quarantine"):
        assert tables[name]["files_deleted"] > 0 and tables[name]["bytes_freed"] > 0
    gone = files_before - set((data / "warehouse").rglob("*.parquet"))
    assert gone, "no data file was deleted"

    # a second run finds nothing more to delete
    again = json.loads(_cli(tmp_path, "maintain", "--format", "json"))
    assert all(t["rows_deleted"] == 0 for t in again["lake"]["tables"])
    # and the next transform does not rebuild (and so empty) silver's days from the trimmed bronze
    _cli(tmp_path, "transform", "--once")
    assert _count(data, silver) == {f"{a}:1": 6, f"{a}:6": 6, f"{b}:10": 4}
