"""Fixtures of the loader tests: a real local stream and a real Iceberg catalog in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clicklake.lake.catalog import open_catalog
from clicklake.stream import Stream, open_stream


@pytest.fixture
def stream(tmp_path: Path) -> Iterator[Stream]:
    s = open_stream(tmp_path / "data" / "stream", partitions=3)
    yield s
    s.close()


@pytest.fixture
def catalog(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_catalog(tmp_path / "data")
