"""The SQL models shipped in `models/`, and the statements the runner wraps around them.

A model is one SELECT in a file named after its table (`silver_events.sql` builds
`silver.events`); files starting with `_` build intermediate results that only live
for one run. A model reads lake tables by name (`bronze.events`, `silver.sessions`)
and the days to build from a table `scope(day)`; see `docs/transform.md`.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib.resources import files
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import (
    _check_pyarrow_schema_compatible,
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import IcebergType, ListType, MapType, NestedField, StructType

from clicklake.schema.arrow import duckdb_type

_MODELS: Final = files("clicklake.transform") / "models"


@cache
def model_sql(name: str) -> str:
    """The SELECT of the model `name` (`silver_events`), without a trailing semicolon."""
    return _MODELS.joinpath(f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def model_names() -> list[str]:
    """Every model shipped, by file name without `.sql`."""
    return sorted(p.name.removesuffix(".sql") for p in _MODELS.iterdir() if p.name.endswith(".sql"))


def fingerprint(*extra: str) -> str:
    """A short hash of every model's text and of `extra` (the settings the models read)."""
    digest = hashlib.sha256()
    for name in model_names():
        digest.update(name.encode() + b"\0" + model_sql(name).encode() + b"\0")
    for part in extra:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def cast_select(sql: str, schema: pa.Schema) -> str:
    """`sql` with exactly the columns of `schema`, in its order and types (a missing column is an error)."""
    columns = ",\n    ".join(f"CAST({ident(f.name)} AS {duckdb_type(f.type)}) AS {ident(f.name)}" for f in schema)
    return f"SELECT\n    {columns}\nFROM (\n{sql}\n) AS model"


def _field_id(kind: IcebergType, field_id: int) -> str:
    if isinstance(kind, StructType):
        inner = ", ".join(f"{text(f.name)}: {_field_id(f.field_type, f.field_id)}" for f in kind.fields)
        return f"{{__duckdb_field_id: {field_id}, {inner}}}"
    if isinstance(kind, ListType):
        return f"{{__duckdb_field_id: {field_id}, element: {_field_id(kind.element_type, kind.element_id)}}}"
    if isinstance(kind, MapType):
        key = _field_id(kind.key_type, kind.key_id)
        value = _field_id(kind.value_type, kind.value_id)
        return f"{{__duckdb_field_id: {field_id}, key: {key}, value: {value}}}"
    return str(field_id)


def field_ids(schema: Schema) -> str:
    """DuckDB's FIELD_IDS option for `schema`: Parquet written with it carries the Iceberg field ids."""
    fields: tuple[NestedField, ...] = schema.fields
    return "{" + ", ".join(f"{text(f.name)}: {_field_id(f.field_type, f.field_id)}" for f in fields) + "}"


def copy_to_parquet(select: str, directory: str, partition_by: tuple[str, ...], schema: Schema) -> str:
    """A COPY of `select` into hive-style partition folders of zstd Parquet files with Iceberg field ids.

    The partition columns stay in the files: Iceberg reads a row's values from its file,
    and pyiceberg takes a file's partition from its column bounds.
    """
    partitions = ", ".join(ident(c) for c in partition_by)
    return (
        f"COPY ({select}) TO {text(directory)} (FORMAT parquet, COMPRESSION zstd, "
        f"PARTITION_BY ({partitions}), WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'data_{{uuid}}', "
        f"FIELD_IDS {field_ids(schema)})"
    )


def has_list(kind: IcebergType | Schema) -> bool:
    """Whether a type (or a schema) holds a list anywhere."""
    if isinstance(kind, ListType):
        return True
    if isinstance(kind, StructType | Schema):
        return any(has_list(f.field_type) for f in kind.fields)
    if isinstance(kind, MapType):
        return has_list(kind.key_type) or has_list(kind.value_type)
    return False


def rewrite_with_list_types(paths: list[str]) -> None:
    """Write each Parquet file again with pyarrow, so that its lists carry the LIST logical type.

    DuckDB marks a list group with the legacy converted type only; readers that match
    columns by Iceberg field id through arrow-rs (daft) then lose the list's repeated
    group and cannot read the file at all. pyarrow keeps the field ids it reads.
    """
    for path in paths:
        rows = pq.read_table(path)
        pq.write_table(rows, path, compression="zstd")


def data_files(table: Table, paths: list[str], *, stored_at: list[str] | None = None) -> list[DataFile]:
    """Iceberg DataFile entries for Parquet files that one COPY wrote into `table`'s folder (not committed).

    pyiceberg's own `add_files` path converts and checks the schema again for every file,
    about 10 ms each; the files of one COPY share one schema, so it is checked once here
    and the statistics plan is computed once. With `stored_at`, `paths` are local copies
    of files whose locations in the table are those: their footers are read here, not
    fetched back.
    """
    if not paths:
        return []
    metadata = table.metadata
    schema = metadata.schema()
    plan = compute_statistics_plan(schema, metadata.properties)
    mapping = parquet_path_to_id_mapping(schema)
    spec = metadata.spec()
    out = []
    for i, path in enumerate(paths):
        if stored_at is None:
            input_file = table.io.new_input(path)
            with input_file.open() as stream:
                parquet = pq.read_metadata(stream)
            size = len(input_file)
        else:
            parquet = pq.read_metadata(path)
            size = os.path.getsize(path)
        if i == 0:
            _check_pyarrow_schema_compatible(
                schema, parquet.schema.to_arrow_schema(), format_version=metadata.format_version
            )
        statistics = data_file_statistics_from_parquet_metadata(
            parquet_metadata=parquet, stats_columns=plan, parquet_column_mapping=mapping
        )
        out.append(
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=path if stored_at is None else stored_at[i],
                file_format=FileFormat.PARQUET,
                partition=statistics.partition(spec, schema),
                file_size_in_bytes=size,
                sort_order_id=None,
                spec_id=metadata.default_spec_id,
                equality_ids=None,
                key_metadata=None,
                **statistics.to_serialized_dict(),
            )
        )
    return out
