"""The per-request SQL sandbox over a real lake: a principal sees its own sites' rows and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clicklake.query.sandbox import Limits, Sandbox, SandboxError, referenced_tables
from transform.lakes import Lake, event

SITES = ("s1", "s2", "s3")
PER_SITE_TABLES = (
    "bronze.events",
    "silver.events",
    "silver.sessions",
    "gold.fact_funnel",
    "gold.fact_affiliate_clicks",
    "gold.fact_orders",
    "gold.kpi_daily",
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("lake"))
    records = []
    for n, site in enumerate(SITES):
        for k in range(n + 1):
            at = f"2026-11-2{k}T10:0{n}:00Z"
            records += [
                event("page_view", at, site=site, visitor=f"{site}v{k}", page=f"https://{site}.example/p{k}"),
                event(
                    "affiliate_click",
                    at.replace(":00Z", ":30Z"),
                    site=site,
                    visitor=f"{site}v{k}",
                    affiliate={"link_id": f"l{site}", "target": "https://shop.example", "payout_cents": 100},
                ),
                event(
                    "purchase",
                    at.replace(":00Z", ":40Z"),
                    site=site,
                    visitor=f"{site}v{k}",
                    order={"order_id": f"o{site}{k}", "revenue_minor": 1000, "currency": "EUR"},
                ),
            ]
    lake.add(*records)
    lake.run()
    return lake


@pytest.fixture(scope="module")
def sandbox(lake: Lake) -> Sandbox:
    return Sandbox(lake.catalog, Limits(timeout_s=2.0, max_rows=1000, memory_limit="256MB"))


def test_a_principal_reads_its_own_rows_as_the_lake_holds_them(lake: Lake, sandbox: Sandbox) -> None:
    for table in PER_SITE_TABLES:
        whole = lake.rows(f"select site_id, count(*) as n from {table} group by site_id order by site_id")
        assert {r["site_id"] for r in whole} == set(SITES), table  # every site has rows in every table
        mine = sandbox.run(["s2"], f"select site_id, count(*) as n from {table} group by site_id").table.to_pylist()
        assert mine == [r for r in whole if r["site_id"] == "s2"], table


def test_the_answer_says_how_fresh_each_table_is(sandbox: Sandbox) -> None:
    result = sandbox.run(["s1"], "select count(*) from silver.events e join gold.kpi_daily k using (site_id)")
    assert set(result.freshness) == {"silver.events", "gold.kpi_daily"}
    assert all(v.endswith("Z") for v in result.freshness.values())


def test_a_principal_without_sites_sees_no_row(sandbox: Sandbox) -> None:
    assert sandbox.run([], "select count(*) as n from silver.events").table.to_pylist() == [{"n": 0}]


_TABLE = st.sampled_from(PER_SITE_TABLES)
_FOREIGN = st.sampled_from(SITES)
_QUERIES = st.one_of(
    st.builds(lambda t: f"select site_id from {t}", _TABLE),
    st.builds(lambda t, s: f"select site_id from {t} where site_id = '{s}' or true", _TABLE, _FOREIGN),
    st.builds(lambda t, s: f"select site_id from {t} where site_id in ('{s}')", _TABLE, _FOREIGN),
    st.builds(lambda a, b: f"select site_id from {a} union all select site_id from {b}", _TABLE, _TABLE),
    st.builds(lambda t: f"with x as (select * from {t}) select site_id from x", _TABLE),
    st.builds(lambda t: f"select site_id from (select site_id from {t}) as sub", _TABLE),
    st.builds(
        lambda a, b: f"select a.site_id from {a} a cross join (select count(*) from {b}) c",
        _TABLE,
        _TABLE,
    ),
    st.builds(lambda t: f"select max(site_id) over () as site_id from {t}", _TABLE),
    st.builds(lambda t, s: f"select '{s}' as site_id from {t} where site_id = '{s}'", _TABLE, _FOREIGN),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal=st.sets(st.sampled_from(SITES), max_size=3), sql=_QUERIES)
def test_random_principals_and_queries_never_see_a_foreign_site(
    sandbox: Sandbox, principal: set[str], sql: str
) -> None:
    seen = {r["site_id"] for r in sandbox.run(principal, sql).table.to_pylist()}
    assert seen <= principal, (principal, sql, seen)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("select * from read_parquet('/etc/hosts')", "table function read_parquet"),
        ("select * from query('select * from silver.events')", "table function query"),
        ("select * from '{warehouse}/x.parquet'", "is not a table you can read"),
        ("select * from __lake.silver__events", "is not a table you can read"),
        ("select * from duckdb_views", "is not a table you can read"),
        ("select * from system.main.duckdb_settings()", "table function"),
        ('with "a.parquet" as (select 1) select * from "a.parquet"', "plain identifier"),
        ("select * from gold.dq_results", "not a per-site table"),
        ("select * from silver.nothing", "no table silver.nothing"),
        ("attach 'x.db' as x", "only SELECT"),
        ("copy (select 1) to 'x.csv'", "only SELECT"),
        ("install httpfs", "only SELECT"),
        ("load httpfs", "only SELECT"),
        ("set enable_external_access = true", "only SELECT"),
        ("pragma enable_profiling", "only SELECT"),
        ("describe silver.events", "only SELECT|DESCRIBE"),
        ("select 1; select 2", "exactly one"),
        ("selec 1", "cannot parse"),
    ],
)
def test_hostile_sql_is_refused_with_a_reason(sandbox: Sandbox, lake: Lake, sql: str, reason: str) -> None:
    sql = sql.replace("{warehouse}", str(lake.root / "warehouse"))
    with pytest.raises(SandboxError, match=reason) as info:
        sandbox.run(["s1"], sql)
    assert info.value.status == 400


def test_a_lake_file_cannot_be_read_around_the_views(sandbox: Sandbox, lake: Lake) -> None:
    files = sorted(str(p) for p in (lake.root / "warehouse").rglob("*.parquet"))
    assert files
    for path in files[:3]:
        with pytest.raises(SandboxError):
            sandbox.run(["s1"], f"select site_id from '{path}'")
        with pytest.raises(SandboxError):
            sandbox.run(["s1"], f"select site_id from parquet_scan('{path}')")


def test_a_runaway_query_is_stopped_by_the_time_limit(lake: Lake) -> None:
    quick = Sandbox(lake.catalog, Limits(timeout_s=0.5))
    with pytest.raises(SandboxError, match=r"longer than 0\.5 s") as info:
        quick.run(["s1"], "select count(*) from range(100000000000) a, range(100000) b")
    assert info.value.status == 422


def test_a_query_that_needs_too_much_memory_is_stopped(lake: Lake) -> None:
    small = Sandbox(lake.catalog, Limits(memory_limit="64MB"))
    with pytest.raises(SandboxError, match="more than 64MB") as info:
        small.run(["s1"], "select list(range) from range(100000000)")
    assert info.value.status == 422


def test_a_huge_result_is_cut_at_the_row_limit(lake: Lake) -> None:
    capped = Sandbox(lake.catalog, Limits(max_rows=100))
    result = capped.run(["s1"], "select * from range(1000000)")
    assert result.table.num_rows == 100 and result.truncated
    whole = capped.run(["s1"], "select * from range(100)")
    assert whole.table.num_rows == 100 and not whole.truncated


def test_referenced_tables_names_the_lake_tables_a_query_reads() -> None:
    sql = "with x as (select * from silver.events) select * from x join gold.kpi_daily using (site_id)"
    assert referenced_tables(sql) == {("silver", "events"), ("gold", "kpi_daily")}


def test_no_file_is_written(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SandboxError):
        sandbox.run(["s1"], "copy (select * from silver.events) to 'out.parquet'")
    assert list(tmp_path.iterdir()) == []


def test_a_kept_connection_sees_the_next_commit_and_no_other_sites(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    lake.add(*(event("page_view", "2026-11-20T10:00:00Z", site=s, visitor=f"{s}v") for s in ("s1", "s2")))
    lake.run()
    sandbox = Sandbox(lake.catalog, Limits())
    count = "select site_id, count(*) as n from silver.events group by site_id"
    assert sandbox.run(["s1"], count).table.to_pylist() == [{"site_id": "s1", "n": 1}]
    assert sandbox.pool.idle() == 1  # kept for the next request over the same sites
    assert sandbox.run(["s2"], count).table.to_pylist() == [{"site_id": "s2", "n": 1}]
    assert sandbox.run(["s1"], count).table.to_pylist() == [{"site_id": "s1", "n": 1}]
    assert sandbox.pool.idle() == 2

    lake.add(event("page_view", "2026-11-20T11:00:00Z", site="s1", visitor="s1w"))
    lake.run()
    assert sandbox.run(["s1"], count).table.to_pylist() == [{"site_id": "s1", "n": 2}]
    assert sandbox.pool.idle() == 1  # the connections over the old snapshot are closed


def test_a_connection_stopped_by_a_limit_is_not_kept(lake: Lake) -> None:
    quick = Sandbox(lake.catalog, Limits(timeout_s=0.5))
    with pytest.raises(SandboxError, match="longer than"):
        quick.run(["s1"], "select count(*) from silver.events, range(100000000000) a, range(100000) b")
    assert quick.pool.idle() == 0
    whole = lake.rows("select count(*) as n from silver.events where site_id = 's1'")
    assert quick.run(["s1"], "select count(*) as n from silver.events").table.to_pylist() == whole


def test_a_query_stopped_while_its_rows_stream_is_a_time_limit_not_a_crash(lake: Lake) -> None:
    # rows come at once, so the interrupt lands while they are read (DuckDB reports it through Arrow's reader)
    quick = Sandbox(lake.catalog, Limits(timeout_s=0.3, max_rows=10**12))
    with pytest.raises(SandboxError, match=r"longer than 0\.3 s") as info:
        quick.run(["s1"], "select a.range as x, b.range as y from range(100000) a, range(100000) b")
    assert info.value.status == 422
