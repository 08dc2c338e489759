"""`clicklake up`: every stage that exists, supervised in one process.

The HTTP server runs in the asyncio loop; later stages (loader, transform
scheduler, realtime) join as tasks beside it. SIGINT or SIGTERM sets one
stop event: the server stops accepting, in-flight requests finish, each
stage flushes, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Generator

import uvicorn

from clicklake import __version__
from clicklake.collect.app import create_app
from clicklake.config import Settings

log = logging.getLogger("clicklake.up")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `run` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _announce(server: uvicorn.Server, settings: Settings) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    url = f"http://{settings.server.host}:{settings.server.port}"
    print(f"clicklake {__version__} is up at {url}  (health: {url}/healthz, schema: {url}/schema/v1.json)", flush=True)
    print("Press Ctrl-C to stop.", flush=True)


async def run(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    serving = asyncio.create_task(server.serve(), name="http")
    asyncio.create_task(_announce(server, settings), name="announce")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        stopping.cancel()
        serving.result()  # a server that died on its own (port taken, ...) raises here
        if not server.started:
            raise SystemExit(1)
        return
    log.info("stopping")
    server.should_exit = True
    await serving
