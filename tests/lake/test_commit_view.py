"""The view the loader and maintenance commit through: pyiceberg does not retry its commits, and its
transaction works the table's metadata out once per state, never handing out a stale one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import TableProperties

from clicklake.lake.catalog import open_catalog
from clicklake.lake.commit_view import commit_once

SCHEMA = pa.schema([pa.field("n", pa.int64(), nullable=False)])


@pytest.fixture
def table(tmp_path: Path):  # type: ignore[no-untyped-def]
    catalog = open_catalog(tmp_path / "data")
    catalog.create_namespace_if_not_exists("t")
    return catalog.create_table("t.numbers", SCHEMA)


def test_the_staged_metadata_follows_every_staged_change_and_is_worked_out_once_per_state(table) -> None:  # type: ignore[no-untyped-def]
    tx = commit_once(table).transaction()
    before = tx.table_metadata
    assert tx.table_metadata is before  # read again without a change: the same object, not a new deep copy
    tx.set_properties(owner="clicklake")
    staged = tx.table_metadata
    assert staged is not before and staged.properties["owner"] == "clicklake"
    tx.append(pa.table({"n": [1, 2, 3]}, schema=SCHEMA))
    appended = tx.table_metadata
    assert appended.current_snapshot_id is not None and appended.properties["owner"] == "clicklake"
    tx.commit_transaction()
    table.refresh()
    assert table.metadata.properties["owner"] == "clicklake"
    assert table.scan().to_arrow()["n"].to_pylist() == [1, 2, 3]


def test_appends_through_views_build_on_each_other(table) -> None:  # type: ignore[no-untyped-def]
    for first in (0, 10, 20):
        view = commit_once(table)
        view.append(pa.table({"n": [first, first + 1]}, schema=SCHEMA))
        table.metadata, table.metadata_location = view.metadata, view.metadata_location
    assert sorted(table.scan().to_arrow()["n"].to_pylist()) == [0, 1, 10, 11, 20, 21]
    assert len(table.metadata.snapshots) == 3


def test_a_commit_raced_by_another_writer_fails_instead_of_being_retried(table) -> None:  # type: ignore[no-untyped-def]
    stale = commit_once(table)
    assert stale.metadata.properties[TableProperties.COMMIT_NUM_RETRIES] == "0"
    table.append(pa.table({"n": [1]}, schema=SCHEMA))  # another writer commits first
    with pytest.raises(CommitFailedException):
        stale.append(pa.table({"n": [2]}, schema=SCHEMA))
    table.refresh()
    assert table.scan().to_arrow()["n"].to_pylist() == [1]
