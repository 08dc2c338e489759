"""The scale-out path: `clicklake collect`, `clicklake realtime` and `clicklake web` as three processes; the web
stage's `/api/live` asks the realtime stage at `realtime.url`, and applies the access rules itself."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx


def test_web_asks_a_separate_realtime_stage(
    tmp_path: Path, clicklake: Callable[..., Any], clicklake_up: Callable[..., tuple[Any, str]]
) -> None:
    site = json.loads(clicklake("sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout)
    assert clicklake("users", "create", "ops@example.org", "--admin").returncode == 0
    out = clicklake("tokens", "create", "--user", "ops@example.org", "--scope", "stats", "--format", "json")
    token = json.loads(out.stdout)["token"]
    _, collector = clicklake_up("--workers", "1", command="collect")
    _, realtime = clicklake_up(command="realtime")
    _, web = clicklake_up(command="web", env={"CLICKLAKE_REALTIME__URL": realtime})
    events = [
        {
            "event_type": "page_view",
            "event_id": str(uuid.uuid4()),
            "ts": datetime.now(UTC).isoformat(),
            "user": {"consent": {"analytics": True}, "anonymous_id": f"v{i}"},
            "ctx": {"page_url": "https://shop.example/x"},
        }
        for i in range(4)
    ]
    r = httpx.post(f"{collector}/v1/events", json=events, headers={"X-Write-Key": site["write_key"]}, trust_env=False)
    assert r.status_code == 200 and r.json()["accepted"] == 4
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=web, trust_env=False, timeout=10) as client:
        deadline = time.monotonic() + 10
        while (body := client.get("/api/live", params={"site": site["site_id"]}, headers=auth).json())[
            "events"
        ] < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert body["events"] == 4 and body["current_visitors"] == 4
        assert body["top_pages"] == [{"page": "/x", "pageviews": 4}]
        assert client.get("/api/live", params={"site": site["site_id"]}).status_code == 401
