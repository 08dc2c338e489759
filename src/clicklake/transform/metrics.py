"""The transform's Prometheus series, registered on the registry that `/metrics` renders.

In `clicklake up` the transform runs in the scheduler process and its series reach `/metrics`
through prometheus-client's multiprocess files; a gauge shows the value its last writer set.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from clicklake.transform.checks import CheckResult


class TransformMetrics:
    """Every series the transform exports; `observe` updates them after each run."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.runs = Counter(
            "clicklake_transform_runs",
            "Transform runs by outcome (published, blocked, up_to_date, busy, failed)",
            ("outcome",),
            registry=r,
        )
        self.last_success = Gauge(
            "clicklake_transform_last_success_timestamp_seconds",
            "When the last transform run that published gold finished (Unix time)",
            multiprocess_mode="mostrecent",
            registry=r,
        )
        self.duration = Gauge(
            "clicklake_transform_run_seconds",
            "Duration of the last transform run",
            multiprocess_mode="mostrecent",
            registry=r,
        )
        self.lag = Gauge(
            "clicklake_transform_lag_seconds",
            "Age of the oldest bronze.events commit not yet in gold, after the last run (0 when up to date)",
            multiprocess_mode="mostrecent",
            registry=r,
        )
        self.rows = Gauge(
            "clicklake_transform_rows_written",
            "Rows written by the last run, by table",
            ("table",),
            multiprocess_mode="mostrecent",
            registry=r,
        )
        self.check_passed = Gauge(
            "clicklake_dq_check_passed",
            "1 when the data-quality check passed in the last run that ran it, else 0",
            ("stage", "check", "table", "severity"),
            multiprocess_mode="mostrecent",
            registry=r,
        )
        self.check_failing = Gauge(
            "clicklake_dq_check_failing_rows",
            "Rows (or days, or keys) failing the data-quality check in the last run that ran it",
            ("stage", "check", "table", "severity"),
            multiprocess_mode="mostrecent",
            registry=r,
        )

    def observe(
        self,
        outcome: str,
        seconds: float,
        finished: float,
        lag_s: float,
        rows: dict[str, int],
        checks: Iterable[CheckResult],
    ) -> None:
        """Record one run."""
        self.runs.labels(outcome).inc()
        self.duration.set(seconds)
        self.lag.set(lag_s)
        if outcome in ("published", "up_to_date"):
            self.last_success.set(finished)
        for table, count in rows.items():
            self.rows.labels(table).set(count)
        for c in checks:
            labels = (c.stage, c.name, c.table, c.severity)
            self.check_passed.labels(*labels).set(1 if c.passed else 0)
            self.check_failing.labels(*labels).set(max(c.failing, 0))
