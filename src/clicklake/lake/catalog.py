"""Open the Iceberg catalog: SQLite in the data directory, or any SQLAlchemy database URI."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from clicklake._failpoint import failpoint

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import SqlCatalog

CATALOG_NAME: Final = "clicklake"
CATALOG_FILE: Final = "catalog.sqlite3"
WAREHOUSE_DIR: Final = "warehouse"
#: Parsed table metadata files kept per process (the least recently used dropped first).
PARSED_METADATA: Final = 64


@cache
def _catalog_class() -> type[SqlCatalog]:
    """pyiceberg's SQL catalog with crash points around the commit, for the crash tests, and each
    metadata file parsed once (`_convert_orm_to_iceberg`, which `load_table` calls).

    By the time `commit_table` runs, a writer's data files and manifests are written; the
    commit writes the new metadata file and then swaps the table's pointer in the database.
    Made on first use: importing pyiceberg costs about a second, which a command that
    needs no table (`clicklake query "select 1"`) should not pay.
    """
    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
    from pyiceberg.table import CommitTableResponse, Table
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.update import TableRequirement, TableUpdate

    parsed: OrderedDict[str, TableMetadata] = OrderedDict()
    lock = threading.Lock()

    class _SqlCatalog(SqlCatalog):
        def _convert_orm_to_iceberg(self, orm_table: IcebergTables) -> Table:
            """The table at its current metadata file, parsed once per file: a metadata file is never
            changed once written (a commit writes a new one), and parsing one costs tens of
            milliseconds of the GIL, which each query of a dashboard's page paid for each table."""
            location = orm_table.metadata_location
            metadata = None
            if location:
                with lock:
                    metadata = parsed.get(location)
                    if metadata is not None:
                        parsed.move_to_end(location)
            if location is None or metadata is None or not orm_table.table_namespace or not orm_table.table_name:
                table = super()._convert_orm_to_iceberg(orm_table)
                with lock:
                    parsed[table.metadata_location] = table.metadata
                    while len(parsed) > PARSED_METADATA:
                        parsed.popitem(last=False)
                return table
            return Table(
                identifier=(*Catalog.identifier_to_tuple(orm_table.table_namespace), orm_table.table_name),
                metadata=metadata,
                metadata_location=location,
                io=self._load_file_io(metadata.properties, location),
                catalog=self,
            )

        def commit_table(
            self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
        ) -> CommitTableResponse:
            failpoint("catalog.before_commit")
            response = super().commit_table(table, requirements, updates)
            failpoint("catalog.after_commit")
            return response

    return _SqlCatalog


def open_catalog(data_dir: Path, uri: str | None = None) -> Catalog:
    """The `clicklake` SQL catalog with its warehouse in `data_dir/warehouse`.

    `uri` is a SQLAlchemy URI (e.g. `postgresql+psycopg2://user@host/db`) for a
    shared catalog; without it the catalog is `data_dir/catalog.sqlite3`. The
    catalog's own tables are created on first use.
    """
    data_dir = data_dir.resolve()
    warehouse = data_dir / WAREHOUSE_DIR
    if not warehouse.is_dir():  # a reader of an existing lake writes nothing
        warehouse.mkdir(parents=True, exist_ok=True)
    if uri is None:
        uri = f"sqlite:///{data_dir / CATALOG_FILE}"
    return _catalog_class()(CATALOG_NAME, uri=uri, warehouse=warehouse.as_uri())
