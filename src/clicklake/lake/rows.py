"""Deleting rows from a lake table by rewriting the files that hold them: what erasure and retention share.

`delete_rows` plans the files an Iceberg filter may touch, reads each, drops the rows a
mask names, writes what is left as new files, and swaps old for new in ONE snapshot
(copy-on-write, never delete files: the transform reads plain data files only). A file
whose rows all go is dropped without a rewrite. Like compaction, the commit carries the
stream position of its parent and is never rebased by pyiceberg: on a conflict with
another writer (the loader appending, the transform publishing) the files are planned
again against the new head.

`expire_all` and `sweep_files` then make the deleted rows unreachable and gone from disk
(a local folder or object storage):
every snapshot but the current one expires, and the files that only the expired snapshots
read are deleted at once (they were committed, so no writer is still about to commit them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from clicklake._filelock import pause
from clicklake.errors import TransientError
from clicklake.lake.maintain import OPERATION_KEY, discard_files, expire_snapshots, replace_files
from clicklake.lake.storage import filesystem, is_object_store, list_files, store_clock
from clicklake.lake.unreferenced import candidates, local_dir, referenced_objects, referenced_paths, storage_clock

if TYPE_CHECKING:
    import pyarrow.fs as pafs
    from pyiceberg.io import FileIO

log = logging.getLogger(__name__)

#: Tries before a delete gives up: the loader commits about once a second, so a busy table may need a few.
DELETE_ATTEMPTS: Final = 30

#: Summary properties that a delete's snapshot repeats from its ancestors.
CARRIED_PREFIX: Final = "clicklake."

#: A mask over a table's rows: True for a row to delete (null counts as False).
Match = Callable[[pa.Table], pa.Array | pa.ChunkedArray]


@dataclass
class Deleted:
    """What `delete_rows` did to one table."""

    table: str
    rows: int = 0
    files_removed: int = 0
    files_written: int = 0
    #: Paths of the data files that held the deleted rows (no longer in the current snapshot).
    old_paths: list[str] = field(default_factory=list)


def table_name(table: Table) -> str:
    return ".".join(table.name())


def delete_rows(
    table: Table,
    plan_filter: BooleanExpression,
    match: Match,
    *,
    operation: str,
    attempts: int = DELETE_ATTEMPTS + 1,
    exclusive: Callable[[], AbstractContextManager[object]] | None = None,
) -> Deleted:
    """Delete the rows `match` names among the files `plan_filter` may hold; one snapshot, retried on conflicts.

    `plan_filter` only prunes files (it must be true of every row `match` names); `match` decides.
    `exclusive`, when given, is a lock that keeps the other writer (the loader) from committing: it
    is taken once the files are rewritten, for the last look at new files and the commit.
    Raises `TransientError` when every attempt met a conflicting commit (nothing was changed).
    """
    report = Deleted(table=table_name(table))
    # what each file read so far gave: (rows deleted, files written instead); a conflict is
    # nearly always the loader appending, so a retry only reads the files that are new
    done: dict[str, tuple[int, list[DataFile]]] = {}
    held = contextlib.ExitStack()
    try:
        for attempt in range(1, attempts + 1):
            table.refresh()
            base = table.current_snapshot()
            if base is None:
                return report
            metadata = table.metadata
            tasks = list(table.scan(row_filter=plan_filter, snapshot_id=base.snapshot_id).plan_files())
            for task in tasks:
                path = task.file.file_path
                if path in done:
                    continue
                data = ArrowScan(metadata, table.io, metadata.schema(), AlwaysTrue()).to_table([task])
                mask = pc.fill_null(match(data), False)
                n = int(pc.sum(mask).as_py() or 0)
                kept = data.filter(pc.invert(mask)) if n else None
                written = []
                if kept is not None and kept.num_rows:
                    written = list(_dataframe_to_data_files(table_metadata=metadata, df=kept, io=table.io))
                done[path] = (n, written)
            old = [t.file for t in tasks if done[t.file.file_path][0]]
            if not old:
                return report
            if exclusive is not None and attempt == 1:
                # the files are read and written; take the other writer's lock for the commit (the
                # next attempt reads only what it committed meanwhile) so that it never has to retry
                held.enter_context(exclusive())
                continue
            new = [f for t in tasks for f in done[t.file.file_path][1]]
            try:
                replace_files(table, old, new, {**carry_summary(table), OPERATION_KEY: operation})
            except (CommitFailedException, ValidationException) as exc:
                log.info(
                    "deleting rows of %s conflicted with another writer (attempt %d): %s", report.table, attempt, exc
                )
                pause(min(0.05 * attempt, 0.5))
                continue
            committed = {f.file_path for f in new}
            done = {p: (n, [f for f in w if f.file_path not in committed]) for p, (n, w) in done.items()}
            report.rows = sum(done[t.file.file_path][0] for t in tasks)
            report.files_removed = len(old)
            report.files_written = len(new)
            report.old_paths = [f.file_path for f in old]
            log.info(
                "deleted %d rows of %s (%s): %d files out, %d in",
                report.rows,
                report.table,
                operation,
                len(old),
                len(new),
            )
            return report
    finally:
        held.close()
        # files written for a source file that the committed snapshot no longer had
        discard_files(table.io, [f for _, written in done.values() for f in written])
    raise TransientError(
        f"could not delete rows of {report.table}: {attempts} commits conflicted with other writers; nothing was "
        "changed, try again"
    )


def carry_summary(table: Table) -> dict[str, str]:
    """The `clicklake.*` summary properties of the table's latest snapshots, each from the newest that has it.

    The loader resumes from the stream position (`clicklake.lake.position`) and the transform
    plans from the watermark (`clicklake.transform.plan`) that the current snapshot, or its
    nearest ancestor, carries; a delete's snapshot repeats them, so that they survive when the
    snapshots before it expire.
    """
    out: dict[str, str] = {}
    metadata = table.metadata
    snapshot = table.current_snapshot()
    while snapshot is not None:
        props = snapshot.summary.additional_properties if snapshot.summary is not None else {}
        for key, value in props.items():
            if key.startswith(CARRIED_PREFIX) and key != OPERATION_KEY:
                out.setdefault(key, value)
        parent = snapshot.parent_snapshot_id
        snapshot = metadata.snapshot_by_id(parent) if parent is not None else None
    return out


def referenced(table: Table) -> set[str]:
    """Every file a snapshot of `table` reads (data files, manifests, manifest lists), as `sweep_files` names them.

    Local files by their local path, objects by their path in the store (`bucket/key`).
    """
    table.refresh()
    if is_object_store(table.location()):
        return referenced_objects(table)
    return referenced_paths(table)


def expire_all(table: Table) -> int:
    """Expire every snapshot of `table` but the current one; how many went."""
    return expire_snapshots(table, datetime.now(UTC) + timedelta(seconds=1), attempts=DELETE_ATTEMPTS)


@dataclass
class Swept:
    files: int = 0
    bytes: int = 0


def sweep_files(table: Table, before: set[str]) -> Swept:
    """Delete the files of `before` (paths read by the table's snapshots earlier) that no snapshot reads now.

    `before` holds what `referenced` gave, and may hold files' locations as the metadata writes them.
    """
    swept = Swept()
    store = _Store.of(table)
    gone = {store.path(p) for p in before} - referenced(table)
    for path in sorted(gone):
        swept = store.remove(path, swept)
    return swept


def sweep_orphans(table: Table, match: Match, *, min_age_s: float = 10.0, wait_s: float = 15.0) -> Swept:
    """Delete data files under the table's location that no snapshot reads and that hold a row `match` names.

    Such a file is left behind by a writer that never committed it (a crash), or by a snapshot
    expired without its files (the loader's cap). A file younger than `min_age_s` may be a
    writer's that is about to commit: it is looked at again until it is older or `wait_s` passed.
    Works on a local folder and in object storage alike (the table's data files are listed and read).
    """
    swept = Swept()
    store = _Store.of(table)
    if store.root is None:
        return swept
    deadline = time.monotonic() + wait_s
    while True:
        live = referenced(table)
        young = False
        now = store.clock()
        for path, mtime in store.data_files():
            if path in live or not path.endswith(".parquet"):
                continue
            try:
                data = pq.read_table(path, filesystem=store.fs)
                holds = bool(pc.any(pc.fill_null(match(data), False)).as_py())
            except (OSError, pa.ArrowException, KeyError):
                continue
            if not holds:
                continue
            if now - mtime < min_age_s and time.monotonic() < deadline:
                young = True
                continue
            swept = store.remove(path, swept)
        if not young:
            return swept
        pause(1.0)


@dataclass(frozen=True)
class _Store:
    """Where a table's files are: a local folder (`fs` None) or an object store (`root` is `bucket/prefix`).

    The object-store side lists, reads and deletes through the table's own FileIO settings
    (`clicklake.lake.storage`), the same way maintenance removes unreferenced objects.
    """

    io: FileIO
    root: str | None
    fs: pafs.FileSystem | None = None

    @classmethod
    def of(cls, table: Table) -> _Store:
        location = table.location()
        if is_object_store(location):
            fs, root = filesystem(table.io, location)
            return cls(table.io, root, fs)
        return cls(table.io, local_dir(location))

    def path(self, location: str) -> str:
        """`location` (a path or URI) as `referenced` names it."""
        if is_object_store(location):
            return filesystem(self.io, location)[1]
        if self.fs is not None:  # already `bucket/key`
            return location
        return local_dir(location) or location

    def clock(self) -> float:
        assert self.root is not None
        if self.fs is None:
            return storage_clock(self.root)
        return store_clock(self.fs, f"{self.root}/data")

    def data_files(self) -> Iterator[tuple[str, float]]:
        """Every file under the table's data folder (and, locally, its manifests), with its modification time."""
        assert self.root is not None
        if self.fs is None:
            for path in candidates(self.root):
                with contextlib.suppress(FileNotFoundError):
                    yield path, os.stat(path).st_mtime
            return
        for stored in list_files(self.fs, f"{self.root}/data"):
            if "/.clock-" not in stored.path:
                yield stored.path, stored.mtime

    def remove(self, path: str, swept: Swept) -> Swept:
        if self.fs is None:
            try:
                size = os.lstat(path).st_size
                os.remove(path)
            except FileNotFoundError:
                return swept
            return Swept(swept.files + 1, swept.bytes + size)
        import pyarrow.fs as pafs

        info = self.fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            return swept
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            return swept
        return Swept(swept.files + 1, swept.bytes + (info.size or 0))
