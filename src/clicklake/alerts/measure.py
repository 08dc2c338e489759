"""What each alert kind measures, and where from.

`Sources` holds what the evaluating process can see; a kind whose source is missing reads
as unknown (no notice either way). In `clicklake up` every source is there; `clicklake
alerts run` (beside separate stages) has the stream, the lake, the metadata database and
the disk, but not the live windows nor the HTTP and loader counters of other processes.

| kind                | source                                                               |
|---------------------|----------------------------------------------------------------------|
| no_events           | the realtime windows: when the site's newest event was appended      |
| traffic_drop/spike  | `silver.events`: the last closed hour against the same hour 1-4 weeks before |
| rejected_rate       | `clicklake_events{outcome}` over MINUTES (a site's rule: `clicklake_site_events`) |
| consent_denied_rate | the same counters                                                    |
| stream_lag          | the stream: the age of group `loader`'s oldest unread record         |
| loader_errors       | the loader's failure count over MINUTES                              |
| check_failed        | `clicklake_dq_check_passed` of the last transform run                |
| http_5xx_rate       | `clicklake_http_requests{status}` over MINUTES                       |
| disk_free           | `shutil.disk_usage` of the data directory                            |
| gold_freshness      | the newest `ts` the transform published (`silver.events`, written with gold) |
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from clicklake.alerts.rules import Rule

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from pyiceberg.catalog import Catalog

    from clicklake.collect.metadata import Metadata
    from clicklake.realtime.windows import SiteCounters
    from clicklake.stream import Stream


@dataclass
class Reading:
    """One rule's measure for one subject (a site id, or "" for the platform); `firing` None: unknown."""

    subject: str
    firing: bool | None
    value: float | None
    summary: str


@dataclass
class Sources:
    metadata: Metadata
    data_dir: Any
    stream: Stream | None = None
    catalog: Callable[[], Catalog] | None = None
    windows: SiteCounters | None = None
    registry: CollectorRegistry | None = None
    loader_failures: Callable[[], int] | None = None
    #: counter samples over time, for rates over MINUTES: name -> (monotonic s, value)
    history: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)
    #: the counters of this process are 0 when it starts (`clicklake up` makes the sources then)
    started: float = field(default_factory=time.monotonic)

    def remember(self, name: str, value: float, keep_s: float) -> float:
        """Record a counter's value now; return how much it grew over the last `keep_s` seconds.

        The first time, the counter's start (0 when the process started) is the baseline, so
        what it counted before the first evaluation is not lost.
        """
        now = time.monotonic()
        samples = self.history.get(name)
        if samples is None:
            samples = self.history[name] = deque([(self.started, 0.0)])
        samples.append((now, value))
        while len(samples) > 1 and samples[1][0] <= now - keep_s:
            samples.popleft()
        return value - samples[0][1]


def measure(rule: Rule, src: Sources, now_ms: int) -> list[Reading]:
    """The rule's readings now, one per subject it watches."""
    kind = rule.kind
    if kind in ("no_events", "traffic_drop", "traffic_spike"):
        sites = [rule.site_id] if rule.site_id else [s.site_id for s in src.metadata.sites()]
        if kind == "no_events":
            return [_no_events(rule, src, site, now_ms) for site in sites]
        return [_traffic(rule, src, site, now_ms) for site in sites]
    if kind in ("rejected_rate", "consent_denied_rate"):
        return [_event_rate(rule, src)]
    if kind == "stream_lag":
        return [_stream_lag(rule, src)]
    if kind == "loader_errors":
        if src.loader_failures is None:
            return [Reading("", None, None, "the loader does not run in this process")]
        grew = src.remember(f"{rule.rule_id}:loader", src.loader_failures(), _minutes(rule) * 60)
        limit = rule.threshold or 1
        return [Reading("", grew >= limit, grew, f"{grew:g} loader failures in the last {_minutes(rule):g} minutes")]
    if kind == "check_failed":
        return [_checks(src)]
    if kind == "http_5xx_rate":
        return [_http_5xx(rule, src)]
    if kind == "disk_free":
        usage = shutil.disk_usage(src.data_dir)
        free = 100 * usage.free / usage.total
        limit = rule.threshold if rule.threshold is not None else 10
        return [Reading("", free < limit, free, f"{free:.1f} % free on the disk of {src.data_dir}")]
    if kind == "gold_freshness":
        return [_freshness(rule, src, now_ms)]
    return [Reading("", None, None, f"unknown kind {kind!r}")]


def _minutes(rule: Rule) -> float:
    return rule.minutes if rule.minutes is not None else 10.0


def _no_events(rule: Rule, src: Sources, site: str, now_ms: int) -> Reading:
    if src.windows is None:
        return Reading(site, None, None, "the realtime stage does not run in this process")
    last = src.windows.last_append(site)
    since = last if last is not None else src.windows.complete_from
    quiet_min = (now_ms - since) / 60_000
    what = "its last event" if last is not None else "the live windows' start, with no event since"
    return Reading(site, quiet_min >= _minutes(rule), quiet_min, f"{quiet_min:.1f} minutes since {what}")


def _traffic(rule: Rule, src: Sources, site: str, now_ms: int) -> Reading:
    if src.catalog is None:
        return Reading(site, None, None, "no lake in this process")
    from clicklake.query.engine import QueryError, query

    hour = datetime.fromtimestamp(now_ms / 1000, UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    hours = [hour - timedelta(weeks=w) for w in range(5)]
    cases = ", ".join(
        f"count(*) filter (where event_dt = date '{h.date()}' and event_hour = '{h.hour:02d}') as w{w}"
        for w, h in enumerate(hours)
    )
    days = ", ".join(f"date '{h.date()}'" for h in hours)
    sql = f"select {cases} from silver.events where site_id = '{site}' and event_dt in ({days})"
    try:
        row = query(src.catalog, sql).to_pylist()[0]
    except QueryError as exc:
        return Reading(site, None, None, f"silver.events could not be read: {exc}")
    now_count = int(row["w0"])
    baseline = sum(int(row[f"w{w}"]) for w in range(1, 5)) / 4
    if baseline < 10:
        return Reading(site, False, now_count, f"{now_count} events in the hour from {hour:%H:00}; too little history")
    change = 100 * (now_count - baseline) / baseline
    limit = rule.threshold if rule.threshold is not None else 50
    firing = change <= -limit if rule.kind == "traffic_drop" else change >= limit
    summary = f"{now_count} events in the hour from {hour:%Y-%m-%d %H:00} UTC, {change:+.0f} % against {baseline:.0f}"
    return Reading(site, firing, change, summary)


def _sample(registry: CollectorRegistry, name: str, match: Callable[[dict[str, str]], bool]) -> float:
    total = 0.0
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == name and match(s.labels):
                total += s.value
    return total


def _event_rate(rule: Rule, src: Sources) -> Reading:
    if src.registry is None:
        return Reading("", None, None, "the collector does not run in this process")
    outcome = "rejected" if rule.kind == "rejected_rate" else "consent_denied"
    keep = _minutes(rule) * 60
    site = rule.site_id or ""
    name = "clicklake_site_events_total" if site else "clicklake_events_total"
    mine: Callable[[dict[str, str]], bool] = (lambda x: x.get("site_id") == site) if site else (lambda x: True)
    bad = src.remember(
        f"{rule.rule_id}:bad",
        _sample(src.registry, name, lambda x: mine(x) and x.get("outcome") == outcome),
        keep,
    )
    total = src.remember(f"{rule.rule_id}:all", _sample(src.registry, name, mine), keep)
    rate = 100 * bad / total if total else 0.0
    limit = rule.threshold if rule.threshold is not None else 5
    return Reading(
        site, total > 0 and rate > limit, rate, f"{rate:.1f} % {outcome} of {total:g} events in {_minutes(rule):g} min"
    )


def _http_5xx(rule: Rule, src: Sources) -> Reading:
    if src.registry is None:
        return Reading("", None, None, "the HTTP server does not run in this process")
    keep = _minutes(rule) * 60
    name = "clicklake_http_requests_total"
    bad = src.remember(
        f"{rule.rule_id}:5xx", _sample(src.registry, name, lambda x: x.get("status", "").startswith("5")), keep
    )
    total = src.remember(f"{rule.rule_id}:all", _sample(src.registry, name, lambda x: True), keep)
    rate = 100 * bad / total if total else 0.0
    limit = rule.threshold if rule.threshold is not None else 1
    return Reading(
        "", total > 0 and rate > limit, rate, f"{rate:.1f} % 5xx of {total:g} answers in {_minutes(rule):g} min"
    )


def _stream_lag(rule: Rule, src: Sources) -> Reading:
    if src.stream is None:
        return Reading("", None, None, "no stream in this process")
    from clicklake.load import GROUP

    lags = src.stream.lag(GROUP)
    seconds = max((lag.seconds for lag in lags), default=0.0)
    records = sum(lag.records for lag in lags)
    limit = rule.threshold if rule.threshold is not None else 300
    return Reading("", seconds > limit, seconds, f"the loader is {seconds:.0f} s ({records} records) behind")


def _checks(src: Sources) -> Reading:
    if src.registry is None:
        return Reading("", None, None, "the transform does not run in this process")
    failed = []
    for metric in src.registry.collect():
        for s in metric.samples:
            if s.name == "clicklake_dq_check_passed" and s.value == 0:
                failed.append(f"{s.labels.get('check')} on {s.labels.get('table')} ({s.labels.get('severity')})")
    summary = "failed: " + ", ".join(sorted(failed)) if failed else "every check passed"
    return Reading("", bool(failed), float(len(failed)), summary)


def _freshness(rule: Rule, src: Sources, now_ms: int) -> Reading:
    if src.catalog is None:
        return Reading("", None, None, "no lake in this process")
    from pyiceberg.exceptions import NoSuchTableError

    from clicklake.alerts.metrics import event_seconds
    from clicklake.lake.bounds import upper_bound

    try:
        newest = event_seconds(upper_bound(src.catalog().load_table("silver.events"), "ts"), "ts")
    except NoSuchTableError:
        newest = None
    if newest is None:
        return Reading("", None, None, "gold holds no event yet")
    age_min = (now_ms / 1000 - newest) / 60
    limit = _minutes(rule) if rule.minutes is not None else 120
    return Reading("", age_min > limit, age_min, f"the newest event in gold is {age_min:.0f} minutes old")
