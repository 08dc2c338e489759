"""The scale-out stream: NATS JetStream (`stream.uri = nats://host:port/NAME`).

Layout on the server, all visible with the `nats` CLI:

- One JetStream stream per partition, `NAME_p<n>`, holding subject `NAME.p.<n>`, with file
  storage. A partition's offset is its stream's sequence minus one: JetStream numbers a
  stream's messages 1, 2, 3, ... without gaps and retention removes them from the front only,
  which is exactly the contract's per-partition contiguous offsets. Single messages are
  deleted only by an erasure, which logs them first (below).
  One stream for all partitions would number messages across partitions, and an offset
  would need a second index to find its message.
- Every partition stream carries metadata `clicklake.partitions` (fixed at creation) and
  `clicklake.stream_id` (random, made by whoever created `NAME_p0`), so a stream deleted and
  created again has a new id. Processes that create the stream at once converge on the first
  `NAME_p0` (JetStream refuses a second one with another config).
- A record's payload is the message body; header `Clicklake-Record` holds its append time
  (the appender's clock, as on the local stream, so lag ages and retention by age do not
  depend on the server's clock) and its key (percent-encoded).
- `NAME_erased` (subject `NAME.erased`), made by the first erasure: the erasure log (below).
- A consumer group is one durable consumer named after the group on each partition stream,
  created at the group's first commit. Nobody pulls from it: it is a position. `commit` moves
  it with JetStream's consumer reset (ADR-60, nats-server 2.14 or later) to the sequence
  `offset + 1`, which sets its ack floor to `offset`; `committed` reads the ack floor back, and
  `lag` is the consumer's pending count. Purging records moves ack floors up to the first kept
  record (a committed offset is never below the first retained one).

Appends: every record is published with an acknowledgement (`publish_async`, all records of a
batch in flight at once, in order on one connection, so one key keeps its order), and `append`
returns only when the server acknowledged every one: JetStream stored it in its file store.
Deduplication: a record whose JSON payload has an `event_id` is published with header
`Nats-Msg-Id = <site_id>:<event_id>`; within the stream's duplicate window (2 minutes by
default) a second copy is not stored, and its acknowledgement names the first copy's offset.

The weaker guarantee: JetStream has no transaction across streams, so a batch is not atomic
across partitions. `append` refuses a whole batch up front when the backpressure limits below
would be exceeded (nothing stored), but when the server fails or one partition is full midway
it raises with part of the batch stored. A sender that retries (the collector answers 503, so
clients retry) stores no second copy of any event with an id, thanks to the deduplication.

Backpressure, as in the local backend: `append` raises `StreamFullError` when the unread
records (after the slowest group's committed offset; everything retained when no group
committed) would pass `max_lag_records`, or the unread bytes `max_bytes`. Unread bytes are
estimated from each partition's stored bytes in proportion to its unread records (JetStream
reports bytes per stream, not per range). The positions are cached for `CHECK_INTERVAL_S`
seconds and read again before refusing. Beside that, JetStream's own limits (`retain_bytes`,
`retain_records`, per partition stream, discard new) refuse a publish when the retained data
would exceed them; that refusal is also `StreamFullError`. An unreachable server is
`StreamUnavailableError`.

Retention (`trim`): by age, the records older than `max_age_s` are purged from the front of
each partition but never one at or after the committed offset of `protect_group` (default
"loader"; a group that never committed protects everything). By size, while the stream's
stored bytes exceed `max_bytes`, each partition drops the same share of its oldest records
(the local backend drops the oldest chunks of any partition first; equal shares are the same
when keys spread evenly).

Erasure (`redact`): each partition is read from its first retained sequence to its last, and
the records `match` names are deleted with JetStream's message delete as a secure erase (the
file store overwrites the record with random bytes; `nats_wire.erase_msg`). Before it deletes
anything, the erasure appends their sequences, append times and site id to the erasure log
(`nats_wire.ErasedLog`). A deletion leaves a hole in the sequence, and deleting a partition's
first message moves its first sequence up just as a purge does, so the stream alone cannot
tell an erased record from one retention dropped; the log can. `read` hands out an erased
record as the tombstone the local backend leaves in its place (`stream.redact.tombstone`, here
without padding), at its own offset and append time: offsets stay contiguous, the loader keeps
an empty quarantine row ("something arrived and was erased") instead of counting a loss, and
realtime and the destinations skip it as a rejection. A reader reads the log again when it
meets a hole the log it has read does not explain, and, at most every `CHECK_INTERVAL_S`, when
a read finds nothing (a partition's last record erased: its sequence stays the last). `stats`
counts an erased run just before the first retained message as retained (it reads back as
tombstones); its `records` are the messages JetStream holds. A record erased and then purged
by retention is a trimmed record like any other.

nats-py is asyncio and `Stream` is synchronous: each `NatsStream` runs one event loop in a
background thread, and every method submits a coroutine to it and waits for the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import threading
import time
import zlib
from collections.abc import Coroutine, Sequence
from typing import Any, Final, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.js import api

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
from clicklake.stream.nats_wire import (
    RECORD_HEADER,
    ErasedLog,
    Message,
    PartitionState,
    Publisher,
    direct_get,
    erase_msg,
    explained,
    first_seq_at,
    msg_id,
    parse_uri,
    record_header,
    with_tombstones,
)

DEFAULT_PARTITIONS: Final = 4
DEFAULT_MAX_BYTES: Final = 1 << 30
DEFAULT_MAX_LAG_RECORDS: Final = 10_000_000
#: Seconds the consumer positions behind the backpressure check may be old.
CHECK_INTERVAL_S: Final = 0.5
#: Records an erasure reads per request, and deletes per erasure log entry.
REDACT_BATCH: Final = 256

T = TypeVar("T")


def _unavailable(doing: str, exc: BaseException) -> StreamUnavailableError:
    return StreamUnavailableError(f"the NATS stream is unavailable ({doing}): {type(exc).__name__}: {exc}")


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, nats.js.errors.APIError) and "maximum" in (exc.description or "")


class NatsStream:
    """A `Stream` on NATS JetStream; see the module docstring for the layout and the rules.

    `url` is the server (`nats://host:port`), `name` the stream's name. `partitions=None` opens an
    existing stream with its own count (`new_partitions` for a new one). `max_bytes` and
    `max_lag_records` are the backpressure limits on unread data (None: none); `retain_bytes`
    and `retain_records` JetStream's own limits on a new partition stream (None: none).
    `fsync` is accepted for the common signature: JetStream's `sync_interval` decides.
    """

    backend: Final = "nats"

    def __init__(
        self,
        url: str,
        name: str,
        partitions: int | None = None,
        *,
        new_partitions: int = DEFAULT_PARTITIONS,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        max_lag_records: int | None = DEFAULT_MAX_LAG_RECORDS,
        retain_bytes: int | None = None,
        retain_records: int | None = None,
        duplicate_window_s: float = 120.0,
        protect_group: str | None = "loader",
        timeout: float = 5.0,
        fsync: bool = False,
    ) -> None:
        for count in (partitions, new_partitions):
            if count is not None and not 1 <= count <= 4096:
                raise ConfigError(f"stream partitions must be between 1 and 4096, got {count}")
        self.url, self.name = url, name
        self.max_bytes, self.max_lag_records = max_bytes, max_lag_records
        self.protect_group = protect_group
        self.timeout = timeout
        self._retain = (retain_bytes, retain_records, duplicate_window_s)
        self._cache: tuple[float, list[PartitionState]] | None = None
        self._appended = 0  # records this object appended since the cache was read
        self._consumers: set[tuple[str, int]] = set()  # (group, partition) consumers known to exist
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats-stream-{name}", daemon=True)
        self._thread.start()
        self._nc: Any = None
        self._js: Any = None
        self._publisher: Publisher | None = None
        try:
            self._n, self._id = self._run(self._open(partitions, new_partitions), "open")
        except BaseException:
            self.close()
            raise
        self._erased = ErasedLog(name, self._id)

    # -- plumbing -------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], doing: str) -> T:
        """Run `coro` on this stream's loop; NATS failures become `StreamUnavailableError`."""
        if not self._thread.is_alive():
            coro.close()
            raise StreamUnavailableError(f"the NATS stream {self.name!r} is closed")
        if self._nc is not None and not self._nc.is_connected:
            # Reconnecting: answer at once (the collector's 503) rather than after the request timeout.
            coro.close()
            raise StreamUnavailableError(f"the NATS stream is unavailable ({doing}): not connected to {self.url}")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self.timeout * 4)
        except (StreamFullError, StreamUnavailableError, ConfigError, ValueError):
            raise
        except nats.js.errors.APIError as exc:
            if _is_full(exc):
                raise StreamFullError(f"the NATS stream {self.name!r} is full ({doing}): {exc.description}") from exc
            raise _unavailable(doing, exc) from exc
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            future.cancel()
            raise _unavailable(doing, exc) from exc

    def _sname(self, partition: int) -> str:
        return f"{self.name}_p{partition}"

    def _subject(self, partition: int) -> str:
        return f"{self.name}.p.{partition}"

    async def _open(self, partitions: int | None, new_partitions: int) -> tuple[int, str]:
        async def quiet(exc: Exception) -> None:  # reconnects are retried; the callers see the failures
            return None

        self._nc = await nats.connect(
            self.url,
            connect_timeout=self.timeout,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            error_cb=quiet,
            name=f"clicklake-stream-{self.name}",
        )
        self._js = self._nc.jetstream(timeout=self.timeout)
        first = await self._ensure(0, partitions or new_partitions, secrets.token_hex(8))
        meta = first.config.metadata or {}
        if "clicklake.partitions" not in meta or "clicklake.stream_id" not in meta:
            raise ConfigError(f"JetStream stream {self._sname(0)!r} exists but was not made by clicklake")
        n, stream_id = int(meta["clicklake.partitions"]), meta["clicklake.stream_id"]
        if partitions is not None and partitions != n:
            raise ConfigError(
                f"the stream has {n} partitions but {partitions} were asked for; "
                "open it with partitions=None or its own count (changing it would reroute keys)"
            )
        for p in range(1, n):
            info = await self._ensure(p, n, stream_id)
            if (info.config.metadata or {}).get("clicklake.stream_id") != stream_id:
                raise ConfigError(f"JetStream stream {self._sname(p)!r} belongs to another clicklake stream")
        return n, f"nats:{self.name}:{stream_id}"

    async def _ensure(self, partition: int, n: int, stream_id: str) -> api.StreamInfo:
        """The partition's stream, created when missing (an existing one keeps its config)."""
        name = self._sname(partition)
        try:
            info: api.StreamInfo = await self._js.stream_info(name)
            return info
        except nats.js.errors.NotFoundError:
            pass
        retain_bytes, retain_records, window = self._retain
        config = api.StreamConfig(
            name=name,
            description=f"clicklake stream {self.name}, partition {partition}",
            subjects=[self._subject(partition)],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.NEW,
            max_bytes=retain_bytes or -1,
            max_msgs=retain_records or -1,
            duplicate_window=window,
            allow_direct=True,
            metadata={"clicklake.partitions": str(n), "clicklake.stream_id": stream_id},
        )
        try:
            info = await self._js.add_stream(config)
        except nats.js.errors.BadRequestError:
            info = await self._js.stream_info(name)  # another process created it first: use theirs
        return info

    def _check_partition(self, partition: int) -> None:
        if not 0 <= partition < self._n:
            raise ValueError(f"partition {partition} does not exist; the stream has partitions 0..{self._n - 1}")

    @staticmethod
    def _check_group(group: str) -> None:
        if not group or any(c in group for c in ".*> \t\r\n/\\"):
            raise ValueError(f"consumer group {group!r}: use letters, digits, '-' and '_'")

    # -- the contract ---------------------------------------------------------------------

    @property
    def partitions(self) -> int:
        """The number of partitions, fixed when the stream was created."""
        return self._n

    @property
    def stream_id(self) -> str:
        """`nats:<name>:<random id made at creation>`; a recreated stream has a new one."""
        return self._id

    def append(self, records: Sequence[tuple[str, bytes]]) -> list[tuple[int, int]]:
        """Publish every record and wait for every acknowledgement; `(partition, offset)` per record."""
        if not records:
            return []
        n = self._n
        crc32 = zlib.crc32
        parts = [crc32(key.encode()) % n for key, _ in records]
        if self.max_bytes is not None or self.max_lag_records is not None:
            self._check_limits(records)
        seqs = self._run(self._publish(records, parts), "append")
        self._appended += len(records)
        return [(p, seq - 1) for p, seq in zip(parts, seqs, strict=True)]

    async def _publish(self, records: Sequence[tuple[str, bytes]], parts: list[int]) -> list[int]:
        subjects = [self._subject(p) for p in range(self._n)]
        messages: list[tuple[str, bytes, dict[str, str]]] = []
        now_ms = time.time_ns() // 1_000_000
        for (key, payload), p in zip(records, parts, strict=True):
            headers = {RECORD_HEADER: record_header(key, now_ms)}
            dedup_id = msg_id(payload)
            if dedup_id is not None:
                headers["Nats-Msg-Id"] = dedup_id
            messages.append((subjects[p], payload, headers))
        if self._publisher is None:
            self._publisher = Publisher(self._nc)
        return await self._publisher.publish(messages, self.timeout)

    def _state(self, fresh: bool = False) -> list[PartitionState]:
        now = time.monotonic()
        if fresh or self._cache is None or now - self._cache[0] > CHECK_INTERVAL_S:
            self._cache = (now, self._run(self._read_state(), "state"))
            self._appended = 0
        return self._cache[1]

    async def _read_state(self) -> list[PartitionState]:
        out: list[PartitionState] = []
        for p in range(self._n):
            info = await self._js.stream_info(self._sname(p))
            consumers = await self._js.consumers_info(self._sname(p)) if info.state.consumer_count else []
            state = info.state
            out.append(
                PartitionState(
                    first_seq=state.first_seq,
                    last_seq=state.last_seq,
                    messages=state.messages,
                    bytes=state.bytes,
                    floors={c.name: c.ack_floor.stream_seq for c in consumers},
                    pending={c.name: c.num_pending for c in consumers},
                )
            )
        return out

    def _check_limits(self, records: Sequence[tuple[str, bytes]]) -> None:
        new_bytes = sum(len(key) + len(payload) for key, payload in records)
        for fresh in (False, True):
            state = self._state(fresh)
            unread_records = sum(p.unread() for p in state) + self._appended
            unread_bytes = sum(p.bytes * p.unread() // p.messages for p in state if p.messages)
            if self.max_lag_records is not None and unread_records + len(records) > self.max_lag_records:
                problem = (
                    f"{unread_records} records are unread and {len(records)} more would pass "
                    f"max_lag_records={self.max_lag_records}"
                )
            elif self.max_bytes is not None and unread_bytes + new_bytes > self.max_bytes:
                problem = f"{unread_bytes} bytes are unread and {new_bytes} more would pass max_bytes={self.max_bytes}"
            else:
                return
        raise StreamFullError(
            f"the NATS stream {self.name!r} is full: {problem} (by the slowest consumer group); "
            "nothing of the batch was stored, retry after the consumers catch up"
        )

    def read(self, partition: int, offset: int, max_records: int, wait: float = 0) -> list[StreamRecord]:
        """Up to `max_records` records from `offset` on (one direct batch get), an erased one as its tombstone;
        polls up to `wait` seconds."""
        self._check_partition(partition)

        def read_once() -> list[StreamRecord]:
            got = self._run(self._read(partition, offset + 1, max_records), "read")
            return [StreamRecord(partition, seq - 1, key, payload, ts) for seq, key, payload, ts in got]

        return poll_read(partition, offset, max_records, wait, read_once)

    async def _read(self, partition: int, seq: int, max_records: int) -> list[Message]:
        got = await direct_get(self._nc, self._sname(partition), seq, max_records, self.timeout)
        log = self._erased
        # a hole the log read so far does not explain; or nothing there, when an erased last record may be
        stale = not explained(seq, got, log.of(partition)) if got else time.monotonic() - log.read_at > CHECK_INTERVAL_S
        if stale:
            await log.refresh(self._nc, self.timeout)
        return with_tombstones(seq, got, log.of(partition), max_records, ended=len(got) < max_records)

    def commit(self, group: str, partition: int, offset: int) -> None:
        """Move `group`'s consumer on the partition so its ack floor is `offset` (backwards too, to replay)."""
        self._check_partition(partition)
        self._check_group(group)
        self._run(self._commit(group, partition, offset), "commit")
        self._cache = None

    async def _commit(self, group: str, partition: int, offset: int) -> None:
        name = self._sname(partition)
        last = (await self._js.stream_info(name)).state.last_seq
        if not 0 <= offset <= last:
            raise ValueError(f"cannot commit offset {offset} in partition {partition}: next offset is {last}")
        if (group, partition) not in self._consumers:
            # Idempotent: JetStream answers an add of an existing durable with the same config with it.
            # (A reset of a consumer that does not exist gets no answer at all, so create first.)
            config = api.ConsumerConfig(
                durable_name=group,
                description=f"clicklake consumer group {group}: a position, nobody pulls",
                deliver_policy=api.DeliverPolicy.ALL,
                ack_policy=api.AckPolicy.ALL,
            )
            await self._js.add_consumer(name, config)
            self._consumers.add((group, partition))
        await self._js.reset_consumer(name, group, seq=offset + 1)

    def committed(self, group: str, partition: int) -> int:
        """The ack floor of `group`'s consumer on the partition; 0 when the group never committed."""
        self._check_partition(partition)
        self._check_group(group)
        return self._run(self._committed(group, partition), "committed")

    async def _committed(self, group: str, partition: int) -> int:
        try:
            info = await self._js.consumer_info(self._sname(partition), group)
        except nats.js.errors.NotFoundError:
            return 0
        floor: int = info.ack_floor.stream_seq
        return floor

    def delete_group(self, group: str) -> None:
        """Delete `group`'s durable consumer on every partition stream (missing ones are fine)."""
        self._check_group(group)
        self._run(self._delete_group(group), "delete_group")
        self._consumers = {(g, p) for g, p in self._consumers if g != group}
        self._cache = None

    async def _delete_group(self, group: str) -> None:
        for p in range(self._n):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._js.delete_consumer(self._sname(p), group)

    def lag(self, group: str) -> list[PartitionLag]:
        """Per partition: the consumer's pending count, and the age of the oldest unread record."""
        self._check_group(group)
        state = self._state(fresh=True)
        return self._run(self._lag(state, group), "lag")

    async def _lag(self, state: list[PartitionState], group: str) -> list[PartitionLag]:
        out: list[PartitionLag] = []
        now_ms = time.time_ns() // 1_000_000
        for p, part in enumerate(state):
            at = part.floors.get(group, 0)
            records = part.pending[group] if group in part.pending else part.unread(group)
            seconds = 0.0
            if records > 0:
                got = await direct_get(self._nc, self._sname(p), max(at + 1, part.first_seq), 1, self.timeout)
                if got:
                    seconds = max(0.0, (now_ms - got[0][3]) / 1000)
            out.append(PartitionLag(p, at, part.last_seq, records, seconds))
        return out

    def stats(self) -> StreamStats:
        """Sequences and stored bytes per partition stream, and every consumer group's position and lag.

        The first offset counts the erased records just before the first retained one (they
        read back as tombstones); `records` is what JetStream holds.
        """
        state = self._state(fresh=True)
        firsts = self._run(self._first_readable(state), "stats")
        parts = [
            PartitionStats(p, first - 1, s.last_seq, s.messages, s.bytes)
            for p, (s, first) in enumerate(zip(state, firsts, strict=True))
        ]
        names = sorted({g for s in state for g in s.floors})
        groups = [GroupStats(g, self._run(self._lag(state, g), "stats")) for g in names]
        return StreamStats(self.backend, parts, groups)

    async def _first_readable(self, state: list[PartitionState]) -> list[int]:
        """Per partition, the first sequence a read returns: the first retained, or an erased one before it."""
        await self._erased.refresh(self._nc, self.timeout)
        out = []
        for p, s in enumerate(state):
            erased = self._erased.of(p)
            first = max(s.first_seq, 1)
            while first - 1 in erased:
                first -= 1
            out.append(first)
        return out

    def trim(self, max_age_s: float | None = None, max_bytes: int | None = None) -> TrimResult:
        """Purge from the front of each partition stream by age, then by size (the module docstring's rule)."""
        state = self._state(fresh=True)
        cut = [max(s.first_seq, 1) for s in state]  # the first sequence each partition keeps
        if max_age_s is not None:
            cutoff_ms = (time.time_ns() - int(max_age_s * 1e9)) // 1_000_000
            for p, s in enumerate(state):
                if not s.messages:
                    continue
                protected = s.last_seq + 1
                if self.protect_group is not None:
                    protected = s.floors.get(self.protect_group, 0) + 1
                young = self._run(
                    first_seq_at(self._nc, self._sname(p), s.first_seq, s.last_seq, cutoff_ms, self.timeout), "trim"
                )
                cut[p] = max(cut[p], min(young, protected))
        if max_bytes is not None:
            total = sum(s.bytes for s in state)
            kept = sum(
                s.bytes * (s.last_seq + 1 - c) // s.messages for s, c in zip(state, cut, strict=True) if s.messages
            )
            if kept > max_bytes and total:
                share = (kept - max_bytes) / kept
                for p, s in enumerate(state):
                    remaining = s.last_seq + 1 - cut[p]
                    cut[p] += min(remaining, math.ceil(remaining * share))
        return self._run(self._purge(state, cut), "trim")

    async def _purge(self, state: list[PartitionState], cut: list[int]) -> TrimResult:
        records = nbytes = unread = 0
        for p, (s, keep_from) in enumerate(zip(state, cut, strict=True)):
            if not s.messages or keep_from <= s.first_seq:
                continue
            await self._js.purge_stream(self._sname(p), seq=keep_from)
            after = (await self._js.stream_info(self._sname(p))).state
            records += s.messages - after.messages
            nbytes += s.bytes - after.bytes
            read_to = min(s.floors.values()) if s.floors else s.first_seq - 1
            unread += max(0, (keep_from - 1) - max(s.first_seq - 1, read_to))
        self._cache = None
        return TrimResult(records, nbytes, unread)

    def redact(self, site_id: str, match: RecordMatch) -> int:
        """Erase the retained records `match` names with JetStream's secure delete, each batch logged first; how many.

        Records appended while it runs, after the last sequence it saw in their partition, are
        not looked at. See "Erasure" in the module docstring.
        """
        erased = 0
        for p in range(self._n):
            name = self._sname(p)
            state = self._run(self._js.stream_info(name), "redact").state
            seq, last = max(state.first_seq, 1), state.last_seq
            found: list[tuple[int, int]] = []
            while seq <= last:
                got = self._run(direct_get(self._nc, name, seq, REDACT_BATCH, self.timeout), "redact")
                got = [m for m in got if m[0] <= last]
                if not got:
                    break
                found += [(s, ts) for s, key, payload, ts in got if match(key, payload)]
                seq = got[-1][0] + 1
            for i in range(0, len(found), REDACT_BATCH):
                erased += self._run(self._erase(p, site_id, found[i : i + REDACT_BATCH]), "redact")
        self._cache = None
        self._erased.read_at = float("-inf")  # this process's next empty read looks at the log again
        return erased

    async def _erase(self, partition: int, site_id: str, records: list[tuple[int, int]]) -> int:
        await self._erased.add(self._js, partition, site_id, records)  # stored before anything goes
        name = self._sname(partition)
        done = await asyncio.gather(*(erase_msg(self._nc, name, seq, self.timeout) for seq, _ in records))
        return sum(done)

    def close(self) -> None:
        """Drain the connection and stop the loop thread; idempotent."""
        if not self._thread.is_alive():
            return
        if self._nc is not None:
            # closing a broken connection: nothing is left to save
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop).result(self.timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self.timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> NatsStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NatsStream({self.url!r}, {self.name!r}, partitions={self._n})"


def open_nats(uri: str, **opts: Any) -> NatsStream:
    """A `NatsStream` from `nats://host:port/NAME` (NAME defaults to "clicklake")."""
    url, name = parse_uri(uri)
    return NatsStream(url, name, **opts)
