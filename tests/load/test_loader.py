"""The loader over a real local stream and a real Iceberg catalog: what a user finds in the tables."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from clicklake.lake.catalog import open_catalog
from clicklake.lake.maintain import COMPACTIONS, compact
from clicklake.lake.position import committed_position
from clicklake.load import GROUP, Loader
from clicklake.query.engine import query
from clicklake.schema.envelope import Rejected, encode_payload
from clicklake.schema.record import Record
from clicklake.stream import Stream, StreamFullError, open_stream
from samples import NOW_MS, records


def append(stream: Stream, recs: list[Record]) -> None:
    stream.append([(r.session.session_id or r.event_id, encode_payload(r)) for r in recs])


def ids(catalog: Any, table: str = "bronze.events", column: str = "event_id") -> list[str]:
    rows = query(catalog, f"select {column} as v from {table} order by 1").to_pylist()
    return [r["v"] for r in rows]


def make_loader(stream: Stream, catalog: Any, tmp_path: Path, **opts: Any) -> Loader:
    return Loader(stream, catalog, tmp_path / "work", **opts)


def test_loads_every_event_once_and_records_the_position(stream: Stream, catalog: Any, tmp_path: Path) -> None:
    append(stream, records(40, prefix="a"))
    loader = make_loader(stream, catalog, tmp_path, flush_records=15)
    stats = loader.drain()
    assert (stats.events, stats.duplicates, stats.quarantined) == (40, 0, 0)
    assert stats.commits >= 3  # flush_records splits the drain
    append(stream, records(20, prefix="b"))
    assert loader.drain().events == 20
    assert ids(catalog) == sorted([f"a{i}" for i in range(40)] + [f"b{i}" for i in range(20)])
    ends = {p.partition: p.next_offset for p in stream.stats().partitions}
    position = committed_position(catalog.load_table("bronze.events"))
    assert position is not None and position.offsets == ends and position.stream_id == stream.stream_id
    assert {p: stream.committed(GROUP, p) for p in ends} == ends
    assert all(lag.records == 0 for lag in stream.lag(GROUP))


def test_a_new_loader_resumes_from_the_table_not_from_the_group(stream: Stream, catalog: Any, tmp_path: Path) -> None:
    append(stream, records(30))
    make_loader(stream, catalog, tmp_path).drain()
    # the group's offsets lag behind the table (as after a crash between the two commits)
    for p in range(stream.partitions):
        stream.commit(GROUP, p, 0)
    again = make_loader(stream, catalog, tmp_path, dedup_window_s=0)
    assert again.drain().events == 0
    assert len(ids(catalog)) == 30


def test_rejections_and_unreadable_records_go_to_quarantine_with_their_place(
    stream: Stream, catalog: Any, tmp_path: Path
) -> None:
    rejected = Rejected(site_id="s1", received_ts=NOW_MS, source="http", reason="$.ts: expected", raw=b'{"ts":1}')
    stream.append(
        [
            ("k", encode_payload(rejected)),
            ("k", b'{"kind":"event/7","site_id":"s1"}'),
            ("k", encode_payload(records(1)[0])),
        ]
    )
    stats = make_loader(stream, catalog, tmp_path).drain()
    assert (stats.events, stats.quarantined) == (1, 2)
    rows = query(
        catalog, "select source, reason, raw, site_id, stream_offset from bronze.quarantine order by stream_offset"
    ).to_pylist()
    assert [(r["source"], r["stream_offset"]) for r in rows] == [("http", 0), ("loader", 1)]
    assert rows[0]["raw"] == b'{"ts":1}' and rows[0]["site_id"] == "s1"
    assert "event/7" in rows[1]["reason"] and rows[1]["raw"] == b'{"kind":"event/7","site_id":"s1"}'


def test_duplicates_within_the_window_are_dropped_even_after_a_restart(
    stream: Stream, catalog: Any, tmp_path: Path
) -> None:
    first = records(10)
    append(stream, first + first[:3])  # a client retried three events
    loader = make_loader(stream, catalog, tmp_path)
    assert (loader.drain().duplicates, len(ids(catalog))) == (3, 10)
    append(stream, first[5:7])
    restarted = make_loader(stream, catalog, tmp_path)
    assert restarted.drain().duplicates == 2
    # the same event id on another site is another event
    other_site = records(2, site_id="s2")
    append(stream, other_site)
    assert restarted.drain().events == 2
    # outside the window: a retry ingested 11 minutes later is kept
    late = records(1, ingest_ts=NOW_MS + 7 * 60_000 + 11 * 60_000)
    append(stream, late)
    assert restarted.drain().events == 1
    assert len(ids(catalog)) == 13


def test_the_window_read_back_at_a_restart_outlives_the_first_commit(
    stream: Stream, catalog: Any, tmp_path: Path
) -> None:
    """The collectors' clock (ingest_ts) hours ahead of the loader's: the keys read back still count."""
    ahead = int(time.time() * 1000) + 6 * 3_600_000
    first = records(10, ingest_ts=ahead)
    append(stream, first)
    make_loader(stream, catalog, tmp_path).drain()
    restarted = make_loader(stream, catalog, tmp_path, flush_records=5)
    append(stream, records(5, prefix="new", ingest_ts=ahead))
    append(stream, first[:2])  # retries, in the batch after the restart's first commit
    stats = restarted.drain()
    assert (stats.events, stats.duplicates) == (5, 2)
    assert len(ids(catalog)) == 15


def test_a_loader_restarted_on_a_backlog_older_than_the_window_still_drops_retries(
    stream: Stream, catalog: Any, tmp_path: Path
) -> None:
    """After an outage the backlog was ingested long before the loader runs: its retries count once."""
    two_hours_ago = int(time.time() * 1000) - 2 * 3_600_000  # the window is 10 minutes
    first = records(10, ingest_ts=two_hours_ago)
    append(stream, first)
    make_loader(stream, catalog, tmp_path).drain()
    append(stream, records(3, prefix="later", ingest_ts=two_hours_ago + 1_000) + first[:4])  # the client retried
    stats = make_loader(stream, catalog, tmp_path).drain()
    assert (stats.events, stats.duplicates) == (3, 4)
    assert len(ids(catalog)) == 13 and len(set(ids(catalog))) == 13


def test_files_are_partitioned_and_sorted_by_site_then_time(stream: Stream, catalog: Any, tmp_path: Path) -> None:
    append(stream, records(90, sites=2))
    make_loader(stream, catalog, tmp_path).drain()
    table = catalog.load_table("bronze.events")
    files = [task.file.file_path for task in table.scan().plan_files()]
    assert len(files) == 9  # one per event type in this hour
    for path in files:
        assert "/events_type=" in path and "/ingest_dt=2026-11-22/" in path and "/hour=12/" in path
        data = pq.read_table(path.removeprefix("file://"), columns=["site_id", "ts"]).to_pylist()
        assert data == sorted(data, key=lambda r: (r["site_id"], r["ts"]))
        assert len({r["site_id"] for r in data}) == 2


def _codecs(table: Any) -> set[str]:
    out = set()
    for task in table.scan().plan_files():
        meta = pq.ParquetFile(task.file.file_path.removeprefix("file://")).metadata
        out |= {
            meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(meta.num_columns)
        }
    return out


def test_the_loaders_files_are_snappy_until_compaction_rewrites_the_hour_with_the_tables_zstd(
    stream: Stream, catalog: Any, tmp_path: Path
) -> None:
    """The loader's small files skip zstd's set-up per column; the closed hour ends up compact and in zstd."""
    loader = make_loader(stream, catalog, tmp_path)
    for prefix in ("a", "b"):  # two commits: two files per partition of the hour
        append(stream, records(18, prefix=prefix))
        loader.drain()
    table = catalog.load_table("bronze.events")
    assert table.metadata.properties["write.parquet.compression-codec"] == "zstd"  # the table's own, unchanged
    assert _codecs(table) == {"SNAPPY"}
    hour_end = datetime.fromtimestamp(NOW_MS / 1000, UTC).replace(minute=0, second=0, microsecond=0)
    report = compact(
        table, next(r for r in COMPACTIONS if r.identifier == "bronze.events"), hour_end + timedelta(hours=2)
    )
    assert report.compacted and report.files_after < report.files_before
    table.refresh()
    assert _codecs(table) == {"ZSTD"}
    assert len(ids(catalog)) == 36


def test_run_commits_within_the_interval_and_on_stop(stream: Stream, catalog: Any, tmp_path: Path) -> None:
    loader = make_loader(stream, catalog, tmp_path, flush_interval_s=0.2)
    stop = threading.Event()
    worker = threading.Thread(target=loader.run, args=(stop,))
    worker.start()
    try:
        append(stream, records(5, prefix="x"))
        deadline = time.monotonic() + 10
        while len(ids(catalog)) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(ids(catalog)) == 5
        loader.flush_interval_s = 3600  # now only the stop can commit
        append(stream, records(4, prefix="y"))
        time.sleep(0.3)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(ids(catalog)) == 9


def test_a_commit_racing_another_writer_is_retried(stream: Stream, catalog: Any, tmp_path: Path) -> None:
    loader = make_loader(stream, catalog, tmp_path)
    append(stream, records(6))
    loader.poll()
    # another process commits to the table between the loader's read and its commit
    other = open_catalog(tmp_path / "data").load_table("bronze.events")
    other.append(other.scan().to_arrow())
    assert loader.flush() == 6
    assert len(ids(catalog)) == 6


def test_a_recreated_stream_is_read_from_its_start(tmp_path: Path, catalog: Any) -> None:
    first = open_stream(tmp_path / "s1", partitions=3)
    append(first, records(5, prefix="old"))
    Loader(first, catalog, tmp_path / "work").drain()
    second = open_stream(tmp_path / "s2", partitions=3)
    append(second, records(3, prefix="new"))
    try:
        assert Loader(second, catalog, tmp_path / "work").drain().events == 3
    finally:
        first.close()
        second.close()
    assert len(ids(catalog)) == 8


def test_retention_gaps_are_counted(stream: Stream, catalog: Any, tmp_path: Path, caplog: Any) -> None:
    append(stream, records(50))
    removed = stream.trim(max_bytes=1)
    assert removed.unread_records > 0
    append(stream, records(5, prefix="z"))
    stats = make_loader(stream, catalog, tmp_path).drain()
    assert stats.lost_to_retention == removed.unread_records
    assert "removed by stream retention" in caplog.text


@pytest.mark.parametrize("window", [0.0])
def test_a_zero_window_keeps_duplicates(stream: Stream, catalog: Any, tmp_path: Path, window: float) -> None:
    recs = records(3)
    append(stream, recs + recs)
    assert make_loader(stream, catalog, tmp_path, dedup_window_s=window).drain().events == 6


def test_old_snapshots_are_expired_beyond_the_cap(stream: Stream, catalog: Any, tmp_path: Path) -> None:
    loader = make_loader(stream, catalog, tmp_path, keep_snapshots=4)
    for i in range(12):
        append(stream, records(3, prefix=f"c{i}-"))
        loader.drain()
    table = catalog.load_table("bronze.events")
    assert 4 <= len(table.metadata.snapshots) <= 5
    assert len(ids(catalog)) == 36
    position = committed_position(table)
    assert position is not None and position.offsets == {p.partition: p.next_offset for p in stream.stats().partitions}


def test_a_started_loader_holds_back_the_stream_while_another_group_reads_ahead(tmp_path: Path, catalog: Any) -> None:
    stream = open_stream(tmp_path / "s", partitions=3, max_lag_records=10)
    try:
        make_loader(stream, catalog, tmp_path)  # started, nothing committed yet
        append(stream, records(10))
        for partition in range(stream.partitions):  # a live reader is through everything
            stream.commit("realtime", partition, stream.stats().partitions[partition].next_offset)
        with pytest.raises(StreamFullError):  # the loader has read none of the 10
            append(stream, records(1, prefix="more"))
    finally:
        stream.close()
