"""DuckDB views over the Parquet files of an Iceberg snapshot: how every stage reads the lake with SQL.

`clicklake query` (`clicklake.query.engine`) makes one per lake table; the transform makes
them over the snapshots and days it reads. Only a local warehouse is supported yet.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import duckdb
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.schema import index_by_id
from pyiceberg.table import FileScanTask, Table

from clicklake.errors import ClicklakeError


class UnsupportedLocation(ClicklakeError, ValueError):
    """A data file lives where DuckDB cannot read it here (object storage is not wired yet)."""


def register_view(
    con: duckdb.DuckDBPyConnection,
    schema_name: str,
    name: str,
    table: Table,
    *,
    row_filter: BooleanExpression | None = None,
    snapshot_id: int | None = None,
    tasks: list[FileScanTask] | None = None,
) -> list[str]:
    """Create (or replace) the view `schema_name.name` over a snapshot of the table; return the files it reads.

    The snapshot is the current one unless `snapshot_id` names another. With a `row_filter`
    the view reads only the data files whose partition values and column bounds may hold
    matching rows; a query must still filter the rows of those files itself. `tasks`, when
    given, are that scan's planned files (a caller that planned them already saves the work).
    """
    view = f"{ident(schema_name)}.{ident(name)}"
    empty_name = f"__empty_{schema_name}_{name}"
    scan = table.scan(row_filter=row_filter or AlwaysTrue(), snapshot_id=snapshot_id)
    # An empty table of the current schema gives the view every column, with the
    # Iceberg types, even before any data file has it (a new column, no data yet).
    con.register(empty_name, table.schema().as_arrow().empty_table())
    if tasks is None:
        tasks = list(scan.plan_files())
    if any(task.delete_files for task in tasks):
        # Row-level deletes written by another engine: let pyiceberg apply them.
        rows_name = f"__rows_{schema_name}_{name}"
        con.register(rows_name, scan.to_arrow())
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {ident(rows_name)}")
        return []
    files = [local_path(task.file.file_path) for task in tasks]
    if not files:
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {ident(empty_name)}")
        return []
    # hive_partitioning off: the folder names (bronze's `events_type=`) are not columns of the table
    if _uniform(table, tasks):
        source = f"read_parquet({list_literal(files)}, hive_partitioning = false)"
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {source}")
        return files
    # union_by_name: files written before a column was added lack it (or a nested field of it).
    con.execute(
        f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {ident(empty_name)} "
        f"UNION ALL BY NAME SELECT * FROM read_parquet({list_literal(files)}, union_by_name = true, "
        "hive_partitioning = false)"
    )
    return files


def _uniform(table: Table, tasks: list[FileScanTask]) -> bool:
    """Whether every file has exactly the columns of the table's current schema, so needs no `union_by_name`.

    With `union_by_name` DuckDB opens every file to bind each query, a second or more over
    bronze's thousands of files. The manifests say which columns a file has (its value
    counts, per field id); a file without them is read by name.
    """
    leaves = {i for i, f in index_by_id(table.schema()).items() if f.field_type.is_primitive}
    return all(task.file.value_counts is not None and set(task.file.value_counts) == leaves for task in tasks)


def local_path(location: str) -> str:
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path) if parsed.scheme else location
    # object storage needs DuckDB's httpfs and credentials: not wired yet
    raise UnsupportedLocation(f"cannot read data file {location}: only a local warehouse is supported")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def list_literal(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
