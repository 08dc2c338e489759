"""The lake on S3-compatible object storage (a real SeaweedFS): load, transform, queries and their figures.

The same events go into a lake with a local warehouse (one run) and into one in a bucket
(a first run, then an incremental one); every table, a Stats API query and the SQL sandbox
must give the same figures on both. The transform also publishes through the REST catalog.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import Catalog

from clicklake.lake.catalog import open_catalog
from clicklake.lake.tables import ensure_tables
from clicklake.load import Loader
from clicklake.query.engine import query
from clicklake.query.sandbox import Sandbox
from clicklake.query.stats import build_sql, parse
from clicklake.schema.envelope import encode_payload
from clicklake.stream import open_stream
from samples import records
from seaweedfs import SeaweedFS
from transform.lakes import TABLE_KEYS, Lake, event

pytestmark = pytest.mark.s3

SITES = ("s1", "s2")


def visit(site: str, visitor: str, day: str, n: int) -> list[Any]:
    """A visit of `n` pages with a chart, an affiliate click and an order, on `day` (YYYY-MM-DD)."""
    common: dict[str, Any] = {"site": site, "visitor": visitor, "sid": f"{site}-{visitor}-{day}", "country": "DE"}
    out = [event("page_view", f"{day}T10:{i:02d}:00Z", page=f"https://{site}.example/p{i}", **common) for i in range(n)]
    out.append(event("chart_interaction", f"{day}T10:{n:02d}:30Z", chart={"action": "sort"}, **common))
    out.append(
        event(
            "affiliate_click",
            f"{day}T10:{n:02d}:40Z",
            affiliate={"link_id": "l1", "target": "https://shop.example/x", "payout_cents": 40 + n},
            **common,
        )
    )
    order = {"order_id": f"o-{site}-{visitor}-{day}", "revenue_minor": 1000 * n, "currency": "EUR", "items": []}
    out.append(event("purchase", f"{day}T10:{n:02d}:50Z", order=order, **common))
    return out


def first_batch() -> list[Any]:
    return [r for s in SITES for v, n in (("v1", 1), ("v2", 3)) for r in visit(s, v, "2026-11-20", n)]


def second_batch() -> list[Any]:
    # a day already built, and a new one
    return [r for s in SITES for v, day in (("v3", "2026-11-20"), ("v1", "2026-11-21")) for r in visit(s, v, day, 2)]


class S3Lake(Lake):
    """The transform tests' lake, with its warehouse in the bucket."""

    def __init__(self, root: Path, catalog: Catalog) -> None:
        self.root = root
        self.catalog = catalog
        ensure_tables(self.catalog)
        from clicklake.config import TransformSettings

        self.settings = TransformSettings()


@dataclass
class Lakes:
    local: Lake
    s3: S3Lake
    location: str


@pytest.fixture(scope="module")
def lakes(weed: SeaweedFS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lakes]:
    """The local lake built from both batches in one run; the S3 one in a first run and an incremental second."""
    root = tmp_path_factory.mktemp("s3lake")
    warehouse = weed.warehouse()
    local = Lake(root / "local")
    s3 = S3Lake(root / "s3", open_catalog(root / "s3", warehouse=warehouse))
    first, second = first_batch(), second_batch()  # made once: event ids are numbered as they are made
    s3.add(*first)
    assert s3.run().outcome == "published"
    s3.add(*second)
    report = s3.run()
    assert (report.outcome, report.mode) == ("published", "incremental")
    local.add(*first, *second)
    assert local.run().outcome == "published"
    yield Lakes(local, s3, warehouse.location)


def test_the_tables_and_their_files_are_in_the_bucket(lakes: Lakes, weed: SeaweedFS) -> None:
    keys = weed.keys(lakes.location)
    prefix = lakes.location.removeprefix("s3://")
    for table in ("bronze/events", "silver/events", "silver/sessions", "gold/fact_funnel", "gold/kpi_daily"):
        assert any(k.startswith(f"{prefix}/{table}/data/") and k.endswith(".parquet") for k in keys), table
        assert any(k.startswith(f"{prefix}/{table}/metadata/") and k.endswith(".metadata.json") for k in keys)
    # nothing of the lake was written on this machine but the catalog database
    assert not list((lakes.s3.root).rglob("*.parquet"))
    assert not (lakes.s3.root / "warehouse").exists()
    for name in TABLE_KEYS:  # every table the transform writes
        assert lakes.s3.catalog.load_table(name).location().startswith(lakes.location + "/")


def test_every_table_holds_the_same_rows_on_s3_as_on_a_local_warehouse(lakes: Lakes) -> None:
    local, s3 = lakes.local.tables(), lakes.s3.tables()
    assert local["silver.sessions"] and local["gold.kpi_daily"]  # the comparison is not of empty tables
    assert s3 == local
    bronze = "select * from bronze.events order by event_id"
    assert lakes.s3.rows(bronze) == lakes.local.rows(bronze)


def stats(catalog: Catalog) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A Stats API query over both sites, by day and country, through the SQL sandbox; and a console query."""
    body = {
        "site_ids": list(SITES),
        "metrics": ["visitors", "visits", "pageviews", "orders", "revenue", "affiliate_payout", "bounce_rate"],
        "dimensions": ["time:day", "country", "device"],
        "date_range": ["2026-11-19", "2026-11-22"],
    }
    sql = build_sql(parse(json.dumps(body).encode()))
    sandbox = Sandbox(catalog)
    try:
        figures = sandbox.run(SITES, sql).table.to_pylist()
        console = sandbox.run(
            ["s1"], "select event_type, count(*) as n from silver.events group by 1 order by 1"
        ).table.to_pylist()
    finally:
        sandbox.close()
    return figures, console


def test_stats_and_sql_console_give_the_same_figures_on_s3(lakes: Lakes) -> None:
    local, s3 = stats(lakes.local.catalog), stats(lakes.s3.catalog)
    assert local[0] and local[1]
    assert s3 == local
    assert all(r["visitors"] and r["orders"] and r["revenue"] for r in s3[0])


def test_the_loader_commits_bronze_into_the_bucket(weed: SeaweedFS, tmp_path: Path) -> None:
    warehouse = weed.warehouse()
    catalog = open_catalog(tmp_path / "data", warehouse=warehouse)
    stream = open_stream(tmp_path / "data" / "stream", partitions=2)
    try:
        recs = records(30, prefix="a")
        stream.append([(r.session.session_id or r.event_id, encode_payload(r)) for r in recs])
        stats = Loader(stream, catalog, tmp_path / "work", flush_records=10).drain()
    finally:
        stream.close()
    assert (stats.events, stats.commits >= 3) == (30, True)
    rows = query(catalog, "select event_id from bronze.events order by 1").to_pylist()
    assert [r["event_id"] for r in rows] == sorted(f"a{i}" for i in range(30))
    prefix = warehouse.location.removeprefix("s3://")
    assert [k for k in weed.keys(warehouse.location) if k.startswith(f"{prefix}/bronze/events/data/")]


def test_the_transform_publishes_into_the_rest_catalogs_table_bucket(weed: SeaweedFS, tmp_path: Path) -> None:
    from lake.test_catalog_rest import empty

    catalog = weed.rest_catalog(tmp_path / "data")
    empty(catalog)
    try:
        lake = S3Lake(tmp_path / "data", catalog)
        lake.add(*first_batch())
        assert lake.run().outcome == "published"
        for name in TABLE_KEYS:
            assert catalog.load_table(name).location().startswith(f"s3://{weed.table_bucket}/")
        counts = "select count(*) as n from {}"
        assert lake.rows(counts.format("silver.events")) == lake.rows(counts.format("bronze.events"))
        assert lake.rows(counts.format("gold.fact_orders"))[0]["n"] == len(
            {r.order.order_id for r in first_batch() if r.order}
        )
    finally:
        empty(catalog)
