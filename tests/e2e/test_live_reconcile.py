"""The live view reconciles with the lake: for a closed hour, the events, page views and visitors that
`/api/live` counted equal what `silver.events` holds for that hour, through the real collector,
stream, loader and transform of `clicklake up`; and a restart rebuilds the same figures from the stream.

The hour is the one before the test's own clock hour, so the test does not depend on when it runs.
(`gold.kpi_daily` counts per day and per session, leaving bots' sessions out; silver is the
per-hour, per-event table to reconcile with.)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from conftest import run_clicklake, stop_server
from samples import wait_rows

ENV = {
    "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2",
    "CLICKLAKE_TRANSFORM__INTERVAL_S": "1",
}
TYPES = ["page_view", "page_view", "search", "page_view", "custom"]


def _event(i: int, ts: datetime) -> dict[str, Any]:
    kind = TYPES[i % len(TYPES)]
    event: dict[str, Any] = {
        "event_type": kind,
        "event_id": str(uuid.uuid4()),
        "ts": ts.isoformat(),
        "user": {"consent": {"analytics": True}, "anonymous_id": f"visitor-{i % 7}"},
        "ctx": {"page_url": f"https://shop.example/p/{i % 4}"},
    }
    if kind == "search":
        event["search"] = {"query": "shoes"}
    if kind == "custom":
        event["custom"] = {"name": "signup"}
    return event


def _live(client: httpx.Client, site: str, token: str) -> dict[str, Any]:
    r = client.get("/api/live", params={"site": site}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _hour(body: dict[str, Any], hour: datetime) -> dict[str, Any]:
    wanted = hour.isoformat().replace("+00:00", "Z")
    found = [h for h in body["hours"] if h["hour"] == wanted]
    return found[0] if found else {"events": 0, "pageviews": 0, "visitors": 0}


def test_a_closed_hour_of_live_counts_equals_the_lake(
    tmp_path: Path, clicklake_up: Callable[..., tuple[Any, str]]
) -> None:
    proc, base = clicklake_up(env=ENV)
    site = json.loads(
        run_clicklake(tmp_path, "sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout
    )
    user = run_clicklake(tmp_path, "users", "create", "ops@example.org", "--admin", "--format", "json")
    assert user.returncode == 0, user.stderr
    out = run_clicklake(
        tmp_path, "tokens", "create", "--user", "ops@example.org", "--scope", "stats", "--format", "json"
    )
    token = json.loads(out.stdout)["token"]

    now = datetime.now(UTC)
    closed = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    in_hour = [_event(i, closed + timedelta(seconds=37 * i)) for i in range(60)]
    later = [_event(i, now) for i in range(5)]  # the current hour: not in the closed one
    headers = {"X-Write-Key": site["write_key"]}
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        for chunk in (in_hour[:25], in_hour[25:], later, in_hour[10:13]):  # the last one: a client's retry
            r = client.post("/v1/events", json=chunk, headers=headers)
            assert r.status_code == 200 and not r.json()["rejected"], r.text
        sid = site["site_id"]
        day, hh = closed.date().isoformat(), f"{closed.hour:02d}"
        lake = wait_rows(
            tmp_path / "data",
            f"select count(*) as events, count(*) filter (where event_type = 'page_view') as pageviews, "
            f"count(distinct visitor_id) as visitors from silver.events "
            f"where site_id = '{sid}' and event_dt = date '{day}' and event_hour = '{hh}' having count(*) = 60",
            1,
            timeout=60,
        )
        assert lake, "silver.events did not get the hour's 60 events"
        expected = lake[0]
        live = _hour(_live(client, sid, token), closed)
        assert (live["events"], live["pageviews"], live["visitors"]) == (
            expected["events"],
            expected["pageviews"],
            expected["visitors"],
        )
        assert (expected["events"], expected["pageviews"]) == (60, 36)
        before = _live(client, sid, token)

    code, _, err = stop_server(proc)
    assert code == 0, err
    _, base = clicklake_up(env=ENV)  # a restart: the windows are rebuilt from the stream
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        deadline = time.monotonic() + 10
        while (after := _live(client, sid, token))["events"] < before["events"] and time.monotonic() < deadline:
            time.sleep(0.1)
    assert after["hours"] == before["hours"]
    for key in ("events", "pageviews", "visitors", "top_pages"):
        assert after[key] == before[key], key
