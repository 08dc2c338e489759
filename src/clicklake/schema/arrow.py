"""Arrow schemas derived from the record Structs, so that the contract is defined once.

The mapping: str → string, int → int64 (a JSON Schema integer that also
admits an integral float, too), float → float64, bool → bool, list → list,
dict[str, str] → map, a nested Struct → struct. An int annotated
`extra={"arrow": "timestamp_ms"}` becomes `timestamp[ms, tz=UTC]`, one
annotated `"date32"` becomes `date32`. A field is nullable when its type
admits None or UNSET.
"""

from __future__ import annotations

from typing import Final

import msgspec.inspect as mi
import pyarrow as pa
from msgspec import NODEFAULT

_SPECIAL: Final = {"timestamp_ms": pa.timestamp("ms", tz="UTC"), "date32": pa.date32()}


def _arrow(t: mi.Type) -> tuple[pa.DataType, bool]:
    """Arrow type of an inspected msgspec type, and whether it admits null."""
    if isinstance(t, mi.Metadata):
        special = (t.extra or {}).get("arrow")
        if special is not None:
            return _SPECIAL[special], False
        return _arrow(t.type)
    if isinstance(t, mi.UnionType):
        nullable = any(isinstance(m, mi.NoneType) for m in t.types)
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        kinds = {type(m.type if isinstance(m, mi.Metadata) else m) for m in members}
        if kinds == {mi.IntType, mi.FloatType}:
            return pa.int64(), nullable
        if len(members) != 1:
            raise TypeError(f"no Arrow type for a union of {members}")
        inner, inner_nullable = _arrow(members[0])
        return inner, nullable or inner_nullable
    if isinstance(t, mi.StrType):
        return pa.string(), False
    if isinstance(t, mi.LiteralType):
        return pa.string(), False
    if isinstance(t, mi.BoolType):
        return pa.bool_(), False
    if isinstance(t, mi.IntType):
        return pa.int64(), False
    if isinstance(t, mi.FloatType):
        return pa.float64(), False
    if isinstance(t, mi.ListType):
        item, item_nullable = _arrow(t.item_type)
        return pa.list_(pa.field("element", item, nullable=item_nullable)), False
    if isinstance(t, mi.DictType):
        key, _ = _arrow(t.key_type)
        value, _ = _arrow(t.value_type)
        return pa.map_(key, value), False
    if isinstance(t, mi.StructType):
        return pa.struct(_fields(t)), False
    raise TypeError(f"no Arrow type for {t!r}")


def _fields(t: mi.StructType) -> list[pa.Field]:
    out = []
    for f in t.fields:
        arrow_type, nullable = _arrow(f.type)
        # msgspec drops UNSET from the union and reports no default: such a
        # field may be absent, so it is null in the row.
        unset = not f.required and f.default is NODEFAULT and f.default_factory is NODEFAULT
        nullable = nullable or unset
        out.append(pa.field(f.encode_name, arrow_type, nullable=nullable))
    return out


def arrow_schema(struct: type) -> pa.Schema:
    """The Arrow schema of a msgspec Struct type."""
    info = mi.type_info(struct)
    if not isinstance(info, mi.StructType):
        raise TypeError(f"{struct!r} is not a msgspec Struct")
    return pa.schema(_fields(info))


def duckdb_type(t: pa.DataType, *, time_as_number: bool = False) -> str:
    """DuckDB's name for the Arrow type `t` of a lake column.

    With `time_as_number`, timestamps are BIGINT (epoch ms) and dates INTEGER (epoch days),
    as they arrive in the stream's JSON; otherwise TIMESTAMPTZ and DATE.
    """
    if pa.types.is_struct(t):
        fields = ", ".join(f'"{f.name}" {duckdb_type(f.type, time_as_number=time_as_number)}' for f in t)
        return f"STRUCT({fields})"
    if pa.types.is_map(t):
        key = duckdb_type(t.key_type, time_as_number=time_as_number)
        return f"MAP({key}, {duckdb_type(t.item_type, time_as_number=time_as_number)})"
    if pa.types.is_list(t):
        return duckdb_type(t.value_type, time_as_number=time_as_number) + "[]"
    if pa.types.is_timestamp(t):
        if time_as_number:
            return "BIGINT"
        if t.tz is not None:
            return "TIMESTAMPTZ"
    if pa.types.is_date32(t):
        return "INTEGER" if time_as_number else "DATE"
    names = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.int32(): "INTEGER", pa.bool_(): "BOOLEAN"}
    if t in names:
        return names[t]
    if pa.types.is_float64(t):
        return "DOUBLE"
    raise TypeError(f"no DuckDB type for {t}")
