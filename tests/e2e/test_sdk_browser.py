"""The browser SDK in real headless Chromium against a real `clicklake up`: what lands in bronze.events.

The test pages come from a small HTTP server on loopback whose origin is the site's
allowed origin; the SDK is loaded from the collector (`/sdk.js`, `/sdk.mjs`), so every
request is cross-origin as on a real site. Chromium is Debian's (`make test` installs
it); Playwright drives it through `executable_path` and downloads nothing. When it
cannot start, these tests fail: they never skip.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from samples import wait_rows

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SNIPPET = "window.clicklake=window.clicklake||function(){(clicklake.q=clicklake.q||[]).push(arguments)}"
BODY = """
<button id="signup" data-cl-event="signup" data-cl-prop-plan="pro" data-cl-prop-seats="3">Sign up</button>
<button id="sort" data-cl-event="chart_interaction" data-cl-prop-action="sort"
  data-cl-prop-control-id="price" data-cl-prop-control-value="asc" data-cl-prop-product-ids="basic,pro">Sort</button>
<a id="partner" data-cl-affiliate="lnk1" data-cl-payout="120" href="/partner">Partner</a>
<button id="nav" onclick="history.pushState({}, '', '/app/pricing')">Pricing</button>
"""


class Pages(ThreadingHTTPServer):
    """The site under test: `/app/...` is the page of the current test, `/partner` a page to leave to."""

    html = "<!doctype html><title>empty</title>"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _PageHandler(BaseHTTPRequestHandler):
    server: Pages

    def do_GET(self) -> None:
        body = (self.server.html if self.path.startswith("/app") else "<!doctype html><title>Partner</title>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Proxy(ThreadingHTTPServer):
    """A collector that answers `refusals` (503 or 429, with Retry-After) to the first POSTs, then forwards.

    A test fixture standing in for a collector that is overloaded for a while; the real
    collector behind it does the work.
    """

    def __init__(self, upstream: str, refusals: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.refusals = list(refusals)
        self.posts: list[tuple[int, list[str]]] = []  # (status answered, event ids in the body)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: Proxy

    def _relay(self, method: str, body: bytes | None) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("origin", "content-type", "user-agent")}
        answer = httpx.request(
            method, self.server.upstream + self.path, content=body, headers=headers, timeout=10, trust_env=False
        )
        self.send_response(answer.status_code)
        for name in ("content-type", "access-control-allow-origin", "etag", "cache-control", "vary"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def do_GET(self) -> None:
        self._relay("GET", None)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        ids = [e["event_id"] for e in json.loads(body)["events"]]
        with self.server.lock:
            status = self.server.refusals.pop(0) if self.server.refusals else 200
            self.server.posts.append((status, ids))
        if status == 200:
            self._relay("POST", body)
            return
        self.send_response(status)
        self.send_header("Retry-After", "1")
        self.send_header("Access-Control-Allow-Origin", self.headers.get("origin", "*"))
        self.send_header("Access-Control-Expose-Headers", "Retry-After")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve on a thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    server = Pages(("127.0.0.1", 0), _PageHandler)
    with serving(server):
        yield server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; a launch failure fails the test (run `make chromium`)."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="fr-FR")
    yield ctx
    ctx.close()


class Site:
    """A new site whose allowed origin is the test pages' origin."""

    def __init__(self, collector: tuple[str, Path], pages: Pages) -> None:
        self.base, self.data = collector
        self.pages = pages
        with Metadata.open(Settings(data=str(self.data))) as metadata:
            site = metadata.create_site("Shop", "shop.example", [pages.origin])
        self.site_id = site.site_id
        self.key = site.write_key

    def tag_page(self, attrs: str = "", *, src: str | None = None, body: str = BODY, after: str = "") -> str:
        """Set the test page to one with the snippet and the tag; returns its URL."""
        self.pages.html = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Compare plans</title>"
            f"<script>{SNIPPET}</script>"
            f"<script defer src='{src or self.base}/sdk.js' data-key='{self.key}' {attrs}></script>"
            f"<script>{after}</script></head><body>{body}</body></html>"
        )
        return f"{self.pages.origin}/app/compare?utm_source=newsletter&utm_campaign=spring"

    def rows(self, expect: int, timeout: float = 15) -> list[dict[str, Any]]:
        """The site's rows once `expect` have arrived; then checks that no more come and none is doubled."""
        sql = f"select * from bronze.events where site_id = '{self.site_id}' order by ts"
        got = wait_rows(self.data, sql, expect, timeout=timeout)
        assert len(got) >= expect, f"{len(got)} of {expect} events arrived: {[r['event_type'] for r in got]}"
        time.sleep(0.6)  # three loader flushes: anything sent twice would show now
        got = wait_rows(self.data, sql, 0, timeout=0)
        assert len(got) == expect, [r["event_type"] for r in got]
        assert len({r["event_id"] for r in got}) == expect
        return got


@pytest.fixture
def site(collector: tuple[str, Path], pages: Pages) -> Site:
    return Site(collector, pages)


def open_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("typeof window.clicklake.track === 'function'")
    return page


def posts_to(page: Page) -> Callable[[], int]:
    """A counter of the page's requests to /v1/events (fetch and beacon)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/v1/events" in r.url and r.method == "POST" else None)
    return lambda: len(seen)


def test_page_views_clicks_and_spa_navigation_arrive_once_with_fields(site: Site, context: BrowserContext) -> None:
    url = site.tag_page(after="clicklake('track', 'queued_before_load', {step: 1})")
    page = open_page(context, url)
    page.click("#signup")
    page.click("#sort")
    page.click("#nav")  # pushState: a page view of /app/pricing
    page.go_back()  # popstate: a page view of /app/compare again
    page.wait_for_url(url)
    page.click("#partner")  # an affiliate click, then the page is left: the rest goes by beacon
    page.wait_for_url("**/partner")

    rows = site.rows(7)
    types = [r["event_type"] for r in rows]
    assert sorted(types) == sorted(
        ["page_view", "custom", "custom", "chart_interaction", "page_view", "page_view", "affiliate_click"]
    )
    by_name = {r["custom"]["name"]: r for r in rows if r["event_type"] == "custom"}
    assert dict(by_name["signup"]["custom"]["properties"]) == {"plan": "pro", "seats": "3"}
    assert dict(by_name["queued_before_load"]["custom"]["properties"]) == {"step": "1"}
    chart = next(r for r in rows if r["event_type"] == "chart_interaction")["chart"]
    assert chart == {"product_ids": ["basic", "pro"], "action": "sort", "control_id": "price", "control_value": "asc"}
    affiliate = next(r for r in rows if r["event_type"] == "affiliate_click")["affiliate"]
    assert affiliate == {"link_id": "lnk1", "target": f"{site.pages.origin}/partner", "payout_cents": 120}
    views = [r for r in rows if r["event_type"] == "page_view"]
    assert [v["ctx"]["page_url"].split("?")[0].rsplit("/", 1)[1] for v in views] == ["compare", "pricing", "compare"]
    assert views[1]["ctx"]["referrer"] == url
    assert views[1]["traffic"]["referrer_class"] == "campaign"  # the landing page's UTM stays with the visit
    first = views[0]
    assert first["ctx"]["locale"] == "fr-FR"
    assert first["ctx"]["title"] == "Compare plans"
    assert "Chrome" in first["ctx"]["user_agent"]
    assert first["device"]["browser"] is not None and "Chrom" in first["device"]["browser"]
    assert first["metadata"]["sdk_version"] == "0.1.0"
    for row in rows:  # the landing page's campaign rides on every event of the visit
        assert row["session"]["utm"]["source"] == "newsletter" and row["session"]["utm"]["campaign"] == "spring"
        # no consent to storage asked for or given: no ids of our own, the server's cookieless one
        assert row["user"]["anonymous_id"] is None and row["session"]["session_id"] is None
        assert row["user"]["visitor_id"].startswith("v_")
        assert row["privacy"]["analytics"] is True
    assert len({r["user"]["visitor_id"] for r in rows}) == 1


def test_nothing_before_consent_then_ids_and_events_then_nothing_after_withdrawal(
    site: Site, context: BrowserContext
) -> None:
    page = open_page(context, site.tag_page("data-require-consent='true'"))
    posts = posts_to(page)
    page.click("#signup")
    page.wait_for_timeout(1500)
    assert posts() == 0
    assert page.evaluate("Object.keys(localStorage)") == []
    assert context.cookies() == []

    page.evaluate("clicklake('consent', {analytics: true, ads: false})")
    rows = site.rows(2)
    assert sorted(r["event_type"] for r in rows) == ["custom", "page_view"]
    aid = page.evaluate("JSON.parse(localStorage.cl_aid)")
    for row in rows:
        assert row["user"]["anonymous_id"] == aid and row["user"]["visitor_id"] == aid
        assert row["session"]["session_id"] is not None
        assert row["privacy"]["ads"] is False
    assert rows[0]["session"]["session_id"] == rows[1]["session"]["session_id"]

    page.evaluate("clicklake('consent', {analytics: false})")
    assert page.evaluate("Object.keys(localStorage)") == ["cl_consent"]
    page.click("#signup")
    page.click("#nav")
    sent = posts()
    page.close()
    time.sleep(0.5)
    assert posts() == sent
    site.rows(2)

    # the withdrawal is remembered: the next page of the site sends nothing either
    again = open_page(context, site.tag_page("data-require-consent='true'"))
    again_posts = posts_to(again)
    again.click("#signup")
    again.wait_for_timeout(1200)
    assert again_posts() == 0
    site.rows(2)


def test_offline_events_wait_in_storage_and_arrive_once_online(site: Site, context: BrowserContext) -> None:
    url = site.tag_page("data-storage='always'")
    page = open_page(context, url)
    site.rows(1)  # the page view, sent while online
    context.set_offline(True)
    page.click("#signup")
    page.click("#sort")
    page.wait_for_timeout(1500)
    assert page.evaluate("JSON.parse(localStorage.cl_queue).length") == 2
    context.set_offline(False)  # the 'online' event sends them at once
    rows = site.rows(3)
    assert sorted(r["event_type"] for r in rows) == ["chart_interaction", "custom", "page_view"]

    # offline again, and the tab is closed: storage keeps the events, the next page sends them
    context.set_offline(True)
    page.click("#signup")
    page.click("#signup")
    page.wait_for_timeout(300)
    page.close()
    context.set_offline(False)
    open_page(context, url)
    rows = site.rows(3 + 2 + 1)
    assert sum(r["event_type"] == "custom" for r in rows) == 3
    assert len({r["user"]["anonymous_id"] for r in rows}) == 1


def test_closing_the_page_delivers_the_queue_by_beacon(site: Site, context: BrowserContext) -> None:
    page = open_page(context, site.tag_page("data-flush-interval='600000' data-batch-size='50'"))
    posts = posts_to(page)
    page.click("#signup")
    page.click("#sort")
    page.wait_for_timeout(300)
    assert posts() == 0  # held for the batch
    page.close(run_before_unload=True)
    rows = site.rows(3)
    assert sorted(r["event_type"] for r in rows) == ["chart_interaction", "custom", "page_view"]


def test_a_collector_answering_503_and_429_for_a_while_gets_every_event_once(
    site: Site, context: BrowserContext
) -> None:
    proxy = Proxy(site.base, [503, 429, 503])
    with serving(proxy):
        page = open_page(context, site.tag_page(f"data-host='{proxy.url}'", src=proxy.url))
        page.click("#signup")
        page.click("#sort")
        rows = site.rows(3, timeout=25)
    statuses = [status for status, _ in proxy.posts]
    assert statuses[:3] == [503, 429, 503] and 200 in statuses
    refused_ids = {i for status, ids in proxy.posts if status != 200 for i in ids}
    assert refused_ids <= {r["event_id"] for r in rows}  # each retry carried the same event ids
    assert sorted(r["event_type"] for r in rows) == ["chart_interaction", "custom", "page_view"]


def test_the_es_module_build(site: Site, context: BrowserContext) -> None:
    site.pages.html = (
        "<!doctype html><title>Module</title><script type='module'>"
        f"import {{ init, track, identify }} from '{site.base}/sdk.mjs';"
        f"init({{ key: '{site.key}', flushInterval: 100 }});"
        "identify('sha256:feed');"
        "track('search', { query: 'blue shoes', results_count: 4 });"
        "window.done = true;</script>"
    )
    page = context.new_page()
    page.goto(f"{site.pages.origin}/app/module")
    page.wait_for_function("window.done === true")
    rows = site.rows(2)
    search = next(r for r in rows if r["event_type"] == "search")
    assert search["search"]["query"] == "blue shoes" and search["search"]["results_count"] == 4
    assert search["user"]["user_id_hash"] == "sha256:feed"
