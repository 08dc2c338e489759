"""Storage per site: bytes, files and rows of every table, and events per day (the cost view).

A data file may hold rows of several sites (bronze files are cut by hour, not by site), so
a site's bytes are each file's size shared out by its rows: a file of 1 MB with 3 of its 4
rows from site A counts 0.75 MB to A. Reading a file's `site_id` column is enough for that
(its footer and one column). The events per day are bronze.events rows by the day they
arrived (`ingest_dt`), what the collector took in.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import msgspec
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog

from clicklake.lake.erase import tables
from clicklake.lake.tables import BRONZE_EVENTS


class TableUsage(msgspec.Struct, kw_only=True):
    table: str
    rows: int = 0
    files: int = 0
    bytes: int = 0


class DayEvents(msgspec.Struct, kw_only=True):
    day: date
    events: int


class SiteUsage(msgspec.Struct, kw_only=True):
    """What one site takes in the lake (current snapshots only: older ones are maintenance's to expire)."""

    site_id: str
    bytes: int = 0
    files: int = 0
    rows: int = 0
    tables: list[TableUsage] = msgspec.field(default_factory=list)
    events_per_day: list[DayEvents] = msgspec.field(default_factory=list)


def usage(catalog: Catalog, site_ids: list[str] | None = None) -> list[SiteUsage]:
    """Storage of every site (or of `site_ids`), by table; sites without a row are left out unless named."""
    per: dict[str, dict[str, TableUsage]] = defaultdict(dict)
    files_of: dict[str, int] = defaultdict(int)
    days: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for table in tables(catalog):
        name = ".".join(table.name())
        if "site_id" not in {f.name for f in table.schema().fields}:
            continue
        columns = ["site_id", "ingest_dt"] if name == BRONZE_EVENTS else ["site_id"]
        for task in table.scan(selected_fields=tuple(columns)).plan_files():
            data_file = task.file
            with table.io.new_input(data_file.file_path).open() as f:
                data = pq.read_table(f, columns=columns)
            counts = pc.value_counts(data["site_id"]).to_pylist()
            total = max(data.num_rows, 1)
            for item in counts:
                site, n = item["values"], item["counts"]
                if site is None or (site_ids is not None and site not in site_ids):
                    continue
                use = per[site].setdefault(name, TableUsage(table=name))
                use.rows += n
                use.files += 1
                use.bytes += round(data_file.file_size_in_bytes * n / total)
                files_of[site] += 1
            if name == BRONZE_EVENTS:
                grouped = data.group_by(["site_id", "ingest_dt"]).aggregate([([], "count_all")])
                for row in grouped.to_pylist():
                    if row["site_id"] is not None and (site_ids is None or row["site_id"] in site_ids):
                        days[row["site_id"]][row["ingest_dt"]] += row["count_all"]
    out = []
    for site in sorted(set(per) | set(site_ids or ())):
        found = sorted(per.get(site, {}).values(), key=lambda t: t.table)
        out.append(
            SiteUsage(
                site_id=site,
                bytes=sum(t.bytes for t in found),
                files=files_of.get(site, 0),
                rows=sum(t.rows for t in found),
                tables=found,
                events_per_day=[DayEvents(day=d, events=n) for d, n in sorted(days.get(site, {}).items())],
            )
        )
    return out
