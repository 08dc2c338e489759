"""The warehouse export against the machine's PostgreSQL, over a real lake rebuilt by the real transform.

What "changed" means is checked by PostgreSQL itself: a row's `xmin` is the transaction that
last wrote it, so a row the export left alone keeps its `xmin`.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from clicklake.config import ExportSettings, Settings
from clicklake.export import EXPORTED, export_postgres, run_forever
from transform.lakes import Lake, event

pytestmark = pytest.mark.postgres

ITEMS = [{"product_id": "p1", "quantity": 2, "price_minor": 2500, "name": "Lamp"}]


def first_batch() -> list[Any]:
    """Three days of two visitors: sessions, a click, an order."""
    return [
        event("page_view", "2026-11-01T10:00:00Z", visitor="v1", page="https://a.example/"),
        event("page_view", "2026-11-01T10:50:00Z", visitor="v1", page="https://a.example/b"),
        event(
            "affiliate_click",
            "2026-11-02T09:00:00Z",
            visitor="v2",
            affiliate={"link_id": "l1", "target": "https://shop.example/x", "payout_cents": 120},
        ),
        event(
            "purchase",
            "2026-11-02T09:05:00Z",
            visitor="v2",
            order={"order_id": "o1", "revenue_minor": 5000, "currency": "EUR", "items": ITEMS},
        ),
        event("page_view", "2026-11-03T12:00:00Z", visitor="v1", page="https://a.example/c"),
    ]


def late_batch() -> list[Any]:
    """A late view at 10:25 on the 1st joins v1's two sessions of that morning into one; a new visitor on the 3rd."""
    return [
        event(
            "page_view", "2026-11-01T10:25:00Z", visitor="v1", page="https://a.example/a", ingest_delay_ms=86_400_000
        ),
        event("page_view", "2026-11-03T15:00:00Z", visitor="v3", page="https://a.example/"),
    ]


@pytest.fixture
def engine(postgres_uri: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_uri)
    yield engine
    engine.dispose()


def lake_keys(lake: Lake) -> dict[str, set[tuple[Any, ...]]]:
    return {
        e.lake: {tuple(r.values()) for r in lake.rows(f"select {', '.join(e.keys)} from {e.lake}")} for e in EXPORTED
    }


def warehouse(engine: sa.Engine) -> dict[str, dict[tuple[Any, ...], tuple[int, dict[str, Any]]]]:
    """Every warehouse row by table and key: (its xmin, its values)."""
    out = {}
    with engine.connect() as con:
        for e in EXPORTED:
            rows = con.execute(sa.text(f"select xmin::text::bigint as xmin, * from clicklake.{e.target}")).mappings()
            out[e.lake] = {
                tuple(r[k] for k in e.keys): (r["xmin"], {k: v for k, v in r.items() if k != "xmin"}) for r in rows
            }
    return out


def assert_same_as_lake(lake: Lake, engine: sa.Engine) -> dict[str, dict[tuple[Any, ...], tuple[int, dict[str, Any]]]]:
    held = warehouse(engine)
    for name, keys in lake_keys(lake).items():
        assert set(held[name]) == keys, name
    kpis = lake.rows("select * from gold.kpi_daily")
    assert sorted(
        (tuple(r[k] for k in ("site_id", "event_dt", "dimension", "value")), r["sessions"], r["pageviews"])
        for r in kpis
    ) == sorted((key, row["sessions"], row["pageviews"]) for key, (_x, row) in held["gold.kpi_daily"].items())
    return held


def test_first_run_copies_with_types_and_a_second_copies_only_changed_rows(
    tmp_path: Path, postgres_uri: str, engine: sa.Engine
) -> None:
    lake = Lake(tmp_path / "data")
    lake.add(*first_batch())
    lake.run()

    first = export_postgres(lake.catalog, postgres_uri)
    by_table = {t.table: t for t in first.tables}
    held = assert_same_as_lake(lake, engine)
    assert by_table["silver.sessions"].inserted == len(held["silver.sessions"]) == 4
    assert sum(t.inserted for t in first.tables) == sum(len(rows) for rows in held.values())
    assert (first.changed, sum(t.updated + t.deleted for t in first.tables)) == (first.changed, 0)

    with engine.connect() as con:
        types = dict(
            con.execute(
                sa.text(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'clicklake' and table_name = 'gold_fact_orders'"
                )
            ).all()
        )
        order = con.execute(sa.text("select items, ts, revenue_minor, event_dt from clicklake.gold_fact_orders")).one()
        segments = con.execute(sa.text("select pg_typeof(segments)::text from clicklake.gold_fact_funnel")).scalars()
    assert types["items"] == "jsonb" and types["ts"] == "timestamp with time zone" and types["event_dt"] == "date"
    assert types["revenue_minor"] == "bigint" and types["is_bot"] == "boolean"
    assert order.items[0]["product_id"] == "p1" and order.items[0]["quantity"] == 2
    assert (order.ts.isoformat(), order.revenue_minor) == ("2026-11-02T09:05:00+00:00", 5000)
    assert set(segments) == {"text[]"}

    # nothing new in the lake: nothing is read or written
    again = export_postgres(lake.catalog, postgres_uri)
    assert again.changed == 0 and all(t.rows_read == 0 for t in again.tables)
    assert warehouse(engine) == held

    lake.add(*late_batch())
    report = lake.run()
    assert report.outcome == "published"
    second = export_postgres(lake.catalog, postgres_uri)
    after = assert_same_as_lake(lake, engine)
    for t in second.tables:
        before_rows, after_rows = held[t.table], after[t.table]
        written = {k for k, (xmin, _row) in after_rows.items() if k not in before_rows or before_rows[k][0] != xmin}
        gone = set(before_rows) - set(after_rows)
        assert (len(written), len(gone)) == (t.inserted + t.updated, t.deleted), t
        # a row the export did not write has the values it had
        for k in set(after_rows) - written:
            assert after_rows[k][1] == before_rows[k][1], (t.table, k)
    sessions = {t.table: t for t in second.tables}["silver.sessions"]
    # v1's two sessions of the 1st became one (one updated, one deleted), v3's is new; the 2nd was
    # rebuilt as a neighbour of the 1st and the 3rd but its session was rebuilt identical: untouched
    assert (sessions.inserted, sessions.updated, sessions.deleted) == (1, 1, 1)
    assert sessions.partitions_changed >= 2 and sessions.rows_read > sessions.inserted + sessions.updated
    untouched = [
        k for k, (xmin, _r) in after["silver.sessions"].items() if held["silver.sessions"].get(k, (0,))[0] == xmin
    ]
    assert len(untouched) == 2  # the 2nd's and v1's on the 3rd
    changed_kpis = {t.table: t for t in second.tables}["gold.kpi_daily"]
    assert 0 < changed_kpis.inserted + changed_kpis.updated < len(after["gold.kpi_daily"])
    assert not any(
        k[1].day == 2
        for k, (xmin, _r) in after["gold.kpi_daily"].items()
        if held["gold.kpi_daily"].get(k, (0,))[0] != xmin
    )


def test_a_run_killed_midway_leaves_the_last_run_and_the_next_completes(
    tmp_path: Path, postgres_uri: str, engine: sa.Engine, clicklake: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    lake = Lake(tmp_path / "data")
    lake.add(*first_batch())
    lake.run()
    assert export_postgres(lake.catalog, postgres_uri).changed > 0
    held = warehouse(engine)
    with engine.connect() as con:
        marks = con.execute(sa.text("select * from clicklake.clicklake_export_snapshots order by 1")).all()

    lake.add(*late_batch())
    lake.run()
    # killed by SIGKILL after three tables were merged, before the commit
    killed = clicklake("export", "postgres", "--dsn", postgres_uri, env={"CLICKLAKE_FAILPOINT": "export.after_table@3"})
    assert killed.returncode == -9, killed.stderr
    assert warehouse(engine) == held
    with engine.connect() as con:
        assert con.execute(sa.text("select * from clicklake.clicklake_export_snapshots order by 1")).all() == marks

    done = clicklake("export", "postgres", "--dsn", postgres_uri, "--format", "json")
    assert done.returncode == 0, done.stderr
    result = msgspec.json.decode(done.stdout)
    assert result["changed"] > 0
    assert_same_as_lake(lake, engine)
    with engine.connect() as con:
        now = dict(
            con.execute(sa.text("select lake_table, snapshot_id from clicklake.clicklake_export_snapshots")).all()
        )
    for e in EXPORTED:
        snapshot = lake.catalog.load_table(e.lake).current_snapshot()
        assert now[e.lake] == (snapshot.snapshot_id if snapshot else None), e.lake


def test_run_forever_exports_on_its_schedule_until_stopped(
    tmp_path: Path, postgres_uri: str, engine: sa.Engine
) -> None:
    lake = Lake(tmp_path / "data")
    lake.add(*first_batch())
    lake.run()
    settings = Settings(data=str(tmp_path / "data"), export=ExportSettings(dsn=postgres_uri, interval_s=1))
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(settings, stop), daemon=True)
    thread.start()
    try:
        wait_until(lambda: sessions_in(engine) == 4)
        lake.add(*late_batch())
        lake.run()
        wait_until(lambda: assert_same_as_lake(lake, engine) is not None)  # the next run, a second later
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def sessions_in(engine: sa.Engine) -> int:
    with engine.connect() as con:
        exists = con.execute(sa.text("select to_regclass('clicklake.silver_sessions') is not null")).scalar_one()
        return int(con.execute(sa.text("select count(*) from clicklake.silver_sessions")).scalar_one()) if exists else 0


def wait_until(test: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if test():
                return
        except AssertionError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
