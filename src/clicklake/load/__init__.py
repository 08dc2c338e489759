"""The loader: stream → Arrow → Iceberg `bronze.events` and `bronze.quarantine`, exactly once.

`clicklake.wiring.loader_from_settings` builds one from the settings; `parse_partitions` reads
the partitions one of several loaders takes (`clicklake load --partitions 0-1`).
"""

from __future__ import annotations

import re

from clicklake.errors import ConfigError
from clicklake.load.loader import GROUP, Loader, LoadStats

__all__ = ["GROUP", "LoadStats", "Loader", "parse_partitions"]


def parse_partitions(spec: str, count: int) -> list[int] | None:
    """`0-3`, `0,2`, `1-2,5` → sorted partition numbers; empty → None (all). Raises ConfigError."""
    if not spec.strip():
        return None
    out: set[int] = set()
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None or int(match[2] or match[1]) < int(match[1]):
            raise ConfigError(f"load partitions {spec!r}: expected numbers and ranges such as 0-3 or 0,2")
        out.update(range(int(match[1]), int(match[2] or match[1]) + 1))
    if not out or min(out) < 0 or max(out) >= count:
        raise ConfigError(f"load partitions {spec!r}: the stream has partitions 0..{count - 1}")
    return sorted(out)
