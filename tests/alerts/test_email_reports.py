"""Scheduled e-mail reports: `clicklake up` mails a site's last complete week once, with the change against the
week before, to a local SMTP server; `clicklake email-reports send` sends it again on demand."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.receivers import smtp_receiver
from clicklake.alerts.email_reports import last_period, previous
from clicklake.collect.metadata import Metadata
from transform.lakes import Lake, event


def test_periods_are_the_last_complete_week_and_month() -> None:
    assert last_period("weekly", date(2026, 12, 3)) == (date(2026, 11, 23), date(2026, 11, 29), "2026-W48")
    assert last_period("weekly", date(2026, 11, 30)) == (date(2026, 11, 23), date(2026, 11, 29), "2026-W48")
    assert last_period("monthly", date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    assert previous("monthly", date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert previous("weekly", date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 22))


def _at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def test_up_mails_the_last_week_once(
    tmp_path: Path, clicklake: Callable[..., Any], clicklake_up: Callable[..., tuple[Any, str]]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with Metadata(f"sqlite:///{data / 'metadata.sqlite3'}") as md:
        site = md.create_site("Shop", "shop.example").site_id
    start, _, label = last_period("weekly", datetime.now(UTC).date())
    lake = Lake(data)
    lake.add(
        *(event("page_view", _at(start + timedelta(days=1), 10 + i), site=site, visitor=f"new{i}") for i in range(6)),
        *(event("page_view", _at(start - timedelta(days=3), 10 + i), site=site, visitor=f"old{i}") for i in range(3)),
    )
    lake.run()
    out = clicklake("email-reports", "create", "--site", site, "--period", "weekly", "--to", "owner@example.org")
    assert out.returncode == 0, out.stderr
    report_id = json.loads(clicklake("email-reports", "list", "--format", "json").stdout)[0]["report_id"]
    with smtp_receiver() as (port, mails):
        env = {
            "CLICKLAKE_ALERTS__INTERVAL_S": "0.5",
            "CLICKLAKE_ALERTS__SMTP_HOST": "127.0.0.1",
            "CLICKLAKE_ALERTS__SMTP_PORT": str(port),
            "CLICKLAKE_TRANSFORM__INTERVAL_S": "0",
        }
        clicklake_up(env=env)
        [mail] = mails.wait(lambda items: len(items) >= 1)
        assert mail["to"] == ["owner@example.org"] and mail["subject"] == f"[clicklake] Shop: weekly report {label}"
        visitors = next(line for line in mail["body"].splitlines() if line.startswith("Visitors"))
        assert visitors.split()[1:] == ["6", "+100", "%"]
        pageviews = next(line for line in mail["body"].splitlines() if line.startswith("Page views"))
        assert pageviews.split()[2:] == ["6", "+100", "%"]
        time.sleep(2)  # four more evaluations: the week went out once
        assert len(mails.snapshot()) == 1
        listed = json.loads(clicklake("email-reports", "list", "--format", "json").stdout)
        assert listed[0]["last_sent"] == label
        out = clicklake("email-reports", "send", report_id, env=env)
        assert out.returncode == 0, out.stderr
        mails.wait(lambda items: len(items) == 2 and items[1]["subject"] == mail["subject"])
