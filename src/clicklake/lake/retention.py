"""Retention: rows older than each site's limit leave the lake, and so do the files that held them.

Each table is aged by one date column: bronze.events by `ingest_dt` (the day it arrived),
bronze.quarantine by `received_dt`, silver and gold by `event_dt` (`silver.user_segments`
by `valid_to`: a stay that ended before the limit). A site's limits are its own
(`clicklake sites update --retention-...-days`) or the settings' (`lake.retention_*_days`);
0 keeps rows for ever. Rows of a site no longer in the metadata database (and quarantined
rows of no site) get the settings' limits.

Rows go by the copy-on-write of `clicklake.lake.rows.delete_rows`: a file whose rows are
all too old is dropped whole (the tables are partitioned by these days, so that is the
usual case), a file shared with younger rows or other sites is rewritten. The commit is
marked `clicklake.maintenance=retention`, which the transform treats like compaction: a
bronze day that retention emptied is not rebuilt (silver keeps its own limit). Then the
older snapshots of the table expire and the files only they read are deleted at once, so
the bytes are freed by the same run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import LessThan, Reference
from pyiceberg.expressions.literals import literal

from clicklake.lake.rows import Match, delete_rows, expire_all, referenced, sweep_files
from clicklake.lake.tables import BRONZE_EVENTS, BRONZE_QUARANTINE

log = logging.getLogger(__name__)

#: (table, the date column it ages by, the retention kind that applies).
RULES: Final = (
    (BRONZE_EVENTS, "ingest_dt", "bronze"),
    (BRONZE_QUARANTINE, "received_dt", "quarantine"),
    ("silver.events", "event_dt", "silver"),
    ("silver.sessions", "event_dt", "silver"),
    ("silver.user_segments", "valid_to", "silver"),
    ("gold.fact_funnel", "event_dt", "silver"),
    ("gold.fact_affiliate_clicks", "event_dt", "silver"),
    ("gold.fact_orders", "event_dt", "silver"),
    ("gold.kpi_daily", "event_dt", "silver"),
)
OPERATION: Final = "retention"
#: Before every date a table holds: the cutoff of "keep for ever".
_NEVER: Final = date(1, 1, 1)


@dataclass(frozen=True)
class Limits:
    """Days kept per retention kind (0: for ever), per site, and for rows of any other site."""

    sites: dict[str, dict[str, int]]
    default: dict[str, int]


@dataclass
class Freed:
    table: str
    rows: int = 0
    files: int = 0
    bytes: int = 0


def enforce(catalog: Catalog, limits: Limits, now: datetime | None = None) -> list[Freed]:
    """Delete the rows past their site's limit from every table of `RULES`; what each table freed."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    out = []
    for identifier, column, kind in RULES:
        cutoffs = {site: _cutoff(today, days.get(kind, 0)) for site, days in limits.sites.items()}
        default = _cutoff(today, limits.default.get(kind, 0))
        latest = max([default, *cutoffs.values()])
        if latest == _NEVER:
            continue
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            continue
        before = referenced(table)
        term = Reference(column)
        plan = LessThan(term=term, value=literal(_literal(latest, column == "valid_to")))
        deleted = delete_rows(table, plan, _older(column, cutoffs, default), operation=OPERATION)
        freed = Freed(identifier, rows=deleted.rows)
        if deleted.rows:
            expire_all(table)
            swept = sweep_files(table, before)
            freed.files, freed.bytes = swept.files, swept.bytes
            log.info(
                "retention: %d rows of %s deleted, %d files (%d bytes) freed",
                freed.rows,
                identifier,
                freed.files,
                freed.bytes,
            )
        out.append(freed)
    return out


def _cutoff(today: date, days: int) -> date:
    """Rows dated before this day go; `_NEVER` when they are kept for ever."""
    return today - timedelta(days=days) if days > 0 else _NEVER


def _literal(day: date, timestamp: bool) -> str:
    return datetime.combine(day, datetime.min.time(), UTC).isoformat() if timestamp else day.isoformat()


def _older(column: str, cutoffs: dict[str, date], default: date) -> Match:
    sites = pa.array(list(cutoffs), pa.string())
    limits = pa.array(list(cutoffs.values()), pa.date32())

    def match(data: pa.Table) -> pa.ChunkedArray | pa.Array:
        values = data[column]
        if pa.types.is_timestamp(values.type):
            values = pc.cast(values, pa.date32())
        site = data["site_id"] if "site_id" in data.column_names else pa.nulls(data.num_rows, pa.string())
        index = pc.index_in(site, value_set=sites)
        cutoff = pc.fill_null(pc.take(limits, index), pa.scalar(default, pa.date32()))
        return pc.less(values, cutoff)

    return match
