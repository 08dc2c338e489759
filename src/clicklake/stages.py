"""What each child of the process tree runs (`clicklake.tree.Target`s): one function per kind of child.

- `prepare`: creates the stream's, the metadata database's and the lake's tables once, before
  any child races to, and on a new data directory (option `web`) a first admin, whose login it
  prints once; then it ends. A bad setting stops the tree here, with its message.
- `http`: the collector's routes and, with option `web`, the dashboard and the JSON API, on
  the listening socket every HTTP worker shares; its live view and `/metrics` read the realtime
  child over `realtime.url`. SIGTERM: stop accepting, end open event streams, finish the
  requests in flight (a 200 is only sent after its durable append).
- `loader`: the stream into bronze; SIGTERM: load what the stream holds, commit, exit 0.
- `realtime`: the live windows, served on a loopback socket to the HTTP workers and the scheduler.
- `scheduler`: the periodic jobs (`clicklake.up.JOBS`), each in a thread of its own.
- `destinations`: the forwarder of the destinations (`clicklake.destinations`), one consumer group each.
- `export`: the warehouse export (`clicklake.export`), when `export.dsn` is set.
- `demo`: demo traffic through the HTTP port, for `clicklake up --demo`.

Every child opens its own stream, catalog and metadata handles. The loader and realtime
count their records in prometheus-client's multiprocess files (`StageCounts`), so that any
HTTP worker's `/metrics` shows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import uvicorn

from clicklake.config import Settings
from clicklake.tree import Child
from clicklake.wiring import (
    catalog_from_settings,
    loader_from_settings,
    metadata_from_settings,
    realtime_from_settings,
    stream_from_settings,
    web_from_settings,
)

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from clicklake.jobs import Step, Tools

log = logging.getLogger("clicklake.stages")

#: How often the loader and realtime children copy their counts to the multiprocess files.
COUNTS_EVERY_S = 1.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the child's SIGTERM handler stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def prepare(settings: Settings, child: Child) -> None:
    from clicklake.errors import ClicklakeError

    try:
        stream_from_settings(settings).close()
        with metadata_from_settings(settings) as metadata:
            if child.options.get("web"):
                web = web_from_settings(settings, metadata)
                web.routes()  # the web's own tables (alerts, shares, ...) are made here, not by racing workers
                if not web.accounts.users():
                    user, password = web.accounts.create_user("admin@localhost", admin=True)
                    again = "`clicklake users reset-password` sets a new one"
                    print(f"First login: {user.email} / {password}  (shown once; {again})", flush=True)
    except ClicklakeError as exc:
        print(f"clicklake: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    child.ready.set()


def http(settings: Settings, child: Child) -> None:
    asyncio.run(_serve_http(settings, child))


async def _serve_http(settings: Settings, child: Child) -> None:
    from clicklake.alerts.metrics import PipelineCollector
    from clicklake.collect import enrich
    from clicklake.collect.app import create_app
    from clicklake.collect.protocol import uvicorn_options

    enrich.preload()  # the user-agent rules and the country database, before the first request
    stream = stream_from_settings(settings)
    metadata = metadata_from_settings(settings)
    try:
        app = create_app(settings, stream=stream, metadata=metadata)
        closing = asyncio.Event()
        if child.options.get("web"):
            from clicklake.web.frames import FrameGuard

            web = web_from_settings(settings, metadata, ensure=False)  # its live view reads `realtime.url`
            app.router.routes.extend(web.routes())
            app.add_middleware(FrameGuard)  # no foreign page frames a response (shared links made to embed excepted)
            closing = web.closing
        if child.options.get("pipeline"):
            from clicklake.realtime.client import RemoteCounters

            catalog: list[Catalog] = []

            def lake() -> Catalog:
                if not catalog:
                    catalog.append(catalog_from_settings(settings))
                return catalog[0]

            live = RemoteCounters(settings.realtime.url) if settings.realtime.url else None
            pipeline = PipelineCollector(stream, lake, None, None, live, settings.data_dir)
            app.state.metrics.scraped.append(pipeline)
        server = _Server(uvicorn.Config(app, **uvicorn_options(settings)))

        def stop() -> None:
            closing.set()  # open live event streams end, so the server need not wait for them
            server.should_exit = True

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop)
        serving = asyncio.create_task(server.serve(sockets=list(child.sockets)))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            gc.freeze()  # the app built above lives as long as the worker: kept out of its collections' walk
            child.ready.set()
        await serving
    finally:
        metadata.close()
        stream.close()


class StageCounts:
    """`clicklake_stage_records_total{stage}` and `clicklake_loader_failures_total` of this process.

    Kept in prometheus-client's multiprocess files, where the sums over every process, those
    restarted included, are what `/metrics` shows. `update` adds what grew since its last call.
    """

    def __init__(self) -> None:
        from prometheus_client import Counter

        self.records = Counter("clicklake_stage_records", "Records through each stage", ("stage",), registry=None)
        self.failures = Counter(
            "clicklake_loader_failures", "Loader runs that failed and were restarted", registry=None
        )
        self._seen: dict[str, int] = {}

    def update(self, values: dict[str, int]) -> None:
        for name, value in values.items():
            grew = value - self._seen.get(name, 0)
            if grew > 0:
                (self.failures if name == "failures" else self.records.labels(name)).inc(grew)
                self._seen[name] = value


def _counting(
    read: Callable[[], dict[str, int]], stop: threading.Event, counts: StageCounts | None = None
) -> threading.Thread:
    counts = counts or StageCounts()

    def loop() -> None:
        while not stop.wait(COUNTS_EVERY_S):
            counts.update(read())
        counts.update(read())

    thread = threading.Thread(target=loop, name="counts", daemon=True)
    thread.start()
    return thread


def _stop_on_sigterm() -> threading.Event:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def loader(settings: Settings, child: Child) -> None:
    """The loader; one that cannot even open its tables (the warehouse unreachable) counts as failed and
    tries again with a growing pause, as a failed run does, rather than dying in a loop."""
    stop = _stop_on_sigterm()
    stream = stream_from_settings(settings)
    counts = StageCounts()
    child.ready.set()
    try:
        failed, backoff = 0, 1.0
        while True:
            try:
                the_loader = loader_from_settings(settings, stream)
                break
            except Exception:
                failed += 1
                counts.update({"failures": failed})
                log.exception("the loader cannot start; it tries again in %.0f s", backoff)
                if stop.wait(backoff):
                    return
                backoff = min(backoff * 2, 30.0)
        try:
            counting = _counting(
                lambda: {
                    "loader": the_loader.stats.events,
                    "quarantine": the_loader.stats.quarantined,
                    "failures": failed + the_loader.stats.failures,
                },
                stop,
                counts,
            )
            the_loader.run_supervised(stop)  # after `stop`: loads what the stream holds, commits
            counting.join()
            log.info("stopped: %d events loaded in this run, the last commit done", the_loader.stats.events)
        finally:
            the_loader.close()
    finally:
        stream.close()


def realtime(settings: Settings, child: Child) -> None:
    from clicklake.realtime import serve

    stop = threading.Event()
    stream = stream_from_settings(settings)
    try:
        stage = realtime_from_settings(settings, stream)
        counting = _counting(lambda: {"realtime": stage.records_read}, stop)
        asyncio.run(serve.run(settings, stage, "127.0.0.1", 0, sock=child.sockets[0], started=child.ready.set))
        stop.set()
        counting.join()
    finally:
        stream.close()


def scheduler(settings: Settings, child: Child) -> None:
    from clicklake.jobs import Tools
    from clicklake.up import JOBS

    stop = _stop_on_sigterm()
    tools = Tools(settings)
    threads = []
    try:
        for job in JOBS:
            interval = job.interval(settings)
            if interval <= 0:
                continue
            thread = threading.Thread(target=_every, args=(job.name, interval, job.start, settings, tools, stop))
            thread.start()
            threads.append(thread)
        child.ready.set()
        stop.wait()
        for thread in threads:
            thread.join()
    finally:
        tools.close()


def _every(
    name: str,
    interval: float,
    start: Callable[[Settings, Tools], Step],
    settings: Settings,
    tools: Tools,
    stop: threading.Event,
) -> None:
    try:
        step = start(settings, tools)
    except Exception:
        log.exception("the %s job could not start; it is off until the scheduler restarts", name)
        return
    while not stop.wait(interval):
        try:
            step()
        except Exception:
            log.exception("the %s job failed; it runs again in %.0f s", name, interval)


def destinations(settings: Settings, child: Child) -> None:
    """The destinations' forwarder (`clicklake destinations run`): each enabled destination from its own
    consumer group, the list re-read every few seconds."""
    from clicklake.destinations.forward import run_forever

    stop = _stop_on_sigterm()
    child.ready.set()
    run_forever(settings, stop)


def export(settings: Settings, child: Child) -> None:
    """The warehouse export (`clicklake export postgres`) every `export.interval_s`."""
    from clicklake.export.postgres import run_forever

    stop = _stop_on_sigterm()
    child.ready.set()
    run_forever(settings, stop)


def demo(settings: Settings, child: Child) -> None:
    from clicklake import demo as traffic

    stop = _stop_on_sigterm()
    url = traffic.local_url(settings.server.host, settings.server.port)
    with metadata_from_settings(settings) as metadata:
        child.ready.set()
        traffic.run_beside_server(url, metadata, stop)
