"""Shared-link embeds in real headless Chromium: framed by the site's origins only, never when not made to embed.

A real `clicklake web` on 127.0.0.1 serves the shared links; two page servers on
`localhost` (another site, as a browser sees it) frame them: one whose origin the site
allows, one it does not. The browser itself applies `frame-ancestors` and
`X-Frame-Options`: nothing is intercepted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, sync_playwright

from clicklake.collect.metadata import Metadata
from clicklake.web.shares import Shares
from conftest import free_port, kill_server, start_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]


def page_server(port: int, html: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def shared(frame: Frame, wait_s: float = 0) -> bool:
    """Whether the frame shows the shared page (and not the browser's refusal), waiting up to `wait_s` for it."""
    try:
        if wait_s:
            frame.wait_for_selector("#clicklake-share", state="attached", timeout=wait_s * 1000)
        return frame.query_selector("#clicklake-share") is not None
    except Exception:
        return False


def frame_named(page: Page, name: str, wait_s: float = 10) -> Frame | None:
    """The page's frame called `name`, waiting up to `wait_s` for it: the frame of a refused page is
    swapped for the browser's error page, and for a moment after `load` it may have no name."""
    deadline = time.monotonic() + wait_s
    while (frame := page.frame(name=name)) is None and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return frame


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], int, int]]:
    root: Path = tmp_path_factory.mktemp("embed")
    (root / "data").mkdir()
    allowed, stranger = free_port(), free_port()
    with Metadata(f"sqlite:///{root / 'data' / 'metadata.sqlite3'}") as md:
        site = md.create_site("Blog", "blog.example", [f"http://localhost:{allowed}"])
        shares = Shares(md)
        tokens = {"embed": shares.create(site.site_id, embed=True)[1], "plain": shares.create(site.site_id)[1]}
    proc, base = start_server(root, command="web")
    try:
        yield base, tokens, allowed, stranger
    finally:
        kill_server(proc)


def test_an_embeddable_link_is_framed_by_the_sites_origin_only(setup: tuple[str, dict[str, str], int, int]) -> None:
    base, tokens, allowed, stranger = setup
    frames = "".join(f'<iframe name="{k}" src="{base}/share/{t}"></iframe>' for k, t in tokens.items())
    servers = [page_server(allowed, frames), page_server(stranger, frames)]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://localhost:{allowed}/", wait_until="load")
                embed, plain = frame_named(page, "embed"), frame_named(page, "plain")
                assert embed is not None and plain is not None
                assert shared(embed, wait_s=10), "the site's own origin may frame an embeddable link"
                assert not shared(plain), "a link not made to embed is never framed"
                # the framed page reads with the session it was given, whatever the browser does with cookies
                status = embed.evaluate(
                    """async () => {
                        const s = JSON.parse(document.getElementById('clicklake-share').textContent);
                        const r = await fetch('/api/me', {headers: {Authorization: 'Bearer ' + s.session}});
                        return [r.status, (await r.json()).via];
                    }"""
                )
                assert status == [200, "share"]
                page.goto(f"http://localhost:{stranger}/", wait_until="load")
                other = frame_named(page, "embed")
                assert other is not None and not shared(other), "an origin the site does not allow may not frame it"
            finally:
                browser.close()
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
