"""`clicklake erase`, and retention, on a warehouse in S3-compatible object storage (a real SeaweedFS).

A person's events (a user id and an anonymous id) are committed to bronze in several
snapshots beside other people's; after the erasure, and after a file left uncommitted by a
crashed writer is swept, no object of the whole bucket holds either id, and the others'
rows are all there. Retention deletes the files of the days past its limit from the bucket.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clicklake import cli
from clicklake.lake.catalog import open_catalog
from clicklake.lake.erase import Subject, row_match
from clicklake.lake.retention import Limits, enforce
from clicklake.lake.rows import sweep_orphans
from clicklake.lake.tables import BRONZE_EVENTS, EVENTS_SCHEMA, ensure_tables
from clicklake.schema import decode_batch, to_record
from lake.test_maintain import Loader, hour_start
from seaweedfs import SeaweedFS

pytestmark = pytest.mark.s3

USER = "user-" + uuid.uuid4().hex
ANON = "anon-" + uuid.uuid4().hex


def _events(site: str, first: int, n: int, person: bool) -> pa.Table:
    """`n` page views of the person (`person`) or of others, ids e<first>..; the hour before now."""
    now = datetime.now(UTC)
    body = [
        {
            "event_type": "page_view",
            "ts": (now - timedelta(minutes=30, seconds=i)).isoformat().replace("+00:00", "Z"),
            "user": {
                "consent": {"analytics": True},
                "anonymous_id": ANON if person else f"anon-other-{i}",
                **({"user_id_hash": USER} if person and i % 2 else {}),
            },
        }
        for i in range(first, first + n)
    ]
    ingest_ms = int(now.timestamp() * 1000)
    batch = decode_batch(json.dumps(body).encode(), now_ms=ingest_ms)
    assert batch.rejected == []
    records = [
        to_record(e, ts, site_id=site, ingest_ts=ingest_ms, event_id=f"e{first + k:05d}")
        for k, (e, ts) in enumerate(zip(batch.events, batch.ts_ms, strict=True))
    ]
    return pa.Table.from_pylist(msgspec.to_builtins(records), schema=EVENTS_SCHEMA)


def _holding(weed: SeaweedFS) -> list[str]:
    """Every object of the bucket whose bytes hold the person's user id or anonymous id."""
    fs = weed.fs()
    found = []
    for key in weed.keys(f"s3://{weed.bucket}"):
        with fs.open_input_stream(key) as f:
            data = f.read()
        if USER.encode() in data or ANON.encode() in data:
            found.append(key)
    return found


def test_erase_deletes_every_object_that_held_the_person(
    weed: SeaweedFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = weed.warehouse()
    data = tmp_path / "data"
    for name, value in {**weed.env(warehouse), "CLICKLAKE_DATA": str(data)}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["sites", "create", "Shop", "--domain", "shop.example", "--format", "json"]) == 0
    site = json.loads(capsys.readouterr().out)["site_id"]
    catalog = open_catalog(data, warehouse=warehouse)
    ensure_tables(catalog)
    table = catalog.load_table(BRONZE_EVENTS)
    for k in range(3):  # three snapshots, each with the person and others
        table.append(_events(site, 100 * k, 6, person=False))
        table.append(_events(site, 100 * k + 50, 4, person=True))
    assert table.scan().to_arrow().num_rows == 30
    assert _holding(weed), "the scan must see the ids in the objects before the erasure"

    assert cli.main(["erase", "--site", site, "--user", USER, "--format", "json"]) == 0
    receipt = json.loads(capsys.readouterr().out)
    assert receipt["rows"] == {BRONZE_EVENTS: 12}
    assert receipt["files_deleted"] > 0 and receipt["bytes_deleted"] > 0

    # a file a crashed writer left under the table's data folder, never committed
    location = table.location().removeprefix("s3://")
    orphan = f"{location}/data/orphan-{uuid.uuid4().hex}.parquet"
    with weed.fs().open_output_stream(orphan) as out:
        pq.write_table(_events(site, 900, 2, person=True), out)
    table.refresh()
    subject = Subject(site, USER, frozenset({ANON}))
    swept = sweep_orphans(table, row_match(subject), min_age_s=0)
    assert swept.files == 1 and swept.bytes > 0

    assert _holding(weed) == []
    table.refresh()
    left = table.scan().to_arrow()
    assert left.num_rows == 18
    assert sorted(left["event_id"].to_pylist()) == sorted(f"e{100 * k + i:05d}" for k in range(3) for i in range(6))


def test_retention_deletes_the_old_files_from_the_bucket(weed: SeaweedFS, tmp_path: Path) -> None:
    warehouse = weed.warehouse()
    catalog = open_catalog(tmp_path / "data", warehouse=warehouse)
    ensure_tables(catalog)
    table = catalog.load_table(BRONZE_EVENTS)
    loader = Loader(table)
    old_hour = hour_start(datetime.now(UTC) - timedelta(days=10))
    loader.append(old_hour)
    loader.append(old_hour)
    loader.append(hour_start(datetime.now(UTC)))
    old_files = {t.file.file_path.removeprefix("s3://") for t in table.scan().plan_files()}
    old_files = {f for f in old_files if f"ingest_dt={old_hour:%Y-%m-%d}" in f}
    assert old_files and set(weed.keys(warehouse.location)) >= old_files

    [freed] = [f for f in enforce(catalog, Limits(sites={}, default={"bronze": 5})) if f.table == BRONZE_EVENTS]

    assert freed.rows == 8 and freed.files >= len(old_files) and freed.bytes > 0
    assert not set(weed.keys(warehouse.location)) & old_files
    table.refresh()
    assert table.scan().to_arrow().num_rows == 4
