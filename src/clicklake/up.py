"""`clicklake up`: every stage that exists, supervised in one process.

The HTTP server runs in the asyncio loop; the loader runs in a thread beside
it (its work is Parquet writes and DuckDB parses, which release the GIL);
the realtime stage reads the stream tail in a thread of its own (`start`,
`stop`) and the web routes read its windows directly (`web.live.InProcess`);
the transform and maintenance run as periodic tasks. SIGINT or
SIGTERM sets one stop event: the server stops accepting and in-flight
requests finish, then the loader loads what the stream holds, commits, and
the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Generator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import uvicorn

from clicklake import __version__
from clicklake.collect.app import create_app
from clicklake.collect.protocol import uvicorn_options
from clicklake.config import Settings
from clicklake.errors import ConfigError, TerminalError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from clicklake.collect.metadata import Metadata
    from clicklake.load import Loader
    from clicklake.realtime import Realtime
    from clicklake.web.app import Web

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
    print(f"Dashboard: {url}/  (log in with the first login printed when the data directory was new)", flush=True)
    print(f"Send events: POST {url}/v1/events with a write key from 'clicklake sites create'.", flush=True)
    print("Press Ctrl-C to stop.", flush=True)


async def _maintain_periodically(settings: Settings, loader: Loader, metadata: Metadata) -> None:
    """Every `lake.maintain_interval_minutes`: compact, expire snapshots, remove old files, trim the stream,
    and destroy the cookieless-id salts older than 48 h."""
    from clicklake.lake.catalog import catalog_from_settings
    from clicklake.load import maintain_all

    interval = settings.lake.maintain_interval_minutes * 60
    if interval <= 0:
        return
    catalog = catalog_from_settings(settings)
    while True:
        await asyncio.sleep(interval)
        try:
            report, trimmed = await asyncio.to_thread(maintain_all, settings, catalog, loader.stream)
            await asyncio.to_thread(metadata.destroy_old_salts)
        except Exception:
            log.exception("maintenance failed; it runs again in %.0f minutes", interval / 60)
            continue
        compacted = sum(len(t.compacted) for t in report.tables)
        expired = sum(t.snapshots_expired for t in report.tables)
        deleted = sum(t.files_deleted for t in report.tables)
        log.info(
            "maintenance: %d slices compacted, %d snapshots expired, %d files deleted, %d stream records trimmed",
            compacted,
            expired,
            deleted,
            trimmed.records,
        )


async def _transform_periodically(settings: Settings, app: Starlette) -> None:
    """Every `transform.interval_s`: rebuild the silver and gold days that new bronze data touched.

    Its series join the collector's on `/metrics`. A run still going when the interval ends
    delays the next one; one blocked by a failed check is logged, and the next run tries again.
    """
    from clicklake.transform import TransformMetrics, transformer_from_settings

    interval = settings.transform.interval_s
    if interval <= 0:
        return
    transformer = transformer_from_settings(settings, metrics=TransformMetrics(app.state.metrics.registry))
    try:  # the silver and gold tables exist from the start: a query of them answers 0 rows, not "no such table"
        await asyncio.to_thread(transformer.ensure_tables)
    except Exception:
        log.exception("could not create the silver and gold tables yet; the first transform run tries again")
    while True:
        await asyncio.sleep(interval)
        try:
            report = await asyncio.to_thread(transformer.run, wait=False)
        except Exception:
            log.exception("the transform failed; it runs again in %.0f s", interval)
        else:
            if report.outcome == "blocked":
                log.warning("transform: %s", report.blocked)
            elif report.outcome == "published":
                log.info("transform: %d event days rebuilt in %.1f s", len(report.days), report.seconds)


async def _alert_periodically(
    settings: Settings, metadata: Metadata, app: Starlette, loader: Loader, realtime: Realtime
) -> None:
    """Every `alerts.interval_s`: evaluate the alert rules with every source of this process, and send the
    scheduled e-mail reports that are due."""
    from clicklake.alerts import Evaluator, Rules, Sources
    from clicklake.alerts.email_reports import EmailReports, send_due
    from clicklake.lake.catalog import catalog_from_settings

    interval = settings.alerts.interval_s
    if interval <= 0:
        return
    catalog = catalog_from_settings(settings)
    sources = Sources(
        metadata=metadata,
        data_dir=settings.data_dir,
        stream=loader.stream,
        catalog=lambda: catalog,
        windows=realtime.windows,
        registry=app.state.metrics.registry,
        loader_failures=lambda: loader.stats.failures,
    )
    rules = await asyncio.to_thread(Rules, metadata)
    reports = await asyncio.to_thread(EmailReports, metadata)

    def send_reports() -> list[str]:
        return send_due(reports, lambda: catalog, settings.alerts, datetime.now(UTC).date())

    await Evaluator(rules, sources, settings.alerts).run(interval, after=send_reports)


async def _demo(settings: Settings, metadata: Metadata, stop: threading.Event) -> None:
    """Demo traffic (`clicklake.demo`) in a thread of its own, once the server answers."""
    from clicklake import demo

    url = demo.local_url(settings.server.host, settings.server.port)
    await asyncio.to_thread(demo.run_beside_server, url, metadata, stop)


async def run(settings: Settings, *, demo: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly; with `demo`, send demo traffic to the server too."""
    from clicklake.load import loader_from_settings, stream_from_settings
    from clicklake.realtime import realtime_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sock = _listen(settings.server.host, settings.server.port)
    from clicklake.collect import enrich
    from clicklake.collect.metadata import Metadata

    enrich.preload()  # the user-agent rules and the country database, before the first request
    stream = stream_from_settings(settings)
    # the realtime stage reads through a handle of its own: its frequent reads of the tail
    # never wait for the lock of the handle the collector appends through
    live_stream = stream_from_settings(settings)
    metadata = Metadata.open(settings)
    try:
        loader = loader_from_settings(settings, stream)
        realtime = realtime_from_settings(settings, live_stream)
        try:
            app = create_app(settings, stream=stream, metadata=metadata)
            web = _add_web(settings, metadata, app, realtime)
            _add_metrics(settings, app, loader, realtime)
            await _serve(settings, sock, loader, metadata, app, web, realtime, demo=demo)
        finally:
            loader.close()
    finally:
        metadata.close()
        live_stream.close()
        stream.close()


def _add_metrics(settings: Settings, app: Starlette, loader: Loader, realtime: Realtime) -> None:
    """Stream lag per consumer group, table freshness and per-stage records on `/metrics`."""
    from clicklake.alerts.metrics import PipelineCollector
    from clicklake.lake.catalog import catalog_from_settings

    def stage_records() -> dict[str, int]:
        stats = loader.stats
        return {"loader": stats.events, "quarantine": stats.quarantined, "realtime": realtime.records_read}

    catalog = catalog_from_settings(settings)
    collector = PipelineCollector(
        loader.stream,
        lambda: catalog,
        stage_records,
        lambda: loader.stats.failures,
        realtime.windows,
        settings.data_dir,
    )
    app.state.metrics.registry.register(collector)


def _add_web(settings: Settings, metadata: Metadata, app: Starlette, realtime: Realtime) -> Web:
    """The web stage's routes on the same port, reading the live figures of this process's realtime stage;
    on a new data dir, a first admin whose login is printed once."""
    from clicklake.web.app import web_from_settings
    from clicklake.web.frames import FrameGuard
    from clicklake.web.live import InProcess

    web = web_from_settings(settings, metadata)
    if not settings.realtime.url:
        web.live = InProcess(realtime)
    app.router.routes.extend(web.routes())
    app.add_middleware(FrameGuard)  # no foreign page frames a response (shared links made to embed excepted)
    if not web.accounts.users():
        user, password = web.accounts.create_user("admin@localhost", admin=True)
        print(
            f"First login: {user.email} / {password}  (shown once; `clicklake users reset-password` sets a new one)",
            flush=True,
        )
    return web


async def _serve(
    settings: Settings,
    sock: socket.socket,
    loader: Loader,
    metadata: Metadata,
    app: Starlette,
    web: Web,
    realtime: Realtime,
    *,
    demo: bool = False,
) -> None:
    config = uvicorn.Config(app, host=settings.server.host, port=settings.server.port, **uvicorn_options(settings))
    server = _Server(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    loader_stop = threading.Event()
    realtime.start()
    loading = asyncio.create_task(asyncio.to_thread(loader.run_supervised, loader_stop), name="loader")
    maintaining = asyncio.create_task(_maintain_periodically(settings, loader, metadata), name="maintenance")
    transforming = asyncio.create_task(_transform_periodically(settings, app), name="transform")
    alerting = asyncio.create_task(_alert_periodically(settings, metadata, app, loader, realtime), name="alerts")
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="http")
    announcing = asyncio.create_task(_announce(server, settings), name="announce")
    demo_stop = threading.Event()  # the demo stops before the server, so that no request of it is cut off
    demoing = asyncio.create_task(_demo(settings, metadata, demo_stop) if demo else asyncio.sleep(0), name="demo")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _ = await asyncio.wait({serving, stopping, loading}, return_when=asyncio.FIRST_COMPLETED)
        if stopping not in done:
            for task in done:
                task.result()  # a stage that died on its own raises here
            raise TerminalError(f"the {next(iter(done)).get_name()} stage stopped by itself")
        log.info("stopping: the server first, then the loader commits what the stream holds")
    finally:
        stopping.cancel()
        announcing.cancel()
        maintaining.cancel()
        transforming.cancel()
        alerting.cancel()
        demo_stop.set()
        await asyncio.gather(demoing, return_exceptions=True)
        web.closing.set()  # open live event streams end, so the server need not wait for them
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        loader_stop.set()
        await loading
        await asyncio.to_thread(realtime.stop)
    log.info("stopped: %d events loaded in this run", loader.stats.events)
