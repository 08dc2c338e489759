"""`GET /api/live?site=S`: the realtime stage's live figures, as JSON or Server-Sent Events.

Access as the Stats API: a session cookie or a bearer token with scope `stats`, and only
for a site the caller may read (403 otherwise). With `Accept: text/event-stream` the
answer is an event stream: one `live` event at once, then one whenever the figures change
(checked every `_CHECK_S`) and at least one a second, whose `data` is the same JSON.

Where the figures come from (`LiveSource`):

- one process (`clicklake up`): `InProcess`, the `Realtime` object beside the server;
- separate processes: `Remote`, which asks a `clicklake realtime` at `realtime.url` for
  `GET /live?site=S` (that command serves it on loopback, without accounts: only the
  web stage should reach it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio.to_thread
import httpx
import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from clicklake.web.accounts import Principal

if TYPE_CHECKING:
    from clicklake.realtime import Realtime
    from clicklake.web.app import Web

_CHECK_S: Final = 0.2
_BEAT_S: Final = 1.0
#: An event stream ends after this long; EventSource reconnects by itself.
_STREAM_S: Final = 300.0
_json = msgspec.json.Encoder()


class LiveSource(Protocol):
    async def snapshot(self, site_id: str) -> dict[str, Any]: ...

    async def version(self, site_id: str) -> int: ...


class InProcess:
    """The realtime stage of this process."""

    def __init__(self, realtime: Realtime) -> None:
        self.realtime = realtime

    async def snapshot(self, site_id: str) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(self.realtime.snapshot, site_id)

    async def version(self, site_id: str) -> int:
        return self.realtime.windows.version(site_id)


class Remote:
    """A `clicklake realtime` serving `GET /live?site=S` at `base_url`."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=5, trust_env=False)

    async def snapshot(self, site_id: str) -> dict[str, Any]:
        r = await self.client.get("/live", params={"site": site_id})
        r.raise_for_status()
        out: dict[str, Any] = r.json()
        return out

    async def version(self, site_id: str) -> int:
        return int((await self.snapshot(site_id))["version"])


def routes(web: Web) -> list[BaseRoute]:
    """The live route, guarded by `web`'s access rules."""

    async def live(request: Request, principal: Principal) -> Response:
        from clicklake.web.app import HTTPError, _may_read, answer

        site = request.query_params.get("site", "")
        if not site:
            raise HTTPError(400, "name the site: /api/live?site=SITE_ID")
        _may_read(principal, [site])
        source = web.live
        if source is None:
            raise HTTPError(
                503,
                "the realtime stage does not run in this process; run 'clicklake up', "
                "or set realtime.url to a 'clicklake realtime'",
            )
        try:
            if "text/event-stream" in request.headers.get("accept", ""):
                first = await source.snapshot(site)
                return StreamingResponse(
                    _frames(source, site, first, web.closing),
                    media_type="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
                )
            return answer(await source.snapshot(site))
        except httpx.HTTPError as exc:
            raise HTTPError(503, f"the realtime stage at {web.settings.realtime.url} did not answer: {exc}") from None

    return [Route("/api/live", web.guarded(live, "stats"), methods=["GET"])]


async def _frames(source: LiveSource, site: str, first: dict[str, Any], closing: asyncio.Event) -> AsyncIterator[bytes]:
    snap = first
    started = last_sent = time.monotonic()
    yield _frame(snap)
    while not closing.is_set() and time.monotonic() - started < _STREAM_S:
        try:
            await asyncio.wait_for(closing.wait(), _CHECK_S)
            break
        except TimeoutError:
            pass
        try:
            version = await source.version(site)
            if version == snap["version"] and time.monotonic() - last_sent < _BEAT_S:
                continue
            snap = await source.snapshot(site)
        except httpx.HTTPError:
            continue  # a separate realtime stage that restarts: the next check tries again
        last_sent = time.monotonic()
        yield _frame(snap)


def _frame(snap: dict[str, Any]) -> bytes:
    return b"event: live\ndata: " + _json.encode(snap) + b"\n\n"
