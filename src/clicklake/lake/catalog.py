"""Open the Iceberg catalog: SQLite in the data directory, or any SQLAlchemy database URI."""

from __future__ import annotations

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


@cache
def _catalog_class() -> type[SqlCatalog]:
    """pyiceberg's SQL catalog with crash points around the commit, for the crash tests.

    By the time `commit_table` runs, a writer's data files and manifests are written; the
    commit writes the new metadata file and then swaps the table's pointer in the database.
    Made on first use: importing pyiceberg costs about a second, which a command that
    needs no table (`clicklake query "select 1"`) should not pay.
    """
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.exceptions import NamespaceAlreadyExistsError
    from pyiceberg.table import CommitTableResponse, Table
    from pyiceberg.table.update import TableRequirement, TableUpdate
    from pyiceberg.typedef import Identifier, Properties
    from sqlalchemy.exc import IntegrityError, ProgrammingError

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
