"""Open the Iceberg catalog: SQLite in the data directory, or any SQLAlchemy database URI."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog

CATALOG_NAME: Final = "clicklake"
CATALOG_FILE: Final = "catalog.sqlite3"
WAREHOUSE_DIR: Final = "warehouse"


def open_catalog(data_dir: Path, uri: str | None = None) -> Catalog:
    """The `clicklake` SQL catalog with its warehouse in `data_dir/warehouse`.

    `uri` is a SQLAlchemy URI (e.g. `postgresql+psycopg2://user@host/db`) for a
    shared catalog; without it the catalog is `data_dir/catalog.sqlite3`. The
    catalog's own tables are created on first use.
    """
    data_dir = data_dir.resolve()
    warehouse = data_dir / WAREHOUSE_DIR
    warehouse.mkdir(parents=True, exist_ok=True)
    if uri is None:
        uri = f"sqlite:///{data_dir / CATALOG_FILE}"
    return SqlCatalog(CATALOG_NAME, uri=uri, warehouse=warehouse.as_uri())
