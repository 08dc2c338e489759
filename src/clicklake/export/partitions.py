"""A lake table's partitions and their fingerprints: how the export tells which days changed.

A partition's fingerprint is the SHA-256 of its sorted data file paths. The transform
replaces a rebuilt day's files (and compaction rewrites them), so a day whose fingerprint
differs from the one stored at the last export may hold other rows; one whose fingerprint is
the same holds the same rows, without reading a file.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DateType

if TYPE_CHECKING:
    from pyiceberg.table import Table

_EPOCH: Final = date(1970, 1, 1)


def partition_column(table: Table) -> str | None:
    """The column of the table's one identity partition field, or None (then the table is one partition)."""
    fields = table.spec().fields
    if len(fields) != 1 or not isinstance(fields[0].transform, IdentityTransform):
        return None
    return table.schema().find_column_name(fields[0].source_id)


def files_by_partition(table: Table, snapshot_id: int | None, partitioned: bool) -> dict[str, tuple[Any, list[str]]]:
    """Every partition of the snapshot: its value as text → (its value, its data files).

    A partition of null (rows without a day) is left out: the day is part of every exported
    table's key, so none of its rows could be exported.
    """
    if snapshot_id is None:
        return {}
    is_date = False
    if partitioned:
        source = table.schema().find_field(table.spec().fields[0].source_id)
        is_date = isinstance(source.field_type, DateType)
    out: dict[str, tuple[Any, list[str]]] = {}
    paths: dict[str, list[str]] = defaultdict(list)
    for task in table.scan(snapshot_id=snapshot_id).plan_files():
        value: Any = task.file.partition[0] if partitioned else None
        if partitioned and value is None:
            continue
        if is_date and isinstance(value, int):
            value = _EPOCH + timedelta(days=value)
        key = "" if not partitioned else str(value)
        out[key] = (value, paths[key])
        paths[key].append(task.file.file_path)
    return out


def fingerprint(paths: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(paths)).encode()).hexdigest()
