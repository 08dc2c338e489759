"""Every lake table read whole by engines clicklake did not write (polars, daft), agreeing with `clicklake query`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import daft
import polars as pl
import pyarrow as pa
import pytest

from clicklake.lake.catalog import open_catalog
from clicklake.query.engine import query
from transform.lakes import Lake, event
from transform.test_gold import shopping_session

#: the columns that identify a row, by table (the others are compared by their count of non-null values)
KEYS = {
    "bronze.events": ["site_id", "event_id"],
    "bronze.quarantine": ["site_id", "reason"],
    "silver.events": ["site_id", "event_id"],
    "silver.sessions": ["site_id", "session_id"],
    "silver.user_segments": ["site_id", "visitor_id", "segment_key"],
    "gold.fact_funnel": ["site_id", "session_id"],
    "gold.fact_affiliate_clicks": ["site_id", "event_id"],
    "gold.fact_orders": ["site_id", "order_id"],
    "gold.kpi_daily": ["site_id", "event_dt", "dimension", "value"],
    "gold.dq_results": ["run_id", "check_name"],
    "gold.item_neighbours": ["site_id", "product_id", "neighbour_id"],
    "gold.item_popularity": ["site_id", "product_id"],
    "gold.user_items": ["site_id", "visitor_id", "product_id"],
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with every table filled by the real transform: a shopping session with line items and more."""
    data = tmp_path_factory.mktemp("outside") / "data"
    built = Lake(data)
    built.add(
        *shopping_session(),
        event("page_view", "2026-11-20T09:00:00Z", page="https://a.example/blog", visitor="v3"),
        event("search", "2026-11-21T10:00:00Z", search={"query": "kettle"}, visitor="v4"),
        event("custom", "2026-11-21T10:01:00Z", custom={"name": "signup", "properties": {"plan": "pro"}}, visitor="v4"),
        # one session viewing two products: the recommendation tables get neighbours
        event("product_view", "2026-11-21T11:00:00Z", product={"product_id": "k1"}, visitor="v5", sid="s5"),
        event("product_view", "2026-11-21T11:01:00Z", product={"product_id": "k2"}, visitor="v5", sid="s5"),
    )
    built.run()
    return data


def _tables(data: Path) -> list[str]:
    catalog = open_catalog(data)
    return sorted(".".join(t) for ns in catalog.list_namespaces() for t in catalog.list_tables(ns))


def _summary(rows: pa.Table, name: str) -> tuple[int, list[tuple[str, ...]], dict[str, int]]:
    """Row count, the key columns' values (as text, sorted) and each column's count of non-null values."""
    keys = [c for c in KEYS[name] if c in rows.column_names]
    assert keys, f"no key columns for {name}"
    values = sorted(tuple(str(v) for v in row.values()) for row in rows.select(keys).to_pylist())
    return rows.num_rows, values, {c: rows.num_rows - rows.column(c).null_count for c in rows.column_names}


def _polars(data: Path, name: str) -> pa.Table:
    os.environ["POLARS_ICEBERG_PLANNER"] = "pyiceberg"  # the scan plugin is another package; polars says so
    return pl.scan_iceberg(open_catalog(data).load_table(name)).collect().to_arrow()


def _daft(data: Path, name: str) -> pa.Table:
    return daft.read_iceberg(open_catalog(data).load_table(name)).to_arrow()


ENGINES: dict[str, Any] = {"polars": _polars, "daft": _daft}


def test_every_table_is_there(lake: Path) -> None:
    assert set(_tables(lake)) == set(KEYS)


@pytest.mark.filterwarnings("ignore::UserWarning")  # daft warns that a scan has no partition filter
@pytest.mark.parametrize("name", sorted(KEYS))
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_an_outside_engine_reads_the_whole_table_as_clicklake_query_does(lake: Path, engine: str, name: str) -> None:
    ours = query(open_catalog(lake), f"select * from {name}")
    theirs = ENGINES[engine](lake, name)
    assert sorted(theirs.column_names) == sorted(ours.column_names)
    assert _summary(theirs, name) == _summary(ours, name)
    if name != "bronze.quarantine":
        assert ours.num_rows > 0


def test_the_snippets_of_docs_lake_md_open_the_lake(lake: Path) -> None:
    import duckdb
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        "clicklake",
        type="sql",
        uri=f"sqlite:///{lake.resolve() / 'catalog.sqlite3'}",
        warehouse=(lake.resolve() / "warehouse").as_uri(),
    )
    orders = catalog.load_table("gold.fact_orders").scan().to_arrow()
    assert orders.column("order_id").to_pylist() == ["o9"]
    con = duckdb.connect()
    catalog.load_table("silver.events").scan().to_duckdb("events", connection=con)
    counted = dict(con.sql("select event_type, count(*) from events group by 1").fetchall())
    sql = "select event_type, count(*) as n from silver.events group by 1"
    assert counted == {r["event_type"]: r["n"] for r in query(open_catalog(lake), sql).to_pylist()}
    assert sum(counted.values()) == 12


@pytest.mark.s3
@pytest.mark.filterwarnings("ignore::UserWarning")  # daft warns that a scan has no partition filter
def test_outside_engines_read_the_lake_on_s3(weed: Any, tmp_path: Path) -> None:
    """daft through the table's own FileIO settings, polars given the S3 endpoint and keys, as docs/lake.md says."""
    from lake.test_s3_lake import S3Lake

    warehouse = weed.warehouse()
    built = S3Lake(tmp_path / "data", open_catalog(tmp_path / "data", warehouse=warehouse))
    built.add(*shopping_session(), event("page_view", "2026-11-20T09:00:00Z", page="https://a.example/b", visitor="v3"))
    built.run()
    os.environ["POLARS_ICEBERG_PLANNER"] = "pyiceberg"
    storage_options = {
        "aws_endpoint_url": weed.endpoint,
        "aws_access_key_id": weed.access_key,
        "aws_secret_access_key": weed.secret_key,
        "aws_region": "us-east-1",
        "aws_allow_http": "true",
    }
    for name in ("bronze.events", "silver.sessions", "gold.fact_orders"):
        table = built.catalog.load_table(name)
        assert table.location().startswith("s3://")
        ours = query(built.catalog, f"select * from {name}")
        assert ours.num_rows > 0
        by_daft = daft.read_iceberg(table).to_arrow()
        by_polars = pl.scan_iceberg(table, storage_options=storage_options).collect().to_arrow()
        for theirs in (by_daft, by_polars):
            assert sorted(theirs.column_names) == sorted(ours.column_names)
            assert _summary(theirs, name) == _summary(ours, name)
