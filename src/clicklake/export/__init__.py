"""The warehouse export: the gold tables and `silver.sessions` copied into PostgreSQL, incrementally.

It reads the lake, so it sits right of `transform` (it imports `lake` and `config` only).
`clicklake export postgres --dsn DSN` runs it once; `run_forever` runs it every
`export.interval_s` when `export.dsn` is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clicklake._lazy import exports

if TYPE_CHECKING:
    from clicklake.export.postgres import EXPORTED, ExportReport, TableExport, export_postgres, run_forever

__getattr__ = exports(
    __name__,
    {
        "EXPORTED": "postgres",
        "ExportReport": "postgres",
        "TableExport": "postgres",
        "export_postgres": "postgres",
        "run_forever": "postgres",
    },
)


__all__ = ["EXPORTED", "ExportReport", "TableExport", "export_postgres", "run_forever"]
