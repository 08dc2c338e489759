"""`clicklake up` and `clicklake collect`: the stages as a supervised process tree (`clicklake.tree`).

`clicklake up` runs, each in processes of its own (`clicklake.stages`):

    clicklake up                    the supervisor: binds the port, restarts, stops in order
    ├── http × N                    collector + dashboard + JSON API, one listening socket each on one port
    ├── realtime                    live windows, on a loopback port the HTTP workers ask
    ├── scheduler                   JOBS: transform, maintenance, alerts, each every its interval
    ├── loader                      stream → bronze
    ├── destinations                the accepted events forwarded to webhooks and GA4
    ├── export                      with export.dsn: the gold tables copied into PostgreSQL
    └── demo                        with --demo: traffic through the HTTP port

SIGINT or SIGTERM stops them in `stop_rank` order: demo, then the HTTP workers (they finish
their requests), then realtime and the scheduler, then the loader, which loads what the
stream holds and commits; then the supervisor exits 0. `/metrics` on any HTTP worker sums
every process's counters (prometheus-client's multiprocess mode, in a directory made for
the run) and reads the stream lag and table freshness at scrape time.

Adding a child is one line in `up_stages`; adding a periodic job is one line in `JOBS`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Final

from clicklake import __version__, jobs, stages
from clicklake.collect.metrics import MULTIPROCESS_ENV
from clicklake.collect.protocol import listen, listen_each
from clicklake.config import Settings
from clicklake.errors import ConfigError
from clicklake.jobs import Job
from clicklake.tree import Stage, Supervisor, start_fork_server

log = logging.getLogger("clicklake.up")

#: Niceness of the stages that need no quick answer, so that on busy cores the HTTP workers' answers come
#: first. The loader and realtime keep the default: the stream's backpressure waits on them, and a
#: loader that yields at full speed falls behind (measured: its lag grew past 100,000 records).
BACKGROUND: Final = {"nice": 5}
PERIODIC: Final = {"nice": 10}

#: The scheduler's periodic jobs: (name, seconds between runs from the settings, the job).
JOBS: Final = (
    Job("transform", lambda s: s.transform.interval_s, jobs.transform),
    Job("maintenance", lambda s: s.lake.maintain_interval_minutes * 60, jobs.maintenance),
    Job("alerts", lambda s: s.alerts.interval_s, jobs.alerts),
)


def up_stages(
    settings: Settings, workers: int, http: list[socket.socket], live: socket.socket | None, demo: bool
) -> list[Stage]:
    """The children of `clicklake up`, started by `start_rank` (tables first, then the HTTP workers, then the
    rest) and stopped by `stop_rank` (lower first)."""
    web = {"web": True, "pipeline": True}
    exporting = bool(settings.export.dsn)
    return [
        Stage("prepare", stages.prepare, once=True, options={"web": True}),
        Stage(
            "http",
            stages.http,
            count=workers,
            start_rank=1,
            stop_rank=1,
            sockets=(*http,),
            socket_each=True,
            options=web,
        ),
        Stage("loader", stages.loader, start_rank=2, stop_rank=3, stop_timeout_s=600.0),
        *([Stage("realtime", stages.realtime, start_rank=2, stop_rank=2, sockets=(live,))] if live else []),
        Stage("scheduler", stages.scheduler, start_rank=2, stop_rank=2, stop_timeout_s=120.0, options=PERIODIC),
        Stage("destinations", stages.destinations, start_rank=2, stop_rank=2, stop_timeout_s=60.0, options=BACKGROUND),
        *(
            [Stage("export", stages.export, start_rank=2, stop_rank=2, stop_timeout_s=120.0, options=PERIODIC)]
            if exporting
            else []
        ),
        *([Stage("demo", stages.demo, start_rank=2, stop_rank=0, once=True)] if demo else []),
    ]


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run(settings: Settings, *, workers: int | None = None, demo: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly; with `demo`, send demo traffic to the server too.

    Raises:
        ConfigError: `workers` below 1, the port taken, or a setting that opens nothing.
        TerminalError: a stage failed to start (its error is logged above), or the loader
            did not stop cleanly.
    """
    workers = default_workers() if workers is None else workers
    _check_workers(workers)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        http = _http_sockets(stack, settings, workers)
        stack.enter_context(_multiprocess_metrics())
        start_fork_server()
        live: socket.socket | None = None
        if not settings.realtime.url:  # else a `clicklake realtime` runs elsewhere
            live = stack.enter_context(listen("127.0.0.1", 0))
            settings.realtime.url = url_of("127.0.0.1", live.getsockname()[1])
        url = url_of(settings.server.host, settings.server.port)

        def announce() -> None:
            print(
                f"clicklake {__version__} is up at {url}  (health: {url}/healthz, schema: {url}/schema/v1.json)",
                flush=True,
            )
            login = "log in with the first login printed when the data directory was new"
            print(f"Dashboard: {url}/  ({login})", flush=True)
            print(f"Send events: POST {url}/v1/events with a write key from 'clicklake sites create'.", flush=True)
            print(f"{workers} HTTP worker{'s' if workers > 1 else ''}, realtime, scheduler, loader.", flush=True)
            print("Press Ctrl-C to stop.", flush=True)

        Supervisor(settings, up_stages(settings, workers, http, live, demo), on_ready=announce).run()
    log.info("stopped: the HTTP workers finished their requests, then the loader its last commit")


def collect(settings: Settings, workers: int) -> None:
    """`clicklake collect --workers N`: the collector's HTTP workers alone, no loader.

    Raises:
        ConfigError: `workers` below 1, the port taken, or the stream or metadata database
            cannot be opened.
        TerminalError: a worker failed to start (its error is logged above).
    """
    _check_workers(workers)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = url_of(settings.server.host, settings.server.port)

    def announce() -> None:
        print(
            f"clicklake {__version__} collecting at {url} with {workers} worker{'s' if workers > 1 else ''} "
            f"(POST {url}/v1/events; health: {url}/healthz)",
            flush=True,
        )
        print("No loader runs here: run 'clicklake load' beside it. Ctrl-C or SIGTERM stops.", flush=True)

    with contextlib.ExitStack() as stack:
        http = _http_sockets(stack, settings, workers)
        stack.enter_context(_multiprocess_metrics())
        start_fork_server()
        children = [
            Stage("prepare", stages.prepare, once=True, options={"web": False}),
            Stage("http", stages.http, count=workers, start_rank=1, sockets=(*http,), socket_each=True),
        ]
        Supervisor(settings, children, on_ready=announce).run()
    log.info("stopped: every worker finished its requests and closed its stream")


def _http_sockets(stack: contextlib.ExitStack, settings: Settings, workers: int) -> list[socket.socket]:
    """One listening socket per HTTP worker on the server's port, closed with `stack`."""
    http = listen_each(settings.server.host, settings.server.port, workers)
    for sock in http:
        stack.enter_context(sock)
    return http


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise ConfigError(f"--workers {workers}: there must be at least one worker.")


@contextlib.contextmanager
def _multiprocess_metrics() -> Iterator[None]:
    """Every child counts into files of a fresh directory (counts start at zero each run); spawned children
    inherit the variable before they import prometheus-client."""
    before = os.environ.get(MULTIPROCESS_ENV)
    with tempfile.TemporaryDirectory(prefix="clicklake-metrics-") as directory:
        os.environ[MULTIPROCESS_ENV] = directory
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(MULTIPROCESS_ENV, None)
            else:
                os.environ[MULTIPROCESS_ENV] = before
