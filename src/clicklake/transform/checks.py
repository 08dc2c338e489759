"""Data-quality checks: SQL assertions over what a run is about to publish (seed 004's DQ suites).

Each check is one query that counts the rows (or days, or keys) that break a rule and
names the first few. A `block` check that fails stops the run before the table it
guards is published: the previous snapshot stays current, and the report says which
check failed and on what. A `warn` check is reported only. Results go to
`gold.dq_results` (one row per check per run) and to `/metrics`.

The checks read `new_<table>` views over the files a stage has written and not yet
committed, the published tables they come from (`bronze.events`, `silver.*`), and the
temporary tables of the run (`scope`, `filtered_events`, `session_events`, and
`bronze_day_counts`: bronze rows per event day, counted from the Iceberg manifests'
record counts rather than by the SQL that built silver).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import duckdb
import msgspec

from clicklake.schema.events import EVENT_TYPES
from clicklake.transform.sql import text

Severity = Literal["block", "warn"]

DEVICE_TYPES: Final = ("desktop", "mobile", "tablet", "bot", "other")
CHANNELS: Final = ("search", "social", "email", "campaign", "direct", "internal", "other")
KPI_DIMENSIONS: Final = (
    "all",
    "page",
    "entry_page",
    "referrer",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "device",
    "browser",
    "os",
    "ab_variant",
)


class Check(msgspec.Struct, frozen=True):
    """A rule: `sql` returns one row (failing count, a few examples as text)."""

    stage: str
    name: str
    table: str
    severity: Severity
    sql: str


class CheckResult(msgspec.Struct, frozen=True):
    """How one check came out."""

    stage: str
    name: str
    table: str
    severity: Severity
    passed: bool
    failing: int
    detail: str

    @property
    def blocks(self) -> bool:
        return self.severity == "block" and not self.passed


def _values(values: Iterable[str]) -> str:
    return "(" + ", ".join(text(v) for v in values) + ")"


def violations(rows: str, describe: str) -> str:
    """A check query over `rows` (the offending rows), naming up to three by `describe`."""
    return (
        f"SELECT count(*), string_agg(example, '; ') FILTER (WHERE n <= 3) "
        f"FROM (SELECT {describe} AS example, row_number() OVER () AS n FROM ({rows}) AS bad) AS counted"
    )


def not_null(stage: str, table: str, view: str, columns: tuple[str, ...]) -> Check:
    condition = " OR ".join(f"{c} IS NULL" for c in columns)
    describe = " || ' ' || ".join(f"coalesce(CAST({c} AS VARCHAR), 'null')" for c in columns)
    return Check(
        stage,
        "keys_not_null",
        table,
        "block",
        violations(f"SELECT * FROM {view} WHERE {condition}", describe),
    )


def unique(stage: str, table: str, view: str, columns: tuple[str, ...]) -> Check:
    keys = ", ".join(columns)
    describe = " || ' ' || ".join(f"coalesce(CAST({c} AS VARCHAR), 'null')" for c in columns) + " || ' x' || copies"
    return Check(
        stage,
        "keys_unique",
        table,
        "block",
        violations(f"SELECT {keys}, count(*) AS copies FROM {view} GROUP BY ALL HAVING count(*) > 1", describe),
    )


def accepted(
    stage: str, table: str, view: str, column: str, values: Iterable[str], severity: Severity = "block"
) -> Check:
    return Check(
        stage,
        f"{column}_accepted",
        table,
        severity,
        violations(
            f"SELECT DISTINCT {column} FROM {view} WHERE {column} IS NOT NULL AND {column} NOT IN {_values(values)}",
            f"CAST({column} AS VARCHAR)",
        ),
    )


def silver_events_checks() -> list[Check]:
    stage, table, view = "silver.events", "silver.events", "new_silver_events"
    return [
        not_null(stage, table, view, ("site_id", "event_id", "event_type", "ts", "event_dt")),
        unique(stage, table, view, ("site_id", "event_id", "event_dt")),
        accepted(stage, table, view, "event_type", EVENT_TYPES),
        accepted(stage, table, view, "device_type", DEVICE_TYPES, "warn"),
        accepted(stage, table, view, "referrer_class", CHANNELS, "warn"),
        Check(
            stage,
            "event_dt_is_day_of_ts",
            table,
            "block",
            violations(
                f"SELECT * FROM {view} WHERE event_dt <> CAST(ts AS DATE) OR event_hour <> strftime(ts, '%H')",
                "event_id",
            ),
        ),
        # every bronze event of a rebuilt day is accounted for: kept, or left out with a reason
        Check(
            stage,
            "bronze_reconciliation",
            table,
            "block",
            violations(
                f"""
                WITH bronze AS (SELECT day, n FROM bronze_day_counts),
                kept AS (SELECT event_dt AS day, count(*) AS n FROM {view} GROUP BY 1),
                left_out AS (SELECT event_dt AS day, count(*) AS n FROM filtered_events GROUP BY 1)
                SELECT coalesce(b.day, k.day, f.day) AS day, coalesce(b.n, 0) AS bronze,
                    coalesce(k.n, 0) AS kept, coalesce(f.n, 0) AS left_out
                FROM bronze AS b
                FULL JOIN kept AS k ON k.day = b.day
                FULL JOIN left_out AS f ON f.day = coalesce(b.day, k.day)
                WHERE coalesce(b.n, 0) <> coalesce(k.n, 0) + coalesce(f.n, 0)
                """,
                "CAST(day AS VARCHAR) || ': bronze ' || bronze || ', kept ' || kept || ', left out ' || left_out",
            ),
        ),
    ]


def silver_sessions_checks() -> list[Check]:
    stage, table, view = "silver.sessions", "silver.sessions", "new_silver_sessions"
    return [
        not_null(stage, table, view, ("site_id", "session_id", "session_start_ts", "event_dt")),
        unique(stage, table, view, ("site_id", "session_id", "event_dt")),
        Check(
            stage,
            "session_shape",
            table,
            "block",
            violations(
                f"SELECT * FROM {view} WHERE session_end_ts < session_start_ts OR duration_ms < 0 "
                "OR events < 1 OR pageviews > events OR event_dt <> CAST(session_start_ts AS DATE)",
                "session_id",
            ),
        ),
        # every event of a rebuilt day belongs to exactly one session
        Check(
            stage,
            "events_in_one_session",
            table,
            "block",
            violations(
                "SELECT site_id, event_id, event_dt, count(*) AS n FROM session_events "
                "WHERE event_dt IN (SELECT day FROM scope) GROUP BY ALL HAVING count(*) > 1",
                "event_id || ' in ' || n || ' sessions'",
            ),
        ),
        Check(
            stage,
            "events_sessionised",
            table,
            "block",
            violations(
                """
                WITH events AS (
                    SELECT event_dt AS day, count(*) AS n FROM silver.events
                    WHERE event_dt IN (SELECT day FROM scope) GROUP BY 1
                ),
                assigned AS (
                    SELECT event_dt AS day, count(*) AS n FROM session_events
                    WHERE event_dt IN (SELECT day FROM scope) GROUP BY 1
                )
                SELECT coalesce(e.day, a.day) AS day, coalesce(e.n, 0) AS events, coalesce(a.n, 0) AS assigned
                FROM events AS e FULL JOIN assigned AS a ON a.day = e.day
                WHERE coalesce(e.n, 0) <> coalesce(a.n, 0)
                """,
                "CAST(day AS VARCHAR) || ': ' || events || ' events, ' || assigned || ' in sessions'",
            ),
        ),
        Check(
            stage,
            "pageviews_add_up",
            table,
            "block",
            violations(
                f"""
                WITH sessions AS (SELECT event_dt AS day, sum(pageviews) AS n FROM {view} GROUP BY 1),
                views AS (
                    SELECT session_dt AS day, count(*) AS n FROM session_events
                    WHERE is_page_view AND session_dt IN (SELECT day FROM scope) GROUP BY 1
                )
                SELECT coalesce(s.day, v.day) AS day, coalesce(s.n, 0) AS in_sessions, coalesce(v.n, 0) AS views
                FROM sessions AS s FULL JOIN views AS v ON v.day = s.day
                WHERE coalesce(s.n, 0) <> coalesce(v.n, 0)
                """,
                "CAST(day AS VARCHAR) || ': ' || in_sessions || ' in sessions, ' || views || ' page views'",
            ),
        ),
        Check(
            stage,
            "session_id_reused_across_days",
            table,
            "warn",
            violations(
                f"SELECT site_id, session_id FROM {view} GROUP BY ALL HAVING count(DISTINCT event_dt) > 1",
                "session_id",
            ),
        ),
    ]


def user_segments_checks(keys: Iterable[str]) -> list[Check]:
    stage, table, view = "silver.user_segments", "silver.user_segments", "new_user_segments"
    return [
        not_null(stage, table, view, ("site_id", "visitor_id", "segment_key", "valid_from")),
        accepted(stage, table, view, "segment_key", keys),
        Check(
            stage,
            "intervals_ordered_and_apart",
            table,
            "block",
            violations(
                f"""
                SELECT * FROM (
                    SELECT *, lag(valid_to) OVER w AS previous_to, lag(valid_from) OVER w AS previous_from
                    FROM {view}
                    WINDOW w AS (PARTITION BY site_id, visitor_id, segment_key ORDER BY valid_from)
                )
                WHERE valid_to <= valid_from
                    OR (previous_from IS NOT NULL AND (previous_to IS NULL OR previous_to >= valid_from))
                """,
                "visitor_id || ' ' || segment_key",
            ),
        ),
    ]


def gold_checks() -> list[Check]:
    stage = "gold"
    funnel, clicks, orders, kpi = "new_fact_funnel", "new_fact_affiliate_clicks", "new_fact_orders", "new_kpi_daily"
    return [
        not_null(stage, "gold.fact_funnel", funnel, ("site_id", "session_id", "event_dt")),
        unique(stage, "gold.fact_funnel", funnel, ("site_id", "session_id", "event_dt")),
        not_null(stage, "gold.fact_affiliate_clicks", clicks, ("site_id", "event_id", "session_id", "event_dt")),
        unique(stage, "gold.fact_affiliate_clicks", clicks, ("site_id", "event_id", "event_dt")),
        not_null(stage, "gold.fact_orders", orders, ("site_id", "order_id", "session_id", "event_dt")),
        unique(stage, "gold.fact_orders", orders, ("site_id", "order_id", "event_dt")),
        not_null(stage, "gold.kpi_daily", kpi, ("site_id", "event_dt", "dimension", "value")),
        unique(stage, "gold.kpi_daily", kpi, ("site_id", "event_dt", "dimension", "value")),
        accepted(stage, "gold.kpi_daily", kpi, "dimension", KPI_DIMENSIONS),
        accepted(stage, "gold.fact_funnel", funnel, "channel", CHANNELS, "warn"),
        Check(
            stage,
            "clicks_reconcile",
            "gold.fact_affiliate_clicks",
            "block",
            violations(
                f"""
                WITH facts AS (SELECT event_dt AS day, count(*) AS n FROM {clicks} GROUP BY 1),
                events AS (
                    SELECT event_dt AS day, count(*) AS n FROM silver.events
                    WHERE event_type = 'affiliate_click' AND event_dt IN (SELECT day FROM scope) GROUP BY 1
                )
                SELECT coalesce(f.day, e.day) AS day, coalesce(f.n, 0) AS facts, coalesce(e.n, 0) AS events
                FROM facts AS f FULL JOIN events AS e ON e.day = f.day
                WHERE coalesce(f.n, 0) <> coalesce(e.n, 0)
                """,
                "CAST(day AS VARCHAR) || ': ' || facts || ' facts, ' || events || ' clicks'",
            ),
        ),
        Check(
            stage,
            "revenue_reconciles",
            "gold.fact_orders",
            "block",
            violations(
                f"""
                WITH facts AS (SELECT event_dt AS day, sum(revenue_minor) AS n FROM {orders} GROUP BY 1),
                events AS (
                    SELECT event_dt AS day, sum(revenue_minor) AS n FROM silver.events
                    WHERE event_type = 'purchase' AND NOT is_duplicate_order
                        AND event_dt IN (SELECT day FROM scope)
                    GROUP BY 1
                )
                SELECT coalesce(f.day, e.day) AS day, coalesce(f.n, 0) AS facts, coalesce(e.n, 0) AS events
                FROM facts AS f FULL JOIN events AS e ON e.day = f.day
                WHERE coalesce(f.n, 0) <> coalesce(e.n, 0)
                """,
                "CAST(day AS VARCHAR) || ': ' || facts || ' in orders, ' || events || ' in purchases'",
            ),
        ),
        Check(
            stage,
            "kpi_sessions_reconcile",
            "gold.kpi_daily",
            "block",
            violations(
                f"""
                WITH kpi AS (
                    SELECT site_id, event_dt, sessions AS n FROM {kpi} WHERE dimension = 'all'
                ),
                sessions AS (
                    SELECT site_id, event_dt, count(*) AS n FROM silver.sessions
                    WHERE NOT is_bot AND event_dt IN (SELECT day FROM scope) GROUP BY ALL
                )
                SELECT coalesce(k.site_id, s.site_id) AS site_id, coalesce(k.event_dt, s.event_dt) AS day,
                    coalesce(k.n, 0) AS kpi, coalesce(s.n, 0) AS sessions
                FROM kpi AS k FULL JOIN sessions AS s ON s.site_id = k.site_id AND s.event_dt = k.event_dt
                WHERE coalesce(k.n, 0) <> coalesce(s.n, 0)
                """,
                "site_id || ' ' || CAST(day AS VARCHAR) || ': ' || kpi || ' in kpi, ' || sessions || ' sessions'",
            ),
        ),
        Check(
            stage,
            "one_currency_per_site_day",
            "gold.fact_orders",
            "warn",
            violations(
                f"SELECT site_id, event_dt, count(DISTINCT currency) AS n FROM {orders} "
                "GROUP BY ALL HAVING count(DISTINCT currency) > 1",
                "site_id || ' ' || CAST(event_dt AS VARCHAR) || ': ' || n || ' currencies'",
            ),
        ),
    ]


def run_checks(con: duckdb.DuckDBPyConnection, checks: Iterable[Check]) -> list[CheckResult]:
    """Run every check; a check whose query itself fails counts as failed, with the error as detail."""
    results = []
    for check in checks:
        try:
            rows = con.execute(check.sql).fetchall()
        except duckdb.Error as exc:
            results.append(
                CheckResult(check.stage, check.name, check.table, check.severity, False, -1, f"check failed: {exc}")
            )
            continue
        failing = int(rows[0][0]) if rows else 0
        detail = (rows[0][1] if rows else None) or ""
        results.append(CheckResult(check.stage, check.name, check.table, check.severity, failing == 0, failing, detail))
    return results


def python_check(stage: str, name: str, table: str, severity: Severity, failing: int, detail: str = "") -> CheckResult:
    """The result of a rule checked in Python (freshness, the models' fingerprint)."""
    return CheckResult(stage, name, table, severity, failing == 0, failing, detail)
