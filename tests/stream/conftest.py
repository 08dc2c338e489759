"""Fixtures of the stream tests: `open_stream_at`, one factory per backend of the behaviour suite.

A backend is added by extending `BACKENDS` and `_opener`; the behaviour suite runs
unchanged against it (a NATS backend would be marked `nats` and skip without a server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clicklake.stream import Stream, open_stream

BACKENDS = ["local"]

StreamOpener = Callable[..., Stream]


def _opener(backend: str, tmp_path: Path) -> Callable[..., Stream]:
    if backend == "local":
        uri = (tmp_path / "stream").as_uri().replace("file://", "local://")
        return lambda **opts: open_stream(uri, **opts)
    raise AssertionError(f"unknown backend {backend}")


@pytest.fixture(params=BACKENDS)
def open_stream_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StreamOpener]:
    """Opens (and reopens) one stream location of the backend; closes every stream it opened at teardown."""
    opened: list[Stream] = []
    make = _opener(request.param, tmp_path)

    def open_(**opts: Any) -> Stream:
        stream = make(**opts)
        opened.append(stream)
        return stream

    yield open_
    for stream in opened:
        stream.close()


@pytest.fixture
def stream(open_stream_at: StreamOpener) -> Stream:
    """A new 4-partition stream without backpressure limits."""
    return open_stream_at(partitions=4, max_bytes=None, max_lag_records=None)
