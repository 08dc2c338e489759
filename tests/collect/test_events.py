"""`POST /v1/events` on the real server over loopback: what lands in bronze.events, and every refusal."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from conftest import serving
from samples import EVENTS, wait_rows

Site = tuple[str, str, str, Path]
USER = {"consent": {"analytics": True}}

UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One `clicklake up` for the module (it takes seconds to start); yields (base URL, its directory)."""
    root = tmp_path_factory.mktemp("collector")
    with serving(root, env={"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2"}) as base:
        yield base, root


@pytest.fixture
def server(running: tuple[str, Path]) -> tuple[str, str, str, Path]:
    """A new site for shop.example on the running server: (base URL, write key, site id, data dir)."""
    base, root = running
    with Metadata.open(Settings(data=str(root / "data"))) as metadata:
        site = metadata.create_site("Shop", "shop.example")
    return base, site.write_key, site.site_id, root / "data"


def post(base: str, key: str | None, body: bytes, **headers: str) -> httpx.Response:
    h = {"content-type": "application/json", **headers}
    if key is not None:
        h["x-write-key"] = key
    return httpx.post(f"{base}/v1/events", content=body, headers=h, timeout=10, trust_env=False)


def test_every_event_type_lands_enriched(server: Site) -> None:
    base, key, site, data = server
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events = [{**e, "ts": now} for e in EVENTS]
    events[0] = {
        **events[0],
        "ctx": {
            "page_url": "https://shop.example/p?utm_source=news&utm_medium=email&email=a@b.example",
            "user_agent": UA,
        },
    }
    answer = post(base, key, json.dumps(events).encode())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 9, "rejected": [], "consent_denied": 0}
    got = wait_rows(data, f"select * from bronze.events where site_id = '{site}' order by event_type", 9)
    assert sorted(r["event_type"] for r in got) == sorted(e["event_type"] for e in EVENTS)
    page = next(r for r in got if r["event_type"] == "page_view")
    assert page["privacy"]["source_ip_anonymized"] == "127.0.0.0"
    assert page["device"]["device_type"] == "mobile" and page["device"]["os"] == "iOS"
    assert page["session"]["utm"]["source"] == "news"
    assert "a@b.example" not in page["ctx"]["page_url"] and "[redacted]" in page["ctx"]["page_url"]
    assert page["metadata"]["schema_hash"].startswith("sha256:")
    assert all(r["user"]["visitor_id"] == "u1" for r in got)  # the client's user_id_hash wins


def test_partial_acceptance_keeps_the_invalid_ones_in_quarantine(server: Site) -> None:
    base, key, site, data = server
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    good = {"event_type": "page_view", "ts": now, "user": {"consent": {"analytics": True}}}
    bad = {"event_type": "page_view", "ts": "yesterday", "user": {"consent": {"analytics": True}}}
    unknown = {**good, "colour": "red"}
    answer = post(base, key, json.dumps([good, bad, unknown]).encode())
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 1 and [r["index"] for r in body["rejected"]] == [1, 2]
    assert "$.ts" in body["rejected"][0]["error"]
    quarantined = wait_rows(data, f"select reason, raw, source from bronze.quarantine where site_id = '{site}'", 2)
    assert len(quarantined) == 2 and {q["source"] for q in quarantined} == {"http"}
    got = wait_rows(data, f"select user.visitor_id as v from bronze.events where site_id = '{site}'", 1)
    assert got[0]["v"].startswith("v_")  # no id of its own: a cookieless one


def test_consent_false_is_counted_not_stored(server: Site) -> None:
    base, key, site, data = server
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    denied = {"event_type": "page_view", "ts": now, "user": {"consent": {"analytics": False}}}
    answer = post(base, key, json.dumps([denied, denied]).encode())
    assert answer.json() == {"accepted": 2, "rejected": [], "consent_denied": 2}
    dnt = {**denied, "user": {"consent": {"analytics": True}}}
    assert post(base, key, json.dumps([dnt]).encode(), dnt="1").json()["consent_denied"] == 1
    time.sleep(1.0)
    sql = f"select count(*) as n from bronze.events where site_id = '{site}'"
    assert wait_rows(data, sql, 1, timeout=0)[0]["n"] == 0
    with Metadata.open(Settings(data=str(data))) as metadata:
        assert metadata.consent_denied(site) == 3


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"[{", {}, 400),
        (b"", {}, 400),
        (b"\xff\xfe[]", {}, 400),
        (b"[" * 5000 + b"]" * 5000, {}, 400),
        (b'[{"ts": NaN}]', {}, 400),
        (b"x" * (2 << 20), {}, 413),
        (gzip.compress(b"[" + b" " * (64 << 20) + b"]"), {"content-encoding": "gzip"}, 413),
        (b"not gzip", {"content-encoding": "gzip"}, 400),
        (b"[]", {"content-encoding": "br"}, 415),
        (b"[]", {"origin": "https://evil.example"}, 403),
        # a body that holds no events
        (b'"hello"', {}, 400),
        (b"42", {}, 400),
        (b"null", {}, 400),
        (b"true", {}, 400),
        (b'{"a": 1}', {}, 400),
        (b'{"events": null}', {}, 400),
        (b'{"events": [], "sent_at": 5}', {}, 400),
        (b'{"event_type": "page_view", "ts": "2026-01-01T00:00:00Z"}', {}, 400),
        (b'{"event_type": "page_view"}\n"x"', {}, 400),
        (b'{"event_type": "page_view"}\n[1]', {"content-type": "application/x-ndjson"}, 400),
        (b"\n \n", {"content-type": "application/x-ndjson"}, 400),
    ],
)
def test_bad_requests_get_their_status_never_a_5xx(
    server: Site, body: bytes, headers: dict[str, str], status: int
) -> None:
    base, key, _, _ = server
    answer = post(base, key, body, **headers)
    assert answer.status_code == status, answer.text
    assert "error" in answer.json()


@pytest.mark.parametrize(
    ("shape", "content_type"),
    [("[%s, %s]", ""), ('{"events": [%s, %s]}', ""), ("%s\n%s", ""), ("%s\n%s", "application/x-ndjson")],
)
def test_an_event_with_bytes_that_are_not_utf8_is_rejected_alone(server: Site, shape: str, content_type: str) -> None:
    base, key, _, _ = server
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    good = json.dumps({"event_type": "page_view", "ts": now, "user": USER, "ctx": {"title": "TITLE"}}).encode()
    bad = good.replace(b"TITLE", b"caf\xe9 \xff\xfe \xed\xa0\x80")  # Latin-1, stray bytes, a UTF-16 surrogate
    body = shape.encode().replace(b"%s", bad, 1).replace(b"%s", good, 1)
    answer = post(base, key, body, **({"content-type": content_type} if content_type else {}))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert [r["index"] for r in answer.json()["rejected"]] == [0]
    assert "UTF-8" in answer.json()["rejected"][0]["error"]


def test_keys_and_origins(server: Site) -> None:
    base, key, _, _ = server
    assert post(base, None, b"[]").status_code == 401
    assert post(base, "wk_nope", b"[]").status_code == 401
    allowed = post(base, key, b"[]", origin="https://shop.example")
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://shop.example"
    by_query = httpx.post(f"{base}/v1/events?key={key}", content=b"[]", trust_env=False)
    assert by_query.status_code == 200
    pre = httpx.options(f"{base}/v1/events", headers={"origin": "https://shop.example"}, trust_env=False)
    assert pre.status_code == 204 and "x-write-key" in pre.headers["access-control-allow-headers"]


def test_huge_numbers_and_oversized_events_are_rejected_one_by_one(server: Site) -> None:
    base, key, _, _ = server
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    huge = {
        "event_type": "affiliate_click",
        "ts": now,
        "user": {"consent": {"analytics": True}},
        "affiliate": {"payout_cents": 10**30},
    }
    big = {
        "event_type": "page_view",
        "ts": now,
        "user": {"consent": {"analytics": True}},
        "ctx": {"title": "x" * 40000},
    }
    answer = post(base, key, json.dumps([huge, big]).encode())
    assert answer.status_code == 200
    assert [r["index"] for r in answer.json()["rejected"]] == [0, 1]


def _avro_blocks(data: bytes) -> list[bytes]:
    """The decompressed blocks of an Avro object container file (Iceberg's manifests and manifest lists):
    deflate hides the column bounds, which are values of the table, from a plain byte scan."""

    def long(pos: int) -> tuple[int, int]:
        shift = n = 0
        while True:
            b = data[pos]
            n |= (b & 0x7F) << shift
            pos += 1
            if not b & 0x80:
                return (n >> 1) ^ -(n & 1), pos
            shift += 7

    assert data[:4] == b"Obj\x01"
    pos, meta = 4, {}
    while True:
        count, pos = long(pos)
        if count == 0:
            break
        if count < 0:
            _, pos = long(pos)
        for _ in range(abs(count)):
            size, pos = long(pos)
            key = data[pos : pos + size].decode()
            pos += size
            size, pos = long(pos)
            meta[key] = data[pos : pos + size]
            pos += size
    pos += 16  # the sync marker
    codec = meta.get("avro.codec", b"null")
    blocks = []
    while pos < len(data):
        _, pos = long(pos)
        size, pos = long(pos)
        block = data[pos : pos + size]
        pos += size + 16
        blocks.append(zlib.decompress(block, -15) if codec == b"deflate" else block)
        assert codec in (b"deflate", b"null"), codec
    return blocks


def _values(value: object, out: list[bytes]) -> None:
    """Every string and bytes value in a row of Parquet (as Python objects), as bytes."""
    if isinstance(value, bytes):
        out.append(value)
    elif isinstance(value, str):
        out.append(value.encode())
    elif isinstance(value, dict):
        for k, v in value.items():
            _values(k, out)
            _values(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _values(v, out)
    elif value is not None:
        out.append(str(value).encode())


def _scan_text(data: Path) -> bytes:
    """Everything under the data directory as bytes a person could read: every file's raw bytes (the
    sqlite databases and their WALs, Iceberg metadata JSON), and what compression hides from them: the
    stream's payloads (LZ4) with the bytes of each rejection (base64 in its payload), every Parquet
    value (Snappy or zstd pages), the Avro manifests' blocks (deflate), gzip files."""
    import gzip

    import pyarrow.parquet as pq

    from clicklake.schema.envelope import Rejected, decode_payload
    from clicklake.stream import open_stream

    parts: list[bytes] = []
    for path in data.rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        parts.append(raw)
        if raw[:2] == b"\x1f\x8b":
            parts.append(gzip.decompress(raw))
        elif raw[:4] == b"Obj\x01":
            parts += _avro_blocks(raw)
        elif path.suffix == ".parquet":
            _values(pq.read_table(path).to_pylist(), parts)
    stream = open_stream(data / "stream")
    try:
        for partition in range(stream.partitions):
            offset = 0
            while batch := stream.read(partition, offset, 1000):
                for r in batch:
                    parts.append(r.payload)
                    if r.payload.startswith(b'{"kind":"rejected"'):
                        # base64 would hide the bytes; decode them without `Rejected`'s own scrubbing
                        doc = json.loads(r.payload)
                        parts.append(base64.b64decode(doc["raw"]))
                        assert isinstance(decode_payload(r.payload), Rejected)
                offset = batch[-1].offset + 1
    finally:
        stream.close()
    return b"\n".join(parts)


def test_no_pii_and_no_raw_ip_anywhere_under_the_data_dir(server: Site) -> None:
    """Privacy happens before the first byte is written: for valid events, and for refused ones, which
    are kept for bronze.quarantine (scrubbed) unless their consent is false (then nothing is kept)."""
    base, key, site, data = server
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    secrets = []
    events = []
    for i in range(1000):
        email, phone, card = f"person{i}@mail{i}.example", f"+44 20 7946 {i:04d}", "4111 1111 1111 1111"
        secrets += [email.encode(), phone.encode(), f"person{i}%40mail{i}".encode()]
        if i % 2:
            url = f"https://shop.example/p?ref={email}&tel={phone.replace(' ', '%20')}&n={i}"
            events.append({"event_type": "page_view", "ts": now, "user": USER, "ctx": {"page_url": url}})
        else:
            query_text = f"order for {email} card {card} call {phone}"
            events.append({"event_type": "search", "ts": now, "user": USER, "search": {"query": query_text}})
    for i in range(0, 1000, 100):
        assert post(base, key, json.dumps(events[i : i + 100]).encode()).json()["accepted"] == 100

    # refused events with the same kinds of PII, and an IP address, in every way one can be refused
    refused = []
    for i in range(20):
        email, phone = f"refused{i}@mail{i}.example", f"+44 20 7946 {5000 + i:04d}"
        secrets += [email.encode(), phone.encode(), f"refused{i}%40mail{i}".encode(), f"198.51.100.{i + 10}".encode()]
        page = {"page_url": f"https://shop.example/p?ref={email}&token=tok-secret-{i}", "title": f"call {phone}"}
        secrets.append(f"tok-secret-{i}".encode())
        kinds = [
            {"event_type": "page_view", "ts": "yesterday", "user": USER, "ctx": page},  # a bad value
            {"event_type": "page_view", "ts": now, "user": USER, "ctx": page, "ip": f"198.51.100.{i + 10}"},  # unknown
            {"event_type": "purchase", "ts": now, "user": USER, "order": {"coupon": email, "card": 4111111111111111}},
        ]
        refused.append(kinds[i % 3])
    answer = post(base, key, json.dumps(refused).encode())
    assert answer.status_code == 200 and len(answer.json()["rejected"]) == 20
    secrets.append(b"4111111111111111")
    # consent false: nothing of a refused event is kept, it is only counted
    with Metadata.open(Settings(data=str(data))) as metadata:
        denied_before = metadata.consent_denied(site)
    no_consent = {"event_type": "page_view", "ts": "soon", "user": {"consent": {"analytics": False}}}
    marker = f"consent-false-marker-{site}".encode()
    secrets.append(marker)
    denied_answer = post(base, key, json.dumps([{**no_consent, "ctx": {"title": marker.decode()}}] * 3).encode())
    # bytes that are not UTF-8 in a string: the event is refused alone, and scrubbed all the same
    bad_utf8 = b'[{"event_type":"page_view","ts":"%s","user":{"consent":{"analytics":true}},' % now.encode()
    bad_utf8 += b'"ctx":{"title":"\xff\xfe utf8person@mail.example"}}]'
    secrets.append(b"utf8person@mail.example")
    utf8_answer = post(base, key, bad_utf8)
    # Segment: a group (kept as an event) and a message of a type clicklake does not take (refused),
    # each with traits, a user id and an address
    refused_type = {
        "type": "bogus",
        "userId": "refused.user@mail.example",
        "traits": {"email": "refused.traits@mail.example", "phone": "+1 415 555 2672"},
        "context": {"ip": "198.51.100.202"},
        "timestamp": now,
    }
    segment = {
        "batch": [
            {
                "type": "group",
                "groupId": "g1",
                "userId": "segment.user@mail.example",
                "traits": {"email": "traits.person@mail.example", "plan": "pro", "phone": "+1 415 555 2671"},
                "context": {"ip": "198.51.100.201", "page": {"url": "https://shop.example/?e=ctx.person@mail.example"}},
                "timestamp": now,
            },
            refused_type,
        ]
    }
    secrets += [b"segment.user@mail.example", b"traits.person@mail.example", b"198.51.100.201"]
    secrets += [b"+1 415 555 2671", b"ctx.person@mail.example"]
    secrets += [b"refused.user@mail.example", b"refused.traits@mail.example", b"+1 415 555 2672", b"198.51.100.202"]
    seg = httpx.post(f"{base}/v1/batch", json=segment, headers={"x-write-key": key}, timeout=10, trust_env=False)
    assert seg.status_code == 200 and seg.json()["accepted"] == 1 and len(seg.json()["rejected"]) == 1, seg.text
    # the pixel: a refused event from a query string
    pixel = httpx.get(
        f"{base}/i.gif",
        params={"key": key, "event_type": "nonsense", "url": "https://shop.example/?m=pixel.person@mail.example"},
        trust_env=False,
    )
    assert pixel.status_code == 200 and pixel.headers["x-clicklake"].startswith("rejected")
    secrets.append(b"pixel.person@mail.example")

    assert len(wait_rows(data, f"select event_id from bronze.events where site_id = '{site}'", 1001)) == 1001
    quarantined = wait_rows(data, f"select raw from bronze.quarantine where site_id = '{site}'", 23)
    text = _scan_text(data)
    secrets += [b"4111 1111 1111 1111", b"127.0.0.1"]
    found = [s for s in secrets if s in text]
    assert found == []
    assert denied_answer.status_code == 200 and denied_answer.json()["consent_denied"] == 3, denied_answer.text
    assert denied_answer.json()["consent_denied_rejected"] == 3
    assert [r.get("consent_denied") for r in denied_answer.json()["rejected"]] == [True] * 3
    assert not any("consent_denied" in r for r in answer.json()["rejected"])  # refused, with consent: kept
    assert utf8_answer.status_code == 200 and len(utf8_answer.json()["rejected"]) == 1, utf8_answer.text
    assert len(quarantined) == 23  # kept, scrubbed: 20 + the one not UTF-8 + Segment's + the pixel's
    with Metadata.open(Settings(data=str(data))) as metadata:
        assert metadata.consent_denied(site) == denied_before + 3


def test_a_full_stream_is_503_and_nothing_is_claimed(tmp_path: Path) -> None:
    asyncio.run(_full_stream(tmp_path))


async def _full_stream(tmp_path: Path) -> None:
    from clicklake.collect.app import create_app
    from clicklake.stream import open_stream

    settings = Settings(data=str(tmp_path / "data"))
    stream = open_stream(tmp_path / "data" / "stream", max_lag_records=3)
    metadata = Metadata.open(settings)
    try:
        key = metadata.create_site("Shop", "shop.example").write_key
        app = create_app(settings, stream=stream, metadata=metadata)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = json.dumps([{"event_type": "page_view", "ts": now, "user": USER}] * 2).encode()
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            first = await client.post("/v1/events", content=body, headers={"x-write-key": key})
            assert first.status_code == 200
            second = await client.post("/v1/events", content=body, headers={"x-write-key": key})
            assert second.status_code == 503 and second.headers["retry-after"] == "5"
            assert "full" in second.json()["error"]
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
            metrics = (await client.get("/metrics")).text
            assert 'clicklake_stream_append_failures_total{cause="full"} 1.0' in metrics
            assert 'clicklake_http_requests_total{route="/v1/events",status="503"} 1.0' in metrics
        assert sum(p.records for p in stream.stats().partitions) == 2  # only the acknowledged batch
    finally:
        metadata.close()
        stream.close()


def test_readyz_and_metrics(server: Site) -> None:
    base, key, _, _ = server
    ready = httpx.get(f"{base}/readyz", trust_env=False)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = [
        {"event_type": "page_view", "ts": now, "user": USER},
        {"event_type": "page_view", "ts": "soon", "user": USER},
        {"event_type": "page_view", "ts": now, "user": {"consent": {"analytics": False}}},
    ]
    assert post(base, key, json.dumps(body).encode()).status_code == 200
    text = httpx.get(f"{base}/metrics", trust_env=False).text
    for line in (
        'clicklake_http_requests_total{route="/v1/events",status="200"}',
        'clicklake_events_total{outcome="accepted"}',
        'clicklake_events_total{outcome="consent_denied"}',
        'clicklake_events_rejected_total{field="$.ts"}',
        "clicklake_stream_append_seconds_count",
        'clicklake_http_request_seconds_bucket{le="0.005",route="/v1/events"}',
    ):
        assert line in text, line
