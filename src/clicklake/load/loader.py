"""The loader: stream → Arrow → Iceberg `bronze.events`, exactly once (the embedded Firehose).

Consumer group `loader` reads every partition into a buffer and commits it as one
Iceberg append per table when the buffer is `flush_interval_s` old or holds
`flush_records` records or `flush_bytes` bytes, whichever comes first.

Exactly once. Each commit's snapshot summary records the stream's id and the next
offset of every partition (`clicklake.lake.position`), in the same atomic catalog
update as the data. On start the loader reads that position back and goes on from it;
the stream group's own committed offsets are written after the Iceberg commit and only
serve lag reporting and retention. So:

- a crash before or during an Iceberg commit leaves the table without the batch (data
  files already written are orphans, removed later by maintenance), and the batch is
  read again;
- a crash after the commit leaves the table with the batch and its position, and the
  batch is not read again, whatever the stream group says.

Two tables take records: rejections and unconvertible records go to `bronze.quarantine`,
committed first with the same position, then events. `bronze.events`' position is where
reading resumes; quarantine entries below the quarantine's own position are skipped,
so a crash between the two commits repeats neither.

Duplicates. A `(site_id, event_id)` seen within `dedup_window_s` of ingest time is
dropped (client retries). The window is kept in memory, refilled from the table on start.
A retried event has the same partition key, so the loader of its partition sees both copies.

Many loaders. A loader given `partitions` reads only those; several loaders with disjoint
sets (`clicklake load --partitions 0-1`, `--partitions 2-3`) share one stream and commit to
the same tables. The position in a snapshot still names every partition: each commit
records the loader's own partitions' offsets over the other partitions' offsets as the
table's latest snapshot has them, and a commit that raced another writer is retried with
the position read again from the refreshed table. Nobody else moves a loader's partitions,
so each partition's position is exactly-once as with one loader.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.table import Table

from clicklake._failpoint import failpoint
from clicklake._filelock import exclusive
from clicklake.errors import ConfigError, TransientError
from clicklake.lake.bounds import upper_bound
from clicklake.lake.commit_view import commit_once
from clicklake.lake.position import StreamPosition, committed_position
from clicklake.lake.tables import BRONZE_EVENTS, BRONZE_QUARANTINE, QUARANTINE_SCHEMA, ensure_tables
from clicklake.load.convert import Converter
from clicklake.schema.envelope import Rejected, decode_payload
from clicklake.schema.record import MS_PER_DAY
from clicklake.stream import Stream

log = logging.getLogger(__name__)

GROUP: Final = "loader"
#: The file in the loader's work directory locked around each commit (`clicklake.transform.erasure` takes it).
COMMIT_LOCK: Final = "commit.lock"
_REJECTED_PREFIX: Final = b'{"kind":"rejected"'
_COMMIT_ATTEMPTS: Final = 8
#: The Parquet codec of the loader's own files. They are small (one per partition a second) and
#: short-lived: maintenance rewrites a closed hour into one file per partition with the table's
#: codec (zstd). zstd's set-up on each column of each small file was about 3 ms of ~5, snappy's is
#: near nothing; measured, a commit of 200 records took ~12 % less CPU, of 4,000 ~17 % less, for
#: files ~1.3-1.6x the size until compaction. Snappy is the codec every Parquet reader knows.
HOT_FILES_CODEC: Final = "snappy"


class LoadStats(msgspec.Struct):
    """Counts since the loader started (or of one `drain`)."""

    events: int = 0
    quarantined: int = 0
    duplicates: int = 0
    commits: int = 0
    #: records below the loader's position that retention removed before they were loaded
    lost_to_retention: int = 0
    #: runs that failed with an error and were restarted (`run_supervised`; the alert rule loader_errors)
    failures: int = 0


class _Buffer:
    """Records read and not yet committed."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.where: list[tuple[int, int, int]] = []  # (partition, offset, append_ts) per payload
        self.quarantine: list[dict[str, object]] = []
        self.records = 0
        self.bytes = 0
        self.since = 0.0  # monotonic time of the first record


class Loader:
    """Loads one stream into the lake's bronze tables; see the module docstring for the guarantees.

    Not thread-safe: one thread calls `poll`/`flush`/`run`/`drain`. `partitions` (default: all)
    are the stream partitions this loader owns; loaders of one stream must own disjoint sets.
    """

    def __init__(
        self,
        stream: Stream,
        catalog: Catalog,
        work_dir: Path,
        *,
        flush_interval_s: float = 1.0,
        flush_records: int = 100_000,
        flush_bytes: int = 64 << 20,
        dedup_window_s: float = 600.0,
        keep_snapshots: int = 60,
        read_records: int = 10_000,
        on_commit: Callable[[int, int, int], None] | None = None,
        partitions: Sequence[int] | None = None,
    ) -> None:
        self.stream = stream
        self.own = sorted(set(range(stream.partitions) if partitions is None else partitions))
        if not self.own or not all(0 <= p < stream.partitions for p in self.own):
            raise ConfigError(
                f"loader partitions {list(partitions or [])} do not fit a stream of {stream.partitions} partitions"
            )
        self.catalog = catalog
        self.flush_interval_s = flush_interval_s
        self.flush_records = flush_records
        self.flush_bytes = flush_bytes
        self.dedup_window_ms = int(dedup_window_s * 1000)
        self.keep_snapshots = keep_snapshots
        self.read_records = read_records
        self.on_commit = on_commit
        self.stats = LoadStats()
        self._drained = LoadStats()
        self._reported_lost: dict[int, int] = {}
        self._converter = Converter(work_dir)
        self.commit_lock = work_dir / COMMIT_LOCK
        tables = ensure_tables(catalog)
        self._events = tables[BRONZE_EVENTS]
        self._quarantine = tables[BRONZE_QUARANTINE]
        self._resume()

    def close(self) -> None:
        self._converter.close()

    # -- position -------------------------------------------------------------------------

    def _position_of(self, table: Table) -> dict[int, int]:
        position = committed_position(table)
        if position is None:
            return {}
        if position.stream_id != self.stream.stream_id:
            log.warning(
                "%s was loaded from another stream (%s, now %s): reading this one from its start",
                ".".join(table.name()),
                position.stream_id,
                self.stream.stream_id,
            )
            return {}
        return position.offsets

    def _resume(self) -> None:
        """Take the position from the tables and forget anything buffered."""
        self._events_pos = self._position_of(self._events)
        self._quarantine_pos = self._position_of(self._quarantine)
        self._next = {p: self._events_pos.get(p, 0) for p in self.own}
        for part in self.stream.stats().partitions:
            if part.partition in self._next and part.first_offset > self._next[part.partition]:
                self._lost(part.partition, part.first_offset)
        # The group's cursors say where it stands from the start, before its first commit: the stream's
        # backpressure counts what it has not read even while another group (realtime) reads ahead.
        for partition, offset in self._next.items():
            self.stream.commit(GROUP, partition, offset)
        self._buffer = _Buffer()
        self._seen: dict[str, None] = {}
        self._seen_batches: deque[tuple[int, list[str]]] = deque()
        self._refill_seen()

    def _lost(self, partition: int, first_retained: int) -> None:
        """Count and report records that retention removed before they were loaded, and skip past them."""
        start = max(self._next[partition], self._reported_lost.get(partition, 0))
        self._next[partition] = first_retained
        if start >= first_retained:
            return  # reported before a resume
        self._reported_lost[partition] = first_retained
        lost = first_retained - start
        self.stats.lost_to_retention += lost
        log.error(
            "partition %d: %d records were removed by stream retention before they were loaded "
            "(offsets %d..%d); raise stream.retention_hours or stream.max_bytes",
            partition,
            lost,
            start,
            first_retained - 1,
        )

    @property
    def position(self) -> dict[int, int]:
        """The next offset to read in each partition (what the next commit records)."""
        return dict(self._next)

    # -- reading --------------------------------------------------------------------------

    def poll(self) -> int:
        """Read what is there from every partition into the buffer; returns the records read."""
        read = 0
        buf = self._buffer
        for p in self.own:
            budget = self.flush_records - buf.records
            if budget <= 0:
                break
            batch = self.stream.read(p, self._next[p], min(self.read_records, budget))
            if not batch:
                continue
            if batch[0].offset > self._next[p]:
                self._lost(p, batch[0].offset)
            if buf.records == 0:
                buf.since = time.monotonic()
            q_from = self._quarantine_pos.get(p, 0)
            for r in batch:
                payload = r.payload
                if payload.startswith(_REJECTED_PREFIX):
                    if r.offset >= q_from:
                        buf.quarantine.append(self._rejection_row(r.partition, r.offset, r.append_ts, payload))
                else:
                    buf.payloads.append(payload)
                    buf.where.append((r.partition, r.offset, r.append_ts))
                buf.bytes += len(payload)
            buf.records += len(batch)
            self._next[p] = batch[-1].offset + 1
            read += len(batch)
        return read

    @staticmethod
    def _rejection_row(partition: int, offset: int, append_ts: int, payload: bytes) -> dict[str, object]:
        try:
            rejected = decode_payload(payload)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            rejected = Rejected(
                site_id=None, received_ts=append_ts, source="loader", reason=f"unreadable rejection: {exc}", raw=payload
            )
        assert isinstance(rejected, Rejected)
        return _quarantine_row(rejected, partition, offset)

    def due(self) -> bool:
        """Whether the buffer should be committed now."""
        buf = self._buffer
        if buf.records == 0:
            return False
        return (
            buf.records >= self.flush_records
            or buf.bytes >= self.flush_bytes
            or time.monotonic() - buf.since >= self.flush_interval_s
        )

    # -- committing -----------------------------------------------------------------------

    def flush(self) -> int:
        """Commit the buffer (quarantine first, then events); returns the events committed.

        On an error the buffer is dropped and the position re-read from the tables, so the
        same records are read again; nothing is half-applied.
        """
        buf = self._buffer
        if buf.records == 0:
            return 0
        try:
            # an erasure holds this lock while it rewrites bronze, so that its commit is not raced
            with exclusive(self.commit_lock):
                return self._commit(buf)
        except BaseException:
            self._resume()
            raise

    def _commit(self, buf: _Buffer) -> int:
        converted = self._converter.convert(buf.payloads)
        quarantine = buf.quarantine
        for index, reason in converted.failed:
            partition, offset, append_ts = buf.where[index]
            if offset >= self._quarantine_pos.get(partition, 0):
                rejected = Rejected(
                    site_id=None, received_ts=append_ts, source="loader", reason=reason, raw=buf.payloads[index]
                )
                quarantine.append(_quarantine_row(rejected, partition, offset))
        events, keys, duplicates = self._drop_duplicates(converted.table)
        committed: int = events.num_rows
        if events.num_rows:
            events = events.take(pc.sort_indices(events, [("site_id", "ascending"), ("ts", "ascending")]))
        position = StreamPosition(self.stream.stream_id, dict(self._next))
        failpoint("load.before_write")
        if quarantine:
            rows = pa.Table.from_pylist(quarantine, schema=QUARANTINE_SCHEMA)
            self._append(self._quarantine, rows, position)
            self._quarantine_pos = dict(position.offsets)
            self._cap_snapshots(self._quarantine)
            failpoint("load.after_quarantine_commit")
        self._append(self._events, events, position)
        self._events_pos = dict(position.offsets)
        self._cap_snapshots(self._events)
        failpoint("load.after_events_commit")
        self._remember(events, keys)
        for partition, offset in position.offsets.items():
            self.stream.commit(GROUP, partition, offset)
        failpoint("load.after_stream_commit")
        self.stats.events += events.num_rows
        self.stats.quarantined += len(quarantine)
        self.stats.duplicates += duplicates
        self.stats.commits += 1
        self._buffer = _Buffer()
        if self.on_commit is not None:
            self.on_commit(committed, len(quarantine), duplicates)
        return committed

    def _merged(self, table: Table, position: StreamPosition) -> StreamPosition:
        """`position` (this loader's partitions) over the other partitions' offsets in the table's latest snapshot."""
        if len(self.own) == self.stream.partitions:
            return position
        return StreamPosition(position.stream_id, {**self._position_of(table), **position.offsets})

    def _landed(self, table: Table, position: StreamPosition) -> bool:
        """Whether the table's latest position has this loader's partitions where `position` puts them."""
        landed = committed_position(table)
        return (
            landed is not None
            and landed.stream_id == position.stream_id
            and all(landed.offsets.get(p) == o for p, o in position.offsets.items())
        )

    def _append(self, table: Table, rows: pa.Table, position: StreamPosition) -> None:
        """Append with the position in the snapshot summary; retry a commit another writer raced.

        Several loaders commit to one table: a retry reads the other partitions' offsets again.
        (A buffer always moves some partition forward, so our offsets in the table mean our commit.)
        """
        for attempt in range(_COMMIT_ATTEMPTS):
            try:
                # Not pyiceberg's own retry: it would rebase the append but keep a summary whose other
                # partitions' offsets were read before the race (seen: a commit dropping partition 0).
                view = commit_once(table, codec=HOT_FILES_CODEC)
                view.append(rows, snapshot_properties=self._merged(table, position).properties())
                table.metadata, table.metadata_location = view.metadata, view.metadata_location
                return
            except CommitFailedException as exc:
                table.refresh()
                if self._landed(table, position):
                    return  # our commit went through after all, and its answer was lost
                if attempt == _COMMIT_ATTEMPTS - 1:
                    raise TransientError(f"could not commit to {'.'.join(table.name())}: {exc}") from exc
                log.info("commit to %s raced another writer; retrying", ".".join(table.name()))
                time.sleep(0.05 * 2**attempt * random.uniform(0.5, 1.5))  # loaders that raced do not meet again

    def _cap_snapshots(self, table: Table) -> None:
        """Expire the oldest snapshots once there are a sixth more than `keep_snapshots`.

        pyiceberg copies the whole table metadata, every snapshot included, several times
        per commit: measured, a commit takes ~0.15 s with 10 snapshots and ~1.2 s with 600.
        At a commit a second the count must stay small or commits fall behind. Expiry only
        edits metadata; maintenance deletes the files no snapshot needs any more.
        """
        snapshots = table.metadata.snapshots
        if len(snapshots) <= self.keep_snapshots + max(1, self.keep_snapshots // 6):
            return
        current = table.metadata.current_snapshot_id
        oldest = sorted(snapshots, key=lambda s: s.timestamp_ms)[: len(snapshots) - self.keep_snapshots]
        expire = [s.snapshot_id for s in oldest if s.snapshot_id != current]
        try:
            table.maintenance.expire_snapshots().by_ids(expire).commit()
        except (CommitFailedException, ValidationException) as exc:
            log.info(
                "expiring old snapshots of %s raced another writer (%s); next commit tries again",
                ".".join(table.name()),
                exc,
            )
            table.refresh()

    # -- duplicates -----------------------------------------------------------------------

    @staticmethod
    def _keys(table: pa.Table) -> list[str]:
        keys: list[str] = pc.binary_join_element_wise(table["site_id"], table["event_id"], "\x1f").to_pylist()
        return keys

    def _drop_duplicates(self, table: pa.Table) -> tuple[pa.Table, list[str], int]:
        """Rows whose key was not seen in the window nor earlier in the batch, their keys, and the count dropped."""
        if table.num_rows == 0 or self.dedup_window_ms == 0:
            return table, [], 0
        self._evict(pc.max(table["ingest_ts"]).as_py())  # keys ingested a window before these are no match
        seen = self._seen
        batch: set[str] = set()
        keep: list[bool] = []
        for key in self._keys(table):
            fresh = key not in seen and key not in batch
            keep.append(fresh)
            if fresh:
                batch.add(key)
        dropped = len(keep) - len(batch)
        if dropped:
            table = table.filter(pa.array(keep))
        return table, list(batch), dropped

    def _remember(self, events: pa.Table, keys: list[str]) -> None:
        """Add committed keys to the window and forget batches older than it."""
        if not keys:
            return
        newest = pc.max(events["ingest_ts"]).as_py()
        self._seen.update(dict.fromkeys(keys))
        self._seen_batches.append((newest, keys))
        self._evict(newest)

    def _evict(self, newest: int) -> None:
        """Forget the batches of keys ingested more than the window before `newest`."""
        horizon = newest - self.dedup_window_ms
        while self._seen_batches and self._seen_batches[0][0] < horizon:
            for key in self._seen_batches.popleft()[1]:
                self._seen.pop(key, None)

    def _refill_seen(self) -> None:
        """Load the keys of the last window of committed events from the table.

        The window ends at the newest committed `ingest_ts`, the clock that eviction and
        matching use, not at the wall clock: a loader restarted on a backlog older than the
        window must still know the keys just before it.
        """
        if self.dedup_window_ms == 0:
            return
        newest = upper_bound(self._events, "ingest_ts")
        if newest is None:
            return
        scan = self._events.scan(
            row_filter=f"ingest_ts >= {newest - self.dedup_window_ms}",
            selected_fields=("site_id", "event_id", "ingest_ts"),
        )
        recent = scan.to_arrow()
        if recent.num_rows:
            self._seen_batches.append((newest, self._keys(recent)))
            self._seen.update(dict.fromkeys(self._seen_batches[-1][1]))
            log.info("duplicate window: %d recent events read back from %s", recent.num_rows, BRONZE_EVENTS)

    # -- loops ----------------------------------------------------------------------------

    def run(self, stop: threading.Event, idle_wait: float = 0.05) -> None:
        """Load until `stop` is set; then load what the stream holds at that moment, commit, and return."""
        while not stop.is_set():
            read = self.poll()
            if self.due():
                self.flush()
            elif read == 0:
                stop.wait(idle_wait)
        self.drain()

    def run_supervised(self, stop: threading.Event, max_backoff: float = 30.0) -> None:
        """`run`, restarted after an error with a growing pause, resuming from the tables each time."""
        backoff = 1.0
        while True:
            try:
                self.run(stop)
                return
            except Exception:
                if stop.is_set():
                    raise
                self.stats.failures += 1
                log.exception("the loader failed; it resumes from the tables in %.0f s", backoff)
                if stop.wait(backoff):
                    return
                backoff = min(backoff * 2, max_backoff)
                self._resume()

    def drain(self) -> LoadStats:
        """Load every record appended before the call, commit, and return the counts since the last drain."""
        before = self._drained
        targets = {s.partition: s.next_offset for s in self.stream.stats().partitions if s.partition in self._next}
        while any(self._next[p] < targets[p] for p in targets):
            if self.poll() == 0:
                break  # retention moved past what was left, or nothing more is readable
            if self._buffer.records >= self.flush_records or self._buffer.bytes >= self.flush_bytes:
                self.flush()
        self.flush()
        now = self.stats
        self._drained = msgspec.structs.replace(now)
        return LoadStats(
            events=now.events - before.events,
            quarantined=now.quarantined - before.quarantined,
            duplicates=now.duplicates - before.duplicates,
            commits=now.commits - before.commits,
            lost_to_retention=now.lost_to_retention - before.lost_to_retention,
        )


def _quarantine_row(rejected: Rejected, partition: int, offset: int) -> dict[str, object]:
    return {
        "site_id": rejected.site_id,
        "received_ts": rejected.received_ts,
        "received_dt": rejected.received_ts // MS_PER_DAY,
        "source": rejected.source,
        "reason": rejected.reason,
        "raw": rejected.raw,
        "stream_partition": partition,
        "stream_offset": offset,
        "replayed": False,
    }
