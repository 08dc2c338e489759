"""Tracked links and the pixel: events that arrive as a plain GET.

- `GET /r/{link_id}` records an `affiliate_click` (or a `qr_scan` for a QR link) with the
  link's target and payout, then answers 302 to the target. The visitor is sent on even
  when the stream cannot take the click (a redirect that fails would cost the site the
  visitor); such a click is logged as lost, and it is the only event the collector can
  lose. A click over the per-IP or per-site rate limit is redirected too, but not
  recorded: it is logged and counted in `clicklake_rate_limited`. A browser sending DNT
  or GPC to a site that honours them is redirected without a record.
- `GET /r/{link_id}/qr.svg` renders the link's tracked URL as a QR code (segno), for
  table tents and flyers (seed 000).
- `GET /i.gif?key=...&event_type=page_view&...` records one event from its query string
  (for no-script pages and e-mail opens) and answers a 1x1 transparent GIF either way,
  so a broken pixel never shows; the outcome is in the `X-Clicklake` header.

Every event goes through the same `process` as `POST /v1/events`: validation, consent,
privacy and enrichment are not repeated here.
"""

from __future__ import annotations

import io
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
import msgspec
import segno
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clicklake.collect.ingest import admit, client_of
from clicklake.stream import StreamFullError, StreamUnavailableError

if TYPE_CHECKING:
    from clicklake.collect.metadata import Metadata

log = logging.getLogger(__name__)

#: A transparent 1x1 GIF.
PIXEL: Final = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
_NO_STORE: Final = {"Cache-Control": "no-store, max-age=0"}
#: Query-string fields of the pixel that are not event fields.
_PIXEL_META: Final = frozenset({"key", "consent", "sid", "uid", "aid", "url", "ref", "title"})


def _header(outcome: str) -> str:
    """An outcome as a header value: printable ASCII (a reason may quote what the client sent), at most 200."""
    text = outcome.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= 200 else text[:197] + "..."


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


async def _record(request: Request, site_id: str, event: dict[str, Any]) -> tuple[int, str]:
    """Judge and append one event; (accepted 0/1, outcome word) — never raises for the caller's answer."""
    state = request.app.state
    metadata: Metadata = state.metadata
    site = await anyio.to_thread.run_sync(metadata.site, site_id)
    if site is None:
        return 0, "no-site"
    client = client_of(request.headers, request.client.host if request.client else None, state.proxies)
    for limit, key, rate in (("ip", client.ip, None), ("site", site.site_id, site.rate_per_s)):
        if getattr(state, f"{limit}_limit").take(key, 1.0, rate):
            state.metrics.rate_limited.labels(limit).inc()
            log.warning("did not record a %s on site %s: %s rate limit", event.get("event_type"), site_id, limit)
            return 0, "rate-limited"
    try:
        outcome = await admit(request.app.state, site, client, [msgspec.json.encode(event)])
    except (StreamFullError, StreamUnavailableError) as exc:
        log.error("lost a %s on site %s: the stream did not take it (%s)", event.get("event_type"), site_id, exc)
        return 0, "stream-unavailable"
    if outcome.rejected:
        return 0, "rejected: " + outcome.rejected[0].error
    return 1, "consent-denied" if outcome.consent_denied else "accepted"


async def redirect(request: Request) -> Response:
    """`GET /r/{link_id}`: record the click, then 302 to the link's target."""
    metadata: Metadata = request.app.state.metadata
    link = await anyio.to_thread.run_sync(metadata.link, request.path_params["link_id"])
    if link is None:
        return Response("unknown link\n", status_code=404, media_type="text/plain", headers=_NO_STORE)
    if request.method == "HEAD":  # link checkers and previews: not a click
        return RedirectResponse(link.target, status_code=302, headers=_NO_STORE)
    now = time.time_ns() // 1_000_000
    user: dict[str, Any] = {"consent": {"analytics": True}}
    # the page the link was on is the page of the click
    ctx = {"page_url": referer} if (referer := request.headers.get("referer")) else {}
    event: dict[str, Any]
    if link.kind == "qr":
        qr: dict[str, Any] = {"link_id": link.link_id, "target": link.target[:1024]}
        if placement := request.query_params.get("at"):
            qr["placement"] = placement[:1024]
        event = {"event_type": "qr_scan", "ts": _iso(now), "user": user, "ctx": ctx, "qr": qr}
    else:
        affiliate: dict[str, Any] = {"link_id": link.link_id, "target": link.target}
        if link.payout_cents is not None:
            affiliate["payout_cents"] = link.payout_cents
        event = {"event_type": "affiliate_click", "ts": _iso(now), "user": user, "ctx": ctx, "affiliate": affiliate}
    _, outcome = await _record(request, link.site_id, event)
    return RedirectResponse(link.target, status_code=302, headers={**_NO_STORE, "X-Clicklake": _header(outcome)})


async def qr_svg(request: Request) -> Response:
    """`GET /r/{link_id}/qr.svg`: the tracked URL of a link as a QR code."""
    metadata: Metadata = request.app.state.metadata
    link = await anyio.to_thread.run_sync(metadata.link, request.path_params["link_id"])
    if link is None:
        return Response("unknown link\n", status_code=404, media_type="text/plain")
    url = str(request.url_for("redirect", link_id=link.link_id))
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, border=2, title=f"clicklake link {link.link_id}")
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


async def pixel(request: Request) -> Response:
    """`GET /i.gif`: one event from the query string; always the GIF, the outcome in `X-Clicklake`."""
    q = request.query_params
    metadata: Metadata = request.app.state.metadata
    key = q.get("key") or request.headers.get("x-write-key")
    site = metadata.site_by_key(key) if key else None
    if site is None:
        outcome = "unknown-key"
    else:
        now = time.time_ns() // 1_000_000
        event: dict[str, Any] = {k: v for k, v in q.items() if k not in _PIXEL_META}
        event.setdefault("event_type", "page_view")
        event.setdefault("ts", _iso(now))
        user: dict[str, Any] = {"consent": {"analytics": q.get("consent", "1") not in ("0", "false", "no")}}
        if uid := q.get("uid"):
            user["user_id_hash"] = uid
        if aid := q.get("aid"):
            user["anonymous_id"] = aid
        event["user"] = user
        ctx = {
            "page_url": q.get("url") or request.headers.get("referer"),
            "referrer": q.get("ref"),
            "title": q.get("title"),
        }
        event["ctx"] = {k: v for k, v in ctx.items() if v}
        if sid := q.get("sid"):
            event["session"] = {"session_id": sid}
        _, outcome = await _record(request, site.site_id, event)
    return Response(PIXEL, media_type="image/gif", headers={**_NO_STORE, "X-Clicklake": _header(outcome)})
