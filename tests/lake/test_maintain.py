"""Lake maintenance on a real catalog: compaction, conflicts with a concurrent writer, expiry, file removal."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from subprocess import CompletedProcess

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from clicklake import cli
from clicklake.config import LakeSettings
from clicklake.lake.catalog import open_catalog
from clicklake.lake.maintain import (
    COMPACTIONS,
    OPERATION_KEY,
    compact,
    expire_snapshots,
    maintain,
    remove_unreferenced_files,
    storage_clock,
)
from clicklake.lake.position import OFFSETS_KEY, StreamPosition, committed_position
from clicklake.lake.tables import BRONZE_EVENTS, BRONZE_QUARANTINE, EVENTS_SCHEMA, ensure_tables
from clicklake.query.engine import query
from clicklake.schema import decode_batch, to_record

EVENTS_RULE, QUARANTINE_RULE = COMPACTIONS[:2]
USER = {"consent": {"analytics": True}, "user_id_hash": "u1"}
TYPES = ("page_view", "affiliate_click")
#: Maintenance that expires every snapshot taken before it starts.
EXPIRE_ALL = LakeSettings(snapshot_retention_hours=1e-9, compact_after_minutes=10)


def hour_start(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


NOW = datetime.now(UTC)
CLOSED = hour_start(NOW - timedelta(hours=3))  # ended long before compact_after_minutes
OPEN = hour_start(NOW)  # still being written
CLOSED_LABEL = CLOSED.strftime("%Y-%m-%dT%H")


def events(hour: datetime, first: int, n: int) -> pa.Table:
    """`n` events ingested in `hour`, ids e<first>..; sites and times are shuffled so sorting has work to do."""
    ingest_ms = int((hour + timedelta(minutes=30)).timestamp() * 1000)
    body = []
    for i in range(first, first + n):
        ts = hour + timedelta(seconds=(i * 7919) % 3000)
        event = {"event_type": TYPES[i % 2], "ts": ts.isoformat().replace("+00:00", "Z"), "user": USER}
        if event["event_type"] == "affiliate_click":
            event["affiliate"] = {"link_id": f"l{i}", "payout_cents": i}
        body.append(event)
    batch = decode_batch(json.dumps(body).encode(), now_ms=ingest_ms)
    assert batch.rejected == []
    records = [
        to_record(e, ts, site_id=f"s{(first + k) * 5 % 3}", ingest_ts=ingest_ms, event_id=f"e{first + k:05d}")
        for k, (e, ts) in enumerate(zip(batch.events, batch.ts_ms, strict=True))
    ]
    return pa.Table.from_pylist(msgspec.to_builtins(records), schema=EVENTS_SCHEMA)


class Loader:
    """Appends like the loader: small commits, each recording the next stream offset."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.next_id = 0

    def append(self, hour: datetime, n: int = 4) -> None:
        self.table.append(events(hour, self.next_id, n), snapshot_properties=self.position(self.next_id + n))
        self.next_id += n

    @staticmethod
    def position(offset: int) -> dict[str, str]:
        return StreamPosition("stream-1", {0: offset}).properties()


def quarantine_rows(table: Table, day: date, n: int, first: int) -> pa.Table:
    received = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1)
    rows = [
        {
            "site_id": "s1",
            "received_ts": received + timedelta(minutes=(i * 37) % 600),
            "received_dt": day,
            "source": "web",
            "reason": f"bad {i}",
            "raw": f"raw {i}".encode(),
            "stream_partition": 0,
            "stream_offset": i,
            "replayed": False,
        }
        for i in range(first, first + n)
    ]
    return pa.Table.from_pylist(rows, schema=table.schema().as_arrow())


def data_files(table: Table, hour: datetime) -> list[str]:
    """Paths of the current data files of one ingest hour."""
    table.refresh()
    return sorted(
        t.file.file_path
        for t in table.scan(row_filter=f"ingest_dt = '{hour.date()}' and hour = '{hour:%H}'").plan_files()
    )


def files_per_partition(table: Table, hour: datetime) -> Counter[str]:
    table.refresh()
    tasks = table.scan(row_filter=f"ingest_dt = '{hour.date()}' and hour = '{hour:%H}'").plan_files()
    return Counter(t.file.partition[0] for t in tasks)


def all_rows(table: Table) -> list[dict[str, object]]:
    table.refresh()
    return table.scan().to_arrow().sort_by("event_id").to_pylist()


def local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = open_catalog(tmp_path / "data")
    ensure_tables(catalog)
    return catalog


@pytest.fixture
def loader(catalog: Catalog) -> Loader:
    """Five commits in a closed hour, two in the open one."""
    loader = Loader(catalog.load_table(BRONZE_EVENTS))
    for _ in range(5):
        loader.append(CLOSED)
    for _ in range(2):
        loader.append(OPEN)
    return loader


def test_maintain_compacts_a_closed_hour_and_leaves_the_open_one(catalog: Catalog, loader: Loader) -> None:
    table = loader.table
    before = all_rows(table)
    open_files = data_files(table, OPEN)
    assert files_per_partition(table, CLOSED) == {"page_view": 5, "affiliate_click": 5}
    old_snapshots = {s.snapshot_id for s in table.snapshots()}

    report = maintain(catalog, EXPIRE_ALL)

    [events_report] = [t for t in report.tables if t.table == BRONZE_EVENTS]
    assert events_report.compacted == [CLOSED_LABEL] and events_report.skipped == []
    assert (events_report.files_before, events_report.files_after, events_report.rows_rewritten) == (10, 2, 20)
    assert files_per_partition(table, CLOSED) == {"page_view": 1, "affiliate_click": 1}
    assert data_files(table, OPEN) == open_files
    # the same rows, each once, with every column unchanged
    assert all_rows(table) == before
    assert query(catalog, "select count(*) as n from bronze.events").to_pylist() == [{"n": len(before)}]
    # each new file is sorted by (site_id, ts)
    for path in data_files(table, CLOSED):
        keys = pq.read_table(local(path), columns=["site_id", "ts"]).to_pylist()
        assert len(keys) == 10 and keys == sorted(keys, key=lambda r: (r["site_id"], r["ts"]))
        assert keys != sorted(keys, key=lambda r: r["ts"])  # the sort did something
    # one snapshot replaced the files and carries the loader's position itself
    snapshot = table.current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    assert snapshot.summary.operation.value == "overwrite"
    assert snapshot.summary.additional_properties[OPERATION_KEY] == "compact"
    assert json.loads(snapshot.summary.additional_properties[OFFSETS_KEY]) == {"0": loader.next_id}
    assert committed_position(table) == StreamPosition("stream-1", {0: loader.next_id})
    # every snapshot taken before the run is expired; the compaction is the only one left
    assert events_report.snapshots_expired == len(old_snapshots)
    assert [s.snapshot_id for s in table.snapshots()] == [snapshot.snapshot_id]
    # the replaced files are unreferenced now, but too young to delete
    assert events_report.files_deleted == 0


def test_a_second_run_finds_nothing_to_do(catalog: Catalog, loader: Loader) -> None:
    maintain(catalog, EXPIRE_ALL)
    table = loader.table
    table.refresh()
    snapshot = table.current_snapshot()

    [events_report] = [t for t in maintain(catalog, EXPIRE_ALL).tables if t.table == BRONZE_EVENTS]

    assert events_report.compacted == [] and events_report.snapshots_expired == 0
    table.refresh()
    assert table.current_snapshot() == snapshot


def test_an_hour_within_compact_after_minutes_of_its_end_waits(catalog: Catalog, loader: Loader) -> None:
    # 5 minutes after the closed hour ended, with compact_after_minutes = 10
    now = CLOSED + timedelta(hours=1, minutes=5)
    settings = LakeSettings(compact_after_minutes=10)

    [events_report] = [t for t in maintain(catalog, settings, now=now).tables if t.table == BRONZE_EVENTS]

    assert events_report.compacted == []
    assert files_per_partition(loader.table, CLOSED) == {"page_view": 5, "affiliate_click": 5}
    # 11 minutes after, it goes
    [events_report] = [
        t for t in maintain(catalog, settings, now=now + timedelta(minutes=6)).tables if t.table == BRONZE_EVENTS
    ]
    assert events_report.compacted == [CLOSED_LABEL]


def test_quarantine_is_compacted_by_closed_day(catalog: Catalog) -> None:
    table = catalog.load_table(BRONZE_QUARANTINE)
    old_day, today = (NOW - timedelta(days=2)).date(), NOW.date()
    for i in range(3):
        table.append(quarantine_rows(table, old_day, 3, first=i * 3))
    for i in range(2):
        table.append(quarantine_rows(table, today, 3, first=100 + i * 3))
    before = table.scan().to_arrow().sort_by("stream_offset").to_pylist()

    [report] = [t for t in maintain(catalog, LakeSettings()).tables if t.table == BRONZE_QUARANTINE]

    assert report.compacted == [old_day.isoformat()] and (report.files_before, report.files_after) == (3, 1)
    table.refresh()
    per_day = Counter(t.file.partition[0] for t in table.scan().plan_files())
    assert per_day == {(old_day - date(1970, 1, 1)).days: 1, (today - date(1970, 1, 1)).days: 2}
    assert table.scan().to_arrow().sort_by("stream_offset").to_pylist() == before
    [path] = [t.file.file_path for t in table.scan(row_filter=f"received_dt = '{old_day}'").plan_files()]
    received = pq.read_table(local(path), columns=["received_ts"]).column(0).to_pylist()
    assert received == sorted(received) and len(received) == 9


# -- a concurrent writer ----------------------------------------------------------


class ConcurrentLoader:
    """A `before_commit` hook that commits like the loader, through its own catalog, the first `times` calls."""

    def __init__(self, data: Path, hour: datetime, first: int, *, times: int = 1) -> None:
        self.data, self.hour, self.first, self.times = data, hour, first, times
        self.calls = 0

    def __call__(self, _: Table) -> None:
        self.calls += 1
        if self.calls > self.times:
            return
        other = open_catalog(self.data).load_table(BRONZE_EVENTS)
        n = self.first + self.calls - 1
        other.append(events(self.hour, n, 1), snapshot_properties=Loader.position(n + 1))


@pytest.mark.parametrize("isolation", ["serializable", "snapshot"])
def test_a_loader_commit_to_another_hour_during_compaction(tmp_path: Path, loader: Loader, isolation: str) -> None:
    table = loader.table
    # under snapshot isolation pyiceberg would rebase the compaction onto the loader's commit itself
    table.transaction().set_properties({"write.delete.isolation-level": isolation}).commit_transaction()
    before = [r["event_id"] for r in all_rows(table)]
    hook = ConcurrentLoader(tmp_path / "data", OPEN, first=9000)

    report = compact(table, EVENTS_RULE, NOW, before_commit=hook)

    assert report.compacted == [CLOSED_LABEL]
    ids = Counter(r["event_id"] for r in all_rows(table))
    assert ids == Counter([*before, "e09000"]) and max(ids.values()) == 1
    assert files_per_partition(table, CLOSED) == {"page_view": 1, "affiliate_click": 1}
    # the compaction committed on top of the loader's commit with the loader's newer position,
    # not the one it read before: a loader restarting now must not load e09000 again
    assert committed_position(table) == StreamPosition("stream-1", {0: 9001})
    # the first commit failed on the loader's; a later one went through (a busy catalog may cost another try)
    assert hook.calls >= 2


def test_a_late_event_into_the_hour_being_compacted(tmp_path: Path, loader: Loader) -> None:
    table = loader.table
    before = [r["event_id"] for r in all_rows(table)]
    hook = ConcurrentLoader(tmp_path / "data", CLOSED, first=9000)

    report = compact(table, EVENTS_RULE, NOW, before_commit=hook)

    assert report.compacted == [CLOSED_LABEL] and report.rows_rewritten == 21
    ids = Counter(r["event_id"] for r in all_rows(table))
    assert ids == Counter([*before, "e09000"]) and max(ids.values()) == 1
    assert files_per_partition(table, CLOSED) == {"page_view": 1, "affiliate_click": 1}


def test_compaction_gives_up_on_an_hour_after_bounded_conflicts(
    tmp_path: Path, loader: Loader, caplog: pytest.LogCaptureFixture
) -> None:
    table = loader.table
    before = [r["event_id"] for r in all_rows(table)]
    closed_files = data_files(table, CLOSED)
    hook = ConcurrentLoader(tmp_path / "data", OPEN, first=9000, times=99)

    with caplog.at_level(logging.WARNING, logger="clicklake.lake.maintain"):
        report = compact(table, EVENTS_RULE, NOW, attempts=3, before_commit=hook)

    assert report.compacted == [] and report.skipped == [CLOSED_LABEL]
    assert "gave up compacting bronze.events " + CLOSED_LABEL in caplog.text
    ids = Counter(r["event_id"] for r in all_rows(table))
    assert ids == Counter([*before, "e09000", "e09001", "e09002"]) and max(ids.values()) == 1
    assert data_files(table, CLOSED) == closed_files
    # the files written for the failed attempts are gone
    on_disk = {str(p) for p in local(table.location()).glob(f"data/*/ingest_dt={CLOSED.date()}/hour={CLOSED:%H}/*")}
    assert on_disk == {str(local(p)) for p in closed_files}


# -- expiry and unreferenced files ------------------------------------------------


def test_expire_snapshots_keeps_newer_ones_and_always_the_current(loader: Loader) -> None:
    table = loader.table
    snapshots = table.snapshots()
    assert len(snapshots) == 7
    cutoff = datetime.fromtimestamp(snapshots[3].timestamp_ms / 1000, UTC)

    assert expire_snapshots(table, cutoff) == 3
    assert [s.snapshot_id for s in table.snapshots()] == [s.snapshot_id for s in snapshots[3:]]
    # a cutoff in the future expires all but the current snapshot
    assert expire_snapshots(table, datetime.now(UTC) + timedelta(days=1)) == 3
    assert [s.snapshot_id for s in table.snapshots()] == [snapshots[-1].snapshot_id]
    assert all_rows(table)[-1]["event_id"] == f"e{loader.next_id - 1:05d}"


def age(root: Path, hours: float) -> None:
    """Make every file under root `hours` old, on the file system's clock (the one that stamps them)."""
    then = storage_clock(root) - hours * 3600
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def test_unreferenced_files_are_deleted_once_old(catalog: Catalog, loader: Loader) -> None:
    table = loader.table
    root = local(table.location())
    replaced = data_files(table, CLOSED)
    maintain(catalog, EXPIRE_ALL)
    metadata_json = set(root.glob("metadata/*.metadata.json"))
    assert all(local(p).exists() for p in replaced)  # young: kept
    age(root, 2)
    in_flight = root / "data" / "events_type=page_view" / "in-flight.parquet"  # a writer has not committed yet
    in_flight.write_bytes(b"PAR1")
    stray = root / "metadata" / "snap-0-0-stray.avro"
    stray.write_bytes(b"Obj")
    two_hours_ago = storage_clock(root) - 7200
    os.utime(stray, (two_hours_ago, two_hours_ago))
    freed = sum(local(p).stat().st_size for p in replaced) + 3

    [events_report] = [t for t in maintain(catalog, EXPIRE_ALL).tables if t.table == BRONZE_EVENTS]

    assert not any(local(p).exists() for p in replaced) and not stray.exists()
    assert in_flight.exists()
    assert metadata_json <= set(root.glob("metadata/*.metadata.json"))
    # old manifests and manifest lists went too, but everything the current snapshot reads is there
    table.refresh()
    snapshot = table.current_snapshot()
    assert snapshot is not None
    assert local(snapshot.manifest_list).exists()
    assert {p.name for p in root.glob("metadata/*.avro")} == {
        local(snapshot.manifest_list).name,
        *(local(m.manifest_path).name for m in snapshot.manifests(table.io)),
    }
    assert events_report.files_deleted > len(replaced) + 1 and events_report.bytes_freed > freed
    assert query(catalog, "select count(*) as n from bronze.events").to_pylist() == [{"n": loader.next_id}]
    assert len(all_rows(table)) == loader.next_id


def test_remove_unreferenced_files_skips_a_store_it_cannot_list(
    catalog: Catalog, loader: Loader, caplog: pytest.LogCaptureFixture
) -> None:
    # a local folder and s3:// are listed (tests/lake/test_s3_maintain.py); other stores are left alone
    table = loader.table
    table.metadata = table.metadata.model_copy(update={"location": "gs://bucket/warehouse/bronze/events"})
    with caplog.at_level(logging.INFO, logger="clicklake.lake.maintain"):
        assert remove_unreferenced_files(table, datetime.now(UTC) + timedelta(days=1)) == (0, 0)
    assert "cannot list gs://bucket/warehouse/bronze/events" in caplog.text


# -- the command ------------------------------------------------------------------


def test_maintain_command_reports_json(tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]) -> None:
    catalog = open_catalog(tmp_path / "data")
    ensure_tables(catalog)
    loader = Loader(catalog.load_table(BRONZE_EVENTS))
    for _ in range(3):
        loader.append(CLOSED)

    result = clicklake("maintain", "--format", "json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["stream_trimmed"] == {"records": 0, "bytes": 0, "unread_records": 0}
    assert report["salts_destroyed"] == []
    tables = {t["table"]: t for t in report["lake"]["tables"]}
    assert set(tables) == {BRONZE_EVENTS, BRONZE_QUARANTINE}
    assert tables[BRONZE_EVENTS]["compacted"] == [CLOSED_LABEL]
    assert (tables[BRONZE_EVENTS]["files_before"], tables[BRONZE_EVENTS]["files_after"]) == (6, 2)
    assert tables[BRONZE_QUARANTINE]["compacted"] == []
    assert f"compacted bronze.events {CLOSED_LABEL}: 6 files into 2, 12 rows" in result.stderr
    assert files_per_partition(loader.table, CLOSED) == {"page_view": 1, "affiliate_click": 1}


def test_maintain_command_prints_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLICKLAKE_DATA", str(tmp_path / "data"))
    catalog = open_catalog(tmp_path / "data")
    ensure_tables(catalog)
    loader = Loader(catalog.load_table(BRONZE_EVENTS))
    for _ in range(2):
        loader.append(CLOSED)

    assert cli.main(["maintain"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "table",
        "compacted",
        "skipped",
        "files_before",
        "files_after",
        "snapshots_expired",
        "rows_deleted",
        "files_deleted",
        "bytes_freed",
    ]
    assert lines[2].split()[:5] == [BRONZE_EVENTS, "1", "0", "4", "2"]
    assert lines[3].split()[:2] == [BRONZE_QUARANTINE, "0"]
