"""`clicklake realtime`: the realtime stage alone, serving its windows on a small HTTP endpoint.

`GET /live?site=S` answers the same JSON as the web stage's `/api/live`, `GET /sites`
every site's counters (what `/metrics` and the alert rules read, see `client.py`), and
`GET /healthz` says whether the reading thread runs. There are no accounts here: bind it to
loopback or a private network, and point the web stage's `realtime.url` at it; the web
stage applies the access rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Generator

import anyio.to_thread
import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clicklake.config import Settings
from clicklake.realtime.stage import Realtime

_json = msgspec.json.Encoder()


def create_app(realtime: Realtime) -> Starlette:
    """The endpoint of one realtime stage."""

    async def live(request: Request) -> Response:
        site = request.query_params.get("site", "")
        if not site:
            return Response(
                _json.encode({"error": "name the site: /live?site=SITE_ID"}), 400, media_type="application/json"
            )
        snap = await anyio.to_thread.run_sync(realtime.snapshot, site)
        return Response(_json.encode(snap), media_type="application/json", headers={"Cache-Control": "no-store"})

    async def sites(request: Request) -> Response:
        counters = realtime.windows.site_counters()
        body = {
            "complete_from": realtime.windows.complete_from,
            "records_read": realtime.records_read,
            "sites": {site: list(pair) for site, pair in counters.items()},
        }
        return Response(_json.encode(body), media_type="application/json", headers={"Cache-Control": "no-store"})

    async def healthz(request: Request) -> Response:
        ok = realtime.running
        body = {"status": "ok" if ok else "stopped", "records_read": realtime.records_read}
        return Response(_json.encode(body), 200 if ok else 503, media_type="application/json")

    return Starlette(
        routes=[
            Route("/live", live, methods=["GET"]),
            Route("/sites", sites, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def run(
    settings: Settings,
    realtime: Realtime,
    host: str,
    port: int,
    *,
    sock: socket.socket | None = None,
    started: Callable[[], None] | None = None,
) -> None:
    """Read the stream and serve the windows until SIGINT or SIGTERM (on `sock` if given, else `host:port`)."""
    realtime.start()
    config = uvicorn.Config(
        create_app(realtime),
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="off",
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:  # a child of `clicklake up` ignores SIGINT
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    serving = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started:
        if started is not None:
            started()
        else:
            print(f"clicklake realtime: live windows at http://{host}:{port}/live?site=SITE_ID", flush=True)
    try:
        await serving
    finally:
        await asyncio.to_thread(realtime.stop)
