"""What a run must rebuild: the watermark each table keeps, and the event days that changed since.

Every commit of a silver or gold table records, in its Iceberg snapshot summary, the
`bronze.events` snapshot it was built from (`clicklake.transform.bronze-sequence-number`
and `...-snapshot-id`) and a fingerprint of the models and their settings. A run starts
from the oldest watermark of all the tables, so a run that stopped halfway (a crash, a
failed check) is redone from where every table agrees.

Changed days come from sequence numbers, which outlive the snapshots the loader expires
every minute: a data file of the current bronze snapshot whose data sequence number is
above the watermark was added since, and the UTC days of its `ts` values are the days to
rebuild. Files written by compaction hold rows already seen and are skipped while the
snapshot that wrote them is still known (a run that finds nothing else moves the watermark
past them, with a snapshot that changes no data). Files removed since the watermark (by a delete,
not by compaction) are found in the snapshots still kept, by their `ts` bounds; a delete
whose snapshot is gone is not seen, so whatever deletes rows from bronze (an erasure)
must ask for its days to be rebuilt (`clicklake transform --from D --to D`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Final
from urllib.parse import unquote, urlparse

import duckdb
import msgspec
from pyiceberg.conversions import from_bytes
from pyiceberg.expressions import (
    AlwaysFalse,
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    In,
    LessThan,
    Or,
    Reference,
)
from pyiceberg.expressions.literals import literal
from pyiceberg.manifest import DataFile, ManifestContent, ManifestEntryStatus, ManifestFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Operation, Snapshot
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DateType, TimestamptzType

from clicklake.errors import TerminalError
from clicklake.lake.maintain import OPERATION_KEY
from clicklake.lake.views import parquet_source

SEQUENCE_KEY: Final = "clicklake.transform.bronze-sequence-number"
SNAPSHOT_KEY: Final = "clicklake.transform.bronze-snapshot-id"
MODELS_KEY: Final = "clicklake.transform.models"
RUN_KEY: Final = "clicklake.transform.run-id"

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class Watermark(msgspec.Struct, frozen=True):
    """The `bronze.events` snapshot a table was built from, and the models that built it."""

    sequence_number: int
    snapshot_id: int
    models: str

    def properties(self, run_id: str) -> dict[str, str]:
        """The snapshot summary properties that record this watermark."""
        return {
            SEQUENCE_KEY: str(self.sequence_number),
            SNAPSHOT_KEY: str(self.snapshot_id),
            MODELS_KEY: self.models,
            RUN_KEY: run_id,
        }


def watermark_of(table: Table) -> Watermark | None:
    """The watermark of the table's latest snapshot (or nearest ancestor) that has one; None if none does."""
    metadata = table.metadata
    snapshot = table.current_snapshot()
    while snapshot is not None:
        props = snapshot.summary.additional_properties if snapshot.summary is not None else {}
        if SEQUENCE_KEY in props:
            return Watermark(int(props[SEQUENCE_KEY]), int(props.get(SNAPSHOT_KEY, "0")), props.get(MODELS_KEY, ""))
        parent = snapshot.parent_snapshot_id
        snapshot = metadata.snapshot_by_id(parent) if parent is not None else None
    return None


def _is_compaction(table: Table, snapshot_id: int | None) -> bool:
    snapshot = table.metadata.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    if snapshot is None or snapshot.summary is None:
        return False
    # retention only drops rows silver keeps by its own limit: its rewrites are no news either
    return snapshot.summary.additional_properties.get(OPERATION_KEY) in ("compact", "retention")


def added_files(bronze: Table, snapshot: Snapshot, since: int) -> list[DataFile]:
    """Data files of `snapshot` added after sequence number `since`, except those compaction wrote."""
    out = []
    for manifest in snapshot.manifests(bronze.io):
        if manifest.sequence_number <= since:
            continue  # every entry of a manifest is at most as new as the manifest
        for entry in manifest.fetch_manifest_entry(bronze.io, discard_deleted=True):
            if (entry.sequence_number or 0) > since and not _is_compaction(bronze, entry.snapshot_id):
                out.append(entry.data_file)
    return out


def removed_files(bronze: Table, snapshot: Snapshot, since: int) -> list[DataFile]:
    """Data files that the snapshots after `since` (those still kept) removed, except by compaction."""
    out = []
    current: Snapshot | None = snapshot
    while current is not None and (current.sequence_number or 0) > since:
        summary = current.summary
        if (
            summary is not None
            and summary.operation != Operation.APPEND
            and not _is_compaction(bronze, current.snapshot_id)
        ):
            for manifest in current.manifests(bronze.io):
                if manifest.added_snapshot_id != current.snapshot_id:
                    continue
                for entry in manifest.fetch_manifest_entry(bronze.io, discard_deleted=False):
                    if entry.status == ManifestEntryStatus.DELETED and entry.snapshot_id == current.snapshot_id:
                        out.append(entry.data_file)
        parent = current.parent_snapshot_id
        current = bronze.metadata.snapshot_by_id(parent) if parent is not None else None
    return out


def _day(micros: int) -> date:
    return (_EPOCH + timedelta(microseconds=micros)).date()


def _bounds(data_file: DataFile, field_id: int) -> tuple[date, date] | None:
    lower = (data_file.lower_bounds or {}).get(field_id)
    upper = (data_file.upper_bounds or {}).get(field_id)
    if lower is None or upper is None:
        return None
    first, last = from_bytes(TimestamptzType(), lower), from_bytes(TimestamptzType(), upper)
    assert isinstance(first, int) and isinstance(last, int)  # microseconds since the epoch
    return _day(first), _day(last)


def days_of(
    con: duckdb.DuckDBPyConnection, bronze: Table, added: Iterable[DataFile], removed: Iterable[DataFile]
) -> set[date]:
    """The UTC days of `ts` in `added` (read when a file's bounds span days) and within `removed`'s bounds."""
    ts_id = bronze.schema().find_field("ts").field_id
    days: set[date] = set()
    to_read: list[str] = []
    for data_file in added:
        bounds = _bounds(data_file, ts_id)
        if bounds is not None and bounds[0] == bounds[1]:
            days.add(bounds[0])
        else:
            to_read.append(data_file.file_path)
    if to_read:
        source = parquet_source(con, "__bronze_added", bronze.io, to_read)
        rows = con.execute(f"SELECT DISTINCT CAST(ts AS DATE) FROM {source}").fetchall()
        days.update(row[0] for row in rows)
    for data_file in removed:
        bounds = _bounds(data_file, ts_id)
        if bounds is None:
            raise ValueError(f"{data_file.file_path} was removed from bronze.events and has no ts bounds")
        first, last = bounds
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


def spanned_days(bronze: Table, tasks: Iterable[FileScanTask]) -> set[date]:
    """Every day within some data file's `ts` bounds: all the days of the planned files (and maybe a few empty ones).

    From the manifests alone; a full refresh rebuilds these days, and an empty one is harmless.
    """
    ts_id = bronze.schema().find_field("ts").field_id
    days: set[date] = set()
    for task in tasks:
        bounds = _bounds(task.file, ts_id)
        if bounds is None:
            raise ValueError(f"{task.file.file_path} of bronze.events has no ts bounds")
        first, last = bounds
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


def bronze_filter(days: Iterable[date]) -> BooleanExpression:
    """The bronze rows of `days`, with a bound on `ingest_dt` that lets planning skip old partitions.

    The contract refuses a `ts` more than 24 hours ahead of its arrival, so an event of day D
    was ingested on day D - 1 or later.
    """
    ordered = sorted(set(days))
    if not ordered:
        return AlwaysFalse()
    since = (ordered[0] - timedelta(days=1)).isoformat()
    return And(ts_filter(ordered), GreaterThanOrEqual(term=Reference("ingest_dt"), value=literal(since)))


class BronzeFiles:
    """The live data files of bronze's manifests, read once per manifest and kept slim, for the runs of one process.

    A manifest file never changes once written, so its entries can be kept by its path; the
    next run reads only the manifests committed since (`clicklake up` runs every minute). An
    entry keeps what the transform uses: path, size, partition, record count, the `ts`
    bounds, and which columns the file has (`value_counts` keys; the counts themselves are
    -1 here), about a tenth of a full entry's memory. Manifests the current snapshot no longer
    lists are forgotten at each plan.
    """

    def __init__(self) -> None:
        self._files: dict[str, list[DataFile]] = {}
        self._columns: dict[frozenset[int], dict[int, int]] = {}

    def of(self, bronze: Table, manifest: ManifestFile, ts_id: int) -> list[DataFile]:
        files = self._files.get(manifest.manifest_path)
        if files is None:
            files = [
                self._slim(e.data_file, ts_id) for e in manifest.fetch_manifest_entry(bronze.io, discard_deleted=True)
            ]
            self._files[manifest.manifest_path] = files
        return files

    def keep_only(self, manifests: Iterable[ManifestFile]) -> None:
        listed = {m.manifest_path for m in manifests}
        for path in [p for p in self._files if p not in listed]:
            del self._files[path]

    def _slim(self, data_file: DataFile, ts_id: int) -> DataFile:
        keys = frozenset(data_file.value_counts or {})
        columns = self._columns.setdefault(keys, dict.fromkeys(sorted(keys), -1))
        lower = (data_file.lower_bounds or {}).get(ts_id)
        upper = (data_file.upper_bounds or {}).get(ts_id)
        return DataFile.from_args(
            content=data_file.content,
            file_path=data_file.file_path,
            file_format=data_file.file_format,
            partition=data_file.partition,
            record_count=data_file.record_count,
            file_size_in_bytes=data_file.file_size_in_bytes,
            value_counts=columns if data_file.value_counts is not None else None,
            lower_bounds={ts_id: lower} if lower is not None else None,
            upper_bounds={ts_id: upper} if upper is not None else None,
            spec_id=data_file.spec_id,
        )


def plan_bronze(
    bronze: Table, snapshot: Snapshot, days: Iterable[date] | None, cache: BronzeFiles | None = None
) -> list[FileScanTask] | None:
    """The data files of `snapshot` that may hold rows of `days` (every file when None), as scan tasks.

    What `bronze.scan(row_filter=bronze_filter(days)).plan_files()` gives, without its cost:
    pyiceberg evaluates the filter's partition and metrics predicates and a residual for every
    manifest entry, twice the time of reading the entries, and bronze has thousands of small
    files. Here a manifest whose `ingest_dt` bounds end before the first day's eve is skipped
    (as `bronze_filter` lets pyiceberg do), and an entry is kept when its `ts` bounds meet one
    of the days (or it has none). With a `cache`, each manifest is read once (its entries then
    carry only what the transform reads: `BronzeFiles`). None when the snapshot has delete
    files: pyiceberg must plan.
    """
    manifests = snapshot.manifests(bronze.io)
    if any(m.content != ManifestContent.DATA for m in manifests):
        return None
    if cache is not None:
        cache.keep_only(manifests)
    wanted = sorted(set(days)) if days is not None else None
    if wanted is not None and not wanted:
        return []
    ts_id = bronze.schema().find_field("ts").field_id
    tasks = []
    for manifest in manifests:
        if wanted is not None and _ingested_before(bronze, manifest, wanted[0] - timedelta(days=1)):
            continue
        if cache is not None:
            files: Iterable[DataFile] = cache.of(bronze, manifest, ts_id)
        else:
            files = (e.data_file for e in manifest.fetch_manifest_entry(bronze.io, discard_deleted=True))
        for data_file in files:
            if wanted is not None:
                bounds = _bounds(data_file, ts_id)
                if bounds is not None and not _meets(bounds, wanted):
                    continue
            tasks.append(FileScanTask(data_file))
    return tasks


def _ingested_before(bronze: Table, manifest: ManifestFile, day: date) -> bool:
    """Whether every file of `manifest` was ingested before `day`, by its partition summary of `ingest_dt`."""
    spec = bronze.specs().get(manifest.partition_spec_id)
    if spec is None or not manifest.partitions:
        return False
    source = bronze.schema().find_field("ingest_dt").field_id
    for i, partition_field in enumerate(spec.fields):
        if partition_field.source_id == source and isinstance(partition_field.transform, IdentityTransform):
            if i >= len(manifest.partitions):
                return False
            upper = manifest.partitions[i].upper_bound
            if upper is None:
                return False
            last = from_bytes(DateType(), upper)
            assert isinstance(last, int)  # days since the epoch
            return _EPOCH.date() + timedelta(days=last) < day
    return False


def _meets(bounds: tuple[date, date], days: list[date]) -> bool:
    first, last = bounds
    return any(first <= d <= last for d in days)


def day_counts(
    con: duckdb.DuckDBPyConnection, bronze: Table, tasks: Iterable[FileScanTask], days: set[date]
) -> dict[date, int]:
    """Rows of bronze.events per UTC day of `ts`, for `days`, among the planned `tasks`: from the manifests'
    record counts where a file holds one day only, by reading `ts` of the files that span days."""
    ts_id = bronze.schema().find_field("ts").field_id
    counts: dict[date, int] = dict.fromkeys(days, 0)
    to_read: list[str] = []
    for task in tasks:
        if task.delete_files:
            raise TerminalError(
                f"{task.file.file_path} of bronze.events has row-level deletes, which the transform does not read"
            )
        bounds = _bounds(task.file, ts_id)
        if bounds is not None and bounds[0] == bounds[1]:
            if bounds[0] in counts:
                counts[bounds[0]] += task.file.record_count
        else:
            to_read.append(task.file.file_path)
    if to_read:
        source = parquet_source(con, "__bronze_spanning", bronze.io, to_read)
        rows = con.execute(f"SELECT CAST(ts AS DATE), count(*) FROM {source} GROUP BY 1").fetchall()
        for day, n in rows:
            if day in counts:
                counts[day] += int(n)
    return counts


def local_path(location: str) -> str:
    """The local path of a warehouse file URI (`file:///...`) or path (object storage has none)."""
    parsed = urlparse(location)
    if parsed.scheme == "":
        return location
    if parsed.scheme == "file":
        return unquote(parsed.path)
    raise TerminalError(f"{location} is not a local file")


# -- day sets -------------------------------------------------------------------------


def around(days: Iterable[date], before: int, after: int) -> set[date]:
    """Every day from `before` days before to `after` days after each of `days`."""
    return {d + timedelta(days=k) for d in days for k in range(-before, after + 1)}


def ts_filter(days: Iterable[date], column: str = "ts") -> BooleanExpression:
    """Rows whose timestamp `column` falls on one of `days` (UTC), as ranges of consecutive days."""
    expr: BooleanExpression = AlwaysFalse()
    ordered = sorted(set(days))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + timedelta(days=1):
            j += 1
        start = datetime.combine(ordered[i], datetime.min.time(), UTC).isoformat()
        end = datetime.combine(ordered[j] + timedelta(days=1), datetime.min.time(), UTC).isoformat()
        term = Reference(column)
        expr = Or(
            expr, And(GreaterThanOrEqual(term=term, value=literal(start)), LessThan(term=term, value=literal(end)))
        )
        i = j + 1
    return expr


def day_filter(days: Iterable[date] | None, column: str = "event_dt") -> BooleanExpression:
    """Rows whose date `column` is one of `days`; every row when `days` is None."""
    if days is None:
        return AlwaysTrue()
    values = sorted({d.isoformat() for d in days})
    return In(term=Reference(column), values={literal(v) for v in values}) if values else AlwaysFalse()
