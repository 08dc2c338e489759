"""Fixtures of the transform tests: a lake (real Iceberg catalog and warehouse) in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from transform.lakes import Lake


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "data")
