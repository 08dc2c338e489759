"""The durable event stream contract: a partitioned, ordered, durable log with consumer groups.

Every backend (`local.py` now, `nats.py` later) implements `Stream`; the behaviour
suite in `tests/stream/test_stream_behaviour.py` is the executable form of this contract.

- A record is `(partition_key, payload)`. The partition is `partition_for(key, n)`, a
  stable hash, so the same key always lands in the same partition, and records of one key
  keep their order.
- Offsets are per partition, start at 0 and are contiguous: the n-th record ever appended
  to a partition has offset n. Retention removes records from the front only.
- `redact` (a person's erasure) makes records unreadable without moving any offset: an
  erased record reads back as a tombstone, a `rejected` payload with the reason `erased`
  and no bytes (`clicklake.stream.redact.tombstone`), so a reader never sees a gap for it.
- `append` is atomic and durable when it returns: every record of the batch is stored, or
  none is and it raises (`StreamFullError`, `StreamUnavailableError`).
- A consumer group's committed offset is the next offset it will read.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from typing import Final, Protocol, runtime_checkable

from msgspec import Struct

#: Decides whether a record is to be erased: (key, payload) -> True to erase it.
RecordMatch = Callable[[str, bytes], bool]


def partition_for(key: str, partitions: int) -> int:
    """The partition of `key`: CRC-32 of its UTF-8 bytes modulo the partition count (stable across runs)."""
    return zlib.crc32(key.encode()) % partitions


#: A waiting read looks again after 2 ms, then twice as long each time, up to 50 ms.
POLL_FIRST_S: Final = 0.002
POLL_MAX_S: Final = 0.05


def poll_read(
    partition: int, offset: int, max_records: int, wait: float, read_once: Callable[[], list[StreamRecord]]
) -> list[StreamRecord]:
    """`Stream.read` for every backend: checks the arguments, then calls `read_once` until it finds
    records or `wait` seconds have passed."""
    if max_records < 1 or offset < 0:
        raise ValueError(f"read needs max_records >= 1 and offset >= 0, got {max_records} and {offset}")
    deadline = time.monotonic() + wait
    delay = POLL_FIRST_S
    while True:
        out = read_once()
        remaining = deadline - time.monotonic()
        if out or remaining <= 0:
            return out
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, POLL_MAX_S)


class StreamRecord(Struct, frozen=True):
    """One stored record; `append_ts` is the append time in Unix milliseconds."""

    partition: int
    offset: int
    key: str
    payload: bytes
    append_ts: int


class PartitionLag(Struct, frozen=True):
    """How far a consumer group is behind in one partition.

    `records` is `next_offset - committed` (trimmed records not counted); `seconds` is the
    age of the oldest unread record (Kinesis' IteratorAge), 0 when nothing is unread.
    """

    partition: int
    committed: int
    next_offset: int
    records: int
    seconds: float


class PartitionStats(Struct, frozen=True):
    """What one partition holds: offsets `[first_offset, next_offset)` and their encoded size."""

    partition: int
    first_offset: int
    next_offset: int
    records: int
    bytes: int


class GroupStats(Struct, frozen=True):
    """One consumer group's position in every partition."""

    group: str
    lag: list[PartitionLag]


class StreamStats(Struct, frozen=True):
    """Everything `clicklake stream stats` prints."""

    backend: str
    partitions: list[PartitionStats]
    groups: list[GroupStats]


class TrimResult(Struct, frozen=True):
    """What `trim` removed; `unread_records`: removed records the slowest group had not read (no group: all)."""

    records: int
    bytes: int
    unread_records: int


@runtime_checkable
class Stream(Protocol):
    """A partitioned, ordered, durable log (the embedded Kinesis)."""

    @property
    def partitions(self) -> int:
        """The number of partitions, fixed when the stream is created."""
        ...

    @property
    def stream_id(self) -> str:
        """Names this stream's offsets: a stream deleted and created again has a new id.

        A consumer that keeps offsets elsewhere (the loader keeps them in Iceberg) stores the
        id beside them, and does not apply offsets of another stream.
        """
        ...

    def append(self, records: Sequence[tuple[str, bytes]]) -> list[tuple[int, int]]:
        """Store `(partition_key, payload)` records atomically; `(partition, offset)` per record, in order.

        Durable when it returns. Raises `StreamFullError` when the backpressure limits would
        be exceeded and `StreamUnavailableError` when the backend cannot be reached; in both
        cases nothing of the batch is stored.
        """
        ...

    def read(self, partition: int, offset: int, max_records: int, wait: float = 0) -> list[StreamRecord]:
        """Up to `max_records` records of `partition` from `offset` on, in offset order.

        An offset below the first retained one reads from the first retained record (the
        returned offsets show the gap). When nothing is there, polls for up to `wait` seconds.
        """
        ...

    def commit(self, group: str, partition: int, offset: int) -> None:
        """Record that `group` has processed `partition` up to `offset` (the next offset to read)."""
        ...

    def committed(self, group: str, partition: int) -> int:
        """The next offset `group` will read in `partition`; 0 when it never committed."""
        ...

    def delete_group(self, group: str) -> None:
        """Forget `group` and its offsets: it no longer holds back retention or appends, nor shows in stats."""
        ...

    def lag(self, group: str) -> list[PartitionLag]:
        """How far `group` is behind, per partition."""
        ...

    def stats(self) -> StreamStats:
        """Offsets and sizes per partition, and every group's position and lag."""
        ...

    def trim(self, max_age_s: float | None = None, max_bytes: int | None = None) -> TrimResult:
        """Apply retention by age and by size; each backend documents its exact rule."""
        ...

    def redact(self, site_id: str, match: RecordMatch) -> int:
        """Erase every retained record that `match` names (an erasure of site `site_id`); how many were erased.

        Afterwards no reader gets their bytes back: each reads as a tombstone at its offset
        (see the module docstring), also for a reader that had not reached it yet. Records
        appended while it runs may be left for a later call; each backend documents how the
        bytes leave its storage.
        """
        ...

    def close(self) -> None:
        """Release the backend; the stream object is unusable afterwards."""
        ...
