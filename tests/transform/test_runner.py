"""The incremental runner: what a run rebuilds, what it leaves alone, and what stops it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from prometheus_client import CollectorRegistry, generate_latest
from pyiceberg.transforms import IdentityTransform

from clicklake.config import LakeSettings
from clicklake.lake.maintain import COMPACTIONS, compact, maintain
from clicklake.lake.tables import BRONZE_EVENTS, Partition, ensure_tables
from clicklake.transform import Transformer, TransformMetrics
from clicklake.transform.plan import BronzeFiles, bronze_filter, plan_bronze, watermark_of
from clicklake.transform.tables import SILVER_EVENTS_SCHEMA, TABLES
from transform.lakes import TABLE_KEYS, Lake, event


def day(n: int) -> date:
    return date(2026, 11, n)


def view(n: int, hour: int = 10, **kw: Any) -> Any:
    kw.setdefault("page", f"https://a.example/{n}")
    return event("page_view", f"2026-11-{n:02d}T{hour:02d}:00:00Z", **kw)


def files_of(lake: Lake, table: str, n: int) -> set[str]:
    """The data files of one day's partition of `table`."""
    t = lake.catalog.load_table(table)
    days = (day(n) - date(1970, 1, 1)).days  # a date partition holds days since 1970
    return {task.file.file_path for task in t.scan().plan_files() if task.file.partition[0] == days}


def snapshot_ids(lake: Lake) -> dict[str, int | None]:
    out = {}
    for name in TABLE_KEYS:
        snapshot = lake.catalog.load_table(name).current_snapshot()
        out[name] = snapshot.snapshot_id if snapshot is not None else None
    return out


def test_a_second_run_without_new_data_changes_nothing(lake: Lake) -> None:
    lake.add(view(1), view(2))
    assert lake.run().outcome == "published"
    before = snapshot_ids(lake)
    again = lake.run()
    assert (again.mode, again.outcome, again.rows) == ("up_to_date", "up_to_date", {})
    assert snapshot_ids(lake) == before


def test_a_late_event_rebuilds_its_day_and_leaves_the_others(lake: Lake) -> None:
    lake.add(*(view(n) for n in range(1, 11)))
    first = lake.run()
    assert first.mode == "full" and first.days == [day(n) for n in range(1, 11)]
    events_before = {n: files_of(lake, "silver.events", n) for n in range(1, 11)}
    sessions_before = {n: files_of(lake, "silver.sessions", n) for n in range(1, 11)}

    # an event of the 3rd arrives a week late
    lake.add(
        event(
            "page_view",
            "2026-11-03T18:00:00Z",
            visitor="late",
            page="https://a.example/late",
            ingest_delay_ms=7 * 86_400_000,
        )
    )
    report = lake.run()
    assert (report.mode, report.days) == ("incremental", [day(3)])
    assert lake.rows("select event_dt, page_path from silver.events where visitor_id = 'late'") == [
        {"event_dt": day(3), "page_path": "/late"}
    ]
    assert lake.rows("select sessions from gold.kpi_daily where dimension = 'all' and event_dt = '2026-11-03'") == [
        {"sessions": 2}
    ]
    # silver.events: only the 3rd's files changed; sessions and gold: the 2nd to the 6th
    for n in range(1, 11):
        assert (files_of(lake, "silver.events", n) == events_before[n]) == (n != 3), n
        assert (files_of(lake, "silver.sessions", n) == sessions_before[n]) == (n not in range(2, 7)), n
    mark = watermark_of(lake.catalog.load_table("gold.kpi_daily"))
    assert (
        mark is not None and mark.snapshot_id == lake.catalog.load_table(BRONZE_EVENTS).current_snapshot().snapshot_id
    )


def test_incremental_runs_equal_a_full_refresh(lake: Lake, tmp_path: Path) -> None:
    batches = [
        [
            view(10, 9),
            view(10, 23, visitor="v2"),
            event("affiliate_click", "2026-11-11T00:10:00Z", visitor="v2", affiliate={"payout_cents": 5}),
        ],
        [view(11, 12), view(8, 22, visitor="v3")],  # a late one, two days back
        [view(11, 23, visitor="v2"), view(12, 0, visitor="v2")],  # a session across midnight, built across runs
        [
            event(
                "purchase",
                "2026-11-12T00:20:00Z",
                visitor="v2",
                order={"order_id": "o", "revenue_minor": 9, "currency": "USD"},
            )
        ],
    ]
    for batch in batches:
        lake.add(*batch)
        lake.run()
    incremental = lake.tables()
    fresh = Lake(tmp_path / "fresh")
    fresh.add(*(r for batch in batches for r in batch))
    assert fresh.run().mode == "full"
    assert fresh.tables() == incremental
    # and a --full-refresh of the same lake leaves every row as it was
    assert lake.run(full_refresh=True).outcome == "published"
    assert lake.tables() == incremental


def test_a_click_sent_again_is_one_fact(lake: Lake) -> None:
    click = event(
        "affiliate_click", "2026-11-05T10:00:00Z", affiliate={"link_id": "l", "payout_cents": 50}, event_id="k1"
    )
    lake.add(click)
    lake.run()
    # the same click again, ingested later (past the loader's dedup window), and another event of the day
    again = event(
        "affiliate_click",
        "2026-11-05T10:00:00Z",
        affiliate={"link_id": "l", "payout_cents": 50},
        event_id="k1",
        ingest_delay_ms=3_600_000,
    )
    lake.add(again, view(5, 11))
    report = lake.run()
    assert report.days == [day(5)]
    assert lake.rows("select event_id, payout_cents from gold.fact_affiliate_clicks") == [
        {"event_id": "k1", "payout_cents": 50}
    ]
    reconciliation = [c for c in report.checks if c.name == "bronze_reconciliation"]
    assert [(c.passed, c.failing) for c in reconciliation] == [(True, 0)]
    assert lake.rows("select count(*) as n from silver.events") == [{"n": 2}]
    assert lake.rows("select count(*) as n from bronze.events") == [{"n": 3}]


def test_a_failed_blocking_check_keeps_the_previous_snapshots_and_says_why(lake: Lake) -> None:
    lake.add(view(1))
    lake.run()
    published = snapshot_ids(lake)
    # bronze is an open table: another engine writes an event type the contract does not know
    odd = view(1, 11, event_id="odd")
    odd.event_type = "page_vue"
    lake.add(odd, view(1, 12))
    report = lake.run()
    assert report.outcome == "blocked"
    assert report.blocked is not None and "event_type_accepted" in report.blocked and "page_vue" in report.blocked
    assert "silver.events not published" in report.blocked
    assert snapshot_ids(lake) == published
    failed = lake.rows(
        "select check_name, table_name, severity, failing_rows, detail from gold.dq_results where not passed"
    )
    assert failed == [
        {
            "check_name": "event_type_accepted",
            "table_name": "silver.events",
            "severity": "block",
            "failing_rows": 1,
            "detail": "page_vue",
        }
    ]
    # the watermark did not move: the next run meets the same data, and stops again
    assert lake.run().outcome == "blocked"


def test_one_run_at_a_time(lake: Lake) -> None:
    lake.add(view(1))
    transformer = lake.transformer()
    with Transformer(lake.catalog, lake.settings, lake.root / "transform").lock.hold(wait=False) as held:
        assert held
        assert transformer.run(wait=False).outcome == "busy"
    assert transformer.run(wait=False).outcome == "published"


def test_results_go_to_the_table_and_to_metrics(lake: Lake) -> None:
    registry = CollectorRegistry()
    lake.add(view(1), view(1, 11, visitor="v2"))
    report = Transformer(lake.catalog, lake.settings, lake.root / "transform", metrics=TransformMetrics(registry)).run()
    stored = lake.rows(
        f"select count(*) as n, bool_and(passed) as ok from gold.dq_results where run_id = '{report.run_id}'"
    )
    assert stored == [{"n": len(report.checks), "ok": True}]
    assert len(report.checks) > 25
    text = generate_latest(registry).decode()
    assert 'clicklake_transform_runs_total{outcome="published"} 1.0' in text
    labels = 'check="keys_unique",severity="block",stage="silver.events",table="silver.events"'
    assert f"clicklake_dq_check_passed{{{labels}}} 1.0" in text
    assert 'clicklake_transform_rows_written{table="silver.events"} 2.0' in text
    assert "clicklake_transform_lag_seconds 0.0" in text


def test_a_range_rebuild_applies_new_settings_to_those_days_only(lake: Lake) -> None:
    lake.add(view(1, page="https://a.example/duel/x"), view(2, page="https://a.example/duel/y"))
    lake.run()
    mark = watermark_of(lake.catalog.load_table("silver.events"))
    lake.settings.comparison_pattern = "/duel/"
    report = lake.run(between=(day(2), day(2)))
    assert (report.mode, report.days) == ("range", [day(2)])
    got = lake.rows("select event_dt, is_comparison from silver.events order by 1")
    assert [(r["event_dt"], r["is_comparison"]) for r in got] == [(day(1), False), (day(2), True)]
    assert watermark_of(lake.catalog.load_table("silver.events")) is not None
    assert watermark_of(lake.catalog.load_table("silver.events")).sequence_number == mark.sequence_number  # type: ignore[union-attr]
    warned = [c for c in report.checks if c.name == "models_unchanged"]
    assert len(warned) == 1 and not warned[0].passed and "--full-refresh" in warned[0].detail


def test_compaction_and_expired_bronze_snapshots_need_no_rebuild(lake: Lake) -> None:
    lake.add(view(1))
    lake.add(view(1, visitor="v2"))  # the same ingest hour: two files of one partition
    lake.run()
    bronze = lake.catalog.load_table(BRONZE_EVENTS)
    rule = next(r for r in COMPACTIONS if r.identifier == BRONZE_EVENTS)
    assert compact(bronze, rule, datetime.now(UTC) + timedelta(days=1)).compacted  # the two files became one
    assert lake.run().outcome == "up_to_date"
    # the loader expires bronze snapshots every minute: new files are still found, by sequence number
    lake.add(view(2))
    maintain(lake.catalog, LakeSettings(snapshot_retention_hours=1e-9), now=datetime.now(UTC) + timedelta(hours=1))
    assert len(lake.catalog.load_table(BRONZE_EVENTS).snapshots()) == 1
    report = lake.run()
    assert (report.mode, report.days) == ("incremental", [day(2)])


def test_maintenance_compacts_the_results_and_leaves_the_tables_as_they_were(lake: Lake) -> None:
    lake.add(view(1))
    lake.run()
    lake.add(view(2))
    lake.run()
    results = lake.catalog.load_table("gold.dq_results")
    assert len(list(results.scan().plan_files())) == 2  # one append per run
    before = lake.tables()
    report = maintain(lake.catalog, LakeSettings(), now=datetime.now(UTC) + timedelta(days=2))
    compacted = next(t for t in report.tables if t.table == "gold.dq_results").compacted
    assert compacted == [datetime.now(UTC).date().isoformat()]
    assert len(list(lake.catalog.load_table("gold.dq_results").scan().plan_files())) == 1
    # old snapshots of every table expired: each table still has its rows and its watermark
    assert lake.tables() == before
    assert lake.run().outcome == "up_to_date"


def test_a_lake_with_silver_events_by_day_and_type_drops_the_type_and_rebuilds_its_days(lake: Lake) -> None:
    # silver.events as an earlier version created it: partitioned by event_dt and event_type
    ensure_tables(lake.catalog)
    old = replace(
        next(t for t in TABLES if t.identifier == "silver.events"),
        partitions=(
            Partition("event_dt", IdentityTransform(), "event_dt"),
            Partition("event_type", IdentityTransform(), "event_type"),
        ),
    )
    ensure_tables(lake.catalog, (old,))
    lake.add(view(1), event("chart_interaction", "2026-11-01T10:05:00Z", chart={"action": "sort"}), view(2))
    with lake.catalog.load_table("silver.events").transaction() as tx:
        tx.append(
            pa.Table.from_pylist(
                [{"site_id": "s1", "event_id": "stale", "event_type": "page_view", "event_dt": day(1)}],
                schema=SILVER_EVENTS_SCHEMA,
            )
        )
    assert lake.run().outcome == "published"
    table = lake.catalog.load_table("silver.events")
    assert [f.name for f in table.spec().fields] == ["event_dt"]
    # the old spec's file of the 1st was replaced with the rebuilt day
    assert lake.rows("select event_dt, event_type from silver.events order by event_dt, event_type") == [
        {"event_dt": day(1), "event_type": "chart_interaction"},
        {"event_dt": day(1), "event_type": "page_view"},
        {"event_dt": day(2), "event_type": "page_view"},
    ]
    assert len(files_of(lake, "silver.events", 1)) == 1  # one file for the day, every event type in it


def test_bronze_is_planned_as_pyiceberg_plans_it(lake: Lake) -> None:
    """plan_bronze reads the manifests itself: the same files as pyiceberg's scan with bronze_filter."""
    for n in (1, 2, 3, 5):  # a commit (a manifest) per day
        lake.add(view(n), view(n, hour=23))
    # one commit over several days, with an event of day 2 that arrived three days late
    lake.add(view(2, hour=12, ingest_delay_ms=3 * 86_400_000), view(4), view(6))
    bronze = lake.catalog.load_table(BRONZE_EVENTS)
    snapshot = bronze.current_snapshot()
    assert snapshot is not None
    everything = {t.file.file_path for t in bronze.scan().plan_files()}
    planned = plan_bronze(bronze, snapshot, None)
    assert planned is not None and {t.file.file_path for t in planned} == everything
    cache = BronzeFiles()  # read once, then kept slim: the same files, rows and ts bounds
    ts = bronze.schema().find_field("ts").field_id
    for days in ({day(1)}, {day(2)}, {day(3), day(4)}, {day(6)}, {day(9)}, set()):
        scan = bronze.scan(row_filter=bronze_filter(days)).plan_files()
        expected = {t.file.file_path: (t.file.record_count, t.file.lower_bounds[ts]) for t in scan}
        for planned in (plan_bronze(bronze, snapshot, days), plan_bronze(bronze, snapshot, days, cache)):
            assert planned is not None
            assert {t.file.file_path: (t.file.record_count, t.file.lower_bounds[ts]) for t in planned} == expected
    sixth = plan_bronze(bronze, snapshot, {day(6)})
    assert sixth is not None and 0 < len(sixth) < len(everything)
