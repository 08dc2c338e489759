"""The incremental runner: bronze.events → silver → gold, in DuckDB, written back to Iceberg.

A run takes the lock, finds the event days that changed in `bronze.events` since the
tables' watermark (`clicklake.transform.plan`), and rebuilds only what those days can
change, stage by stage:

1. `silver.events` for the changed days A;
2. `silver.sessions` for the days around them, P = each day of A, the day before and three
   after: a session crossing midnight belongs to its first day, and a change on a day can
   move session starts up to two days later (see `models/_session_events.sql`);
3. `silver.user_segments` whole (it is small: one row per visitor, segment and stay);
4. the gold facts and KPIs for P, and `gold.fact_funnel` also for the days whose sessions
   now start with other segments;
5. the recommendation tables whole, from the recent window of `silver.events`
   (`clicklake.transform.recommendations`).

For each table, DuckDB writes the model's rows straight into Parquet files in the table's
folder; the data-quality checks run over those files; then one Iceberg commit replaces
exactly the partitions of the rebuilt days with them, its snapshot summary carrying the
watermark. A blocking check that fails stops the run before that commit: the previous
snapshot stays published, the files are removed, and the report says why. With
`full_refresh`, every table is rebuilt from all of bronze; `between` rebuilds a range of
days without moving the watermark.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, Literal

import duckdb
import msgspec
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Snapshot

from clicklake.config import SegmentRule, TransformSettings
from clicklake.lake.storage import is_local, upload
from clicklake.lake.tables import BRONZE_EVENTS, TableDef
from clicklake.lake.tables import ensure_tables as ensure_lake_tables
from clicklake.lake.views import register_view
from clicklake.transform import checks as dq
from clicklake.transform import recommendations
from clicklake.transform.checks import CheckResult
from clicklake.transform.lock import RunLock
from clicklake.transform.metrics import TransformMetrics
from clicklake.transform.plan import (
    BronzeFiles,
    Watermark,
    added_files,
    around,
    bronze_filter,
    day_counts,
    day_filter,
    days_of,
    local_path,
    plan_bronze,
    removed_files,
    spanned_days,
    watermark_of,
)
from clicklake.transform.sql import (
    cast_select,
    copy_to_parquet,
    data_files,
    fingerprint,
    has_list,
    ident,
    model_sql,
    rewrite_with_list_types,
    text,
)
from clicklake.transform.tables import (
    GOLD,
    GOLD_DQ_RESULTS,
    GOLD_DQ_RESULTS_SCHEMA,
    GOLD_FACT_AFFILIATE_CLICKS,
    GOLD_FACT_FUNNEL,
    GOLD_FACT_ORDERS,
    GOLD_KPI_DAILY,
    RECOMMEND,
    SILVER,
    SILVER_EVENTS,
    SILVER_SESSIONS,
    SILVER_USER_SEGMENTS,
    TABLES,
)

log = logging.getLogger(__name__)

Mode = Literal["full", "incremental", "range", "up_to_date", "busy"]
Outcome = Literal["published", "blocked", "up_to_date", "busy"]

_DEFS: Final = {t.identifier: t for t in TABLES}
#: Plans of one table's publication before its error is the run's (see `_publish`).
_PLAN_ATTEMPTS: Final = 3


class TransformReport(msgspec.Struct, kw_only=True):
    """What one run did."""

    run_id: str
    mode: Mode
    outcome: Outcome
    started: datetime
    seconds: float = 0.0
    bronze_snapshot_id: int | None = None
    #: The event days rebuilt in silver.events (every day with data for a full refresh).
    days: list[date] = msgspec.field(default_factory=list)
    #: Rows written per table.
    rows: dict[str, int] = msgspec.field(default_factory=dict)
    checks: list[CheckResult] = msgspec.field(default_factory=list)
    #: Why the run stopped before publishing gold, when it did.
    blocked: str | None = None
    #: Age of the oldest bronze commit not yet in gold after this run, in seconds.
    lag_s: float = 0.0
    #: Seconds spent per step: planning, building each table, checks, commits.
    timings: dict[str, float] = msgspec.field(default_factory=dict)


@dataclass
class _Built:
    """A table's new files, written and not yet committed."""

    identifier: str
    table: Table
    directory: Path
    replace: BooleanExpression
    files: list[DataFile] = field(default_factory=list)
    #: The files as written on this machine (the checks read them).
    paths: list[str] = field(default_factory=list)
    #: Their copies in object storage, when the table is there.
    uploaded: list[str] = field(default_factory=list)

    def discard(self) -> None:
        """Remove the files written for a stage that is not published."""
        shutil.rmtree(self.directory, ignore_errors=True)
        for location in self.uploaded:
            try:
                self.table.io.delete(location)
            except OSError as exc:
                log.warning("could not delete unpublished %s: %s", location, exc)

    @property
    def rows(self) -> int:
        return sum(f.record_count for f in self.files)


@contextlib.contextmanager
def _timed(report: TransformReport, step: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        report.timings[step] = report.timings.get(step, 0.0) + time.monotonic() - started


class _Blocked(Exception):
    """A blocking check failed; the message says which and on what."""


class Transformer:
    """Builds the silver and gold tables of one catalog; see the module docstring."""

    def __init__(
        self,
        catalog: Catalog,
        settings: TransformSettings,
        work_dir: Path,
        *,
        metrics: TransformMetrics | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.work_dir = work_dir
        self.metrics = metrics
        self.progress = progress
        self.lock = RunLock(work_dir / "transform.lock")
        # bronze's manifest entries, read once per manifest across this transformer's runs
        self.bronze_files = BronzeFiles()
        # the settings the models read: a change to any of them changes what a rebuild gives
        read = {
            "session_gap_minutes": settings.session_gap_minutes,
            "comparison_pattern": settings.comparison_pattern,
            "site_comparison_patterns": settings.site_comparison_patterns,
            "segments": settings.segments,
        }
        self.models = fingerprint(msgspec.json.encode(read, order="sorted").decode())

    def ensure_tables(self) -> dict[str, Table]:
        """Create the lake's tables that are missing (bronze, silver, gold); returns the transform's.

        A table built with a partition field its definition no longer has (silver.events was
        partitioned by event_dt and event_type) drops that field: its old files keep their old
        spec, and every run replaces a day's files of any spec.
        """
        ensure_lake_tables(self.catalog)
        tables = ensure_lake_tables(self.catalog, TABLES)
        for name, table in tables.items():
            wanted = {p.name for p in _DEFS[name].partitions}
            extra = [f.name for f in table.spec().fields if f.name not in wanted]
            if extra:
                log.info("%s: partitioning no longer by %s", name, ", ".join(extra))
                try:
                    with table.update_spec() as update:
                        for field_name in extra:
                            update.remove_field(field_name)
                except CommitFailedException:  # another process did it first
                    table.refresh()
        return tables

    def _say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)
        else:
            log.info("%s", message)

    # -- the run ---------------------------------------------------------------------------

    def run(
        self,
        *,
        full_refresh: bool = False,
        between: tuple[date, date] | None = None,
        wait: bool = True,
        lock_held: bool = False,
    ) -> TransformReport:
        """One run; with `wait=False` a run that finds another one holding the lock returns at once ("busy").

        `lock_held`: the caller holds `self.lock` already (an erasure rebuilding the days it changed).
        """
        started = time.time()
        run_id = uuid.uuid4().hex[:12]
        report = TransformReport(
            run_id=run_id, mode="busy", outcome="busy", started=datetime.fromtimestamp(started, UTC)
        )
        try:
            hold = contextlib.nullcontext(True) if lock_held else self.lock.hold(wait=wait, on_wait=self._say)
            with hold as held:
                if held:
                    self._run(report, full_refresh=full_refresh, between=between)
        except Exception:
            if self.metrics is not None:
                self.metrics.observe("failed", time.time() - started, time.time(), report.lag_s, {}, ())
            raise
        report.seconds = time.time() - started
        if self.metrics is not None:
            self.metrics.observe(report.outcome, report.seconds, time.time(), report.lag_s, report.rows, report.checks)
        return report

    def _run(self, report: TransformReport, *, full_refresh: bool, between: tuple[date, date] | None) -> None:
        opening = time.monotonic()
        tables = self.ensure_tables()
        bronze = self.catalog.load_table(BRONZE_EVENTS)
        snapshot = bronze.current_snapshot()
        report.bronze_snapshot_id = snapshot.snapshot_id if snapshot is not None else None
        marks = {name: watermark_of(tables[name]) for name in (*SILVER, *GOLD, *RECOMMEND)}
        known = [m for m in marks.values() if m is not None]
        since = min((m.sequence_number for m in known), default=None)
        report.timings["open"] = time.monotonic() - opening
        planning = time.monotonic()
        scratch = self.work_dir / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        con = self._connect(scratch)
        planned: list[FileScanTask] | None = None
        try:
            if between is not None:
                report.mode = "range"
                first, last = between
                days = {first + timedelta(days=i) for i in range((last - first).days + 1)}
                # the watermark stays where it was: the other days are not rebuilt
                oldest = min(known, key=lambda m: m.sequence_number) if len(known) == len(marks) else None
                target = oldest
            elif full_refresh or len(known) < len(marks):
                if snapshot is None:
                    report.mode = report.outcome = "up_to_date"
                    return
                report.mode = "full"
                # planned once: the days come from these files' bounds, and silver.events reads them
                planned = plan_bronze(bronze, snapshot, None, self.bronze_files)
                if planned is None:
                    planned = list(bronze.scan(snapshot_id=snapshot.snapshot_id).plan_files())
                days = spanned_days(bronze, planned)
                target = Watermark(snapshot.sequence_number or 0, snapshot.snapshot_id, self.models)
            else:
                assert since is not None
                if snapshot is None or (snapshot.sequence_number or 0) <= since:
                    report.mode = report.outcome = "up_to_date"
                    return
                days = days_of(
                    con, bronze, added_files(bronze, snapshot, since), removed_files(bronze, snapshot, since)
                )
                target = Watermark(snapshot.sequence_number or 0, snapshot.snapshot_id, self.models)
                if not days:
                    # only compaction since: nothing to rebuild, but the watermark moves on, or the
                    # compacted files would look new once the loader has expired compaction's snapshot
                    for name in (*SILVER, *GOLD, *RECOMMEND):
                        self._advance(tables[name], target.properties(report.run_id))
                    report.mode = report.outcome = "up_to_date"
                    return
                report.mode = "incremental"
            report.days = sorted(days)
            report.timings["plan"] = time.monotonic() - planning
            self._say(f"{report.mode} run {report.run_id}: {_describe_days(days)} of bronze.events to rebuild")
            props = target.properties(report.run_id) if target is not None else {}
            stale = [name for name, m in marks.items() if m is not None and m.models != self.models]
            if stale and report.mode != "full":
                report.checks.append(
                    dq.python_check(
                        "plan",
                        "models_unchanged",
                        ", ".join(stale),
                        "warn",
                        len(stale),
                        "built with other models or settings; run 'clicklake transform --full-refresh' "
                        "to rebuild the history with the current ones",
                    )
                )
            report.checks.append(self._freshness(bronze))
            try:
                self._stages(
                    con, report, tables, bronze, snapshot, days, props, full=report.mode == "full", planned=planned
                )
                report.outcome = "published"
            except _Blocked as exc:
                report.outcome = "blocked"
                report.blocked = str(exc)
                self._say(f"blocked: {exc}")
            with _timed(report, "results and expiry"):
                self._write_results(tables[GOLD_DQ_RESULTS], report)
                self._cap_snapshots(tables[name] for name in (*SILVER, *GOLD, *RECOMMEND, GOLD_DQ_RESULTS))
            with _timed(report, "results and expiry"):
                report.lag_s = self._lag(bronze, tables[GOLD_KPI_DAILY])
        finally:
            con.close()
            shutil.rmtree(scratch, ignore_errors=True)

    def _stages(
        self,
        con: duckdb.DuckDBPyConnection,
        report: TransformReport,
        tables: dict[str, Table],
        bronze: Table,
        snapshot: Snapshot | None,
        days: set[date],
        props: dict[str, str],
        *,
        full: bool,
        planned: list[FileScanTask] | None = None,
    ) -> None:
        snapshot_id = snapshot.snapshot_id if snapshot is not None else None
        sessions = around(days, 1, 3)  # sessions (and gold) to rebuild
        sessionised = around(days, 2, 3)  # sessions whose events are assigned: one day more, for the events of P
        context = around(days, 4, 4)  # events read to assign them
        everything = AlwaysTrue()

        # 1. silver.events
        wanted = everything if full else bronze_filter(days)
        with _timed(report, "planning scans"):
            if planned is None and snapshot is not None:
                planned = plan_bronze(bronze, snapshot, None if full else days, self.bronze_files)
            tasks = (
                planned
                if planned is not None
                else list(bronze.scan(row_filter=wanted, snapshot_id=snapshot_id).plan_files())
            )
            register_view(con, "bronze", "events", bronze, snapshot_id=snapshot_id, row_filter=wanted, tasks=tasks)
        self._scope(con, days)
        events = self._build(
            con, report, tables, SILVER_EVENTS, model_sql("silver_events"), everything if full else None, days
        )
        with _timed(report, "silver.events filtered"):
            con.execute("CREATE OR REPLACE TEMP TABLE filtered_events AS " + model_sql("silver_events_filtered"))
        with _timed(report, "bronze counts"):
            counts = day_counts(con, bronze, tasks, days)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE bronze_day_counts AS "
                "SELECT CAST(unnest($days) AS DATE) AS day, CAST(unnest($counts) AS BIGINT) AS n",
                {"days": list(counts), "counts": list(counts.values())},
            )
        self._view_new(con, "new_silver_events", events)
        self._check(report, con, dq.silver_events_checks(), [events])
        self._publish(report, events, props)
        with _timed(report, "planning scans"):
            register_view(con, "silver", "events", events.table, row_filter=everything if full else day_filter(context))

        # 2. silver.sessions
        self._scope(con, sessionised)
        with _timed(report, "session assignment"):
            con.execute("CREATE OR REPLACE TEMP TABLE session_events AS " + model_sql("_session_events"))
        self._scope(con, sessions)
        built = self._build(
            con, report, tables, SILVER_SESSIONS, model_sql("silver_sessions"), everything if full else None, sessions
        )
        self._view_new(con, "new_silver_sessions", built)
        self._check(report, con, dq.silver_sessions_checks(), [built])
        self._publish(report, built, props)
        with _timed(report, "planning scans"):
            register_view(con, "silver", "sessions", built.table)

        # 3. silver.user_segments
        with _timed(report, "planning scans"):
            register_view(con, "silver", "user_segments", tables[SILVER_USER_SEGMENTS])
        started = time.monotonic()
        con.execute("SET VARIABLE as_of = (SELECT max(session_end_ts) FROM silver.sessions)")
        con.execute("CREATE OR REPLACE TEMP VIEW segment_evidence AS " + segment_evidence(self.settings.segments))
        schema = _DEFS[SILVER_USER_SEGMENTS].arrow
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_user_segments AS "
            + cast_select(model_sql("silver_user_segments"), schema)
        )
        report.timings[SILVER_USER_SEGMENTS] = time.monotonic() - started
        funnel_days = set(sessions)
        if not full:
            with _timed(report, "segment changes"):
                changed = {row[0] for row in con.execute(model_sql("_segment_changes")).fetchall()}
            funnel_days |= changed
            if changed - sessions:
                self._say(f"segments changed for sessions of {_describe_days(changed - sessions)} more")
        segments = self._build(
            con, report, tables, SILVER_USER_SEGMENTS, "SELECT * FROM new_user_segments", everything, None
        )
        self._check(report, con, dq.user_segments_checks(self.settings.segments), [segments])
        self._publish(report, segments, props)
        with _timed(report, "planning scans"):
            register_view(con, "silver", "user_segments", segments.table)

        # 4. gold, published only when every gold check passes
        self._scope(con, funnel_days)
        gold = [
            self._build(
                con,
                report,
                tables,
                GOLD_FACT_FUNNEL,
                model_sql("gold_fact_funnel"),
                everything if full else None,
                funnel_days,
            )
        ]
        self._scope(con, sessions)
        for name, model in (
            (GOLD_FACT_AFFILIATE_CLICKS, "gold_fact_affiliate_clicks"),
            (GOLD_FACT_ORDERS, "gold_fact_orders"),
            (GOLD_KPI_DAILY, "gold_kpi_daily"),
        ):
            gold.append(
                self._build(con, report, tables, name, model_sql(model), everything if full else None, sessions)
            )
        for built in gold:
            self._view_new(con, "new_" + built.identifier.split(".", 1)[1], built)
        self._check(report, con, dq.gold_checks(), gold)
        for built in gold:
            self._publish(report, built, props)

        # 5. the recommendation tables, rebuilt whole from the recent window of silver.events
        recommendations.build(self, con, report, tables, props)

    # -- steps -----------------------------------------------------------------------------

    def _connect(self, scratch: Path) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET temp_directory = {text(str(scratch))}")
        # the checks read the files a stage wrote, and bronze, again: keep their footers
        con.execute("SET parquet_metadata_cache = true")
        # rows are written in the order a model asks for (ORDER BY), else as they come
        con.execute("SET preserve_insertion_order = false")
        for namespace in ("bronze", "silver", "gold"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {namespace}")
        gap_ms = round(self.settings.session_gap_minutes * 60_000)
        con.execute(f"SET VARIABLE session_gap = to_milliseconds({gap_ms})")
        con.execute(comparison_macro(self.settings.comparison_pattern, self.settings.site_comparison_patterns))
        return con

    @staticmethod
    def _scope(con: duckdb.DuckDBPyConnection, days: Iterable[date]) -> None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE scope AS SELECT CAST(unnest($days) AS DATE) AS day", {"days": sorted(days)}
        )

    def _build(
        self,
        con: duckdb.DuckDBPyConnection,
        report: TransformReport,
        tables: dict[str, Table],
        identifier: str,
        model: str,
        replace: BooleanExpression | None,
        days: set[date] | None,
    ) -> _Built:
        """Write the model's rows as data files of `identifier` (not committed)."""
        started = time.monotonic()
        table = tables[identifier]
        definition: TableDef = _DEFS[identifier]
        folder = f"transform-{uuid.uuid4().hex}"
        stored = not is_local(table.location())
        # in object storage: written in the scratch folder, then uploaded; the checks read the local copies
        directory = self.work_dir / "tmp" / folder if stored else Path(local_path(table.location())) / "data" / folder
        built = _Built(identifier, table, directory, replace if replace is not None else day_filter(days))
        directory.parent.mkdir(parents=True, exist_ok=True)
        schema = table.schema()
        partition_by = tuple(schema.find_column_name(f.source_id) or "" for f in table.spec().fields)
        con.execute(copy_to_parquet(cast_select(model, definition.arrow), str(directory), partition_by, schema))
        built.paths = sorted(str(p) for p in directory.rglob("*.parquet"))
        if has_list(schema):
            rewrite_with_list_types(built.paths)
        if stored:
            base = f"{table.location().rstrip('/')}/data/{folder}/"
            locations = [base + Path(p).relative_to(directory).as_posix() for p in built.paths]
            built.files = data_files(table, built.paths, stored_at=locations)
            for path, location in zip(built.paths, locations, strict=True):
                upload(table.io, Path(path), location)
            built.uploaded = locations
        else:
            # the same spelling as pyiceberg's own writer: file:// and the path as it is, not percent-encoded
            scheme = "file://" if table.location().startswith("file:") else ""
            built.files = data_files(table, [scheme + p for p in built.paths])
        seconds = time.monotonic() - started
        report.timings[identifier] = report.timings.get(identifier, 0.0) + seconds
        scope = f"{len(days)} days" if days is not None else "all"
        self._say(f"{identifier}: {built.rows:,} rows for {scope} ({seconds:.2f} s)")
        return built

    @staticmethod
    def _view_new(con: duckdb.DuckDBPyConnection, name: str, built: _Built) -> None:
        """A view over the files just written, for the checks."""
        if built.paths:
            listing = "[" + ", ".join(text(p) for p in built.paths) + "]"
            con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS SELECT * FROM read_parquet({listing})")
        else:
            con.register(f"__empty_{name}", _DEFS[built.identifier].arrow.empty_table())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS SELECT * FROM {ident('__empty_' + name)}")

    def _check(
        self,
        report: TransformReport,
        con: duckdb.DuckDBPyConnection,
        checks: list[dq.Check],
        pending: list[_Built],
    ) -> None:
        """Run `checks`; when a blocking one fails, remove `pending` files and stop the run."""
        with _timed(report, "checks"):
            results = dq.run_checks(con, checks)
        report.checks += results
        for r in results:
            if not r.passed:
                log.warning("data-quality check %s on %s failed (%d): %s", r.name, r.table, r.failing, r.detail)
        failed = [r for r in results if r.blocks]
        if failed:
            for built in pending:
                built.discard()
            names = "; ".join(f"{r.table} {r.name}: {r.failing} failing ({r.detail})" for r in failed)
            tables = sorted({b.identifier for b in pending})
            raise _Blocked(f"{', '.join(tables)} not published (the previous snapshot stays): {names}")

    def _publish(self, report: TransformReport, built: _Built, props: dict[str, str]) -> None:
        """One snapshot: the files of the rebuilt partitions out, the new files in, the watermark in its summary.

        Every table is partitioned by what a run rebuilds (the day, or the segment for
        silver.user_segments, which is rebuilt whole), so whole files go: nothing is rewritten.
        """
        table = built.table
        with _timed(report, "commits"):
            for attempt in range(1, _PLAN_ATTEMPTS + 1):
                old = [task.file for task in table.scan(row_filter=built.replace).plan_files()]
                tx = table.transaction()
                try:
                    with tx.update_snapshot(snapshot_properties=props).overwrite() as replace:
                        for data_file in old:
                            replace.delete_data_file(data_file)
                        for data_file in built.files:
                            replace.append_data_file(data_file)
                except ValidationException as exc:
                    # Raised before anything is committed. pyiceberg 0.12 shares one manifest evaluator
                    # among the threads that look for the files to delete, and it keeps the manifest
                    # being judged on itself, so a race can skip a manifest and report one of `old`
                    # missing (seen about once in a dozen runs of a test); so can a file another
                    # writer removed meanwhile. Either way a new plan on the table as it is now holds.
                    if attempt == _PLAN_ATTEMPTS:
                        raise
                    log.info("publishing %s: %s; planning it again", built.identifier, exc)
                    table.refresh()
                    continue
                tx.commit_transaction()
                break
        report.rows[built.identifier] = built.rows

    @staticmethod
    def _advance(table: Table, props: dict[str, str]) -> None:
        """A snapshot that changes no data and records a newer watermark."""
        tx = table.transaction()
        with tx.update_snapshot(snapshot_properties=props).overwrite():
            pass
        tx.commit_transaction()

    def _freshness(self, bronze: Table) -> CheckResult:
        snapshot = bronze.current_snapshot()
        limit = self.settings.freshness_warn_minutes * 60
        if snapshot is None:
            return dq.python_check("plan", "bronze_fresh", BRONZE_EVENTS, "warn", 1, "bronze.events has no data yet")
        age = time.time() - snapshot.timestamp_ms / 1000
        detail = f"last commit {age:.0f} s ago (warns after {limit:.0f} s)"
        return dq.python_check("plan", "bronze_fresh", BRONZE_EVENTS, "warn", int(age > limit), detail)

    @staticmethod
    def _lag(bronze: Table, gold: Table) -> float:
        """Seconds since the first bronze commit after gold's watermark (0 when gold is up to date)."""
        bronze.refresh()
        mark = watermark_of(gold)
        waiting = [
            s.timestamp_ms
            for s in bronze.metadata.snapshots
            if mark is None or (s.sequence_number or 0) > mark.sequence_number
        ]
        return max(0.0, time.time() - min(waiting) / 1000) if waiting else 0.0

    @staticmethod
    def _write_results(table: Table, report: TransformReport) -> None:
        if not report.checks:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "run_id": report.run_id,
                "run_ts": now,
                "stage": c.stage,
                "check_name": c.name,
                "table_name": c.table,
                "severity": c.severity,
                "passed": c.passed,
                "failing_rows": c.failing,
                "detail": c.detail,
                "run_dt": now.date(),
            }
            for c in report.checks
        ]
        table.append(pa.Table.from_pylist(rows, schema=GOLD_DQ_RESULTS_SCHEMA))

    def _cap_snapshots(self, tables: Iterable[Table]) -> None:
        """Expire each table's oldest snapshots beyond `transform.keep_snapshots` (commits slow as they grow)."""
        keep = self.settings.keep_snapshots
        for table in tables:
            snapshots = table.metadata.snapshots
            if len(snapshots) <= keep:
                continue
            current = table.metadata.current_snapshot_id
            oldest = sorted(snapshots, key=lambda s: s.timestamp_ms)[: len(snapshots) - keep]
            expire = [s.snapshot_id for s in oldest if s.snapshot_id != current]
            try:
                table.maintenance.expire_snapshots().by_ids(expire).commit()
            except (CommitFailedException, ValidationException) as exc:
                log.info("expiring old snapshots of %s raced another writer: %s", ".".join(table.name()), exc)


# -- settings as SQL -------------------------------------------------------------------


def comparison_macro(default: str, per_site: dict[str, str]) -> str:
    """The macro `is_comparison_page(site_id, url)` of the models, from the settings."""
    match = f"regexp_matches(url, {text(default)})"
    if per_site:
        cases = " ".join(
            f"WHEN site_id = {text(site)} THEN regexp_matches(url, {text(pattern)})"
            for site, pattern in sorted(per_site.items())
        )
        match = f"CASE {cases} ELSE {match} END"
    return f"CREATE OR REPLACE MACRO is_comparison_page(site_id, url) AS {match}"


def segment_evidence(rules: dict[str, SegmentRule]) -> str:
    """segment_evidence for silver_user_segments.sql: one SELECT over silver.sessions per rule."""
    parts = [
        f"SELECT {text(key)} AS segment_key, site_id, visitor_id, session_end_ts AS qualified_at, "
        f"CAST(({rule.amount}) AS DOUBLE) AS amount, CAST({rule.at_least!r} AS DOUBLE) AS threshold, "
        f"CAST({rule.window_days} AS INTEGER) AS window_days "
        f"FROM silver.sessions "
        f"WHERE visitor_id IS NOT NULL AND NOT is_bot AND ({rule.when}) AND ({rule.amount}) > 0"
        for key, rule in sorted(rules.items())
    ]
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS segment_key, NULL::VARCHAR AS site_id, NULL::VARCHAR AS visitor_id, "
            "NULL::TIMESTAMPTZ AS qualified_at, NULL::DOUBLE AS amount, NULL::DOUBLE AS threshold, "
            "NULL::INTEGER AS window_days WHERE false"
        )
    return "\nUNION ALL\n".join(parts)


def _describe_days(days: Iterable[date]) -> str:
    ordered = sorted(days)
    if not ordered:
        return "no days"
    if len(ordered) == 1:
        return f"1 day ({ordered[0]})"
    return f"{len(ordered)} days ({ordered[0]} to {ordered[-1]})"
