"""Fixtures of the lake tests on object storage: one SeaweedFS (S3 and Iceberg REST) per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seaweedfs import SeaweedFS, seaweedfs


@pytest.fixture(scope="session")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A running `weed mini` (fails the test, never skips, when it cannot start)."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server
