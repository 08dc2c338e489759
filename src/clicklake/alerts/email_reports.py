"""Scheduled e-mail reports per site: the overview figures of the last week or month, with their change.

A report (table `email_reports` in the metadata database) sends a site's figures for the
last complete period (weekly: the ISO week Monday to Sunday before this one; monthly:
the calendar month before this one, UTC days) to one address, beside the period before
it. The figures are the Stats API's (`clicklake.query.stats`), so the SQL in the e-mail
gives the same numbers as the dashboard. `clicklake up` sends what is due on each alert
evaluation; a report remembers the last period it sent, so each period goes out once.
"""

from __future__ import annotations

import secrets
import time
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final, Literal, get_args

import msgspec
import sqlalchemy as sa

from clicklake.alerts.channels import send_email
from clicklake.alerts.rules import tables
from clicklake.config import AlertSettings
from clicklake.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyiceberg.catalog import Catalog

    from clicklake.collect.metadata import Metadata

Period = Literal["weekly", "monthly"]
PERIODS: Final[tuple[str, ...]] = get_args(Period)
#: The figures, by their Stats API metric names, and how they are shown.
FIGURES: Final = (
    ("visitors", "Visitors"),
    ("visits", "Visits"),
    ("pageviews", "Page views"),
    ("bounce_rate", "Bounce rate %"),
    ("orders", "Orders"),
    ("revenue", "Revenue"),
)

reports_table = sa.Table(
    "email_reports",
    tables,
    sa.Column("report_id", sa.String(16), primary_key=True),
    sa.Column("site_id", sa.String(32), nullable=False, index=True),
    sa.Column("period", sa.String(8), nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("last_sent", sa.String(16), nullable=True),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
)


class EmailReport(msgspec.Struct, frozen=True, kw_only=True):
    report_id: str
    site_id: str
    period: str
    email: str
    #: the label of the last period sent (e.g. 2026-W47 or 2026-11), None before the first
    last_sent: str | None
    created_ts: int


def last_period(period: str, today: date) -> tuple[date, date, str]:
    """The last complete period before `today`: (first day, last day, label)."""
    if period == "weekly":
        start = today - timedelta(days=today.weekday() + 7)
        year, week, _ = start.isocalendar()
        return start, start + timedelta(days=6), f"{year}-W{week:02d}"
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end, f"{end.year}-{end.month:02d}"


def previous(period: str, start: date) -> tuple[date, date]:
    """The period before the one starting on `start`."""
    if period == "weekly":
        return start - timedelta(days=7), start - timedelta(days=1)
    end = start - timedelta(days=1)
    return end.replace(day=1), end


class EmailReports:
    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata
        self.engine = metadata.engine
        tables.create_all(self.engine)

    def create(self, site_id: str, period: str, email: str) -> EmailReport:
        if period not in PERIODS:
            raise InputError(f"unknown period {period!r}; one of: {', '.join(PERIODS)}")
        if "@" not in email:
            raise InputError(f"an e-mail report needs an address, not {email!r}")
        if self.metadata.site(site_id) is None:
            raise InputError(f"no site {site_id!r}; see `clicklake sites list`")
        report = EmailReport(
            report_id="er_" + secrets.token_hex(6),
            site_id=site_id,
            period=period,
            email=email.strip(),
            last_sent=None,
            created_ts=int(time.time() * 1000),
        )
        with self.engine.begin() as con:
            con.execute(reports_table.insert().values(**msgspec.structs.asdict(report)))
        return report

    def list(self) -> list[EmailReport]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(reports_table).order_by(reports_table.c.created_ts)).all()
        return [EmailReport(**r._asdict()) for r in rows]

    def get(self, report_id: str) -> EmailReport:
        found = [r for r in self.list() if r.report_id == report_id]
        if not found:
            raise InputError(f"no e-mail report {report_id!r}; see `clicklake email-reports list`")
        return found[0]

    def delete(self, report_id: str) -> EmailReport:
        report = self.get(report_id)
        with self.engine.begin() as con:
            con.execute(reports_table.delete().where(reports_table.c.report_id == report_id))
        return report

    def mark_sent(self, report_id: str, label: str) -> None:
        with self.engine.begin() as con:
            con.execute(reports_table.update().where(reports_table.c.report_id == report_id).values(last_sent=label))


def figures(catalog: Callable[[], Catalog], site_id: str, start: date, end: date) -> tuple[dict[str, float], str]:
    """The site's figures over `[start, end]`, and the SQL that made them."""
    from clicklake.query import stats
    from clicklake.query.engine import query

    q = stats.StatsQuery(site_ids=[site_id], metrics=[m for m, _ in FIGURES], date_range=(start, end))
    sql = stats.build_sql(q)
    rows = query(catalog, sql).to_pylist()
    row = rows[0] if rows else {}
    return {m: float(row.get(m) or 0) for m, _ in FIGURES}, sql


def compose(report: EmailReport, site_name: str, catalog: Callable[[], Catalog], today: date) -> tuple[str, str, str]:
    """(subject, text, period label) of the report's last complete period."""
    start, end, label = last_period(report.period, today)
    before_start, before_end = previous(report.period, start)
    now, sql = figures(catalog, report.site_id, start, end)
    then, _ = figures(catalog, report.site_id, before_start, before_end)
    lines = [
        f"{site_name} ({report.site_id}), {report.period} report for {label}: {start} to {end} (UTC)",
        f"compared with {before_start} to {before_end}",
        "",
    ]
    for metric, title in FIGURES:
        a, b = now[metric], then[metric]
        change = f"{100 * (a - b) / b:+.0f} %" if b else ("new" if a else "-")
        lines.append(f"{title:<16} {a:>12,.{0 if a == int(a) else 2}f}   {change}")
    lines += ["", "The SQL of these figures (clicklake query, or the SQL console):", sql]
    return f"[clicklake] {site_name}: {report.period} report {label}", "\n".join(lines), label


def send_due(reports: EmailReports, catalog: Callable[[], Catalog], settings: AlertSettings, today: date) -> list[str]:
    """Send every report whose last complete period has not gone out yet; the ids sent."""
    sent = []
    for report in reports.list():
        if report.last_sent == last_period(report.period, today)[2]:
            continue
        site = reports.metadata.site(report.site_id)
        subject, text, label = compose(report, site.name if site else report.site_id, catalog, today)
        send_email(report.email, subject, text, settings)
        reports.mark_sent(report.report_id, label)
        sent.append(report.report_id)
    return sent
