"""Group commit on a real local stream: every acknowledged record is there, and a refusal reaches every request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from clicklake.collect.appender import GroupAppender
from clicklake.stream import StreamFullError
from clicklake.stream.local import LocalStream


def _count(stream: LocalStream) -> int:
    return sum(len(stream.read(p, 0, 1_000_000)) for p in range(stream.partitions))


def test_concurrent_requests_share_appends_and_all_land(tmp_path: Path) -> None:
    stream = LocalStream(tmp_path / "stream", partitions=2)
    appends: list[int] = []

    def append_now(records: list[tuple[str, bytes]]) -> None:
        appends.append(len(records))
        stream.append(records)

    async def go() -> None:
        appender = GroupAppender(append_now)
        requests = [[(f"k{i}", f"r{i}-{j}".encode()) for j in range(1 + i % 3)] for i in range(300)]
        await asyncio.gather(*(appender.append(r) for r in requests))
        assert appender._drainer is None  # idle again

    asyncio.run(go())
    assert _count(stream) == sum(1 + i % 3 for i in range(300))
    assert sum(appends) == _count(stream)
    assert len(appends) < 300  # requests that arrived together shared appends
    stream.close()


def test_a_refused_append_fails_every_request_in_it_and_the_next_ones_go_on(tmp_path: Path) -> None:
    stream = LocalStream(tmp_path / "stream", partitions=1)
    refuse = [True]

    def append_now(records: list[tuple[str, bytes]]) -> None:
        if refuse[0]:
            refuse[0] = False
            raise StreamFullError("full for the test")
        stream.append(records)

    async def go() -> list[object]:
        appender = GroupAppender(append_now)
        first = await asyncio.gather(*(appender.append([("k", b"a")]) for _ in range(5)), return_exceptions=True)
        await appender.append([("k", b"b")])
        return first

    outcomes = asyncio.run(go())
    assert all(isinstance(o, StreamFullError) for o in outcomes[:1])
    refused = sum(isinstance(o, StreamFullError) for o in outcomes)
    assert refused >= 1
    # what was refused is not there; what was acknowledged is
    assert _count(stream) == 1 + (5 - refused)
    stream.close()


@pytest.mark.parametrize("n", [1, 20_001])
def test_one_request_alone_is_appended_at_once(tmp_path: Path, n: int) -> None:
    stream = LocalStream(tmp_path / "stream", partitions=1, max_lag_records=None)
    appender = GroupAppender(stream.append)  # type: ignore[arg-type]
    asyncio.run(appender.append([("k", b"x")] * n))
    assert _count(stream) == n
    stream.close()
