"""Lake maintenance: compact closed hours, expire old snapshots, delete files nothing references.

`maintain` runs three steps on every table of the catalog, each safe while the loader commits:

1. Compaction (tables with a `Compaction` rule: `bronze.events` by ingest hour,
   `bronze.quarantine` and `gold.dq_results` by day). A slice (hour or day) that closed more than
   `lake.compact_after_minutes` ago and has a partition with more than one data
   file is read, sorted, written again as one file per partition, and swapped in
   by ONE snapshot (operation `overwrite`) that deletes exactly the files read.
2. Snapshot expiry: snapshots older than `lake.snapshot_retention_hours` are
   removed from the metadata; the current one always stays.
3. Unreferenced file removal: data files, manifests and manifest lists under the
   table's location (a local folder, or a prefix in object storage, listed through
   pyarrow's file system) that no remaining snapshot uses and that are more than an
   hour old are deleted. `*.metadata.json` files are left to
   `write.metadata.delete-after-commit.enabled`.

Every maintenance snapshot carries the stream position of its parent
(`clicklake.lake.position.carry_position`), so the loader still resumes from the
latest snapshot. That is why a maintenance commit is never rebased by pyiceberg:
its built-in retry would put the same summary, and so an older position, on top
of a newer loader commit. Maintenance commits once and, on a conflict, plans
the slice again against the new head itself.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import msgspec
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, ValidationException
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, Reference
from pyiceberg.expressions.literals import literal
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table

if TYPE_CHECKING:
    from clicklake.lake.retention import Limits

from clicklake.config import LakeSettings
from clicklake.errors import TerminalError
from clicklake.lake.commit_view import commit_once
from clicklake.lake.position import carry_position
from clicklake.lake.tables import BRONZE_EVENTS, BRONZE_QUARANTINE
from clicklake.lake.unreferenced import remove_unreferenced_files, storage_clock

log = logging.getLogger(__name__)

#: Tries per slice, and per expiry, before maintenance leaves it to the next run.
COMMIT_ATTEMPTS: Final = 4
#: Files younger than this are never deleted: a writer may be about to commit them.
UNREFERENCED_MIN_AGE: Final = timedelta(hours=1)
#: Snapshot summary key naming the maintenance step that wrote the snapshot.
OPERATION_KEY: Final = "clicklake.maintenance"

_EPOCH: Final = date(1970, 1, 1)


@dataclass(frozen=True)
class Compaction:
    """How a table is compacted: by slices named by identity partition fields, each closing after `span`.

    `keys` are partition fields of the identity transform on columns of the same
    names: a date, then optionally an hour "00".."23".
    """

    identifier: str
    keys: tuple[str, ...]
    span: timedelta
    sort: tuple[str, ...]

    def start(self, values: tuple[Any, ...]) -> datetime:
        """When the slice named by `values` (days since epoch[, hour]) begins, in UTC."""
        day = datetime.combine(_EPOCH + timedelta(days=int(values[0])), datetime.min.time(), UTC)
        return day + timedelta(hours=int(values[1])) if len(values) > 1 else day

    def label(self, values: tuple[Any, ...]) -> str:
        """`2026-11-22T11` for an hour, `2026-11-22` for a day."""
        start = self.start(values)
        return start.strftime("%Y-%m-%dT%H") if len(values) > 1 else start.date().isoformat()

    def row_filter(self, values: tuple[Any, ...]) -> BooleanExpression:
        """The rows of the slice named by `values`."""
        day = (_EPOCH + timedelta(days=int(values[0]))).isoformat()
        expr: BooleanExpression = EqualTo(term=Reference(self.keys[0]), value=literal(day))
        for key, value in zip(self.keys[1:], values[1:], strict=True):
            expr = And(expr, EqualTo(term=Reference(key), value=literal(value)))
        return expr


COMPACTIONS: Final = (
    Compaction(BRONZE_EVENTS, ("ingest_dt", "hour"), timedelta(hours=1), sort=("site_id", "ts")),
    Compaction(BRONZE_QUARANTINE, ("received_dt",), timedelta(days=1), sort=("received_ts",)),
    # the transform appends its data-quality results at every run (clicklake.transform.tables.GOLD_DQ_RESULTS)
    Compaction("gold.dq_results", ("run_dt",), timedelta(days=1), sort=("run_ts",)),
)


class TableReport(msgspec.Struct, kw_only=True):
    """What maintenance did to one table."""

    table: str
    #: Slices rewritten, as `2026-11-22T11` (hours) or `2026-11-22` (days).
    compacted: list[str] = msgspec.field(default_factory=list)
    #: Slices left for the next run after `COMMIT_ATTEMPTS` conflicts with other writers.
    skipped: list[str] = msgspec.field(default_factory=list)
    files_before: int = 0
    files_after: int = 0
    rows_rewritten: int = 0
    snapshots_expired: int = 0
    #: Rows deleted by retention (their files are in files_deleted and bytes_freed).
    rows_deleted: int = 0
    files_deleted: int = 0
    bytes_freed: int = 0


class MaintainReport(msgspec.Struct, kw_only=True):
    """What one `maintain` run did, table by table."""

    now: datetime
    tables: list[TableReport]

    def rows(self) -> list[dict[str, Any]]:
        """One summary row per table, for a text table."""
        return [
            {
                "table": t.table,
                "compacted": len(t.compacted),
                "skipped": len(t.skipped),
                "files_before": t.files_before,
                "files_after": t.files_after,
                "snapshots_expired": t.snapshots_expired,
                "rows_deleted": t.rows_deleted,
                "files_deleted": t.files_deleted,
                "bytes_freed": t.bytes_freed,
            }
            for t in self.tables
        ]


def maintain(
    catalog: Catalog, settings_lake: LakeSettings, now: datetime | None = None, retention: Limits | None = None
) -> MaintainReport:
    """Apply `retention`, then compact, expire and clean every table of the catalog; `now` (UTC, default the
    clock) decides what is old."""
    now = datetime.now(UTC) if now is None else now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    from clicklake.lake.retention import enforce  # rows.py, which retention uses, imports this module

    freed = {f.table: f for f in enforce(catalog, retention, now)} if retention is not None else {}
    rules = {rule.identifier: rule for rule in COMPACTIONS}
    # A `now` ahead of the clock must not make a file just written look old.
    files_before = min(now, datetime.now(UTC)) - UNREFERENCED_MIN_AGE
    reports = []
    for identifier in _table_identifiers(catalog):
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            continue  # dropped since it was listed
        rule = rules.get(identifier)
        if rule is not None:
            report = compact(table, rule, now - timedelta(minutes=settings_lake.compact_after_minutes))
        else:
            report = TableReport(table=identifier)
        report.snapshots_expired = expire_snapshots(
            table, now - timedelta(hours=settings_lake.snapshot_retention_hours)
        )
        report.files_deleted, report.bytes_freed = remove_unreferenced_files(table, files_before)
        if identifier in freed:
            report.rows_deleted = freed[identifier].rows
            report.files_deleted += freed[identifier].files
            report.bytes_freed += freed[identifier].bytes
        reports.append(report)
    return MaintainReport(now=now, tables=reports)


def _table_identifiers(catalog: Catalog) -> list[str]:
    return sorted(
        ".".join(identifier) for namespace in catalog.list_namespaces() for identifier in catalog.list_tables(namespace)
    )


# -- compaction -------------------------------------------------------------------


def compact(
    table: Table,
    rule: Compaction,
    closed_before: datetime,
    *,
    attempts: int = COMMIT_ATTEMPTS,
    before_commit: Callable[[Table], None] | None = None,
) -> TableReport:
    """Rewrite every slice of `table` that ended before `closed_before` and has a partition of several files.

    `before_commit` runs after a slice's new files are written and before they are
    committed (tests use it to commit as another writer in between). A slice whose
    commit conflicts `attempts` times is left for the next run with a warning.
    """
    report = TableReport(table=rule.identifier)
    for values in _slices_to_compact(table, rule, closed_before):
        _compact_slice(table, rule, values, report, attempts=attempts, before_commit=before_commit)
    return report


def _slices_to_compact(table: Table, rule: Compaction, closed_before: datetime) -> list[tuple[Any, ...]]:
    """The closed slices of the current snapshot with more than one data file in some partition, oldest first."""
    files_per_partition: dict[tuple[Any, ...], int] = defaultdict(int)
    slice_of_partition: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for task in table.scan().plan_files():
        if (values := _slice_of(table, rule, task.file)) is not None:
            partition = _partition(task.file)
            files_per_partition[partition] += 1
            slice_of_partition[partition] = values
    slices = {
        slice_of_partition[partition]
        for partition, count in files_per_partition.items()
        if count > 1 and rule.start(slice_of_partition[partition]) + rule.span <= closed_before
    }
    return sorted(slices, key=rule.start)


def _partition(data_file: DataFile) -> tuple[Any, ...]:
    record = data_file.partition
    return tuple(record[i] for i in range(len(record)))


def _key_positions(table: Table, rule: Compaction) -> list[int]:
    names = [field.name for field in table.spec().fields]
    return [names.index(key) for key in rule.keys]


def _slice_of(table: Table, rule: Compaction, data_file: DataFile) -> tuple[Any, ...] | None:
    """The slice a data file belongs to; None for a file of an older partition spec, which is left alone."""
    if data_file.spec_id != table.spec().spec_id:
        return None
    return tuple(data_file.partition[i] for i in _key_positions(table, rule))


def _compact_slice(
    table: Table,
    rule: Compaction,
    values: tuple[Any, ...],
    report: TableReport,
    *,
    attempts: int,
    before_commit: Callable[[Table], None] | None,
) -> None:
    label = rule.label(values)
    written: list[DataFile] = []
    read: frozenset[str] = frozenset()
    rows = 0
    for attempt in range(1, attempts + 1):
        table.refresh()
        base = table.current_snapshot()
        if base is None:
            return
        tasks = [
            task
            for task in table.scan(row_filter=rule.row_filter(values), snapshot_id=base.snapshot_id).plan_files()
            if _slice_of(table, rule, task.file) == values
        ]
        if len({_partition(t.file) for t in tasks}) == len(tasks):
            discard_files(table.io, written)
            return  # another maintainer got there first
        if any(task.delete_files for task in tasks):
            log.warning("not compacting %s %s: it has row-level delete files", rule.identifier, label)
            discard_files(table.io, written)
            return
        paths = frozenset(task.file.file_path for task in tasks)
        if paths != read:
            # first attempt, or another writer changed the slice: (re)write it from what is there now
            discard_files(table.io, written)
            written, rows = rewrite_files(table, tasks, rule.sort)
            read = paths
        if before_commit is not None:
            before_commit(table)
        try:
            replace_files(
                table, [task.file for task in tasks], written, {**carry_position(table), OPERATION_KEY: "compact"}
            )
        except (CommitFailedException, ValidationException) as exc:
            log.info(
                "compacting %s %s conflicted with another writer (attempt %d): %s", rule.identifier, label, attempt, exc
            )
            continue
        report.compacted.append(label)
        report.files_before += len(tasks)
        report.files_after += len(written)
        report.rows_rewritten += rows
        log.info("compacted %s %s: %d files into %d, %d rows", rule.identifier, label, len(tasks), len(written), rows)
        return
    discard_files(table.io, written)
    report.skipped.append(label)
    log.warning(
        "gave up compacting %s %s after %d conflicting commits; the next run tries again",
        rule.identifier,
        label,
        attempts,
    )


def rewrite_files(
    table: Table,
    tasks: list[FileScanTask],
    sort: tuple[str, ...],
    change: Callable[[pa.Table], pa.Table] | None = None,
) -> tuple[list[DataFile], int]:
    """Write the rows of `tasks`, changed by `change` and sorted by `sort`, as new data files (not committed).

    Returns the files and the row count; `change` must keep every row.
    """
    metadata = table.metadata
    rows: pa.Table = ArrowScan(metadata, table.io, metadata.schema(), AlwaysTrue()).to_table(tasks)
    expected = sum(task.file.record_count for task in tasks)
    if rows.num_rows != expected:
        raise TerminalError(
            f"a rewrite read {rows.num_rows} rows from data files that hold {expected}; nothing was changed"
        )
    if change is not None:
        rows = change(rows)
    if sort:
        rows = rows.sort_by([(column, "ascending") for column in sort])
    # pyiceberg has no public call that writes data files without committing them;
    # this is the one its own append and overwrite use.
    files = list(_dataframe_to_data_files(table_metadata=metadata, df=rows, io=table.io, write_uuid=uuid.uuid4()))
    if sum(f.record_count for f in files) != rows.num_rows:
        discard_files(table.io, files)
        raise TerminalError(f"a rewrite wrote fewer or more rows than the {rows.num_rows} it read; nothing was changed")
    return files, rows.num_rows


def replace_files(table: Table, old: list[DataFile], new: list[DataFile], properties: dict[str, str]) -> None:
    """Swap `old` for `new` in one snapshot based on the table's current snapshot, or raise CommitFailedException.

    `delete_data_file` deletes exactly `old`: a file another writer added meanwhile is kept.
    """
    tx = commit_once(table).transaction()
    with tx.update_snapshot(snapshot_properties=properties).overwrite() as rewrite:
        for data_file in old:
            rewrite.delete_data_file(data_file)
        for data_file in new:
            rewrite.append_data_file(data_file)
    tx.commit_transaction()


def discard_files(io: FileIO, files: Iterable[DataFile]) -> None:
    """Delete data files that no commit took up."""
    for data_file in files:
        try:
            io.delete(data_file.file_path)
        except OSError as exc:
            log.warning("could not delete uncommitted %s: %s", data_file.file_path, exc)


# -- snapshot expiry --------------------------------------------------------------


def expire_snapshots(table: Table, older_than: datetime, *, attempts: int = COMMIT_ATTEMPTS) -> int:
    """Remove the snapshots taken before `older_than`, except the current one (and any tag or branch head).

    Only the metadata changes; files are left to `remove_unreferenced_files`.
    Returns how many snapshots went.
    """
    cutoff_ms = int(older_than.timestamp() * 1000)
    for attempt in range(1, attempts + 1):
        table.refresh()
        protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
        expired = [
            s.snapshot_id for s in table.snapshots() if s.timestamp_ms < cutoff_ms and s.snapshot_id not in protected
        ]
        if not expired:
            return 0
        try:
            table.maintenance.expire_snapshots().by_ids(expired).commit()
        except CommitFailedException as exc:
            log.info("expiring snapshots of %s conflicted (attempt %d): %s", _name(table), attempt, exc)
            continue
        log.info("expired %d snapshots of %s", len(expired), _name(table))
        return len(expired)
    log.warning("gave up expiring snapshots of %s after %d conflicts", _name(table), attempts)
    return 0


def _name(table: Table) -> str:
    return ".".join(table.name())


__all__ = [
    "COMPACTIONS",
    "Compaction",
    "MaintainReport",
    "TableReport",
    "compact",
    "expire_snapshots",
    "maintain",
    "remove_unreferenced_files",
    "storage_clock",
]
