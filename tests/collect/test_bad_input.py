"""Malformed input is a 4xx with a reason, or accepted with what could be read; never a 5xx.

Random bytes and near-JSON thrown at a real collector on loopback (`clicklake collect`): every
route that takes input (`POST /v1/events`, the Segment routes, the pixel, tracked links), with
gzip or not, odd headers, NDJSON, bytes that are not UTF-8 inside JSON strings, surrogate
escapes, huge numbers, deep nesting.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from conftest import start_server, stop_server

NOW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
USER = {"consent": {"analytics": True}}
EVENT = {"event_type": "page_view", "ts": NOW, "user": USER, "ctx": {"page_url": "https://shop.example/", "title": "T"}}
ROUTES = ["/v1/events", "/v1/batch", "/v1/track", "/v1/page", "/v1/identify"]


class Collector:
    def __init__(self, base: str, key: str, link_id: str) -> None:
        self.base, self.key, self.link_id = base, key, link_id
        self.http = httpx.Client(base_url=base, timeout=10, trust_env=False)


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    root = tmp_path_factory.mktemp("bad-input")
    with Metadata.open(Settings(data=str(root / "data"))) as metadata:
        site = metadata.create_site("Shop", "shop.example")
        link = metadata.create_link(site.site_id, "https://partner.example/p/1")
    # thousands of requests from one address: the per-IP limit would answer 429 before the body is read
    proc, base = start_server(root, env={"CLICKLAKE_COLLECT__RATE_PER_IP": "0"}, command="collect")
    c = Collector(base, site.write_key, link.link_id)
    try:
        yield c
    finally:
        c.http.close()
        code, _, err = stop_server(proc)
        assert code == 0, err
    assert "Traceback" not in err, err


# -- bodies ------------------------------------------------------------------------------------

LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([NOW, "page_view", "track", "page", "identify", "group", "Order Completed", "Product Viewed"]),
)
KEYS = st.sampled_from(
    [
        *("event_type", "ts", "user", "consent", "analytics", "ctx", "page_url", "title", "events", "sent_at"),
        *("batch", "type", "event", "properties", "context", "timestamp", "userId", "traits", "price", "total"),
        *("order_id", "products", "product_id", "custom", "name", "search", "query", "qr", "link_id", "session"),
    ]
)
NEAR_JSON = st.recursive(
    LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=6)), max_leaves=25
)
#: Bytes to put inside a JSON string as they are: not UTF-8, Latin-1, surrogates, escapes of surrogates.
RAW_IN_STRING = st.one_of(
    st.binary(max_size=8).map(lambda b: b.replace(b'"', b"").replace(b"\\", b"")),
    st.sampled_from([b"\xff", b"\xe9", b"\xed\xa0\x80", b"\xc0\xaf", b"\\ud800", b"\\udc00x", b"\\u0000", b"\x00"]),
)
OPS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4)


def _mutated(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for op, at, byte in ops:
        if not out:
            break
        i = at % len(out)
        if op == 0:
            out[i] = byte
        elif op == 1:
            out.insert(i, byte)
        else:
            del out[i]
    return bytes(out)


def _spliced(raw: bytes, shape: int) -> bytes:
    one = json.dumps(EVENT).encode().replace(b'"T"', b'"' + raw + b'"')
    segment = b'{"type":"track","event":"' + raw + b'","timestamp":"' + NOW.encode() + b'"}'
    return [
        b"[" + one + b"]",
        b'{"events":[' + one + b"]}",
        one + b"\n" + one,
        segment,
        b'{"batch":[' + segment + b"]}",
    ][shape]


BODIES = st.one_of(
    st.binary(max_size=300),
    NEAR_JSON.map(lambda v: json.dumps(v).encode()),
    st.lists(NEAR_JSON, max_size=3).map(lambda v: json.dumps(v).encode()),
    st.lists(NEAR_JSON, min_size=1, max_size=3).map(lambda v: b"\n".join(json.dumps(x).encode() for x in v)),
    st.tuples(RAW_IN_STRING, st.integers(0, 4)).map(lambda t: _spliced(*t)),
    st.tuples(st.sampled_from([json.dumps([EVENT]).encode(), _spliced(b"x", 4)]), OPS).map(lambda t: _mutated(*t)),
    st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from([b"1e999", b"[1e999]", b"[" + b"9" * 5000 + b"]", b"NaN", b"[Infinity]", b'"\\ud800"']),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/x-ndjson", "text/plain", "", "application/jsonl"])
#: Any bytes a client can send in a header value (h11, the client's HTTP, refuses controls and edge spaces).
HEADER_VALUES = st.binary(max_size=24).map(lambda b: bytes(c for c in b if c >= 32 and c != 127).strip(b" "))
HEADERS = st.dictionaries(
    st.sampled_from(
        ["origin", "dnt", "sec-gpc", "x-forwarded-for", "user-agent", "referer", "authorization", "x-write-key"]
    ),
    HEADER_VALUES,
    max_size=3,
)


def _check(answer: httpx.Response) -> None:
    assert answer.status_code < 500, (answer.status_code, answer.text)
    if answer.status_code >= 400 and answer.status_code != 404:
        assert answer.json()["error"], answer.text  # a reason, not just a status


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(ROUTES),
    body=BODIES,
    content_type=CONTENT_TYPES,
    encoding=st.sampled_from(["", "gzip", "bad-gzip", "truncated-gzip"]),
    headers=HEADERS,
)
@example(route="/v1/events", body=_spliced(b"\xff", 0), content_type="", encoding="", headers={})
@example(route="/v1/events", body=_spliced(b"\xe9", 2), content_type="", encoding="gzip", headers={})
@example(route="/v1/batch", body=_spliced(b"\xff", 4), content_type="", encoding="", headers={})
@example(route="/v1/track", body=_spliced(b"\\ud800", 3), content_type="", encoding="", headers={})
@example(route="/v1/events", body=b"[" * 20_000 + b"]" * 20_000, content_type="", encoding="gzip", headers={})
def test_no_body_gets_a_5xx(
    collector: Collector, route: str, body: bytes, content_type: str, encoding: str, headers: dict[str, bytes]
) -> None:
    sent = {"x-write-key": collector.key, "content-type": content_type, **headers}
    if encoding == "gzip":
        body = gzip.compress(body)
    elif encoding == "truncated-gzip":
        body = gzip.compress(body)[: max(1, len(body) // 2)]
    if encoding:
        sent["content-encoding"] = "gzip"
    _check(collector.http.post(route, content=body, headers=sent))


QUERY_VALUES = st.one_of(
    st.text(max_size=16).map(quote),
    st.binary(max_size=8).map(lambda b: "".join(f"%{c:02X}" for c in b)),
    st.sampled_from(["%FF", "%ED%A0%80", "%00", "1e999", "%0D%0A", "a" * 3000]),
)
QUERY = st.lists(
    st.tuples(
        st.sampled_from(["event_type", "ts", "url", "ref", "title", "sid", "uid", "aid", "consent", "x", "at", "key"]),
        QUERY_VALUES,
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERY, headers=HEADERS, route=st.sampled_from(["pixel", "link"]))
@example(query=[("event_type", "%FF")], headers={}, route="pixel")
@example(query=[("title", "%0D%0A"), ("event_type", "%E2%80%A8")], headers={}, route="pixel")
def test_no_query_string_gets_a_5xx(
    collector: Collector, query: list[tuple[str, str]], headers: dict[str, bytes], route: str
) -> None:
    qs = "&".join(f"{k}={v}" for k, v in query)
    if route == "pixel":
        answer = collector.http.get(f"/i.gif?key={collector.key}&{qs}", headers=headers)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/gif", answer.status_code
        assert answer.headers["x-clicklake"].isascii()
    else:
        answer = collector.http.get(f"/r/{collector.link_id}?{qs}", headers=headers, follow_redirects=False)
        assert answer.status_code == 302, answer.status_code
