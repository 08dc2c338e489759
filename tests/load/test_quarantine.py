"""`clicklake quarantine list|replay` over a quarantine the real loader filled."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from clicklake.lake.catalog import open_catalog
from clicklake.lake.position import committed_position
from clicklake.load import Loader
from clicklake.load.quarantine import list_quarantine, replay
from clicklake.query.engine import query
from clicklake.schema.envelope import Rejected, encode_payload
from clicklake.stream import open_stream
from samples import records

RECENT = '"2026-11-22T11:00:00Z"'


def event(ts: str, event_id: str | None = None) -> bytes:
    extra = f',"event_id":"{event_id}"' if event_id else ""
    body = f'{{"event_type":"page_view","ts":{ts},"user":{{"consent":{{"analytics":true}}}}{extra}}}'
    return body.encode()


def fill(data: Path) -> None:
    """Quarantine: two door rejections that pass today, one that never will, one unreadable stream record."""
    stream = open_stream(data / "stream", partitions=2)
    # the door received its rejections a moment before they reach the stream (the wall clock,
    # which stamps the loader's own row: a fixed date here would order the list by the run's date)
    at = time.time_ns() // 1_000_000 - 1_000

    def refused(raw: bytes, reason: str, site: str | None = "s1") -> tuple[str, bytes]:
        return ("k", encode_payload(Rejected(site_id=site, received_ts=at, source="http", reason=reason, raw=raw)))

    try:
        stream.append(
            [
                refused(event(RECENT, "0b7e6f2c-3c4d-4e5f-8a9b-0c1d2e3f4a5b"), "ts too far ahead (clock skew)"),
                refused(event(RECENT), "ts too far ahead (clock skew)", site="s2"),
                refused(b'{"event_type":"page_view"}', "$.ts: required"),
                ("k", b'{"kind":"event/2","site_id":"s1"}'),
                ("k", encode_payload(records(1)[0])),
            ]
        )
        Loader(stream, open_catalog(data), data / "work").drain()
    finally:
        stream.close()


def test_list_shows_newest_first_with_reasons(tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]) -> None:
    fill(tmp_path / "data")
    result = clicklake("quarantine", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 4
    # newest first: the loader's row at its append time, then the door rows received a second
    # before, ties by stream offset
    assert [r["stream_offset"] for r in rows] == [3, 2, 1, 0]
    assert rows[0]["source"] == "loader" and rows[1]["reason"] == "$.ts: required"
    text = clicklake("quarantine", "list", "--site", "s2")
    assert text.returncode == 0, text.stderr
    assert "1 quarantined events not yet replayed; showing 1" in text.stdout
    assert "clock skew" in text.stdout and '"event_type":"page_view"' in text.stdout


def test_replay_reloads_what_now_passes_once(tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]) -> None:
    data = tmp_path / "data"
    fill(data)
    catalog = open_catalog(data)
    stream = open_stream(data / "stream")
    try:
        dry = replay(catalog, stream, dry_run=True)
        assert (dry.examined, dry.replayed, dry.still_refused) == (4, 2, 2)
        before = committed_position(catalog.load_table("bronze.quarantine"))
        report = replay(catalog, stream)
        assert report.replayed == 2 and len(report.samples) == 2
        assert any("event/2" in s for s in report.samples) and any("$.ts" in s for s in report.samples)
        # marking rows keeps the loader's position in the quarantine table
        assert committed_position(catalog.load_table("bronze.quarantine")) == before
        assert replay(catalog, stream).replayed == 0  # already marked
    finally:
        stream.close()
    loaded = clicklake("load", "--once")
    assert loaded.returncode == 0, loaded.stderr
    rows = query(catalog, "select site_id, event_id, ingest_ts from bronze.events order by site_id").to_pylist()
    assert [r["site_id"] for r in rows] == ["s1", "s1", "s2"]
    assert "0b7e6f2c-3c4d-4e5f-8a9b-0c1d2e3f4a5b" in {r["event_id"] for r in rows}
    total, left = list_quarantine(catalog)
    assert total == 2 and {e.stream_offset for e in left} == {2, 3}
    everything, _ = list_quarantine(catalog, include_replayed=True)
    assert everything == 4


def test_replay_cli_reports(tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]) -> None:
    fill(tmp_path / "data")
    result = clicklake("quarantine", "replay", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "examined 4; would replay 2; 2 still refused" in result.stdout
