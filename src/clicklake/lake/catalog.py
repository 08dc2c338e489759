"""Open the Iceberg catalog: SQLite in the data directory, any SQLAlchemy database URI, or an Iceberg REST catalog.

The warehouse (`clicklake.lake.storage.Warehouse`) is the data directory's `warehouse`
folder or an `s3://bucket/prefix` location; its S3 settings become the catalog's FileIO
properties, which every table it loads inherits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from clicklake._failpoint import failpoint
from clicklake.lake.storage import Warehouse

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.catalog.sql import SqlCatalog

    from clicklake.config import Settings

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
    from pyiceberg.exceptions import NamespaceAlreadyExistsError
    from pyiceberg.table import CommitTableResponse, Table
    from pyiceberg.table.metadata import TableMetadata
    from pyiceberg.table.update import TableRequirement, TableUpdate
    from pyiceberg.typedef import Identifier, Properties
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    parsed: OrderedDict[str, TableMetadata] = OrderedDict()
    lock = threading.Lock()

    class _SqlCatalog(SqlCatalog):
        def create_tables(self) -> None:
            # Processes opening a fresh PostgreSQL catalog at once both find its tables missing; the
            # slower CREATE TABLE fails (UniqueViolation on pg_type, or "already exists"). Once more
            # finds them made.
            try:
                super().create_tables()
            except (IntegrityError, ProgrammingError):
                super().create_tables()

        def create_namespace(self, namespace: str | Identifier, properties: Properties | None = None) -> None:
            # pyiceberg checks, then inserts: two loaders starting at once on a fresh PostgreSQL catalog
            # both pass the check, and the second insert is a UniqueViolation on
            # iceberg_namespace_properties_pkey. That is "it already exists" (create_table maps its own
            # IntegrityError to TableAlreadyExistsError already, which ensure_table handles).
            try:
                super().create_namespace(namespace, properties or {})
            except IntegrityError as exc:
                raise NamespaceAlreadyExistsError(f"Namespace {namespace} already exists") from exc

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


def open_catalog(
    data_dir: Path, uri: str | None = None, *, warehouse: Warehouse | None = None, credential: str = ""
) -> Catalog:
    """The `clicklake` catalog, its warehouse in `data_dir/warehouse` unless `warehouse` names another.

    `uri` is a SQLAlchemy URI (e.g. `postgresql+psycopg2://user@host/db`) for a shared SQL
    catalog, or the `http(s)://` URL of an Iceberg REST catalog (then `credential`,
    `client_id:client_secret`, is exchanged for a token); without it the catalog is
    `data_dir/catalog.sqlite3`. A SQL catalog's own tables are created on first use.
    """
    warehouse = warehouse or Warehouse()
    properties = warehouse.properties()
    if uri is not None and uri.startswith(("http://", "https://")):
        return _rest_catalog(uri, warehouse, credential, properties)
    if warehouse.local:
        data_dir = data_dir.resolve()
        folder = data_dir / WAREHOUSE_DIR
        if not folder.is_dir():  # a reader of an existing lake writes nothing
            folder.mkdir(parents=True, exist_ok=True)
        location = folder.as_uri()
    else:
        location = warehouse.location.rstrip("/")
    if uri is None:
        if not data_dir.is_dir():
            data_dir.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{data_dir.resolve() / CATALOG_FILE}"
    return _catalog_class()(CATALOG_NAME, uri=uri, warehouse=location, **properties)


def catalog_from_settings(settings: Settings) -> Catalog:
    """The catalog and warehouse that the settings name (`lake.*`)."""
    lake = settings.lake
    return open_catalog(
        settings.data_dir, settings.catalog_uri, warehouse=Warehouse.of(lake), credential=lake.catalog_credential
    )


def _rest_catalog(uri: str, warehouse: Warehouse, credential: str, properties: dict[str, str]) -> Catalog:
    """pyiceberg's REST catalog; the server may add FileIO properties of its own (its `/v1/config`)."""
    from pyiceberg.catalog.rest import RestCatalog

    if warehouse.location:
        properties["warehouse"] = warehouse.location
    if credential:
        properties["credential"] = credential
        # the token endpoint of the REST specification, named: pyiceberg warns when it has to assume it
        properties["oauth2-server-uri"] = uri.rstrip("/") + "/v1/oauth/tokens"
    return RestCatalog(CATALOG_NAME, uri=uri, **properties)
