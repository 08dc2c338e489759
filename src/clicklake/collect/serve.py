"""`clicklake collect`: the collector alone, in N worker processes that share one listening socket.

This is the scale-out shape: collectors on as many cores and machines as the traffic
needs, each appending to the stream, and the loader elsewhere (`clicklake load`).
Python runs one request at a time per process, so a second core needs a second
process; the stream takes appends from several processes at once.

The parent binds the port, then supervises with uvicorn's multi-worker mode: a
worker that dies is replaced, SIGHUP replaces them one by one. Each worker builds
its app with `worker_app` and opens its own stream and metadata handles (workers are
spawned, fresh processes: nothing open is shared); they are closed when it stops. Their
metrics are summed across workers (`clicklake.collect.metrics`). SIGINT or
SIGTERM: the workers stop accepting, finish the requests in flight (a 200 is only
ever sent after its durable append) and close their handles; then the parent
exits 0. A worker that cannot start stops the whole command with an error.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from clicklake import __version__
from clicklake.config import Settings
from clicklake.errors import ConfigError, TerminalError
from clicklake.stream import stream_from_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger("clicklake.collect")

#: How long the parent waits for every worker to answer before it says it is up.
READY_TIMEOUT_S: Final = 60.0


def worker_app(settings: Settings) -> Starlette:
    """The app of one worker (the factory uvicorn calls in each worker process).

    Opens this process's stream and metadata handles, loads the enrichment data before
    the first request, and closes the handles at lifespan shutdown.
    """
    from clicklake.collect import enrich
    from clicklake.collect.app import create_app
    from clicklake.collect.metadata import Metadata
    from clicklake.collect.protocol import HeaderDeadlineProtocol

    # a spawned worker imports the protocol class afresh: its deadline comes from these settings
    HeaderDeadlineProtocol.header_timeout_s = settings.collect.header_timeout_s
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
    )
    enrich.preload()
    stream = stream_from_settings(settings)
    metadata = Metadata.open(settings)
    app = create_app(settings, stream=stream, metadata=metadata)

    @contextlib.asynccontextmanager
    async def lifespan(_app: object) -> AsyncIterator[None]:
        try:
            yield
        finally:
            metadata.close()
            stream.close()

    app.router.lifespan_context = lifespan
    return app


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, which also tells a stop that was asked for from one caused by a failed worker."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], url: str) -> None:
        super().__init__(config, sockets)
        self.url = url
        self.asked_to_stop = False

    def init_processes(self) -> None:
        super().init_processes()
        if all(p.wait_until_ready(READY_TIMEOUT_S, self.should_exit) for p in self.processes):
            n = len(self.processes)
            print(
                f"clicklake {__version__} collecting at {self.url} with {n} worker{'s' if n > 1 else ''} "
                f"(POST {self.url}/v1/events; health: {self.url}/healthz)",
                flush=True,
            )
            print("No loader runs here: run 'clicklake load' beside it. Ctrl-C or SIGTERM stops.", flush=True)

    def handle_int(self) -> None:
        self.asked_to_stop = True
        super().handle_int()

    def handle_term(self) -> None:
        self.asked_to_stop = True
        super().handle_term()


def run(settings: Settings, workers: int) -> None:
    """Serve the collector with `workers` processes until SIGINT or SIGTERM.

    Raises:
        ConfigError: `workers` is below 1, the port is taken, or the stream or metadata
            database cannot be opened.
        TerminalError: a worker failed to start (its error is logged above).
    """
    from clicklake.collect.metadata import Metadata
    from clicklake.collect.metrics import MULTIPROCESS_ENV
    from clicklake.collect.protocol import uvicorn_options
    from clicklake.up import _listen

    if workers < 1:
        raise ConfigError(f"--workers {workers}: there must be at least one worker.")
    # Created here once, so that the workers do not race to create the stream's and the
    # metadata database's tables, and a bad setting is one clear error before any spawn.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stream_from_settings(settings).close()
    Metadata.open(settings).close()
    host, port = settings.server.host, settings.server.port
    sock = _listen(host, port)
    options = uvicorn_options(settings)
    options["lifespan"] = "on"  # the workers close their handles at lifespan shutdown
    config = uvicorn.Config(
        functools.partial(worker_app, settings), factory=True, host=host, port=port, workers=workers, **options
    )
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    supervisor = _Supervisor(config, [sock], url)
    # The workers count into files here, and /metrics sums them (see clicklake.collect.metrics);
    # spawned workers inherit the variable. A fresh directory per run: counts start at zero.
    counts = tempfile.TemporaryDirectory(prefix="clicklake-metrics-")
    before = os.environ.get(MULTIPROCESS_ENV)
    os.environ[MULTIPROCESS_ENV] = counts.name
    try:
        supervisor.run()
    finally:
        sock.close()
        if before is None:
            os.environ.pop(MULTIPROCESS_ENV, None)
        else:
            os.environ[MULTIPROCESS_ENV] = before
        counts.cleanup()
    if not supervisor.asked_to_stop:
        raise TerminalError("a collector worker failed to start (its error is above); nothing is being served")
    log.info("stopped: every worker finished its requests and closed its stream")
