"""Read-only SQL over the lake tables in DuckDB, and the result formats."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from clicklake.lake.catalog import open_catalog
from clicklake.lake.tables import BRONZE_EVENTS, TableDef, ensure_table, ensure_tables
from clicklake.query.engine import QueryError, format_result, query
from clicklake.schema import decode_batch, to_record
from clicklake.schema.arrow import arrow_schema
from clicklake.schema.record import Record

NOW_MS = int(datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp() * 1000)
USER = {"consent": {"analytics": True}, "user_id_hash": "u1"}


def events(*types: str) -> pa.Table:
    body = [{"event_type": t, "ts": "2026-11-22T11:00:00Z", "user": USER} for t in types]
    for e in body:
        if e["event_type"] == "affiliate_click":
            e["affiliate"] = {"link_id": "l1", "payout_cents": 250}
    batch = decode_batch(json.dumps(body).encode(), now_ms=NOW_MS)
    assert batch.rejected == []
    records = [
        to_record(e, ts, site_id="s1", ingest_ts=NOW_MS, event_id=f"e{i}")
        for i, (e, ts) in enumerate(zip(batch.events, batch.ts_ms, strict=True))
    ]
    return pa.Table.from_pylist(msgspec.to_builtins(records), schema=arrow_schema(Record))


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = open_catalog(tmp_path / "data")
    ensure_tables(catalog)
    return catalog


def test_empty_tables_query_fine(catalog: Catalog) -> None:
    assert query(catalog, "select count(*) as n from bronze.events").to_pylist() == [{"n": 0}]
    assert query(catalog, "select * from bronze.quarantine").num_rows == 0
    columns = query(catalog, "describe bronze.events").column("column_name").to_pylist()
    assert columns[:3] == ["site_id", "event_type", "event_id"] and "custom" in columns


def test_count_and_group_by_event_type(catalog: Catalog) -> None:
    catalog.load_table(BRONZE_EVENTS).append(events("page_view", "page_view", "affiliate_click"))
    assert query(catalog, "select count(*) as n from bronze.events").to_pylist() == [{"n": 3}]
    result = query(
        catalog,
        "select event_type, count(*) as n, sum(affiliate.payout_cents) as cents "
        "from bronze.events group by event_type order by event_type",
    )
    assert result.to_pylist() == [
        {"event_type": "affiliate_click", "n": 1, "cents": 250},
        {"event_type": "page_view", "n": 2, "cents": None},
    ]
    row = query(catalog, "select ts, ingest_dt, user.visitor_id as v from bronze.events limit 1").to_pylist()[0]
    assert row["ts"] == datetime(2026, 11, 22, 11, tzinfo=UTC)
    assert row["ingest_dt"] == date(2026, 11, 22) and row["v"] == "u1"


def test_query_sees_the_latest_snapshot(catalog: Catalog) -> None:
    table = catalog.load_table(BRONZE_EVENTS)
    table.append(events("page_view"))
    assert query(catalog, "select count(*) as n from bronze.events").to_pylist() == [{"n": 1}]
    table.append(events("affiliate_click"))
    assert query(catalog, "select count(*) as n from bronze.events").to_pylist() == [{"n": 2}]
    table.delete("event_type = 'page_view'")
    assert query(catalog, "select event_type from bronze.events").to_pylist() == [{"event_type": "affiliate_click"}]


def test_a_column_added_later_reads_as_null_in_old_files(catalog: Catalog) -> None:
    old = TableDef("silver.t", pa.schema([pa.field("id", pa.string(), nullable=False)]))
    ensure_table(catalog, old).append(pa.Table.from_pylist([{"id": "a"}], schema=old.arrow))
    new = TableDef("silver.t", old.arrow.append(pa.field("extra", pa.struct([pa.field("n", pa.int64())]))))
    table = ensure_table(catalog, new)
    assert query(catalog, "select id, extra from silver.t").to_pylist() == [{"id": "a", "extra": None}]
    table.append(pa.Table.from_pylist([{"id": "b", "extra": {"n": 1}}], schema=new.arrow))
    rows = query(catalog, "select id, extra.n as n from silver.t order by id").to_pylist()
    assert rows == [{"id": "a", "n": None}, {"id": "b", "n": 1}]


@pytest.mark.parametrize(
    "sql",
    [
        "insert into bronze.events (site_id) values ('x')",
        "create table t as select 1",
        "copy (select 1) to 'out.csv'",
        "copy bronze.events to 'out.parquet'",
        "delete from bronze.events",
        "attach 'other.db'",
        "set enable_external_access = true",
        "explain analyze copy (select 1) to 'out.csv'",
        "select 1; drop schema bronze cascade",
    ],
)
def test_write_statements_are_refused(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(QueryError, match=r"only read-only queries are allowed|exactly one SQL statement"):
        query(catalog, sql)
    assert not list(tmp_path.glob("out.*")) and not (tmp_path / "other.db").exists()


def test_reading_other_files_is_refused(catalog: Catalog, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(QueryError, match="disabled by configuration"):
        query(catalog, f"select * from read_csv('{secret}')")


def test_read_only_statements_pass(catalog: Catalog) -> None:
    assert query(catalog, "with x as (select 1 as a) select a from x").to_pylist() == [{"a": 1}]
    assert query(catalog, "explain select count(*) from bronze.events").num_rows >= 1
    assert {"events", "quarantine"} <= set(query(catalog, "show all tables").column("name").to_pylist())


def test_a_bad_query_says_why(catalog: Catalog) -> None:
    with pytest.raises(QueryError, match="nope"):
        query(catalog, "select * from bronze.nope")
    with pytest.raises(QueryError, match="cannot parse"):
        query(catalog, "selec 1")


SAMPLE = pa.table(
    {
        "n": pa.array([1, None], pa.int64()),
        "ts": pa.array([datetime(2026, 11, 22, 11, 0, 0, 500_000, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
        "d": pa.array([date(2026, 11, 22), None]),
        "s": pa.array(["a,b", "x\ny"]),
        "m": pa.array([[("k", "v")], None], pa.map_(pa.string(), pa.string())),
        "ok": pa.array([True, False]),
    }
)


def test_format_json_is_an_array_of_row_objects() -> None:
    assert json.loads(format_result(SAMPLE, "json")) == [
        {"n": 1, "ts": "2026-11-22T11:00:00.500000Z", "d": "2026-11-22", "s": "a,b", "m": {"k": "v"}, "ok": True},
        {"n": None, "ts": None, "d": None, "s": "x\ny", "m": None, "ok": False},
    ]
    assert format_result(SAMPLE.slice(0, 0), "json") == "[]\n"


def test_format_csv() -> None:
    assert format_result(SAMPLE, "csv") == (
        'n,ts,d,s,m,ok\n1,2026-11-22T11:00:00.500000Z,2026-11-22,"a,b","{""k"":""v""}",true\n,,,"x\ny",,false\n'
    )


def test_format_table() -> None:
    text = format_result(SAMPLE, "table")
    lines = text.splitlines()
    assert lines[0].split() == ["n", "ts", "d", "s", "m", "ok"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["1", "2026-11-22T11:00:00.500000Z", "2026-11-22", "a,b", '{"k":"v"}', "true"]
    assert lines[3].split() == ["x", "y", "false"]
    assert lines[-1] == "(2 rows)"
