"""Copy the gold tables and `silver.sessions` into a PostgreSQL schema, only what changed since the last run.

What changed is found by partition, not by row: the transform replaces whole days of
silver and gold (an overwrite of the day's files), so a day whose set of data files is
not the one exported last time is read again whole, and a day that no longer has any
file is gone. The warehouse keeps, beside the data, each table's last exported snapshot
id and a fingerprint (SHA-256 of the sorted file paths) of every exported partition, so
no old snapshot has to survive in the lake (the transform keeps only a few).

A changed day is staged with `COPY` and merged into the warehouse table:

- `INSERT ... ON CONFLICT (keys) DO UPDATE ... WHERE row IS DISTINCT FROM excluded`: new
  rows are inserted and rows whose values changed are updated; a row rebuilt identical
  is left alone (its `xmin` stays), so a day rebuilt for one late event changes one row;
- rows of that day whose key the lake no longer has are deleted.

One run is one transaction, state included: a run killed midway leaves the warehouse as
the previous run left it, and the next run does the whole work. Two exporters of the same
schema wait for each other (a transaction-scoped advisory lock).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec
import pyarrow as pa
import sqlalchemy as sa
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import In, Reference
from pyiceberg.expressions.literals import literal
from pyiceberg.io.pyarrow import schema_to_pyarrow

from clicklake._failpoint import failpoint
from clicklake.errors import ConfigError
from clicklake.export.partitions import files_by_partition, fingerprint, partition_column
from clicklake.export.pgtypes import from_stage, pg_type, quote, stage_type, to_csv

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from clicklake.config import Settings

log = logging.getLogger(__name__)

#: Changed partitions read and merged at once (bounds the memory of a first export).
PARTITIONS_PER_CHUNK: Final = 31
SNAPSHOTS_TABLE: Final = "clicklake_export_snapshots"
PARTITIONS_TABLE: Final = "clicklake_export_partitions"


@dataclass(frozen=True)
class Exported:
    """A lake table the export copies, and the columns that identify one of its rows."""

    lake: str
    keys: tuple[str, ...]

    @property
    def target(self) -> str:
        """The warehouse table's name: `gold.kpi_daily` becomes `gold_kpi_daily`."""
        return self.lake.replace(".", "_")


#: The keys include the day: a rebuilt day is replaced whole, so a row's identity is within its day.
EXPORTED: Final = (
    Exported("silver.sessions", ("site_id", "event_dt", "session_id")),
    Exported("gold.fact_funnel", ("site_id", "event_dt", "session_id")),
    Exported("gold.fact_affiliate_clicks", ("site_id", "event_dt", "event_id")),
    Exported("gold.fact_orders", ("site_id", "event_dt", "order_id")),
    Exported("gold.kpi_daily", ("site_id", "event_dt", "dimension", "value")),
    Exported("gold.dq_results", ("run_dt", "run_id", "stage", "check_name", "table_name")),
)


class TableExport(msgspec.Struct, kw_only=True):
    """What one run did to one table."""

    table: str
    target: str
    snapshot_id: int | None
    previous_snapshot_id: int | None
    partitions_changed: int = 0
    partitions_removed: int = 0
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


class ExportReport(msgspec.Struct, kw_only=True):
    """What one run did; `changed` is every row inserted, updated or deleted."""

    schema: str
    tables: list[TableExport]
    seconds: float

    @property
    def changed(self) -> int:
        return sum(t.inserted + t.updated + t.deleted for t in self.tables)


def engine_for(dsn: str) -> sa.Engine:
    """An engine on `dsn` (`postgresql://...`, with or without `+psycopg2`)."""
    try:
        url = sa.engine.make_url(dsn)
    except sa.exc.ArgumentError:
        raise ConfigError(f"export DSN {dsn!r} is not a database URL; use postgresql://user@host:5432/db") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")
    if url.drivername != "postgresql+psycopg2":
        raise ConfigError(
            f"export DSN {dsn!r} names {url.drivername!r}; the warehouse export writes to PostgreSQL "
            "(postgresql://user@host:5432/db)"
        )
    return sa.create_engine(url, pool_pre_ping=True)


def export_postgres(catalog: Catalog, dsn: str, schema: str = "clicklake") -> ExportReport:
    """Bring the warehouse schema up to the lake's current snapshots, in one transaction."""
    started = time.monotonic()
    engine = engine_for(dsn)
    try:
        with engine.begin() as con:
            con.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"clicklake.export:{schema}"})
            _ensure_state(con, schema)
            tables = []
            for exported in EXPORTED:
                tables.append(_Run(con, catalog, schema, exported).run())
                failpoint("export.after_table")
            failpoint("export.before_commit")
    finally:
        engine.dispose()
    report = ExportReport(schema=schema, tables=tables, seconds=round(time.monotonic() - started, 3))
    log.info("export to schema %s: %d rows changed in %.1f s", schema, report.changed, report.seconds)
    return report


def _ensure_state(con: sa.Connection, schema: str) -> None:
    s = quote(schema)
    con.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {s}"))
    con.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {s}.{SNAPSHOTS_TABLE} (lake_table text PRIMARY KEY, "
            "snapshot_id bigint, exported_at timestamptz NOT NULL)"
        )
    )
    con.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {s}.{PARTITIONS_TABLE} (lake_table text NOT NULL, "
            "partition_value text NOT NULL, files_sha256 text NOT NULL, PRIMARY KEY (lake_table, partition_value))"
        )
    )


class _Run:
    """One table's export inside the run's transaction."""

    def __init__(self, con: sa.Connection, catalog: Catalog, schema: str, exported: Exported) -> None:
        self.con = con
        self.catalog = catalog
        self.schema = schema
        self.exported = exported
        self.target = f"{quote(schema)}.{quote(exported.target)}"

    def run(self) -> TableExport:
        name = self.exported.lake
        previous = self.con.execute(
            sa.text(f"SELECT snapshot_id FROM {quote(self.schema)}.{SNAPSHOTS_TABLE} WHERE lake_table = :t"),
            {"t": name},
        ).scalar_one_or_none()
        try:
            table = self.catalog.load_table(name)
        except NoSuchTableError:
            return TableExport(table=name, target=self.exported.target, snapshot_id=None, previous_snapshot_id=previous)
        snapshot = table.current_snapshot()
        snapshot_id = snapshot.snapshot_id if snapshot is not None else None
        out = TableExport(
            table=name, target=self.exported.target, snapshot_id=snapshot_id, previous_snapshot_id=previous
        )
        arrow = schema_to_pyarrow(table.schema(), include_field_ids=False)
        column = partition_column(table)
        self._ensure_table(arrow, column)
        if snapshot_id is not None and snapshot_id == previous:
            return out
        files = files_by_partition(table, snapshot_id, column is not None)
        stored: dict[str, str] = dict(
            self.con.execute(
                sa.text(
                    f"SELECT partition_value, files_sha256 FROM {quote(self.schema)}.{PARTITIONS_TABLE} "
                    "WHERE lake_table = :t"
                ),
                {"t": name},
            ).all()
        )
        fingerprints = {part: fingerprint(paths) for part, (_value, paths) in files.items()}
        changed = sorted(p for p, fp in fingerprints.items() if stored.get(p) != fp)
        removed = sorted(set(stored) - set(fingerprints))
        out.partitions_changed, out.partitions_removed = len(changed), len(removed)
        if removed:
            out.deleted += self._delete_partitions(column, removed, arrow)
        for chunk in _chunks(changed, PARTITIONS_PER_CHUNK if column is not None else len(changed) or 1):
            values = [files[p][0] for p in chunk]
            row_filter = In(term=Reference(column), values={literal(v) for v in values}) if column is not None else None
            scan = table.scan(row_filter=row_filter, snapshot_id=snapshot_id) if row_filter else None
            rows = (scan or table.scan(snapshot_id=snapshot_id)).to_arrow()
            out.rows_read += rows.num_rows
            inserted, updated, deleted = self._merge(rows.cast(arrow), arrow, column, values)
            out.inserted += inserted
            out.updated += updated
            out.deleted += deleted
        self._save_state(name, snapshot_id, fingerprints, changed, removed)
        return out

    def _ensure_table(self, arrow: pa.Schema, column: str | None) -> None:
        """Create the warehouse table (and an index on its partition column), or add the columns it lacks."""
        keys = ", ".join(quote(k) for k in self.exported.keys)
        columns = ", ".join(
            f"{quote(f.name)} {pg_type(f.type)}" + (" NOT NULL" if f.name in self.exported.keys else "") for f in arrow
        )
        self.con.execute(sa.text(f"CREATE TABLE IF NOT EXISTS {self.target} ({columns}, PRIMARY KEY ({keys}))"))
        if column is not None:
            index = quote(f"{self.exported.target}_{column}_idx")
            self.con.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {index} ON {self.target} ({quote(column)})"))
        have = set(
            self.con.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"
                ),
                {"s": self.schema, "t": self.exported.target},
            ).scalars()
        )
        for f in arrow:
            if f.name not in have:
                log.info("adding column %s to %s", f.name, self.target)
                self.con.execute(sa.text(f"ALTER TABLE {self.target} ADD COLUMN {quote(f.name)} {pg_type(f.type)}"))

    def _delete_partitions(self, column: str | None, parts: list[str], arrow: pa.Schema) -> int:
        if column is None:
            return int(self.con.execute(sa.text(f"DELETE FROM {self.target}")).rowcount)
        # the partition values are kept as text; cast them to the column's type so its index serves
        cast = pg_type(arrow.field(column).type)
        result = self.con.execute(
            sa.text(f"DELETE FROM {self.target} WHERE {quote(column)} = ANY(CAST(:p AS {cast}[]))"), {"p": parts}
        )
        return int(result.rowcount)

    def _merge(self, rows: pa.Table, arrow: pa.Schema, column: str | None, values: list[Any]) -> tuple[int, int, int]:
        """Stage `rows` by COPY, upsert them, delete the rows of their partitions they no longer hold."""
        stage = quote("clicklake_stage_" + self.exported.target)
        self.con.execute(
            sa.text(
                f"CREATE TEMP TABLE {stage} ("
                + ", ".join(f"{quote(f.name)} {stage_type(f.type)}" for f in arrow)
                + ") ON COMMIT DROP"
            )
        )
        names = ", ".join(quote(f.name) for f in arrow)
        cursor = self.con.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(f"COPY {stage} ({names}) FROM STDIN WITH (FORMAT csv)", io.BytesIO(to_csv(rows)))
        finally:
            cursor.close()
        keys = [quote(k) for k in self.exported.keys]
        others = [quote(f.name) for f in arrow if f.name not in self.exported.keys]
        exprs = ", ".join(f"{from_stage(f.name, f.type)}" for f in arrow)
        not_null = " AND ".join(f"s.{k} IS NOT NULL" for k in keys)
        key_list = ", ".join(f"s.{k}" for k in keys)
        upsert = (
            f"INSERT INTO {self.target} AS t ({names}) "
            f"SELECT DISTINCT ON ({key_list}) {exprs} FROM {stage} AS s WHERE {not_null} ORDER BY {key_list} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
            + f" WHERE ({', '.join('t.' + c for c in others)}) IS DISTINCT FROM "
            f"({', '.join('EXCLUDED.' + c for c in others)}) RETURNING (t.xmax = 0) AS inserted"
        )
        counted = self.con.execute(
            sa.text(
                f"WITH up AS ({upsert}) SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
                "FROM up"
            )
        ).one()
        missing = " AND ".join(f"s.{k} = t.{k}" for k in keys)
        where = f"NOT EXISTS (SELECT 1 FROM {stage} AS s WHERE {missing})"
        params: dict[str, Any] = {}
        if column is not None:
            where = f"t.{quote(column)} = ANY(:p) AND " + where
            params["p"] = values
        deleted = self.con.execute(sa.text(f"DELETE FROM {self.target} AS t WHERE {where}"), params).rowcount
        self.con.execute(sa.text(f"DROP TABLE {stage}"))
        return int(counted[0]), int(counted[1]), int(deleted)

    def _save_state(
        self,
        name: str,
        snapshot_id: int | None,
        fingerprints: dict[str, str],
        changed: list[str],
        removed: list[str],
    ) -> None:
        s = quote(self.schema)
        if removed:
            self.con.execute(
                sa.text(f"DELETE FROM {s}.{PARTITIONS_TABLE} WHERE lake_table = :t AND partition_value = ANY(:p)"),
                {"t": name, "p": removed},
            )
        if changed:
            self.con.execute(
                sa.text(
                    f"INSERT INTO {s}.{PARTITIONS_TABLE} (lake_table, partition_value, files_sha256) "
                    "VALUES (:t, :p, :f) ON CONFLICT (lake_table, partition_value) "
                    "DO UPDATE SET files_sha256 = EXCLUDED.files_sha256"
                ),
                [{"t": name, "p": p, "f": fingerprints[p]} for p in changed],
            )
        self.con.execute(
            sa.text(
                f"INSERT INTO {s}.{SNAPSHOTS_TABLE} (lake_table, snapshot_id, exported_at) VALUES (:t, :i, now()) "
                "ON CONFLICT (lake_table) DO UPDATE SET snapshot_id = EXCLUDED.snapshot_id, "
                "exported_at = EXCLUDED.exported_at"
            ),
            {"t": name, "i": snapshot_id},
        )


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def run_forever(settings: Settings, stop: threading.Event) -> None:
    """Export every `export.interval_s` until `stop` is set; returns at once when no `export.dsn` is set."""
    from clicklake.lake.catalog import catalog_from_settings

    dsn = settings.export.dsn
    if not dsn:
        log.info("no export.dsn set: the warehouse export does not run")
        return
    engine_for(dsn).dispose()  # a bad DSN is a ConfigError at start-up, not a log line every interval
    catalog = catalog_from_settings(settings)
    while not stop.is_set():
        try:
            export_postgres(catalog, dsn, settings.export.schema)
        except Exception:
            log.exception("the warehouse export failed; it runs again in %.0f s", settings.export.interval_s)
        stop.wait(settings.export.interval_s)
