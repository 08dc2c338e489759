"""The catalog behaviour tests of test_catalog.py, run on an Iceberg REST catalog (SeaweedFS's).

The checks are test_catalog.py's own functions, imported here so that pytest runs them
again with this module's `catalog` fixture: a RestCatalog over a real server, emptied
before each test (the lake's namespaces have fixed names).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.rest import RestCatalog

from clicklake.config import load_settings
from clicklake.lake.catalog import catalog_from_settings
from clicklake.lake.tables import BRONZE_EVENTS, ensure_tables
from clicklake.query.engine import query
from lake.test_catalog import (
    EVENTS,
    bronze_rows,
    test_append_real_records_and_read_them_back,
    test_bronze_events_partitioning_and_sort_order,
    test_bronze_quarantine_columns_and_partitioning,
    test_ensure_tables_is_idempotent,
    test_quarantine_accepts_a_row,
    test_schema_evolution_adds_an_optional_field_and_keeps_the_data,
)
from seaweedfs import SeaweedFS

pytestmark = pytest.mark.s3

__all__ = [
    "test_append_real_records_and_read_them_back",
    "test_bronze_events_partitioning_and_sort_order",
    "test_bronze_quarantine_columns_and_partitioning",
    "test_ensure_tables_is_idempotent",
    "test_quarantine_accepts_a_row",
    "test_schema_evolution_adds_an_optional_field_and_keeps_the_data",
]


def empty(catalog: Catalog) -> None:
    """Drop every table and namespace of the catalog."""
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            catalog.drop_table(identifier)
        catalog.drop_namespace(namespace)


@pytest.fixture
def catalog(weed: SeaweedFS, tmp_path: Path) -> Iterator[Catalog]:
    catalog = weed.rest_catalog(tmp_path / "data")
    empty(catalog)
    yield catalog
    empty(catalog)


def test_settings_with_an_http_catalog_uri_open_the_rest_catalog(
    weed: SeaweedFS, catalog: Catalog, tmp_path: Path
) -> None:
    settings = load_settings(env={"CLICKLAKE_DATA": str(tmp_path / "data"), **weed.rest_env()})
    opened = catalog_from_settings(settings)
    assert isinstance(opened, RestCatalog)
    ensure_tables(opened)
    opened.load_table(BRONZE_EVENTS).append(bronze_rows())
    # another client of the same server sees the commit, and SQL reads the files in the table bucket
    assert catalog.load_table(BRONZE_EVENTS).location().startswith(f"s3://{weed.table_bucket}/")
    rows = query(catalog, "select event_type from bronze.events order by event_type").to_pylist()
    assert [r["event_type"] for r in rows] == sorted(e["event_type"] for e in EVENTS)
    # nothing of the lake is kept on this machine
    assert not (tmp_path / "data" / "catalog.sqlite3").exists()
    assert not (tmp_path / "data" / "warehouse").exists()
