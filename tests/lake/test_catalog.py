"""The Iceberg catalog and the bronze tables: creation, idempotence, evolution, round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.transforms import IdentityTransform

from clicklake.lake.catalog import open_catalog
from clicklake.lake.tables import BRONZE_EVENTS, BRONZE_QUARANTINE, TableDef, ensure_table, ensure_tables
from clicklake.schema import SCHEMA_HASH, decode_batch, to_record
from clicklake.schema.arrow import arrow_schema
from clicklake.schema.record import Record

NOW_MS = int(datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp() * 1000)
BASE = {"ts": "2026-11-22T11:00:00.5Z", "user": {"consent": {"analytics": True}, "user_id_hash": "u1"}}
EVENTS = [
    {"event_type": "page_view", "ctx": {"page_url": "https://a.example/"}, **BASE},
    {"event_type": "chart_interaction", "chart": {"action": "sort", "product_ids": ["p1", "p2"]}, **BASE},
    {"event_type": "affiliate_click", "affiliate": {"link_id": "l1", "payout_cents": 250}, **BASE},
    {
        "event_type": "purchase",
        "order": {"order_id": "o1", "revenue_minor": 1998, "currency": "USD", "items": [{"product_id": "p1"}]},
        **BASE,
    },
    {"event_type": "custom", "custom": {"name": "signup", "properties": {"plan": "pro", "seats": 3}}, **BASE},
]


def bronze_rows() -> pa.Table:
    batch = decode_batch(json.dumps(EVENTS).encode(), now_ms=NOW_MS)
    assert batch.rejected == []
    records = [
        to_record(e, ts, site_id="s1", ingest_ts=NOW_MS, event_id=f"e{i}", schema_hash=SCHEMA_HASH)
        for i, (e, ts) in enumerate(zip(batch.events, batch.ts_ms, strict=True))
    ]
    return pa.Table.from_pylist(msgspec.to_builtins(records), schema=arrow_schema(Record))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_uri(request: pytest.FixtureRequest) -> str | None:
    """The catalog database of the suite: None (SQLite in the data dir), and a fresh PostgreSQL database."""
    return str(request.getfixturevalue("postgres_schema_uri")) if request.param == "postgres" else None


@pytest.fixture
def catalog(tmp_path: Path, catalog_uri: str | None) -> Iterator[Catalog]:
    catalog = open_catalog(tmp_path / "data", catalog_uri)
    yield catalog
    assert isinstance(catalog, SqlCatalog)
    catalog.engine.dispose()  # PostgreSQL drops the database only without open connections


def test_open_catalog_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    catalog = open_catalog(tmp_path / "data")
    assert isinstance(catalog, SqlCatalog) and catalog.name == "clicklake"
    ensure_tables(catalog)
    assert (tmp_path / "data" / "catalog.sqlite3").is_file()
    location = catalog.load_table(BRONZE_EVENTS).location()
    assert location.startswith((tmp_path / "data" / "warehouse").resolve().as_uri())


def test_ensure_tables_is_idempotent(catalog: Catalog) -> None:
    first = ensure_tables(catalog)
    second = ensure_tables(catalog)
    assert set(first) == set(second) == {BRONZE_EVENTS, BRONZE_QUARANTINE}
    assert {ns[0] for ns in catalog.list_namespaces()} >= {"bronze", "silver", "gold"}
    assert sorted(catalog.list_tables("bronze")) == [("bronze", "events"), ("bronze", "quarantine")]
    table = catalog.load_table(BRONZE_EVENTS)
    # the second call changed nothing: one schema, no extra metadata commit
    assert len(table.schemas()) == 1
    assert table.metadata_location == first[BRONZE_EVENTS].metadata_location


def test_opening_the_tables_again_leaves_no_metadata_file_behind(
    tmp_path: Path, catalog: Catalog, catalog_uri: str | None
) -> None:
    ensure_tables(catalog)
    written = sorted((tmp_path / "data" / "warehouse").rglob("*.metadata.json"))
    assert len(written) == 2  # one per table
    for _ in range(3):
        again = open_catalog(tmp_path / "data", catalog_uri)
        ensure_tables(again)
        assert isinstance(again, SqlCatalog)
        again.engine.dispose()
    assert sorted((tmp_path / "data" / "warehouse").rglob("*.metadata.json")) == written


def test_bronze_events_partitioning_and_sort_order(catalog: Catalog) -> None:
    table = ensure_tables(catalog)[BRONZE_EVENTS]
    schema = table.schema()
    spec = [(f.name, schema.find_column_name(f.source_id), f.transform) for f in table.spec().fields]
    assert spec == [
        ("events_type", "event_type", IdentityTransform()),
        ("ingest_dt", "ingest_dt", IdentityTransform()),
        ("hour", "hour", IdentityTransform()),
    ]
    assert [schema.find_column_name(f.source_id) for f in table.sort_order().fields] == ["site_id", "ts"]
    assert str(schema.find_type("ts")) == "timestamptz"
    assert str(schema.find_type("ingest_dt")) == "date"
    assert str(schema.find_type("custom.properties")) == "map<string, string>"


def test_bronze_quarantine_columns_and_partitioning(catalog: Catalog) -> None:
    table = ensure_tables(catalog)[BRONZE_QUARANTINE]
    schema = table.schema()
    columns = {f.name: (str(f.field_type), f.required) for f in schema.fields}
    assert columns == {
        "site_id": ("string", False),
        "received_ts": ("timestamptz", True),
        "received_dt": ("date", True),
        "source": ("string", True),
        "reason": ("string", True),
        "raw": ("binary", True),
        "stream_partition": ("int", False),
        "stream_offset": ("long", False),
        "replayed": ("boolean", True),
    }
    [field] = table.spec().fields
    assert schema.find_column_name(field.source_id) == "received_dt" and field.transform == IdentityTransform()


def test_append_real_records_and_read_them_back(catalog: Catalog) -> None:
    table = ensure_tables(catalog)[BRONZE_EVENTS]
    table.append(bronze_rows())
    rows = catalog.load_table(BRONZE_EVENTS).scan().to_arrow().sort_by("event_id").to_pylist()
    assert [r["event_type"] for r in rows] == [e["event_type"] for e in EVENTS]
    assert rows[0]["ts"] == datetime(2026, 11, 22, 11, 0, 0, 500_000, tzinfo=UTC)
    assert rows[0]["ingest_dt"] == date(2026, 11, 22) and rows[0]["hour"] == "12"
    assert rows[1]["chart"]["product_ids"] == ["p1", "p2"]
    assert rows[2]["affiliate"]["payout_cents"] == 250
    assert rows[3]["order"]["items"][0]["product_id"] == "p1"
    assert dict(rows[4]["custom"]["properties"]) == {"plan": "pro", "seats": "3"}
    # one data file per (event_type, ingest_dt, hour) partition
    files = [t.file for t in table.scan().plan_files()]
    assert {f.partition[0] for f in files} == {e["event_type"] for e in EVENTS}
    assert all("/events_type=" in f.file_path and "/ingest_dt=2026-11-22/hour=12/" in f.file_path for f in files)


def test_quarantine_accepts_a_row(catalog: Catalog) -> None:
    table = ensure_tables(catalog)[BRONZE_QUARANTINE]
    row = {
        "site_id": None,
        "received_ts": datetime(2026, 11, 22, 12, tzinfo=UTC),
        "received_dt": date(2026, 11, 22),
        "source": "web",
        "reason": "$.ts: expected a date-time",
        "raw": b'{"ts": 1}\xff',
        "stream_partition": None,
        "stream_offset": None,
        "replayed": False,
    }
    table.append(pa.Table.from_pylist([row], schema=table.schema().as_arrow()))
    assert table.scan().to_arrow().to_pylist() == [row]


def test_schema_evolution_adds_an_optional_field_and_keeps_the_data(catalog: Catalog) -> None:
    old = TableDef("bronze.evolving", pa.schema([pa.field("id", pa.string(), nullable=False)]))
    catalog.create_namespace_if_not_exists("bronze")
    ensure_table(catalog, old).append(pa.Table.from_pylist([{"id": "a"}], schema=old.arrow))
    new = TableDef(
        "bronze.evolving",
        pa.schema(
            [
                pa.field("id", pa.string(), nullable=False),
                pa.field("extra", pa.struct([pa.field("n", pa.int64())]), nullable=True),
            ]
        ),
    )
    table = ensure_table(catalog, new)
    assert [f.name for f in table.schema().fields] == ["id", "extra"]
    table.append(pa.Table.from_pylist([{"id": "b", "extra": {"n": 1}}], schema=new.arrow))
    rows = catalog.load_table("bronze.evolving").scan().to_arrow().sort_by("id").to_pylist()
    assert rows == [{"id": "a", "extra": None}, {"id": "b", "extra": {"n": 1}}]
    # a field gone from the code stays in the table
    assert [f.name for f in ensure_table(catalog, old).schema().fields] == ["id", "extra"]


@pytest.mark.postgres
def test_postgres_catalog(tmp_path: Path, postgres_uri: str) -> None:
    catalog = open_catalog(tmp_path / "data", postgres_uri)
    ensure_tables(catalog)
    ensure_tables(catalog)
    catalog.load_table(BRONZE_EVENTS).append(bronze_rows())
    # a second catalog object on the same database sees the commit
    again = open_catalog(tmp_path / "data", postgres_uri)
    assert again.load_table(BRONZE_EVENTS).scan().to_arrow().num_rows == len(EVENTS)
    assert not (tmp_path / "data" / "catalog.sqlite3").exists()
    for c in (catalog, again):
        assert isinstance(c, SqlCatalog)
        c.engine.dispose()


def test_processes_creating_the_tables_at_once_all_succeed(tmp_path: Path, catalog_uri: str | None) -> None:
    """Several loaders starting at the same moment on a fresh catalog (a UniqueViolation on PostgreSQL before)."""
    import threading

    catalogs = [open_catalog(tmp_path / "data", catalog_uri) for _ in range(4)]
    start = threading.Barrier(len(catalogs))
    errors: list[BaseException] = []

    def create(c: Catalog) -> None:
        start.wait()
        try:
            ensure_tables(c)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(c,)) for c in catalogs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(catalogs[0].list_tables("bronze")) == [("bronze", "events"), ("bronze", "quarantine")]
    for c in catalogs:
        assert isinstance(c, SqlCatalog)
        c.engine.dispose()
