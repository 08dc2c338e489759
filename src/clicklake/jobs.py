"""The periodic jobs of the scheduler process: the transform, lake maintenance, alerts.

A job is a `Job(name, interval, start)`: in the scheduler child, `start(settings, tools)`
runs once and returns the step, which then runs every `interval(settings)` seconds in a
thread of its own (0 or less: the job is off). `clicklake.up.JOBS` lists them; adding one is
adding a line there. A step that raises is logged and runs again at the next interval; a step
still running when its interval ends delays the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from clicklake.config import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from pyiceberg.catalog import Catalog

    from clicklake.collect.metadata import Metadata
    from clicklake.realtime.windows import SiteCounters
    from clicklake.stream import Stream

log = logging.getLogger("clicklake.jobs")

Step = Callable[[], object]


class Tools:
    """What the jobs of one scheduler process share, each opened on first use (and closed by `close`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def stream(self) -> Stream:
        from clicklake.wiring import stream_from_settings

        return stream_from_settings(self.settings)

    @cached_property
    def catalog(self) -> Catalog:
        from clicklake.wiring import catalog_from_settings

        return catalog_from_settings(self.settings)

    @cached_property
    def metadata(self) -> Metadata:
        from clicklake.wiring import metadata_from_settings

        return metadata_from_settings(self.settings)

    @cached_property
    def registry(self) -> CollectorRegistry:
        """Every process's counters: the sums of prometheus-client's multiprocess files (or this process's own)."""
        import os

        from prometheus_client import REGISTRY, CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not directory:
            return REGISTRY
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return registry

    @cached_property
    def live(self) -> SiteCounters | None:
        """The realtime stage's counters, at `realtime.url`."""
        from clicklake.realtime.client import RemoteCounters

        return RemoteCounters(self.settings.realtime.url) if self.settings.realtime.url else None

    def sample(self, name: str) -> float:
        """The sum of every sample called `name` in `registry`."""
        return sum(s.value for m in self.registry.collect() for s in m.samples if s.name == name)

    def close(self) -> None:
        for name in ("stream", "metadata"):
            opened = self.__dict__.pop(name, None)
            if opened is not None:
                opened.close()


@dataclass(frozen=True)
class Job:
    name: str
    interval: Callable[[Settings], float]
    start: Callable[[Settings, Tools], Step]


def transform(settings: Settings, tools: Tools) -> Step:
    """Rebuild the silver and gold days that new bronze data touched; its series go to `/metrics`."""
    from prometheus_client import CollectorRegistry

    from clicklake.transform import TransformMetrics
    from clicklake.wiring import transformer_from_settings

    transformer = transformer_from_settings(settings, metrics=TransformMetrics(CollectorRegistry()))
    try:  # the silver and gold tables exist from the start: a query of them answers 0 rows, not "no such table"
        transformer.ensure_tables()
    except Exception:
        log.exception("could not create the silver and gold tables yet; the first transform run tries again")

    def step() -> None:
        report = transformer.run(wait=False)
        if report.outcome == "blocked":
            log.warning("transform: %s", report.blocked)
        elif report.outcome == "published":
            log.info("transform: %d event days rebuilt in %.1f s", len(report.days), report.seconds)

    return step


def maintenance(settings: Settings, tools: Tools) -> Step:
    """Compact, expire snapshots, remove old files, trim the stream, destroy cookieless-id salts older than 48 h."""
    from clicklake.wiring import maintain_all

    def step() -> None:
        report, trimmed = maintain_all(settings, tools.catalog, tools.stream)
        tools.metadata.destroy_old_salts()
        log.info(
            "maintenance: %d slices compacted, %d snapshots expired, %d files deleted, %d stream records trimmed",
            sum(len(t.compacted) for t in report.tables),
            sum(t.snapshots_expired for t in report.tables),
            sum(t.files_deleted for t in report.tables),
            trimmed.records,
        )

    return step


def alerts(settings: Settings, tools: Tools) -> Step:
    """Evaluate the alert rules over every process's figures, then send the e-mail reports that are due."""
    from clicklake.alerts import Evaluator, Rules, Sources
    from clicklake.alerts.email_reports import EmailReports, send_due

    sources = Sources(
        metadata=tools.metadata,
        data_dir=settings.data_dir,
        stream=tools.stream,
        catalog=lambda: tools.catalog,
        windows=tools.live,
        registry=tools.registry,
        loader_failures=lambda: int(tools.sample("clicklake_loader_failures_total")),
    )
    evaluator = Evaluator(Rules(tools.metadata), sources, settings.alerts)
    reports = EmailReports(tools.metadata)

    def step() -> None:
        try:
            evaluator.evaluate()
        finally:
            send_due(reports, lambda: tools.catalog, settings.alerts, datetime.now(UTC).date())

    return step
