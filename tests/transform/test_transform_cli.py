"""`clicklake transform` as a user runs it, and the transform inside `clicklake up`, over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import CompletedProcess, Popen
from typing import Any

import httpx

from samples import wait_rows
from transform.lakes import Lake, event

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def test_transform_once_reports_what_it_built(tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]) -> None:
    empty = clicklake("transform", "--once")
    assert (empty.returncode, empty.stdout) == (0, "up to date: nothing new in bronze.events\n"), empty.stderr

    lake = Lake(tmp_path / "data")
    lake.add(
        event("page_view", "2026-11-20T10:00:00Z", page="https://a.example/compare/a-vs-b"),
        event("affiliate_click", "2026-11-20T10:01:00Z", affiliate={"payout_cents": 30}),
    )
    first = clicklake("transform", "--once")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("full run ") and lines[0].endswith("; gold published")
    assert "  silver.events                           2 rows" in lines
    assert "  gold.fact_affiliate_clicks              1 rows" in lines
    assert lines[-1].startswith("checks: ") and lines[-1].endswith(" passed, 0 failed")
    assert "silver.events: 2 rows for 1 days" in first.stderr  # progress

    again = clicklake("transform", "--once")
    assert again.stdout == "up to date: nothing new in bronze.events\n"

    rebuilt = clicklake("transform", "--once", "--full-refresh", "--format", "json")
    report = json.loads(rebuilt.stdout)
    assert (report["mode"], report["outcome"], report["days"]) == ("full", "published", ["2026-11-20"])
    assert report["rows"]["gold.fact_funnel"] == 1

    ranged = clicklake("transform", "--once", "--from", "2026-11-19", "--to", "2026-11-20")
    assert ranged.returncode == 0 and ranged.stdout.startswith("range run "), ranged.stderr

    alone = clicklake("transform", "--once", "--from", "2026-11-20")
    assert alone.returncode == 2 and "--from and --to go together" in alone.stderr
    bad = clicklake("transform", "--once", "--from", "20.11.2026", "--to", "2026-11-21")
    assert bad.returncode == 2 and "'20.11.2026' is not a date" in bad.stderr


def test_transform_once_exits_1_when_a_check_blocks(
    tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]
) -> None:
    lake = Lake(tmp_path / "data")
    odd = event("page_view", "2026-11-20T10:00:00Z")
    odd.event_type = "page_vue"  # written to bronze by some other engine
    lake.add(odd)
    result = clicklake("transform", "--once")
    assert result.returncode == 1
    assert "BLOCKED: silver.events not published" in result.stdout
    assert "block silver.events event_type_accepted: 1 (page_vue)" in result.stdout


def test_up_transforms_what_arrives_and_exports_metrics(
    tmp_path: Path,
    clicklake: Callable[..., CompletedProcess[str]],
    clicklake_up: Callable[..., tuple[Popen[str], str]],
    stop_server: Callable[..., Any],
) -> None:
    site = clicklake("sites", "create", "Shop", "--domain", "shop.example", "--format", "json")
    assert site.returncode == 0, site.stderr
    key = json.loads(site.stdout)["write_key"]
    proc, url = clicklake_up(env={"CLICKLAKE_TRANSFORM__INTERVAL_S": "0.5"})
    now = datetime.now(UTC) - timedelta(minutes=5)
    body = [
        {
            "event_type": "page_view",
            "ts": (now + timedelta(seconds=i)).isoformat(),
            "user": {"consent": {"analytics": True}, "anonymous_id": "a1"},
            "session": {"session_id": "sid-1"},
            # a browser's agent: the collector flags other agents (curl, scripts) as bots, left out of KPIs
            "ctx": {"page_url": "https://shop.example/compare/x-vs-y", "user_agent": FIREFOX},
        }
        for i in range(3)
    ]
    answer = httpx.post(f"{url}/v1/events", json=body, headers={"X-Write-Key": key}, trust_env=False)
    assert answer.status_code == 200 and answer.json()["accepted"] == 3, answer.text
    rows = wait_rows(
        tmp_path / "data",
        "select sessions, pageviews from gold.kpi_daily where dimension = 'all' and pageviews = 3",
        1,
        timeout=30,
    )
    assert rows == [{"sessions": 1, "pageviews": 3}]
    assert wait_rows(tmp_path / "data", "select saw_comparison from gold.fact_funnel", 1) == [{"saw_comparison": True}]
    deadline = time.monotonic() + 10
    while True:
        metrics = httpx.get(f"{url}/metrics", trust_env=False).text
        if 'clicklake_transform_runs_total{outcome="published"}' in metrics or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert 'clicklake_transform_runs_total{outcome="published"}' in metrics
    assert "clicklake_dq_check_passed{" in metrics
    code, _, err = stop_server(proc)
    assert code == 0, err
