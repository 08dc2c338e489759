"""Demo traffic: made-up but realistic visits, sent through the collector's real HTTP API.

- `world`: the made-up businesses (a comparison site, a shop, restaurant menus), their
  visitors' countries, networks and browsers, and their campaigns: fixed data;
- `traffic`: visits drawn from that world, as the requests a browser makes (pure, seeded);
- `send`: those requests sent at a rate, and what became of every event (`Summary`).

`demo_site` finds or creates the site the demo sends to, with its tracked links; `run`
sends traffic and blocks until it is done (`clicklake demo`); `run_beside_server` is
what `clicklake up --demo` runs in a thread next to the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import sys
import threading
import time
from typing import TYPE_CHECKING, Final

import httpx
import sqlalchemy as sa

from clicklake.demo import world
from clicklake.demo.send import Sender, Summary, is_loopback
from clicklake.demo.traffic import DemoLinks, Traffic
from clicklake.errors import InputError, TerminalError

if TYPE_CHECKING:
    from collections.abc import Callable

    from clicklake.collect.metadata import Metadata, Site

__all__ = ["DemoLinks", "Summary", "demo_site", "local_url", "page_origin", "run", "run_beside_server"]

log = logging.getLogger(__name__)

SITE_NAME: Final = "demo"
SITE_DOMAIN: Final = "demo.example"
#: `clicklake up --demo` first sends this many events at this rate, to have something to look at...
BURST_EVENTS: Final = 2000
BURST_RATE: Final = 200.0
#: ...then keeps a trickle going (events per second, about a visit every few seconds) for live views.
TRICKLE_RATE: Final = 1.0
TRY_SQL: Final = "select event_type, count(*) as events from bronze.events group by all order by events desc"

Phases = list[tuple[int | None, float]]


def demo_site(metadata: Metadata, site_id: str | None = None) -> tuple[Site, DemoLinks]:
    """The site to send to (`site_id`, or the one named "demo", created if missing) with the demo's links.

    The tracked links (an affiliate link per product of the comparison site, a QR code
    per restaurant) are found by their targets and created when the site lacks them.

    Raises:
        InputError: `site_id` names no site.
    """
    from clicklake.collect.metadata import links_table

    if site_id is not None:
        site = metadata.site(site_id)
        if site is None:
            raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
    else:
        site = next((s for s in metadata.sites() if s.name == SITE_NAME), None)
        if site is None:
            site = metadata.create_site(SITE_NAME, SITE_DOMAIN)
    t = links_table
    with metadata.engine.connect() as con:
        rows = con.execute(sa.select(t.c.kind, t.c.target, t.c.link_id).where(t.c.site_id == site.site_id))
        existing = {(kind, target): link_id for kind, target, link_id in rows}

    def link(kind: str, target: str, payout_cents: int | None = None) -> str:
        found = existing.get((kind, target))
        if found is None:
            found = metadata.create_link(site.site_id, target, kind=kind, payout_cents=payout_cents).link_id
        return found

    domain = page_origin(site).split("://", 1)[1]
    links = DemoLinks(
        affiliate={
            slug: link("affiliate", world.affiliate_target(p), p.payout_cents) for slug, p in world.PRODUCTS.items()
        },
        qr={r.slug: link("qr", world.menu_target(domain, r)) for r in world.RESTAURANTS},
    )
    return site, links


def local_url(host: str, port: int) -> str:
    """The URL of a server bound to `host`: a wildcard address is reached on the loopback one."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def page_origin(site: Site) -> str:
    """Where the demo's pages live: the site's first allowed origin, else https://DOMAIN."""
    return site.allowed_origins[0] if site.allowed_origins else f"https://{site.domain}"


def run(
    url: str,
    site: Site,
    links: DemoLinks,
    phases: Phases,
    *,
    seed: int | None = None,
    on_sent: Callable[[int], object] | None = None,
    stop: threading.Event | None = None,
) -> Summary:
    """Send each phase's events (None: until `stop`) at its rate to the collector at `url`; block until done.

    `stop` may be set from any thread (or a signal handler): requests in flight finish,
    and the summary counts them.

    Raises:
        TerminalError: the collector does not answer at `url`.
    """
    origin = page_origin(site) if site.allowed_origins else None
    traffic = Traffic(page_origin(site), links, seed)
    _quiet_httpx()

    async def main() -> Summary:
        sender = Sender(url, site.write_key, origin, traffic, on_sent=on_sent)
        await _check(url)
        watcher = asyncio.create_task(_watch(stop, sender.stop)) if stop is not None else None
        try:
            return await sender.run(phases)
        finally:
            if watcher is not None:
                watcher.cancel()

    return asyncio.run(main())


def _quiet_httpx() -> None:
    """httpx logs every request at INFO, hundreds a second here: keep that for debug logs only."""
    logger = logging.getLogger("httpx")
    if logger.level == logging.NOTSET and logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.WARNING)


async def _check(url: str) -> None:
    try:
        async with httpx.AsyncClient(timeout=5.0, trust_env=not is_loopback(url)) as client:
            (await client.get(url.rstrip("/") + "/healthz")).raise_for_status()
    except httpx.HTTPError as exc:
        raise TerminalError(
            f"The collector does not answer at {url} ({exc}). Start it with 'clicklake up', or name it with --url."
        ) from None


async def _watch(stop: threading.Event, sender_stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.1)
    sender_stop.set()


def run_beside_server(url: str, metadata: Metadata, stop: threading.Event) -> Summary | None:
    """For `clicklake up --demo`: once the server answers, a burst of traffic, then a trickle until `stop`.

    Never raises: the platform goes on without demo traffic if it fails, and says why in the log.
    """
    _quiet_httpx()
    try:
        while not stop.is_set():
            try:
                if httpx.get(url + "/healthz", timeout=1.0, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            stop.wait(0.1)
        if stop.is_set():
            return None
        site, links = demo_site(metadata)
        command = sys.argv[0] if os.path.basename(sys.argv[0]) == "clicklake" else "clicklake"
        print(
            f"Demo traffic: {BURST_EVENTS} events for site {SITE_NAME!r} ({site.site_id}) now, "
            f"then about {TRICKLE_RATE:g} a second. See them (from another terminal):\n"
            f"  {shlex.quote(command)} query {shlex.quote(TRY_SQL)}",
            flush=True,
        )
        started = time.monotonic()
        summary = run(url, site, links, [(BURST_EVENTS, BURST_RATE), (None, TRICKLE_RATE)], stop=stop)
    except Exception:
        log.exception("demo traffic stopped; the platform goes on without it")
        return None
    if summary.error:
        log.error("demo traffic stopped: %s", summary.error)
    log.info("demo traffic over %.0f s: %s", time.monotonic() - started, summary.line())
    return summary
