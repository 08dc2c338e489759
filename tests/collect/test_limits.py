"""Rate limits, trusted proxies and slow clients, on the real server over loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from clicklake.collect.ingest import client_ip
from clicklake.collect.metadata import Metadata
from clicklake.collect.ratelimit import RateLimiter
from clicklake.config import CollectSettings, Settings
from conftest import start_server, stop_server
from samples import wait_rows

USER = {"consent": {"analytics": True}}


def _site(data: Path) -> tuple[str, str]:
    with Metadata.open(Settings(data=str(data))) as metadata:
        site = metadata.create_site("Shop", "shop.example")
    return site.write_key, site.site_id


def _events(n: int, path: str = "/") -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    page = {"event_type": "page_view", "ts": now, "user": USER, "ctx": {"page_url": f"https://shop.example{path}"}}
    return json.dumps([page] * n).encode()


def _post(base: str, key: str, body: bytes, **headers: str) -> httpx.Response:
    h = {"content-type": "application/json", "x-write-key": key, **headers}
    return httpx.post(f"{base}/v1/events", content=body, headers=h, timeout=10, trust_env=False)


def test_rate_limits_answer_429_with_retry_after_and_store_nothing(tmp_path: Path) -> None:
    # buckets of 4 requests and 20 events that refill slowly (0.2 requests/s, 1 event/s), so
    # the seconds this test takes on a busy machine cannot refill what it spends
    env = {
        "CLICKLAKE_COLLECT__RATE_PER_IP": "0.2",
        "CLICKLAKE_COLLECT__RATE_PER_SITE": "1",
        "CLICKLAKE_COLLECT__RATE_BURST_S": "20",
        "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2",
    }
    proc, base = start_server(tmp_path, env=env)
    try:
        key, site = _site(tmp_path / "data")
        # per site: a bucket of 20 events; 15 pass, the next 15 do not fit (for another 10 s)
        assert _post(base, key, _events(15, "/a")).status_code == 200
        limited = _post(base, key, _events(15, "/b"), **{"x-forwarded-for": "198.51.100.7"})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert "rate limit" in limited.json()["error"]
        # per IP: a bucket of 4 requests; this client has made 1 (its first), 3 more pass, then 429
        codes = [_post(base, key, _events(1, "/c")).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        # another client (through the trusted local proxy) is not held back by that one
        other = _post(base, key, _events(1, "/d"), **{"x-forwarded-for": "203.0.113.9"})
        assert other.status_code == 200, other.text

        sql = f"select ctx.page_url as url from bronze.events where site_id = '{site}'"
        rows = wait_rows(tmp_path / "data", sql, 19)
        assert sorted({r["url"][-2:] for r in rows}) == ["/a", "/c", "/d"]  # nothing of a refused request
        metrics = httpx.get(f"{base}/metrics", trust_env=False).text
        assert 'clicklake_rate_limited_total{limit="ip"} 1.0' in metrics
        assert 'clicklake_rate_limited_total{limit="site"} 1.0' in metrics
    finally:
        code, _, err = stop_server(proc)
        assert code == 0, err


def test_the_client_address_comes_through_trusted_proxies_only(tmp_path: Path) -> None:
    for trusted, expect in (("127.0.0.1/32", "198.51.100.0"), ("", "127.0.0.0")):
        data = tmp_path / (trusted.replace("/", "_") or "none")
        env = {
            "CLICKLAKE_DATA": str(data),
            "CLICKLAKE_COLLECT__TRUSTED_PROXIES": trusted,
            "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2",
        }
        proc, base = start_server(tmp_path, env=env)
        try:
            key, _ = _site(data)
            answer = _post(base, key, _events(1), **{"x-forwarded-for": "10.1.2.3, 198.51.100.77"})
            assert answer.status_code == 200
            rows = wait_rows(data, "select privacy.source_ip_anonymized as ip from bronze.events", 1)
            assert rows[0]["ip"] == expect
        finally:
            code, _, err = stop_server(proc)
            assert code == 0, err


def test_client_ip_walks_forwarded_for_from_the_right() -> None:
    proxies = CollectSettings(trusted_proxies="127.0.0.1, 10.0.0.0/8").proxy_networks()
    assert client_ip("127.0.0.1", "1.1.1.1, 9.9.9.9, 10.0.0.2", proxies) == "9.9.9.9"  # the first is a claim
    assert client_ip("192.0.2.1", "9.9.9.9", proxies) == "192.0.2.1"  # an untrusted peer's header is ignored
    assert client_ip("127.0.0.1", "not-an-ip", proxies) == "127.0.0.1"
    assert client_ip("127.0.0.1", "[2001:db8::1]:443", proxies) == "2001:db8::1"
    assert client_ip("127.0.0.1", "10.0.0.3, 10.0.0.2", proxies) == "10.0.0.3"  # all proxies: the farthest


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=10, burst_s=1, clock=lambda: now[0])
    assert limiter.take("a", 10) == 0.0
    assert limiter.take("a", 1) == pytest.approx(0.1)
    now[0] = 0.5
    assert limiter.take("a", 5) == 0.0
    assert limiter.take("a", 50) == pytest.approx(1.0)  # more than a bucket: waits for a full one
    assert RateLimiter(rate=0, burst_s=1).take("a", 10**9) == 0.0  # off


def test_a_client_that_trickles_its_headers_is_cut_off(tmp_path: Path) -> None:
    proc, base = start_server(tmp_path, env={"CLICKLAKE_COLLECT__HEADER_TIMEOUT_S": "1"})
    try:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            started = time.monotonic()
            slow.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
            for _ in range(3):  # one more header byte now and then never completes the request
                time.sleep(0.4)
                slow.sendall(b"X")
            answer = slow.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408")
            assert slow.recv(4096) == b""  # closed
            assert time.monotonic() - started < 5
        # a connection that never sends anything is closed too
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            assert idle.recv(4096).startswith(b"HTTP/1.1 408")
        assert httpx.get(f"{base}/healthz", trust_env=False).status_code == 200  # others are served
    finally:
        code, _, err = stop_server(proc)
        assert code == 0, err


def test_a_big_shop_is_not_throttled_by_default(tmp_path: Path) -> None:
    """No site limit unless the site has one: a sales peak of 40,000 events in a few seconds from one shop
    (40 requests of 1,000, 8 at a time) all land; the old default, 5,000 events/s, refused most of them."""
    proc, base = start_server(tmp_path, env={"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "1"})
    try:
        key, _ = _site(tmp_path / "data")
        body = _events(1000, "/sale")
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: _post(base, key, body).status_code, range(40)))
        assert codes == [200] * 40
    finally:
        code, _, err = stop_server(proc)
        assert code == 0, err


def _until(check: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until `check()` holds (polling); fails after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not within the timeout"
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_site_rate_and_origins_changed_by_the_cli_apply_without_a_restart(
    tmp_path: Path, clicklake: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    proc, base = start_server(tmp_path, command="collect")
    try:
        key, site = _site(tmp_path / "data")
        other_key, _ = _site(tmp_path / "data")
        assert _post(base, key, _events(50)).status_code == 200
        shop = {"origin": "https://shop.example"}
        assert _post(base, key, _events(1), **shop).status_code == 200  # caches the site

        assert clicklake("sites", "update", site, "--rate", "1").returncode == 0
        # a bucket of 2 events refilling at 1/s: 20-event requests are soon refused
        waited = _until(lambda: _post(base, key, _events(20)).status_code == 429)
        assert waited < 6
        assert _post(base, other_key, _events(20)).status_code == 200  # another site is not held back

        assert clicklake("sites", "update", site, "--no-rate", "--origin", "https://new.example").returncode == 0
        _until(lambda: _post(base, key, _events(1), **shop).status_code == 403)
        assert _post(base, key, _events(20), origin="https://new.example").status_code == 200

        assert clicklake("sites", "delete", site, "--yes").returncode == 0
        _until(lambda: _post(base, key, _events(1)).status_code == 401)
    finally:
        code, _, err = stop_server(proc)
        assert code == 0, err
