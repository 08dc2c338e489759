"""Lake maintenance on a warehouse in S3-compatible object storage (a real SeaweedFS).

Compaction, snapshot expiry and the removal of unreferenced files, seen by listing the bucket,
with a SQL catalog and with the Iceberg REST catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog

from clicklake.lake.catalog import open_catalog
from clicklake.lake.maintain import maintain, remove_unreferenced_files
from clicklake.lake.tables import BRONZE_EVENTS, ensure_tables
from clicklake.query.engine import query
from lake.test_catalog_rest import empty
from lake.test_maintain import CLOSED, CLOSED_LABEL, EXPIRE_ALL, OPEN, Loader, all_rows, files_per_partition
from seaweedfs import SeaweedFS

pytestmark = pytest.mark.s3


@pytest.fixture(params=["sql", "rest"])
def catalog(request: pytest.FixtureRequest, weed: SeaweedFS, tmp_path: Path) -> Iterator[Catalog]:
    """A SQL catalog with its warehouse under a new prefix of the bucket, or the REST catalog (emptied)."""
    if request.param == "sql":
        yield open_catalog(tmp_path / "data", warehouse=weed.warehouse())
        return
    catalog = weed.rest_catalog(tmp_path / "data")
    empty(catalog)
    yield catalog
    empty(catalog)


def test_maintain_compacts_expires_and_removes_files_in_the_bucket(weed: SeaweedFS, catalog: Catalog) -> None:
    ensure_tables(catalog)
    loader = Loader(catalog.load_table(BRONZE_EVENTS))
    for _ in range(4):
        loader.append(CLOSED)
    loader.append(OPEN)
    table = loader.table
    before = all_rows(table)
    location = table.location()
    assert location.startswith("s3://")
    prefix = location.removeprefix("s3://")
    closed_files = {t.file.file_path.removeprefix("s3://") for t in table.scan().plan_files()}
    closed_files = {f for f in closed_files if f"/hour={CLOSED:%H}/" in f and f"ingest_dt={CLOSED:%Y-%m-%d}" in f}
    assert len(closed_files) == 8 and set(weed.keys(location)) >= closed_files

    [report] = [t for t in maintain(catalog, EXPIRE_ALL).tables if t.table == BRONZE_EVENTS]

    assert report.compacted == [CLOSED_LABEL] and (report.files_before, report.files_after) == (8, 2)
    assert files_per_partition(table, CLOSED) == {"page_view": 1, "affiliate_click": 1}
    assert all_rows(table) == before
    assert [s.snapshot_id for s in table.snapshots()] == [table.metadata.current_snapshot_id]
    # the replaced files are unreferenced now, but younger than an hour: still in the bucket
    assert report.files_deleted == 0 and set(weed.keys(location)) >= closed_files

    # every file written until now counts as old
    deleted, freed = remove_unreferenced_files(table, datetime.now(UTC) + timedelta(seconds=2))

    left = set(weed.keys(location))
    assert not (left & closed_files)
    assert deleted > len(closed_files) and freed > 0  # and the expired snapshots' manifests and lists
    live = {t.file.file_path.removeprefix("s3://") for t in table.scan().plan_files()}
    assert live <= left
    # the table still reads whole, through the catalog and through SQL
    assert all_rows(table) == before
    assert query(catalog, "select count(*) as n from bronze.events").to_pylist() == [{"n": len(before)}]
    # nothing but Avro manifests and data files was touched: the metadata files are there
    assert any(k.startswith(f"{prefix}/metadata/") and k.endswith(".metadata.json") for k in left)
    # and no probe object of the clock is left behind
    assert not [k for k in left if "/.clock-" in k]
