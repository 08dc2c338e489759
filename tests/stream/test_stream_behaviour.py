"""The `Stream` contract, run against every backend of the `open_stream_at` fixture."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from clicklake.errors import TransientError
from clicklake.stream import Stream, StreamFullError, partition_for


def _batch(start: int, n: int, keys: int = 7) -> list[tuple[str, bytes]]:
    return [(f"user-{i % keys}", f'{{"n":{i}}}'.encode()) for i in range(start, start + n)]


def _read_all(stream: Stream, partition: int, offset: int = 0) -> list[tuple[int, str, bytes]]:
    out: list[tuple[int, str, bytes]] = []
    while batch := stream.read(partition, offset, 1000):
        out.extend((r.offset, r.key, r.payload) for r in batch)
        offset = batch[-1].offset + 1
    return out


def test_is_a_stream(stream: Stream) -> None:
    assert isinstance(stream, Stream)
    assert stream.partitions == 4
    assert stream.append([]) == []


def test_same_key_same_partition_and_contiguous_ordered_offsets(stream: Stream) -> None:
    expected: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
    for start in range(0, 500, 100):
        batch = _batch(start, 100)
        acks = stream.append(batch)
        assert len(acks) == len(batch)
        for (key, payload), (partition, offset) in zip(batch, acks, strict=True):
            assert partition == partition_for(key, 4)
            assert offset == len(expected[partition])
            expected[partition].append((key, payload))
    assert len(expected) > 1  # seven keys spread over several partitions
    for partition in range(4):
        got = _read_all(stream, partition)
        assert [o for o, _, _ in got] == list(range(len(expected[partition])))
        assert [(k, p) for _, k, p in got] == expected[partition]


def test_read_from_an_offset(stream: Stream) -> None:
    acks = stream.append([("k", str(i).encode()) for i in range(20)])
    partition = acks[0][0]
    records = stream.read(partition, 5, 3)
    assert [(r.partition, r.offset, r.key, r.payload) for r in records] == [
        (partition, 5, "k", b"5"),
        (partition, 6, "k", b"6"),
        (partition, 7, "k", b"7"),
    ]
    now_ms = time.time() * 1000
    assert all(now_ms - 60_000 < r.append_ts <= now_ms + 1000 for r in records)
    assert [r.offset for r in stream.read(partition, 18, 100)] == [18, 19]
    assert stream.read(partition, 20, 100) == []


def test_read_waits_for_data_from_another_thread(stream: Stream) -> None:
    partition = partition_for("late", 4)
    started = time.monotonic()
    assert stream.read(partition, 0, 10, wait=0.1) == []
    assert time.monotonic() - started >= 0.09

    def later() -> None:
        time.sleep(0.2)
        stream.append([("late", b"hello")])

    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    try:
        records = stream.read(partition, 0, 10, wait=10)
    finally:
        thread.join()
    assert [(r.offset, r.payload) for r in records] == [(0, b"hello")]
    assert time.monotonic() - started < 5


def test_consumer_groups_commit_and_committed(stream: Stream) -> None:
    stream.append(_batch(0, 50))
    assert stream.committed("loader", 0) == 0
    stream.commit("loader", 0, 3)
    stream.commit("realtime", 0, 1)
    assert stream.committed("loader", 0) == 3
    assert stream.committed("realtime", 0) == 1
    assert stream.committed("loader", 1) == 0
    stream.commit("loader", 0, 2)  # going back, to replay, is allowed
    assert stream.committed("loader", 0) == 2
    with pytest.raises(ValueError):
        stream.commit("loader", 0, 10_000)


def test_lag_in_records_and_seconds(stream: Stream) -> None:
    acks = stream.append(_batch(0, 40))
    per_partition = {p: sum(1 for q, _ in acks if q == p) for p in range(4)}
    time.sleep(0.15)
    lag = stream.lag("loader")
    assert [entry.partition for entry in lag] == [0, 1, 2, 3]
    for entry in lag:
        assert entry.records == per_partition[entry.partition]
        assert entry.next_offset == per_partition[entry.partition]
        if entry.records:
            assert 0.1 <= entry.seconds < 60
        else:
            assert entry.seconds == 0
    for p, n in per_partition.items():
        stream.commit("loader", p, n)
    assert all(entry.records == 0 and entry.seconds == 0 for entry in stream.lag("loader"))


def test_stats(stream: Stream) -> None:
    acks = stream.append(_batch(0, 30))
    stream.commit("loader", acks[0][0], 1)
    stats = stream.stats()
    assert [p.partition for p in stats.partitions] == [0, 1, 2, 3]
    assert sum(p.records for p in stats.partitions) == 30
    assert all(p.first_offset == 0 and p.next_offset == p.records for p in stats.partitions)
    assert sum(p.bytes for p in stats.partitions) >= sum(len(payload) for _, payload in _batch(0, 30))
    assert [g.group for g in stats.groups] == ["loader"]
    assert sum(lag.records for lag in stats.groups[0].lag) == 29


def test_trim_by_size_drops_the_oldest_first(stream: Stream) -> None:
    key = "only"
    partition = partition_for(key, 4)
    for batch in range(10):
        stream.append([(key, bytes([batch]) * 1000) for _ in range(10)])
    stream.commit("loader", partition, 50)
    result = stream.trim(max_bytes=30_000)
    assert result.bytes >= 70_000
    assert result.records >= 70
    assert result.unread_records == result.records - 50
    left = _read_all(stream, partition)
    assert left[0][0] == result.records
    assert left[-1][0] == 99
    assert stream.read(partition, 0, 1)[0].offset == result.records  # a trimmed offset reads from the first kept
    stats = stream.stats().partitions[partition]
    assert (stats.first_offset, stats.next_offset) == (result.records, 100)
    assert stream.append([(key, b"next")]) == [(partition, 100)]


def test_trim_by_age_keeps_what_the_loader_has_not_read(stream: Stream) -> None:
    key = "only"
    partition = partition_for(key, 4)
    for batch in range(4):
        stream.append([(key, f"{batch}-{i}".encode()) for i in range(10)])
    time.sleep(0.02)
    assert stream.trim(max_age_s=0).records == 0  # the loader never committed: nothing is old enough to lose
    stream.commit("loader", partition, 20)
    result = stream.trim(max_age_s=0)
    assert result.records == 20
    assert result.unread_records == 0
    assert [o for o, _, _ in _read_all(stream, partition)] == list(range(20, 40))
    assert stream.trim(max_age_s=3600).records == 0


def test_backpressure_by_records_stores_nothing_of_the_refused_batch(open_stream_at: Callable[..., Stream]) -> None:
    stream = open_stream_at(partitions=2, max_lag_records=10, max_bytes=None)
    stream.append(_batch(0, 8))
    with pytest.raises(StreamFullError, match="max_lag_records=10") as info:
        stream.append(_batch(8, 5))
    assert isinstance(info.value, TransientError)
    assert sum(p.records for p in stream.stats().partitions) == 8
    for lag in stream.lag("loader"):
        stream.commit("loader", lag.partition, lag.next_offset)
    assert len(stream.append(_batch(8, 5))) == 5  # the consumer caught up, so the batch fits again
    assert sum(p.records for p in stream.stats().partitions) == 13


def test_backpressure_by_bytes_counts_the_slowest_group(open_stream_at: Callable[..., Stream]) -> None:
    stream = open_stream_at(partitions=1, max_bytes=5_000, max_lag_records=None)
    stream.append([("k", b"x" * 1000) for _ in range(4)])
    stream.commit("fast", 0, 4)
    stream.commit("slow", 0, 0)
    with pytest.raises(StreamFullError, match="max_bytes=5000"):
        stream.append([("k", b"y" * 1000) for _ in range(2)])
    assert stream.stats().partitions[0].next_offset == 4
    assert stream.read(0, 4, 10) == []
    stream.commit("slow", 0, 4)
    assert stream.append([("k", b"y" * 1000) for _ in range(2)]) == [(0, 4), (0, 5)]


def test_reopen_after_close_keeps_everything(open_stream_at: Callable[..., Stream]) -> None:
    first = open_stream_at(partitions=3, max_bytes=None, max_lag_records=None)
    acks = first.append(_batch(0, 60))
    first.commit("loader", 1, 2)
    first.close()
    again = open_stream_at(max_bytes=None, max_lag_records=None)
    assert again.partitions == 3
    assert again.committed("loader", 1) == 2
    stored = {(p, o): (k, v) for p in range(3) for o, k, v in _read_all(again, p)}
    assert stored == dict(zip(acks, _batch(0, 60), strict=True))
    more = again.append([("user-1", b"after")])
    assert more == [(acks[1][0], max(o for p, o in acks if p == acks[1][0]) + 1)]


def test_open_with_another_partition_count_is_refused(open_stream_at: Callable[..., Stream]) -> None:
    from clicklake.errors import ConfigError

    open_stream_at(partitions=3).close()
    with pytest.raises(ConfigError, match="3 partitions"):
        open_stream_at(partitions=5)


def test_a_deleted_group_holds_nothing_back(open_stream_at: Callable[..., Stream]) -> None:
    stream = open_stream_at(partitions=1, max_lag_records=10, max_bytes=None)
    stream.append(_batch(0, 8))
    stream.commit("loader", 0, 8)
    stream.commit("destination:gone", 0, 0)
    with pytest.raises(StreamFullError):
        stream.append(_batch(8, 5))
    stream.delete_group("destination:gone")
    assert [g.group for g in stream.stats().groups] == ["loader"]
    assert stream.committed("destination:gone", 0) == 0
    assert len(stream.append(_batch(8, 5))) == 5
    stream.delete_group("never-was")  # deleting an unknown group is no error


def test_stream_id_is_kept_on_reopen_and_new_for_a_new_stream(
    open_stream_at: Callable[..., Stream], tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = open_stream_at(partitions=2)
    sid = first.stream_id
    first.close()
    assert open_stream_at().stream_id == sid
    from clicklake.stream import open_stream

    other = open_stream(tmp_path_factory.mktemp("other") / "stream", partitions=2)
    try:
        assert other.stream_id != sid
    finally:
        other.close()


def _keys_per_partition(prefix: str, partitions: int = 4) -> list[str]:
    """One key of `prefix` that lands in each partition, in partition order."""
    keys: dict[int, str] = {}
    i = 0
    while len(keys) < partitions:
        keys.setdefault(partition_for(f"{prefix}-{i}", partitions), f"{prefix}-{i}")
        i += 1
    return [keys[p] for p in range(partitions)]


def _said(who: str, n: int) -> bytes:
    return f'{{"kind":"event/1","site_id":"s1","who":"{who}","n":{n}}}'.encode()


def _janes(key: str, payload: bytes) -> bool:
    return b'"who":"jane"' in payload


def test_redact_leaves_tombstones_at_the_erased_offsets(open_stream_at: Callable[..., Stream]) -> None:
    """Jane's records are each partition's first and last and some in between; John's all stay."""
    from clicklake.stream.redact import REASON

    stream = open_stream_at(partitions=4, max_bytes=None, max_lag_records=None)
    jane, john = _keys_per_partition("jane"), _keys_per_partition("john")
    batches = [[(k, _said("jane", 0)) for k in jane]]
    batches += [[(k, _said("john", n)) for k in john] + [(k, _said("jane", n)) for k in jane[::2]] for n in (1, 2)]
    batches += [[(k, _said("john", 3)) for k in john], [(k, _said("jane", 4)) for k in jane]]
    acks = [ack for batch in batches for ack in stream.append(batch)]
    sent = dict(zip(acks, [r for batch in batches for r in batch], strict=True))
    erased = {where for where, (_, payload) in sent.items() if _janes("", payload)}
    assert len(erased) == 12 and len(sent) - len(erased) == 12

    assert stream.redact("s1", _janes) == 12
    # and seen from a stream opened afterwards, as another process (the loader) sees it
    for reader in (stream, open_stream_at(max_bytes=None, max_lag_records=None)):
        for p in range(4):
            got = _read_all(reader, p)
            assert [o for o, _, _ in got] == [o for q, o in sorted(sent) if q == p]  # from 0, no gap
            for offset, key, payload in got:
                if (p, offset) in erased:
                    assert payload.startswith(b'{"kind":"rejected"') and REASON.encode() in payload
                    assert b"jane" not in payload and "jane" not in key
                else:
                    assert (key, payload) == sent[(p, offset)]
            # each erased offset read alone (a reader's binary search) is its tombstone, the last one too
            for q, offset in sorted(erased):
                if q == p:
                    [alone] = reader.read(p, offset, 1)
                    assert alone.offset == offset and b'"reason":"erased"' in alone.payload
        assert all(part.first_offset == 0 for part in reader.stats().partitions)
    assert stream.redact("s1", _janes) == 0  # nothing of hers is left to erase
    more = stream.append([(jane[1], _said("john", 5))])
    assert [r.offset for r in stream.read(1, more[0][1] - 1, 10)] == [more[0][1] - 1, more[0][1]]


def test_redact_then_trim_tells_erased_from_trimmed(open_stream_at: Callable[..., Stream]) -> None:
    """A reader before the first retained record sees the trimmed ones as a gap and an erased one as a tombstone."""
    stream = open_stream_at(partitions=1, max_bytes=None, max_lag_records=None)
    for n in range(10):  # one append each: the local stream trims whole appends
        stream.append([("k", _said("jane" if n in (4, 7, 9) else "john", n))])
    stream.commit("loader", 0, 4)
    time.sleep(0.02)  # a record appended in this millisecond is not older than 0 s
    assert stream.trim(max_age_s=0).records == 4  # offsets 0-3; the loader has read them
    assert stream.redact("s1", _janes) == 3  # offset 4 is now the first retained, 9 the last
    got = _read_all(stream, 0)
    assert [o for o, _, _ in got] == [4, 5, 6, 7, 8, 9]
    assert [b"erased" in p for _, _, p in got] == [True, False, False, True, False, True]
    assert stream.read(0, 0, 1)[0].offset == 4  # below: the trimmed ones are a gap, as before
    assert stream.stats().partitions[0].first_offset == 4
