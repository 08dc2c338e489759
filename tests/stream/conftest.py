"""Fixtures of the stream tests: `open_stream_at`, one factory per backend of the behaviour suite.

A backend is added by extending `BACKENDS` and `_opener`; the behaviour suite runs unchanged
against every one. The NATS backend's tests are marked `nats` and use the session's own
nats-server (`nats_url` in tests/conftest.py), each test on a stream name of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clicklake.stream import Stream, open_stream

BACKENDS = ["local", pytest.param("nats", marks=pytest.mark.nats)]

StreamOpener = Callable[..., Stream]


def stream_uri(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new stream location of `backend`: a directory under tmp_path, or a fresh NATS stream name."""
    if backend == "local":
        return (tmp_path / "stream").as_uri().replace("file://", "local://")
    if backend == "nats":
        return f"{request.getfixturevalue('nats_url')}/t{uuid.uuid4().hex[:16]}"
    raise AssertionError(f"unknown backend {backend}")


@pytest.fixture(params=BACKENDS)
def backend_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URI of a new stream, once per backend."""
    return stream_uri(request.param, tmp_path, request)


@pytest.fixture
def open_stream_at(backend_uri: str) -> Iterator[StreamOpener]:
    """Opens (and reopens) one stream location of the backend; closes every stream it opened at teardown."""
    opened: list[Stream] = []

    def open_(**opts: Any) -> Stream:
        stream = open_stream(backend_uri, **opts)
        opened.append(stream)
        return stream

    yield open_
    for stream in opened:
        stream.close()


@pytest.fixture
def stream(open_stream_at: StreamOpener) -> Stream:
    """A new 4-partition stream without backpressure limits."""
    return open_stream_at(partitions=4, max_bytes=None, max_lag_records=None)
