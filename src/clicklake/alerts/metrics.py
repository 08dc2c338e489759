"""Pipeline series for `/metrics`, read when Prometheus scrapes (`clicklake up` registers them).

- `clicklake_stream_lag_records{group}`, `clicklake_stream_lag_seconds{group}`: every consumer
  group's unread records and the age of its oldest unread record (the seeds' IteratorAge);
- `clicklake_table_last_commit_timestamp_seconds{table}`: when each bronze, silver and gold
  table was last written (its current snapshot);
- `clicklake_table_newest_event_timestamp_seconds{table}`: the newest event time a table holds
  (from the manifests' column bounds); now minus it is the table's freshness;
- `clicklake_stage_records_total{stage}`: records through each stage of this process: `loader`
  (events into bronze), `quarantine`, `realtime` (stream records counted live). The collector's
  own is `clicklake_events_total{outcome}`;
- `clicklake_loader_failures_total`: loader runs that failed and were restarted;
- `clicklake_data_free_bytes`, `clicklake_data_size_bytes`: the free and total bytes of the
  data directory's file system;
- `clicklake_site_events_total{site}` and `clicklake_site_last_event_timestamp_seconds{site}`:
  per site, the events the realtime stage counted since it started, and when the newest was
  appended to the stream.

The lake is read at most every `LAKE_EVERY_S` seconds; a scrape between reads repeats the last.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from clicklake.realtime.windows import SiteCounters
    from clicklake.stream import Stream

log = logging.getLogger(__name__)

LAKE_EVERY_S: Final = 15.0
#: Each table and the column of its event time.
TABLES: Final = (
    ("bronze.events", "ts"),
    ("silver.events", "ts"),
    ("silver.sessions", "session_start_ts"),
    ("gold.fact_funnel", "session_start_ts"),
    ("gold.fact_affiliate_clicks", "ts"),
    ("gold.fact_orders", "ts"),
    ("gold.kpi_daily", "event_dt"),
)


class PipelineCollector(Collector):
    def __init__(
        self,
        stream: Stream,
        catalog: Callable[[], Catalog],
        stage_records: Callable[[], dict[str, int]] | None,
        loader_failures: Callable[[], int] | None,
        windows: SiteCounters | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.stream = stream
        self.catalog = catalog
        self.stage_records = stage_records
        self.loader_failures = loader_failures
        self.windows = windows
        self._lake: list[tuple[str, float | None, float | None]] = []
        self._lake_at = -LAKE_EVERY_S
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        records = GaugeMetricFamily(
            "clicklake_stream_lag_records", "Unread stream records, by consumer group", labels=["group"]
        )
        seconds = GaugeMetricFamily(
            "clicklake_stream_lag_seconds",
            "Age of the oldest unread stream record, by consumer group",
            labels=["group"],
        )
        for group in self.stream.stats().groups:
            records.add_metric([group.group], sum(lag.records for lag in group.lag))
            seconds.add_metric([group.group], max((lag.seconds for lag in group.lag), default=0.0))
        yield records
        yield seconds
        if self.stage_records is not None:  # else the stages count them in prometheus-client's multiprocess files
            stages = CounterMetricFamily(
                "clicklake_stage_records", "Records through each stage of this process", labels=["stage"]
            )
            for stage, n in sorted(self.stage_records().items()):
                stages.add_metric([stage], n)
            yield stages
        if self.loader_failures is not None:
            yield CounterMetricFamily(
                "clicklake_loader_failures", "Loader runs that failed and were restarted", value=self.loader_failures()
            )
        if self.data_dir is not None:
            usage = shutil.disk_usage(self.data_dir)
            yield GaugeMetricFamily("clicklake_data_free_bytes", "Free bytes on the data directory's disk", usage.free)
            yield GaugeMetricFamily("clicklake_data_size_bytes", "Size of the data directory's disk", usage.total)
        if self.windows is not None:
            events = CounterMetricFamily(
                "clicklake_site_events", "Events of each site counted by the realtime stage", labels=["site"]
            )
            last = GaugeMetricFamily(
                "clicklake_site_last_event_timestamp_seconds",
                "When each site's newest event was appended to the stream (Unix time)",
                labels=["site"],
            )
            for site, (counted, appended) in sorted(self.windows.site_counters().items()):
                events.add_metric([site], counted)
                if appended:
                    last.add_metric([site], appended / 1000)
            yield events
            yield last
        committed = GaugeMetricFamily(
            "clicklake_table_last_commit_timestamp_seconds",
            "When the table was last written (Unix time)",
            labels=["table"],
        )
        newest = GaugeMetricFamily(
            "clicklake_table_newest_event_timestamp_seconds",
            "The newest event time in the table (Unix time)",
            labels=["table"],
        )
        for table, commit_s, event_s in self._lake_state():
            if commit_s is not None:
                committed.add_metric([table], commit_s)
            if event_s is not None:
                newest.add_metric([table], event_s)
        yield committed
        yield newest

    def _lake_state(self) -> list[tuple[str, float | None, float | None]]:
        with self._lock:
            if time.monotonic() - self._lake_at < LAKE_EVERY_S:
                return self._lake
            self._lake_at = time.monotonic()
            try:
                self._lake = list(self._read_lake())
            except Exception:
                log.exception("reading the lake tables' freshness for /metrics failed")
            return self._lake

    def _read_lake(self) -> Iterator[tuple[str, float | None, float | None]]:
        from pyiceberg.exceptions import NoSuchTableError

        from clicklake.lake.bounds import upper_bound

        catalog = self.catalog()
        for name, column in TABLES:
            try:
                table = catalog.load_table(name)
            except NoSuchTableError:
                continue
            snapshot = table.current_snapshot()
            if snapshot is None:
                yield name, None, None
                continue
            yield name, snapshot.timestamp_ms / 1000, event_seconds(upper_bound(table, column), column)


def event_seconds(bound: object, column: str) -> float | None:
    """Unix seconds of a column bound: manifests hold microseconds for timestamps and days for dates."""
    if isinstance(bound, datetime):
        return bound.timestamp()
    if isinstance(bound, date):  # a day: its end is as fresh as it can be
        return datetime(bound.year, bound.month, bound.day, tzinfo=UTC).timestamp() + 86_400
    if isinstance(bound, int):
        return (bound + 1) * 86_400.0 if column.endswith("_dt") else bound / 1_000_000
    return None
