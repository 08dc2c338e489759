"""Refused events reach bronze.quarantine without PII on every path, the loader's and a replay's included."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from clicklake.lake.catalog import open_catalog
from clicklake.load import Loader
from clicklake.load.quarantine import QuarantineEntry, _revive, list_quarantine
from clicklake.stream import open_stream


def _old_rejection(raw: bytes, at: int) -> bytes:
    """A rejection as older collectors wrote it: the bytes as sent, unscrubbed."""
    return b'{"kind":"rejected","site_id":"s1","received_ts":%d,"source":"http","reason":"$.ts: bad","raw":"%s"}' % (
        at,
        base64.b64encode(raw),
    )


def test_the_loader_scrubs_rejections_an_older_collector_left_in_the_stream(tmp_path: Path) -> None:
    data = tmp_path / "data"
    at = time.time_ns() // 1_000_000
    pii = b'{"event_type":"page_view","ts":"x","user":{"consent":{"analytics":true}},"ctx":{"page_url":'
    pii += b'"https://shop.example/?m=jane@mail.example","title":"call +44 20 7946 0000 from 203.0.113.77"}}'
    no_consent = b'{"event_type":"page_view","ts":"x","user":{"consent":{"analytics":false}},"ctx":{"title":"bob"}}'
    stream = open_stream(data / "stream", partitions=1)
    try:
        stream.append(
            [
                ("k", _old_rejection(pii, at)),
                ("k", _old_rejection(no_consent, at)),
                ("k", b'{"kind":"event/9","note":"from jane@mail.example"}'),  # unreadable: kept by the loader
            ]
        )
        Loader(stream, open_catalog(data), data / "work").drain()
    finally:
        stream.close()
    _, rows = list_quarantine(open_catalog(data), limit=10)
    raws = sorted((r.stream_offset, r.raw) for r in rows)
    assert len(raws) == 3
    kept = b"\n".join(raw for _, raw in raws)
    for secret in (b"jane@mail.example", b"+44 20 7946 0000", b"203.0.113.77", b"bob"):
        assert secret not in kept, secret
    assert b"203.0.113.0" in raws[0][1] and raws[1][1] == b""
    assert any("consent is false" in r.reason for r in rows)


def test_replay_gives_rows_kept_unscrubbed_the_privacy_of_the_door() -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event = {
        "event_type": "search",
        "ts": now,
        "user": {"consent": {"analytics": True}, "user_id_hash": "jane@mail.example"},
        "ctx": {"page_url": "https://shop.example/?email=jane@mail.example"},
        "search": {"query": "call +44 20 7946 0000"},
    }
    raw = json.dumps(event)
    entry = QuarantineEntry(
        received_ts=time.time_ns() // 1_000_000,
        site_id="s1",
        source="http",
        reason="$.ts: a rule since relaxed",
        raw=raw.encode(),
        stream_partition=0,
        stream_offset=7,
        replayed=False,
    )
    record = _revive(entry)
    assert record.ctx.page_url == "https://shop.example/?email=[redacted]"
    assert record.search.query == "call [redacted]"
    assert record.user.user_id_hash is not None and "@" not in record.user.user_id_hash
