"""`clicklake erase` reaches the person's records that are still in the stream, loaded or not, on every backend.

The person's events (a user id, and an anonymous id before they logged in) and others' are
appended to the stream as the collector appends them; `clicklake load --once` loads the first
ones, then more arrive that no loader has read, one of the person's a rejected event. The
erasure runs while no loader does. Then the loader drains the stream: bronze holds none of
the person's rows and every other event once, each record of theirs erased before it was
loaded is an empty quarantine row, and the loader reports no loss. Nothing read from the
stream afterwards holds their ids. The stream is the embedded one, or a real nats-server's.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clicklake import cli
from clicklake.config import load_settings
from clicklake.lake.catalog import catalog_from_settings
from clicklake.load import GROUP
from clicklake.query.engine import query
from clicklake.schema import decode_batch, to_record
from clicklake.schema.envelope import Rejected, encode_payload
from clicklake.stream import stream_from_settings
from clicklake.transform import erasure

USER = "sha256:" + uuid.uuid4().hex * 2
ANON = "anon-" + uuid.uuid4().hex


def _events(site: str, tag: str, users: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    """One page view per entry of `users`, keyed by its session as the collector keys them; ids `<tag>-<i>`."""
    now = datetime.now(UTC)
    body = [
        {
            "event_type": "page_view",
            "ts": (now - timedelta(minutes=10, seconds=i)).isoformat().replace("+00:00", "Z"),
            "user": {"consent": {"analytics": True}, **user},
            "session": {"session_id": f"s-{tag}-{i % 3}"},
            "ctx": {"page_url": f"https://shop.example/p/{i}"},
        }
        for i, user in enumerate(users)
    ]
    now_ms = int(now.timestamp() * 1000)
    batch = decode_batch(json.dumps(body).encode(), now_ms=now_ms)
    assert batch.rejected == []
    out = []
    for i, (event, ts) in enumerate(zip(batch.events, batch.ts_ms, strict=True)):
        record = to_record(event, ts, site_id=site, ingest_ts=now_ms, event_id=f"{tag}-{i}")
        out.append((record.session.session_id or record.event_id, encode_payload(record)))
    return out


def _others(site: str, tag: str, n: int) -> list[tuple[str, bytes]]:
    return _events(site, tag, [{"anonymous_id": f"anon-{tag}-{i}", "user_id_hash": f"other-{i}"} for i in range(n)])


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def _rows(settings: Any, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = query(catalog_from_settings(settings), sql).to_pylist()
    return rows


@pytest.mark.parametrize("backend", ["local", pytest.param("nats", marks=pytest.mark.nats)])
def test_erase_reaches_the_records_no_loader_has_read(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CLICKLAKE_DATA", str(tmp_path / "data"))
    if backend == "nats":
        monkeypatch.setenv("CLICKLAKE_STREAM__URI", f"{request.getfixturevalue('nats_url')}/t{uuid.uuid4().hex[:16]}")
    monkeypatch.setenv("CLICKLAKE_STREAM__PARTITIONS", "4")
    # no loader runs during the erasure: it waits this long for one to move, then goes on
    monkeypatch.setattr(erasure, "LOADER_WAIT_S", 1.0)
    monkeypatch.chdir(tmp_path)
    site = json.loads(_cli(capsys, "sites", "create", "Shop", "--domain", "shop.example", "--format", "json")[0])[
        "site_id"
    ]
    settings = load_settings()
    stream = stream_from_settings(settings)
    try:
        # loaded: the person logged in (both ids), and others
        stream.append(_events(site, "loaded", [{"anonymous_id": ANON, "user_id_hash": USER}] * 3))
        stream.append(_others(site, "before", 12))
        out, _ = _cli(capsys, "load", "--once")
        assert "loaded 15 events" in out
        # not loaded: the person before logging in (the anonymous id alone) and after, a rejected event
        # of theirs, and others in between
        both = {"anonymous_id": ANON, "user_id_hash": USER}
        later = _events(site, "later", [{"anonymous_id": ANON}] * 3 + [both] * 2)
        raw = json.dumps({"event_type": "page_view", "chart": 5, "user": both}).encode()
        rejected = Rejected(site_id=site, received_ts=0, source="http", reason="$.chart: expected object", raw=raw)
        stream.append([*later[:3], ("s-rejected", encode_payload(rejected))])
        stream.append(_others(site, "after", 12) + later[3:])
        head = {p.partition: p.next_offset for p in stream.stats().partitions}

        _, progress = _cli(capsys, "erase", "--site", site, "--user", USER)
        how = "deleting their records from the NATS JetStream stream" if backend == "nats" else "overwriting their"
        assert how in progress
        assert "9 stream record(s) of theirs erased" in progress  # 3 loaded, 5 not, and the rejection
        [receipt] = json.loads(_cli(capsys, "erase", "--list", "--format", "json")[0])
        assert receipt["rows"]["stream"] == 9
        assert receipt["rows"]["bronze.events"] == 3

        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="clicklake"):
            out, err = _cli(capsys, "load", "--once")
        assert "loaded 12 events" in out and "6 to bronze.quarantine" in out, out
        assert "trimmed" not in err and not [r for r in caplog.records if r.levelno >= logging.WARNING], err
        assert {p: stream.committed(GROUP, p) for p in head} == head  # the loader went past every erased record

        person = f"\"user\".user_id_hash = '{USER}' or \"user\".anonymous_id = '{ANON}'"
        assert _rows(settings, f"select count(*) as n from bronze.events where {person}") == [{"n": 0}]
        ids = Counter(r["event_id"] for r in _rows(settings, "select event_id from bronze.events"))
        assert ids == Counter([f"before-{i}" for i in range(12)] + [f"after-{i}" for i in range(12)])
        erased = _rows(settings, "select site_id, reason, raw from bronze.quarantine")
        assert erased == [{"site_id": site, "reason": "erased", "raw": b""}] * 6

        for p in range(stream.partitions):  # what any reader gets from the stream now
            offset = 0
            while batch := stream.read(p, offset, 100):
                assert batch[0].offset == offset
                assert not [r for r in batch if USER.encode() in r.payload or ANON.encode() in r.payload]
                offset = batch[-1].offset + 1
            assert offset == head[p]
    finally:
        stream.close()
