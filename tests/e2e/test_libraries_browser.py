"""Segment's analytics.js and RudderStack's JS SDK v3, as published on npm, in real headless Chromium.

Each library is bundled unchanged by esbuild (from the SDK's node_modules, `make sdk`)
and served by a page server on loopback whose origin is the site's allowed origin;
the collector is a real `clicklake up` on another port, so every request is
cross-origin, preflights included. Nothing is intercepted: a CORS refusal would fail
the request in the browser as it does on a real site. Each test checks that every
call lands exactly once in bronze.events with its fields mapped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from samples import wait_rows

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "src" / "clicklake" / "sdk" / "node_modules"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
USER = "user-9"
HASHED = hashlib.sha256(USER.encode()).hexdigest()


class Pages(ThreadingHTTPServer):
    """The site under test: `/app/...` is the current test's page, `/libs/NAME.js` a bundled library."""

    html = "<!doctype html><title>empty</title>"
    libs: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Pages

    def do_GET(self) -> None:
        if self.path.startswith("/libs/"):
            body, kind = (self.server.libs / Path(self.path).name).read_bytes(), "text/javascript"
        else:
            body, kind = self.server.html.encode(), "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two libraries bundled by esbuild, as a site would bundle them."""
    out = tmp_path_factory.mktemp("libs")
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    subprocess.run(["node", str(Path(__file__).parent / "libs" / "build.cjs"), str(out)], env=env, check=True)
    return out


@pytest.fixture(scope="module")
def pages(libs: Path) -> Iterator[Pages]:
    server = Pages(("127.0.0.1", 0), _Handler)
    server.libs = libs
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Site:
    """A new site allowing the test pages' origin, and a page of it watched for what the browser sends."""

    def __init__(self, collector: tuple[str, Path], pages: Pages, browser: Browser, lib: str) -> None:
        self.base, self.data = collector
        with Metadata.open(Settings(data=str(self.data))) as metadata:
            site = metadata.create_site("Shop", "shop.example", [pages.origin])
        self.site_id, self.key = site.site_id, site.write_key
        pages.html = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Pricing plans</title>"
            f"<script src='/libs/{lib}.js'></script></head><body>plans</body></html>"
        )
        self.context = browser.new_context(locale="de-DE")
        self.page: Page = self.context.new_page()
        self.failed: list[str] = []
        self.answers: list[tuple[str, int]] = []
        self.before = served(self.base)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        self.page.on("console", lambda m: self.failed.append(m.text) if "CORS" in m.text else None)
        self.page.on("response", lambda r: self.answers.append((r.url, r.status)) if self.base in r.url else None)
        self.page.goto(f"{pages.origin}/app/pricing?utm_source=news&utm_medium=email")

    def served_since(self) -> dict[tuple[str, str], float]:
        """The collector's answers (route, status) since the page was opened, from /metrics."""
        now = served(self.base)
        return {k: n - self.before.get(k, 0) for k, n in now.items() if n - self.before.get(k, 0)}

    def rows(self, expect: int) -> list[dict[str, Any]]:
        """The site's rows once `expect` arrived; then no more come, and none twice."""
        sql = f"select * from bronze.events where site_id = '{self.site_id}' order by ts"
        got = wait_rows(self.data, sql, expect, timeout=20)
        assert len(got) >= expect, (len(got), self.failed, self.answers)
        time.sleep(1.0)
        got = wait_rows(self.data, sql, 0, timeout=0)
        assert len(got) == expect and len({r["event_id"] for r in got}) == expect
        kept = wait_rows(self.data, f"select reason from bronze.quarantine where site_id = '{self.site_id}'", 0, 0)
        assert kept == []
        assert self.failed == []
        assert all(status == 200 for _, status in self.answers), self.answers
        return got


def served(base: str) -> dict[tuple[str, str], float]:
    """How many requests the collector answered, by (route, status), leaving out /metrics and /healthz."""
    text = httpx.get(f"{base}/metrics", trust_env=False).text
    out = {}
    for m in re.finditer(r'^clicklake_http_requests_total\{route="([^"]+)",status="(\d+)"\} (\S+)$', text, re.M):
        if m[1] not in ("/metrics", "/healthz"):
            out[(m[1], m[2])] = float(m[3])
    return out


@pytest.fixture
def make_site(collector: tuple[str, Path], pages: Pages, browser: Browser) -> Iterator[Any]:
    made: list[Site] = []

    def make(lib: str) -> Site:
        made.append(Site(collector, pages, browser, lib))
        return made[-1]

    yield make
    for site in made:
        site.context.close()


def check_the_five(rows: list[dict[str, Any]], anonymous_id: str) -> None:
    """page, track, alias, identify and group as the calls in `CALLS` made them."""
    by_kind = {(r["custom"]["name"] if r["event_type"] == "custom" else r["event_type"]): r for r in rows}
    assert sorted(by_kind) == ["alias", "group", "identify", "page_view", "product_view"]
    view = by_kind["page_view"]
    assert view["ctx"]["page_url"].split("?")[0].endswith("/app/pricing")
    assert view["ctx"]["title"] == "Pricing plans" and view["ctx"]["locale"] == "de-DE"
    assert "Chrome" in view["ctx"]["user_agent"]
    assert view["session"]["utm"]["source"] == "news"
    assert view["user"]["anonymous_id"] == anonymous_id
    product = by_kind["product_view"]["product"]
    assert product["product_id"] == "sku-3" and product["price_minor"] == 1250 and product["currency"] == "EUR"
    alias = by_kind["alias"]
    assert alias["user"]["user_id_hash"] == HASHED
    assert dict(alias["custom"]["properties"]) == {
        "previous_id_hash": hashlib.sha256(anonymous_id.encode()).hexdigest()
    }
    identify = by_kind["identify"]
    assert identify["user"]["user_id_hash"] == HASHED and identify["user"]["anonymous_id"] == anonymous_id
    assert dict(identify["custom"]["properties"]) == {"plan": "pro"}
    group = by_kind["group"]
    assert group["user"]["user_id_hash"] == HASHED
    assert dict(group["custom"]["properties"]) == {"group_id": "acme", "seats": "12"}
    dumped = json.dumps(rows, default=str)
    assert USER not in dumped and "kim@example.com" not in dumped


CALLS = f"""
  await lib.page();
  await lib.track('Product Viewed', {{product_id: 'sku-3', price: 12.5, currency: 'EUR'}});
  await lib.alias('{USER}');
  await lib.identify('{USER}', {{plan: 'pro', email: 'kim@example.com'}});
  await lib.group('acme', {{seats: 12}});
"""


@pytest.mark.parametrize("batching", [False, True], ids=["one-by-one", "batching"])
def test_segment_analytics_js_delivers_unchanged(make_site: Any, batching: bool) -> None:
    site = make_site("segment")
    strategy = "{strategy: 'batching', config: {size: 5, timeout: 300}}" if batching else "undefined"
    host = site.base.removeprefix("http://") + "/v1"
    anonymous_id = site.page.evaluate(
        f"""async () => {{
          const [lib] = await startSegment('{site.key}', '{host}', {strategy});
          const calls = (async () => {{ {CALLS} }})();
          if (!{str(batching).lower()}) await calls;
          return lib.user().anonymousId();
        }}"""
    )
    rows = site.rows(5)
    check_the_five(rows, anonymous_id)
    expected = {"/v1/b": 1} if batching else {"/v1/p": 1, "/v1/t": 1, "/v1/a": 1, "/v1/i": 1, "/v1/g": 1}
    served = site.served_since()
    assert {path: n for (path, status), n in served.items() if status == "200"} == expected
    assert {status for _, status in served} <= {"200", "204"}, served  # 204: the preflights
    assert all(r["metadata"]["sdk_version"].startswith("analytics.js") for r in rows)


@pytest.mark.parametrize("beacon", [False, True], ids=["xhr", "beacon"])
def test_rudderstack_js_sdk_delivers_unchanged(make_site: Any, beacon: bool) -> None:
    site = make_site("rudder")
    options = "{useBeacon: true, beaconQueueOptions: {flushQueueInterval: 300}}" if beacon else "{}"
    anonymous_id = site.page.evaluate(
        f"""async () => {{
          const lib = startRudder('{site.key}', '{site.base}', {options});
          await new Promise(resolve => lib.ready(resolve));
          const wrap = name => (...args) => new Promise(resolve => lib[name](...args, () => resolve()));
          const calls = {{page: wrap('page'), track: wrap('track'), alias: wrap('alias'), identify: wrap('identify'),
                         group: wrap('group')}};
          await (async (lib) => {{ {CALLS} }})(calls);
          return lib.getAnonymousId();
        }}"""
    )
    rows = site.rows(5)
    check_the_five(rows, anonymous_id)
    paths = {"/beacon/v1/batch"} if beacon else {"/v1/page", "/v1/track", "/v1/alias", "/v1/identify", "/v1/group"}
    served = site.served_since()
    assert {path for path, _ in served} == paths and {status for _, status in served} <= {"200", "204"}, served
    assert all(r["session"]["session_id"] for r in rows)  # RudderStack's own session ids are kept
