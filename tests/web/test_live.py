"""`GET /api/live` of `clicklake up`: events just sent, as JSON and as Server-Sent Events, for readers of the site."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from conftest import run_clicklake


def _token(root: Path, email: str, site: str | None = None) -> str:
    out = run_clicklake(root, "users", "create", email, "--format", "json")
    assert out.returncode == 0, out.stderr
    if site is not None:
        out = run_clicklake(root, "members", "add", "--site", site, "--user", email, "--role", "viewer")
        assert out.returncode == 0, out.stderr
    out = run_clicklake(root, "tokens", "create", "--user", email, "--scope", "stats", "--format", "json")
    assert out.returncode == 0, out.stderr
    token: str = json.loads(out.stdout)["token"]
    return token


def _events(n: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "event_type": "page_view",
            "event_id": str(uuid.uuid4()),
            "ts": now,
            "user": {"consent": {"analytics": True}, "anonymous_id": f"v{i % 3}"},
            "ctx": {"page_url": f"https://shop.example/p/{i % 2}", "referrer": "https://news.example/x"},
        }
        for i in range(n)
    ]


def test_live_counts_what_was_just_sent_as_json_and_as_events(server: tuple[str, str, str, Path]) -> None:
    base, key, site, data = server
    root = data.parent
    token = _token(root, f"live-{site}@example.org", site)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        r = client.post("/v1/events", json=_events(6), headers={"X-Write-Key": key})
        assert r.status_code == 200 and r.json()["accepted"] == 6, r.text
        deadline = time.monotonic() + 5
        while True:
            live = client.get("/api/live", params={"site": site}, headers=auth)
            assert live.status_code == 200, live.text
            body = live.json()
            if body["events"] >= 6 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert body["events"] == 6 and body["pageviews"] == 6
        assert body["current_visitors"] == 3
        assert body["top_pages"] == [{"page": "/p/0", "pageviews": 3}, {"page": "/p/1", "pageviews": 3}]
        assert body["top_sources"] == [{"source": "news.example", "visitors": 3}]
        assert body["per_minute"][-1]["events"] + body["per_minute"][-2]["events"] == 6

        frames: list[dict[str, Any]] = []
        with client.stream(
            "GET", "/api/live", params={"site": site}, headers={**auth, "Accept": "text/event-stream"}
        ) as sse:
            assert sse.status_code == 200
            assert sse.headers["content-type"].startswith("text/event-stream")
            sent = False
            for line in sse.iter_lines():
                if line.startswith("data: "):
                    frames.append(json.loads(line[6:]))
                    if not sent:
                        r = client.post("/v1/events", json=_events(2), headers={"X-Write-Key": key})
                        assert r.status_code == 200
                        sent = True
                    elif frames[-1]["events"] == 8:
                        break
        assert frames[0]["events"] == 6 and frames[-1]["events"] == 8


def test_live_refuses_a_foreign_site_and_a_missing_login(server: tuple[str, str, str, Path]) -> None:
    base, _, site, data = server
    root = data.parent
    other = run_clicklake(root, "sites", "create", "Other", "--domain", "other.example", "--format", "json")
    assert other.returncode == 0, other.stderr
    token = _token(root, f"foreign-{site}@example.org", json.loads(other.stdout)["site_id"])
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        assert client.get("/api/live", params={"site": site}).status_code == 401
        r = client.get("/api/live", params={"site": site}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403 and site in r.json()["error"]
        r = client.get("/api/live", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400


def test_metrics_show_lag_per_group_table_freshness_and_stage_records(server: tuple[str, str, str, Path]) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    base, key, site, _ = server
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        assert client.post("/v1/events", json=_events(3), headers={"X-Write-Key": key}).status_code == 200
        deadline = time.monotonic() + 20
        while True:
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(client.get("/metrics").text)
                for s in family.samples
            }
            loaded = samples.get(("clicklake_stage_records_total", (("stage", "loader"),)), 0)
            counted = samples.get(("clicklake_site_events_total", (("site", site),)), 0)
            committed = ("clicklake_table_last_commit_timestamp_seconds", (("table", "bronze.events"),))
            if (loaded >= 3 and counted >= 3 and committed in samples) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert loaded >= 3
    assert samples[("clicklake_stage_records_total", (("stage", "realtime"),))] >= 3
    for group in ("loader", "realtime"):
        assert ("clicklake_stream_lag_records", (("group", group),)) in samples
        assert ("clicklake_stream_lag_seconds", (("group", group),)) in samples
    assert abs(samples[committed] - time.time()) < 600
    newest = samples[("clicklake_table_newest_event_timestamp_seconds", (("table", "bronze.events"),))]
    assert abs(newest - time.time()) < 600
    assert counted == 3  # this test's site: its three events
    assert abs(samples[("clicklake_site_last_event_timestamp_seconds", (("site", site),))] - time.time()) < 600
    assert samples[("clicklake_loader_failures_total", ())] == 0
    assert 0 < samples[("clicklake_data_free_bytes", ())] <= samples[("clicklake_data_size_bytes", ())]
