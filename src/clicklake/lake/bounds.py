"""Column bounds of a table, read from its manifests instead of its data files."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc
from pyiceberg.conversions import from_bytes
from pyiceberg.table import Table
from pyiceberg.types import PrimitiveType


def upper_bound(table: Table, column: str) -> Any | None:
    """The largest value of `column` in the current snapshot, or None for an empty table.

    Taken from the data files' upper bounds in the manifests; a table with a file that has
    no bound for the column (written without metrics) is read instead.
    """
    if table.current_snapshot() is None:
        return None
    field = table.schema().find_field(column)
    if not isinstance(field.field_type, PrimitiveType):
        raise TypeError(f"{column} is not a primitive column; only those have bounds")
    newest: Any | None = None
    for task in table.scan(selected_fields=(column,)).plan_files():
        raw = (task.file.upper_bounds or {}).get(field.field_id)
        if raw is None:
            return pc.max(table.scan(selected_fields=(column,)).to_arrow()[column]).as_py()
        value = from_bytes(field.field_type, raw)
        newest = value if newest is None else max(newest, value)
    return newest
