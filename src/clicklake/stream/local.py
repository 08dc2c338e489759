"""The embedded stream: a partitioned log in one SQLite database in WAL mode (`<path>/stream.sqlite3`).

Storage: one row per appended batch *per partition* (a "chunk"), not one row per record.
Measured on the bench machine with ~700-byte JSON events in batches of 100, one row per
record tops out near 180k records/s even as a bare `executemany` (the WAL write and the
per-row B-tree work dominate), while chunks whose records are framed with msgpack and
compressed with LZ4 (JSON shrinks about 3x, so the WAL writes a third of the bytes) pass
300k records/s. `bench/stream.py` prints both side by side.

Tables, all inspectable with the sqlite3 CLI:

- `meta(key, value)`: the partition count (fixed at creation), the format version, and `stream_id`,
  a random number made at creation that names this stream's offsets.
- `partitions(part, first_offset, next_offset, first_bytes, next_bytes)`: the retained
  offsets `[first_offset, next_offset)` and the cumulative encoded bytes at both ends.
  The append transaction allocates offsets by bumping `next_offset`.
- `chunks(part, first_offset, count, append_ts, bytes_before, nbytes, codec, data)`:
  records `first_offset .. first_offset+count-1`; `data` is a msgpack array of
  `[key, payload]` pairs, LZ4-frame compressed when `codec = 'lz4'`; `nbytes` is its size
  before compression (the "bytes" every limit counts: payload, key and a few framing bytes).
- `cursors(consumer_group, part, next_offset, bytes_at, updated_ts)`: committed offsets.

Concurrency: any number of processes may append and read at once. An append is one
`BEGIN IMMEDIATE` transaction (SQLite's single writer lock, waited for up to `busy_timeout`
seconds), so offsets are allocated without gaps or duplicates. Durability: WAL with
`synchronous=NORMAL` survives a killed process; `fsync=True` uses `synchronous=FULL`,
which also survives a power loss, at the cost of an fsync per append. The WAL is copied
into the database (a checkpoint, with its fsync) by the consumer that commits offsets,
without blocking appenders, so an append seldom waits for one.

Backpressure: a partition's unread part is everything after its slowest consumer
group's committed offset (everything retained when no group has committed there).
`append` raises `StreamFullError` and stores nothing when the batch would take the total
unread bytes above `max_bytes` or the unread records above `max_lag_records`. A
committed offset inside a chunk counts the whole chunk as unread (conservative).

Retention (`trim`), whole chunks from the front of each partition only:

- by age: chunks older than `max_age_s`, but never a record at or after the committed
  offset of `protect_group` (default "loader"; a group that never committed protects
  everything), so age alone never drops what the loader has not loaded;
- by size: while the retained bytes exceed `max_bytes`, the oldest chunks go, read or
  not. This is the one way unread records are dropped; `TrimResult.unread_records` says
  how many, so the caller can log and alert.

Deleted pages are reused by later appends; the file does not shrink.

Erasure (`redact`): records are overwritten in place with tombstones of the same size and
the file is compacted; see `stream/redact.py`.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from clicklake.errors import ConfigError
from clicklake.stream.base import (
    GroupStats,
    PartitionLag,
    PartitionStats,
    RecordMatch,
    StreamRecord,
    StreamStats,
    TrimResult,
    poll_read,
)
from clicklake.stream.errors import StreamFullError, StreamUnavailableError

DB_NAME: Final = "stream.sqlite3"
#: WAL pages (4 KB) after which a committing connection copies the WAL into the database
#: itself. SQLite's default of 1,000 made appends under load stall for a checkpoint's fsync
#: several times a second; readers that commit offsets (the loader) checkpoint instead,
#: at most every `CHECKPOINT_INTERVAL_S`, and this is the backstop when none runs.
AUTOCHECKPOINT_PAGES: Final = 16_384
CHECKPOINT_INTERVAL_S: Final = 1.0
FORMAT_VERSION: Final = 1
DEFAULT_PARTITIONS: Final = 4
DEFAULT_MAX_BYTES: Final = 1 << 30
DEFAULT_MAX_LAG_RECORDS: Final = 10_000_000
#: Chunks smaller than this are stored uncompressed: LZ4 gains little on them.
COMPRESS_MIN: Final = 512

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS partitions (
    part INTEGER PRIMARY KEY,
    first_offset INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    first_bytes INTEGER NOT NULL,
    next_bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    part INTEGER NOT NULL,
    first_offset INTEGER NOT NULL,
    count INTEGER NOT NULL,
    append_ts INTEGER NOT NULL,
    bytes_before INTEGER NOT NULL,
    nbytes INTEGER NOT NULL,
    codec TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (part, first_offset)
);
CREATE TABLE IF NOT EXISTS cursors (
    consumer_group TEXT NOT NULL,
    part INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    bytes_at INTEGER NOT NULL,
    updated_ts INTEGER NOT NULL,
    PRIMARY KEY (consumer_group, part)
) WITHOUT ROWID;
"""

# Per partition: next offset and bytes, then unread records and bytes behind the slowest group.
_STATE_WITH_LAG: Final = """
SELECT p.part, p.next_offset, p.next_bytes,
       p.next_offset - MAX(p.first_offset, COALESCE(MIN(c.next_offset), p.first_offset)),
       p.next_bytes - MAX(p.first_bytes, COALESCE(MIN(c.bytes_at), p.first_bytes))
FROM partitions p LEFT JOIN cursors c ON c.part = p.part
GROUP BY p.part ORDER BY p.part
"""
_STATE: Final = "SELECT part, next_offset, next_bytes, 0, 0 FROM partitions ORDER BY part"
_INSERT_CHUNK: Final = "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_UPDATE_PART: Final = "UPDATE partitions SET next_offset = next_offset + ?, next_bytes = next_bytes + ? WHERE part = ?"
# The chunk holding `offset`, or the first retained one when `offset` was trimmed.
_READ: Final = """
SELECT first_offset, count, append_ts, codec, nbytes, data FROM chunks
WHERE part = ?1 AND first_offset >= (
    SELECT COALESCE(MAX(first_offset), 0) FROM chunks WHERE part = ?1 AND first_offset <= ?2)
ORDER BY first_offset
"""
_CHUNK_AT: Final = """
SELECT append_ts, bytes_before FROM chunks WHERE part = ? AND first_offset <= ?
ORDER BY first_offset DESC LIMIT 1
"""

_Codec = Literal["lz4", "none"]
_Pairs = list[tuple[str, bytes]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _lz4() -> tuple[Callable[[bytes], bytes], Callable[[bytes, int], bytes]]:
    """LZ4-frame compress and decompress from pyarrow, a clicklake dependency anyway (imported lazily)."""
    import pyarrow as pa

    def compress(data: bytes) -> bytes:
        out: bytes = pa.compress(data, codec="lz4", asbytes=True)
        return out

    def decompress(data: bytes, size: int) -> bytes:
        out: bytes = pa.decompress(data, decompressed_size=size, codec="lz4", asbytes=True)
        return out

    return compress, decompress


class LocalStream:
    """A `Stream` in one SQLite database under `path`; see the module docstring for the format and rules.

    `partitions=None` opens an existing stream with its partition count (`new_partitions` for a new one);
    a count that differs from an existing stream's raises `ConfigError`, since it would
    reroute keys. `max_bytes` and `max_lag_records` are the backpressure limits (None: no
    limit). One object may be shared by threads; any number of processes may open the same path.
    """

    backend: Final = "local"

    def __init__(
        self,
        path: Path,
        partitions: int | None = None,
        *,
        fsync: bool = False,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        max_lag_records: int | None = DEFAULT_MAX_LAG_RECORDS,
        compression: _Codec = "lz4",
        protect_group: str | None = "loader",
        busy_timeout: float = 30.0,
        new_partitions: int = DEFAULT_PARTITIONS,
    ) -> None:
        for count in (partitions, new_partitions):
            if count is not None and not 1 <= count <= 4096:
                raise ConfigError(f"stream partitions must be between 1 and 4096, got {count}")
        if compression not in ("lz4", "none"):
            raise ConfigError(f"stream compression must be 'lz4' or 'none', got {compression!r}")
        self.path = Path(path)
        self.fsync = fsync
        self.max_bytes = max_bytes
        self.max_lag_records = max_lag_records
        self.compression: _Codec = compression
        self.protect_group = protect_group
        self._lock = threading.Lock()
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder(_Pairs).decode
        self._compress, self._decompress = _lz4()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves; `timeout` is SQLite's busy timeout.
            con = sqlite3.connect(
                self.path / DB_NAME, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StreamUnavailableError(f"cannot open the stream at {self.path}: {exc}") from exc
        self._con: sqlite3.Connection | None = con
        self._checkpointed = 0.0
        deadline = time.monotonic() + busy_timeout
        try:
            while True:
                try:
                    # Switching a new database to WAL takes an exclusive lock without waiting on the busy
                    # timeout, so processes creating the same stream at once retry here.
                    con.execute("PRAGMA journal_mode=WAL")
                    con.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
                    con.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
                    self._n, self._id = self._init_schema(con, partitions, new_partitions)
                    break
                except sqlite3.OperationalError:
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.01)
        except sqlite3.OperationalError as exc:
            con.close()
            self._con = None
            raise StreamUnavailableError(f"cannot open the stream at {self.path}: {exc}") from exc
        except BaseException:
            con.close()
            self._con = None
            raise

    @staticmethod
    def _init_schema(con: sqlite3.Connection, partitions: int | None, new_partitions: int) -> tuple[int, str]:
        con.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)
            row = con.execute("SELECT value FROM meta WHERE key = 'partitions'").fetchone()
            if row is None:
                n = partitions or new_partitions
                con.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [("partitions", n), ("format_version", FORMAT_VERSION)]
                )
                con.executemany("INSERT INTO partitions VALUES (?, 0, 0, 0, 0)", [(p,) for p in range(n)])
            else:
                n = int(row[0])
                if partitions is not None and partitions != n:
                    raise ConfigError(
                        f"the stream has {n} partitions but {partitions} were asked for; "
                        "open it with partitions=None or its own count (changing it would reroute keys)"
                    )
            row = con.execute("SELECT value FROM meta WHERE key = 'stream_id'").fetchone()
            if row is None:
                stream_id = secrets.randbits(62)
                con.execute("INSERT INTO meta VALUES ('stream_id', ?)", (stream_id,))
            else:
                stream_id = int(row[0])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return n, f"local:{stream_id:016x}"

    @property
    def partitions(self) -> int:
        """The number of partitions, fixed when the stream was created."""
        return self._n

    @property
    def stream_id(self) -> str:
        """A random id made when the stream was created (`meta.stream_id`); a recreated stream has a new one."""
        return self._id

    def _conn(self) -> sqlite3.Connection:
        if self._con is None:
            raise StreamUnavailableError(f"the stream at {self.path} is closed")
        return self._con

    @contextmanager
    def _txn(self, begin: str, doing: str) -> Iterator[sqlite3.Connection]:
        """Hold the object lock and one SQLite transaction; a busy or broken database is `StreamUnavailableError`.

        `begin` is "BEGIN IMMEDIATE" for writes (take the writer lock up front, so a transaction never
        fails halfway on an upgrade), "BEGIN" for a consistent read snapshot, or "" for autocommit.
        """
        with self._lock:
            con = self._conn()
            try:
                if begin:
                    con.execute(begin)
                try:
                    yield con
                    if begin:
                        con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                raise StreamUnavailableError(f"the stream at {self.path} is unavailable ({doing}): {exc}") from exc

    def _check_partition(self, partition: int) -> None:
        if not 0 <= partition < self._n:
            raise ValueError(f"partition {partition} does not exist; the stream has partitions 0..{self._n - 1}")

    def append(self, records: Sequence[tuple[str, bytes]]) -> list[tuple[int, int]]:
        """Store the batch in one transaction; `(partition, offset)` per record, in input order."""
        if not records:
            return []
        n = self._n
        crc32 = zlib.crc32
        parts = [crc32(key.encode()) % n for key, _ in records]
        groups: list[_Pairs] = [[] for _ in range(n)]
        for p, record in zip(parts, records, strict=True):
            groups[p].append(record)
        # Encode and compress before taking the write lock, so other writers wait less.
        chunks: list[tuple[int, int, int, str, bytes]] = []
        for p, group in enumerate(groups):
            if group:
                raw = self._encode(group)
                codec, data = "none", raw
                if self.compression == "lz4" and len(raw) >= COMPRESS_MIN:
                    packed = self._compress(raw)
                    if len(packed) < len(raw):
                        codec, data = "lz4", packed
                chunks.append((p, len(group), len(raw), codec, data))
        new_bytes = sum(c[2] for c in chunks)
        limited = self.max_bytes is not None or self.max_lag_records is not None
        with self._txn("BEGIN IMMEDIATE", "append") as con:
            state = con.execute(_STATE_WITH_LAG if limited else _STATE).fetchall()
            if limited:
                self._check_limits(state, len(records), new_bytes)
            ts = _now_ms()
            con.executemany(
                _INSERT_CHUNK,
                [
                    (p, state[p][1], count, ts, state[p][2], nbytes, codec, data)
                    for p, count, nbytes, codec, data in chunks
                ],
            )
            con.executemany(_UPDATE_PART, [(count, nbytes, p) for p, count, nbytes, _, _ in chunks])
        next_offsets = [row[1] for row in state]
        out: list[tuple[int, int]] = []
        for p in parts:
            out.append((p, next_offsets[p]))
            next_offsets[p] += 1
        return out

    def _check_limits(self, state: list[Any], records: int, new_bytes: int) -> None:
        unread_records = sum(row[3] for row in state)
        unread_bytes = sum(row[4] for row in state)
        if self.max_lag_records is not None and unread_records + records > self.max_lag_records:
            raise StreamFullError(
                f"the stream at {self.path} is full: {unread_records} records are unread by the slowest "
                f"consumer group and {records} more would pass max_lag_records={self.max_lag_records}; "
                "nothing of the batch was stored, retry after the consumers catch up"
            )
        if self.max_bytes is not None and unread_bytes + new_bytes > self.max_bytes:
            raise StreamFullError(
                f"the stream at {self.path} is full: {unread_bytes} bytes are unread by the slowest "
                f"consumer group and {new_bytes} more would pass max_bytes={self.max_bytes}; "
                "nothing of the batch was stored, retry after the consumers catch up"
            )

    def read(self, partition: int, offset: int, max_records: int, wait: float = 0) -> list[StreamRecord]:
        """Up to `max_records` records from `offset` on; polls up to `wait` seconds while there are none."""
        self._check_partition(partition)
        return poll_read(partition, offset, max_records, wait, lambda: self._read_once(partition, offset, max_records))

    def _read_once(self, partition: int, offset: int, max_records: int) -> list[StreamRecord]:
        out: list[StreamRecord] = []
        with self._txn("", "read") as con:
            cur = con.execute(_READ, (partition, offset))
            try:
                for first, count, ts, codec, nbytes, data in cur:
                    if first + count <= offset:
                        continue
                    raw = self._decompress(data, nbytes) if codec == "lz4" else data
                    pairs = self._decode(raw)
                    start = max(offset - first, 0)
                    stop = min(count, start + max_records - len(out))
                    out.extend(
                        StreamRecord(partition, first + i, pairs[i][0], pairs[i][1], ts) for i in range(start, stop)
                    )
                    if len(out) >= max_records:
                        break
            finally:
                cur.close()
        return out

    def commit(self, group: str, partition: int, offset: int) -> None:
        """Store `offset` as the next offset `group` reads in `partition` (going back is allowed, to replay)."""
        self._check_partition(partition)
        with self._txn("BEGIN IMMEDIATE", "commit") as con:
            first, nxt, first_bytes, next_bytes = con.execute(
                "SELECT first_offset, next_offset, first_bytes, next_bytes FROM partitions WHERE part = ?",
                (partition,),
            ).fetchone()
            if not 0 <= offset <= nxt:
                raise ValueError(f"cannot commit offset {offset} in partition {partition}: next offset is {nxt}")
            if offset == nxt:
                bytes_at = next_bytes
            elif offset < first:
                bytes_at = first_bytes
            else:
                bytes_at = con.execute(_CHUNK_AT, (partition, offset)).fetchone()[1]
            con.execute(
                "INSERT INTO cursors VALUES (?, ?, ?, ?, ?) ON CONFLICT (consumer_group, part) DO UPDATE SET "
                "next_offset = excluded.next_offset, bytes_at = excluded.bytes_at, "
                "updated_ts = excluded.updated_ts",
                (group, partition, offset, bytes_at, _now_ms()),
            )

        if time.monotonic() - self._checkpointed >= CHECKPOINT_INTERVAL_S:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the WAL into the database without blocking appenders (PASSIVE), so appends rarely pay for it."""
        self._checkpointed = time.monotonic()
        try:
            with self._lock:
                self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            pass  # a busy database: the next commit tries again, and appends checkpoint past the backstop

    def committed(self, group: str, partition: int) -> int:
        """The next offset `group` reads in `partition`; 0 when it never committed."""
        self._check_partition(partition)
        with self._txn("", "committed") as con:
            row = con.execute(
                "SELECT next_offset FROM cursors WHERE consumer_group = ? AND part = ?", (group, partition)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def delete_group(self, group: str) -> None:
        """Delete `group`'s committed offsets in every partition."""
        with self._txn("BEGIN IMMEDIATE", "delete_group") as con:
            con.execute("DELETE FROM cursors WHERE consumer_group = ?", (group,))

    def lag(self, group: str) -> list[PartitionLag]:
        """Records and seconds `group` is behind, per partition, from one consistent snapshot."""
        with self._txn("BEGIN", "lag") as con:
            return self._lag(con, group, _now_ms())

    def _lag(self, con: sqlite3.Connection, group: str, now_ms: int) -> list[PartitionLag]:
        committed = dict(
            con.execute("SELECT part, next_offset FROM cursors WHERE consumer_group = ?", (group,)).fetchall()
        )
        out: list[PartitionLag] = []
        for part, first, nxt in con.execute("SELECT part, first_offset, next_offset FROM partitions ORDER BY part"):
            at = committed.get(part, 0)
            unread = nxt - max(at, first)
            seconds = 0.0
            if unread > 0:
                row = con.execute(_CHUNK_AT, (part, max(at, first))).fetchone()
                if row is not None:
                    seconds = max(0.0, (now_ms - row[0]) / 1000)
            out.append(PartitionLag(part, at, nxt, max(unread, 0), seconds))
        return out

    def stats(self) -> StreamStats:
        """Offsets and bytes per partition, and every consumer group's position and lag."""
        with self._txn("BEGIN", "stats") as con:
            parts = [
                PartitionStats(part, first, nxt, nxt - first, nbytes - fbytes)
                for part, first, nxt, fbytes, nbytes in con.execute(
                    "SELECT part, first_offset, next_offset, first_bytes, next_bytes FROM partitions ORDER BY part"
                )
            ]
            now = _now_ms()
            names = [g for (g,) in con.execute("SELECT DISTINCT consumer_group FROM cursors ORDER BY 1")]
            groups = [GroupStats(g, self._lag(con, g, now)) for g in names]
        return StreamStats(self.backend, parts, groups)

    def trim(self, max_age_s: float | None = None, max_bytes: int | None = None) -> TrimResult:
        """Drop whole chunks from the front of each partition by age, then by size (the module docstring's rule)."""
        with self._txn("BEGIN IMMEDIATE", "trim") as con:
            return self._trim(con, max_age_s, max_bytes)

    def _trim(self, con: sqlite3.Connection, max_age_s: float | None, max_bytes: int | None) -> TrimResult:
        state = {
            part: (first, nxt)
            for part, first, nxt in con.execute("SELECT part, first_offset, next_offset FROM partitions")
        }
        cut = {part: first for part, (first, _) in state.items()}  # drop every chunk ending at or before cut[part]
        if max_age_s is not None:
            protected: dict[int, int] = {part: nxt for part, (_, nxt) in state.items()}
            if self.protect_group is not None:
                rows = con.execute(
                    "SELECT part, next_offset FROM cursors WHERE consumer_group = ?", (self.protect_group,)
                ).fetchall()
                protected = dict.fromkeys(state, 0) | dict(rows)
            cutoff = _now_ms() - int(max_age_s * 1000)
            for part, (_, nxt) in state.items():
                (young,) = con.execute(
                    "SELECT MIN(first_offset) FROM chunks WHERE part = ? AND append_ts >= ?", (part, cutoff)
                ).fetchone()
                cut[part] = max(cut[part], min(nxt if young is None else young, protected[part]))
        if max_bytes is not None:
            meta = con.execute(
                "SELECT part, first_offset, count, nbytes FROM chunks ORDER BY append_ts, part, first_offset"
            ).fetchall()
            excess = sum(row[3] for row in meta) - max_bytes
            # Chunks the age rule already drops free their bytes first.
            excess -= sum(nbytes for part, first, count, nbytes in meta if first + count <= cut[part])
            for part, first, count, nbytes in meta:
                if excess <= 0:
                    break
                if first + count > cut[part]:
                    cut[part] = first + count
                    excess -= nbytes
        slowest = dict(con.execute("SELECT part, MIN(next_offset) FROM cursors GROUP BY part").fetchall())
        records = nbytes_total = unread = 0
        for part, (first, _) in state.items():
            if cut[part] <= first:
                continue
            gone = con.execute(
                "SELECT first_offset, count, nbytes FROM chunks WHERE part = ? AND first_offset + count <= ?",
                (part, cut[part]),
            ).fetchall()
            if not gone:
                continue
            read_to = slowest.get(part, first)
            for f, c, b in gone:
                records += c
                nbytes_total += b
                unread += max(0, f + c - max(f, read_to))
            con.execute("DELETE FROM chunks WHERE part = ? AND first_offset + count <= ?", (part, cut[part]))
            con.execute(
                "UPDATE partitions SET "
                "first_offset = COALESCE((SELECT MIN(first_offset) FROM chunks WHERE part = ?1), next_offset), "
                "first_bytes = COALESCE((SELECT bytes_before FROM chunks WHERE part = ?1 "
                "ORDER BY first_offset LIMIT 1), next_bytes) WHERE part = ?1",
                (part,),
            )
        return TrimResult(records, nbytes_total, unread)

    def redact(self, site_id: str, match: RecordMatch) -> int:
        """Overwrite the records `match` names with tombstones of the same size, then compact the file."""
        from clicklake.stream.redact import redact_local  # redact.py builds on this module

        return redact_local(self.path, site_id, match)

    def close(self) -> None:
        """Close the database connection; idempotent."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self) -> LocalStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalStream({str(self.path)!r}, partitions={self._n}, fsync={self.fsync})"
