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
import socket
from collections.abc import Generator

import uvicorn

from clicklake import __version__
from clicklake.collect.app import create_app
from clicklake.config import Settings
from clicklake.errors import ConfigError

log = logging.getLogger("clicklake.up")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `run` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    """Bind before serving, so that a taken port is one clear error, not a traceback."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror}. "
            "Stop whatever uses it, or choose another port with --port or CLICKLAKE_SERVER__PORT."
        ) from None


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
    sock = _listen(settings.server.host, settings.server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    serving = asyncio.create_task(server.serve(sockets=[sock]), name="http")
    announcing = asyncio.create_task(_announce(server, settings), name="announce")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        stopping.cancel()
        announcing.cancel()
        serving.result()  # a server that died on its own raises here
        return
    log.info("stopping")
    announcing.cancel()
    server.should_exit = True
    await serving
