"""Arrow types as PostgreSQL types, and Arrow tables as the CSV that `COPY ... FROM STDIN` reads.

A column's warehouse type (`pg_type`): strings are `text`, integers `bigint`/`integer`,
timestamps with a zone `timestamptz`, days `date`; a list of a plain type is a PostgreSQL
array of it (`text[]`), and anything nested deeper (a list of structs, a map, a struct)
is `jsonb`. The staging table that COPY fills holds every nested column as `jsonb`
(`stage_type`); `from_stage` turns it into the column's type, so the CSV never has to spell
PostgreSQL's array syntax.
"""

from __future__ import annotations

import io
from typing import Any, Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from clicklake.errors import TerminalError

_PLAIN: Final[tuple[tuple[Any, str], ...]] = (
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_int8, "smallint"),
    (pa.types.is_int16, "smallint"),
    (pa.types.is_int32, "integer"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_uint8, "smallint"),
    (pa.types.is_uint16, "integer"),
    (pa.types.is_uint32, "bigint"),
    (pa.types.is_float32, "real"),
    (pa.types.is_float64, "double precision"),
    (pa.types.is_string, "text"),
    (pa.types.is_large_string, "text"),
    (pa.types.is_date, "date"),
    (pa.types.is_time, "time"),
)

_json = msgspec.json.Encoder()


def quote(name: str) -> str:
    """A PostgreSQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _plain(t: pa.DataType) -> str | None:
    for test, name in _PLAIN:
        if test(t):
            return name
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz is not None else "timestamp"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "bytea"
    return None


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t))


def pg_type(t: pa.DataType) -> str:
    """The warehouse column type of an Arrow type."""
    plain = _plain(t)
    if plain is not None:
        return plain
    if _is_list(t):
        element = _plain(t.value_type)
        if element is not None and element != "bytea":
            return element + "[]"
        return "jsonb"
    if pa.types.is_struct(t) or pa.types.is_map(t):
        return "jsonb"
    raise TerminalError(f"cannot export an Arrow column of type {t} to PostgreSQL; no mapping is defined for it")


def stage_type(t: pa.DataType) -> str:
    """The column's type in the staging table COPY fills: nested ones arrive as JSON."""
    plain = _plain(t)
    return plain if plain is not None else "jsonb"


def from_stage(column: str, t: pa.DataType) -> str:
    """The SQL expression that turns the staging column `s.<column>` into the warehouse column."""
    ref = "s." + quote(column)
    target = pg_type(t)
    if stage_type(t) == target:
        return ref
    if target.endswith("[]"):
        element = target[:-2]
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL ELSE ARRAY(SELECT e.v::{element} "
            f"FROM jsonb_array_elements_text({ref}) WITH ORDINALITY AS e(v, n) ORDER BY e.n) END"
        )
    return ref


def _builtin(t: pa.DataType, value: Any) -> Any:
    """A value of `t` as JSON can carry it: maps become objects (Arrow gives them as pairs)."""
    if value is None:
        return None
    if pa.types.is_map(t):
        return {str(k): _builtin(t.item_type, v) for k, v in value}
    if _is_list(t):
        return [_builtin(t.value_type, v) for v in value]
    if pa.types.is_struct(t):
        return {f.name: _builtin(f.type, value.get(f.name)) for f in t}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _json_column(column: pa.ChunkedArray) -> pa.Array:
    t = column.type
    # PostgreSQL's jsonb cannot hold U+0000; an escaped one is dropped rather than refusing the row.
    texts = [
        None if v is None else _json.encode(_builtin(t, v)).decode().replace("\\u0000", "") for v in column.to_pylist()
    ]
    return pa.array(texts, pa.string())


def to_csv(table: pa.Table) -> bytes:
    """`table` as headerless CSV in column order, nulls as empty unquoted fields (COPY's CSV default)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        t = field.type
        if _plain(t) is None:
            columns.append(_json_column(column))
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            columns.append(pc.replace_substring(column, "\x00", ""))  # text cannot hold NUL either
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            columns.append(pa.array([None if v is None else "\\x" + v.hex() for v in column.to_pylist()], pa.string()))
        else:
            columns.append(column)
    out = io.BytesIO()
    pacsv.write_csv(pa.table(columns, names=table.column_names), out, pacsv.WriteOptions(include_header=False))
    return out.getvalue()
