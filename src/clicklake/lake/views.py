"""DuckDB views over the Parquet files of an Iceberg snapshot: how every stage reads the lake with SQL.

`clicklake query` (`clicklake.query.engine`) makes one per lake table; the transform makes
them over the snapshots and days it reads.

Local files are read by DuckDB's own `read_parquet`. Files in object storage are read
through pyarrow: a `pyarrow.dataset` over the snapshot's files, on the S3 file system of the
table's FileIO, is registered in the connection, and DuckDB scans it lazily, pushing its
column projection and filters down into the dataset (DuckDB's httpfs and iceberg extensions
would have to be downloaded, which clicklake never does at run time).
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io import FileIO
from pyiceberg.schema import index_by_id
from pyiceberg.table import FileScanTask, Table

from clicklake.errors import ClicklakeError
from clicklake.lake.storage import in_store, is_local


class UnsupportedLocation(ClicklakeError, ValueError):
    """A data file lives where clicklake cannot read it (a scheme other than file:// and s3://)."""


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
    """Create (or replace) the view `schema_name.name` over a snapshot of the table; return the local files it reads.

    The snapshot is the current one unless `snapshot_id` names another. With a `row_filter`
    the view reads only the data files whose partition values and column bounds may hold
    matching rows; a query must still filter the rows of those files itself. `tasks`, when
    given, are that scan's planned files (a caller that planned them already saves the work).
    Files in object storage are scanned through pyarrow and are not among those returned.
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
    locations = [task.file.file_path for task in tasks]
    if not locations:
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {ident(empty_name)}")
        return []
    if not all(is_local(location) for location in locations):
        # the table's schema: a file without a newer column (or nested field) reads it as null
        source = parquet_source(con, f"__files_{schema_name}_{name}", table.io, locations, table.schema().as_arrow())
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {source}")
        return []
    files = [local_path(location) for location in locations]
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


def parquet_source(
    con: duckdb.DuckDBPyConnection, name: str, io: FileIO, locations: list[str], schema: pa.Schema | None = None
) -> str:
    """A FROM-clause source over Parquet files of the lake: `read_parquet` of local files, else a dataset `name`.

    For object storage, a `pyarrow.dataset` on the file system of `io` is registered under
    `name` (nothing is read until a query scans it). With `schema` the files are read as
    that schema (a missing column is null); without it, as the first file's.
    """
    if all(is_local(location) for location in locations):
        return f"read_parquet({list_literal([local_path(loc) for loc in locations])}, hive_partitioning = false)"
    import pyarrow.dataset as ds

    fs, paths = in_store(io, locations)
    con.register(name, ds.dataset(paths, schema=schema, format="parquet", filesystem=fs))
    return ident(name)


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
    raise UnsupportedLocation(f"{location} is not a local file")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def list_literal(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
