"""The servers `bench/collector.py` measures beside the collector, each in its own process.

    python bench/_servers.py baseline --port P --workers N   # FastAPI + pydantic v2 + SQLite
    python bench/_servers.py empty --port P --workers N      # uvicorn + an ASGI app that does nothing
    python bench/_servers.py raw --port P                    # the load generator's ceiling
    python bench/_servers.py profile --port P --out F        # one clicklake worker under cProfile

- `baseline`: the straightforward way to build the collector's `POST /v1/events`: a
  FastAPI route that checks the write key (`X-Write-Key` or `?key=`) and the `Origin`,
  validates the body with the pydantic v2 models of our contract
  (`_pydantic_contract.validate_batch`, pydantic's own JSON parser, strict), and inserts
  one row per event (ids, type, time, the event as JSON) into SQLite with one commit per
  request (WAL, `synchronous=NORMAL`: it survives a killed process, as our stream's
  default does). The route is `async def` and writes inline, which was faster than
  FastAPI's thread pool for a commit this short. Each worker has its own connection.
- `empty`: uvicorn and an ASGI callable that reads the body and answers a fixed 200: the
  most any ASGI app can do under this server on this machine.
- `raw`: one process of uvloop and httptools answering every request with a fixed 200,
  no ASGI: what the load generator can push through loopback here, with (almost) no
  server in the way.

`baseline` and `empty` run under the same uvicorn supervisor, options and worker count
as `clicklake collect`, so that only the app differs. Settings come from the
environment: `BENCH_DB` (the baseline's SQLite file, created by `create_db`),
`BENCH_WRITE_KEY`, `BENCH_ORIGIN`. SIGTERM stops every server.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at run
# time, and `Request` is imported inside `baseline_app`.
import argparse
import asyncio
import os
import signal
import socket
import sqlite3
import time
import uuid
from typing import Any, Final

_ANSWER: Final = b'{"accepted":1,"rejected":[]}'
SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS events (site_id TEXT, event_id TEXT, event_type TEXT, ts TEXT, "
    "received_ms INTEGER, payload TEXT)"
)


def _connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def create_db(path: str) -> None:
    """The baseline's database with its one table, made before any worker starts."""
    con = _connect(path)
    con.execute(SCHEMA)
    con.commit()
    con.close()


def count_rows(path: str) -> int:
    con = sqlite3.connect(path)
    try:
        n: int = con.execute("SELECT count(*) FROM events").fetchone()[0]
        return n
    finally:
        con.close()


def baseline_app() -> Any:
    """The FastAPI app of one baseline worker."""
    import pydantic
    from fastapi import FastAPI, Header, HTTPException, Request
    from pydantic import MISSING

    try:
        import _pydantic_contract as pyd
    except ModuleNotFoundError:  # pragma: no cover
        from bench import _pydantic_contract as pyd  # type: ignore[no-redef]

    sites = {os.environ["BENCH_WRITE_KEY"]: "site_baseline"}
    origins = {os.environ["BENCH_ORIGIN"]}
    con = _connect(os.environ["BENCH_DB"])
    app = FastAPI()

    @app.post("/v1/events")
    async def post_events(
        request: Request, key: str | None = None, x_write_key: str | None = Header(default=None)
    ) -> dict[str, Any]:
        site = sites.get(x_write_key or key or "")
        if site is None:
            raise HTTPException(401, "unknown write key")
        origin = request.headers.get("origin")
        if origin is not None and origin not in origins:
            raise HTTPException(403, f"origin {origin} is not allowed for this site")
        body = await request.body()
        try:
            events = pyd.validate_batch(body)
        except (pydantic.ValidationError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
        now = int(time.time() * 1000)
        rows = [
            (
                site,
                str(uuid.uuid4()) if e.event_id is MISSING else e.event_id,
                e.event_type,
                e.ts.isoformat(),
                now,
                e.model_dump_json(warnings=False),  # `ts` is typed str in, datetime out
            )
            for e in events
        ]
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.commit()
        return {"accepted": len(rows), "rejected": []}

    return app


async def empty_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the body, answer a fixed 200."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_ANSWER)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _ANSWER})


def empty_factory() -> Any:
    return empty_app


class _Raw(asyncio.Protocol):
    """HTTP/1.1 keep-alive with a fixed answer to every request."""

    RESPONSE: Final = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(_ANSWER)).encode()
        + b"\r\n\r\n"
        + _ANSWER
    )

    def connection_made(self, transport: Any) -> None:
        import httptools

        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        import httptools

        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(self.RESPONSE)


async def _serve_raw(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    server = await loop.create_server(_Raw, sock=sock, backlog=2048)
    async with server:
        await stop.wait()


def profiled_collector(sock: socket.socket, out: str) -> None:
    """One clicklake collector worker, in this process, under cProfile (settings from `CLICKLAKE_*`).

    The app is built (stream, metadata, enrichment data) before the profile starts. cProfile
    sees this thread only: the event loop, where everything but the stream append and the
    daily-salt lookup runs (those go to worker threads; /metrics times the append).
    """
    import cProfile

    import uvicorn

    from clicklake.collect import enrich
    from clicklake.collect.app import create_app
    from clicklake.config import load_settings
    from clicklake.wiring import metadata_from_settings, stream_from_settings

    profile = cProfile.Profile()

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            profile.enable()  # after uvicorn's own start-up (its imports, the lifespan)

    settings = load_settings()
    enrich.preload()
    app = create_app(settings, stream=stream_from_settings(settings), metadata=metadata_from_settings(settings))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=10)
    # uvicorn re-raises the signal that stopped it once it is done; with the default
    # handler that would end the process before the stats are written
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        Server(config).run(sockets=[sock])
    finally:
        profile.disable()
        profile.dump_stats(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("baseline", "empty", "raw", "profile"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", help="profile: where to write the cProfile stats")
    args = parser.parse_args()
    sock = socket.create_server(("127.0.0.1", args.port), backlog=2048)
    if args.kind == "profile":
        profiled_collector(sock, args.out)
        return
    if args.kind == "raw":
        import uvloop

        uvloop.run(_serve_raw(sock))
        return
    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess

    config = uvicorn.Config(
        f"_servers:{args.kind}_{'app' if args.kind == 'baseline' else 'factory'}",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    Multiprocess(config, sockets=[sock]).run()


if __name__ == "__main__":
    main()
