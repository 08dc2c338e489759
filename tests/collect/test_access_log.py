"""The optional access log, in process: one JSON line per request, with the site, and never an address."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import httpx
import pytest

from clicklake.collect.app import create_app
from clicklake.collect.metadata import Metadata
from clicklake.config import CollectSettings, Settings
from clicklake.stream import open_stream

CLIENT = "203.0.113.9"


def _traffic(tmp_path: Path, access_log: bool) -> str:
    """A page view, a foreign origin, an unknown key and a 404 through a collector; the site's id."""

    async def go() -> str:
        settings = Settings(data=str(tmp_path / "data"), collect=CollectSettings(access_log=access_log))
        stream = open_stream(tmp_path / "data" / "stream")
        with Metadata.open(settings) as metadata:
            site = metadata.create_site("Shop", "shop.example")
            app = create_app(settings, stream=stream, metadata=metadata)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            body = json.dumps([{"event_type": "page_view", "ts": now, "user": {"consent": {"analytics": True}}}])
            transport = httpx.ASGITransport(app=app, client=(CLIENT, 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
                ok = await client.post(f"/v1/events?key={site.write_key}", content=body)
                assert ok.status_code == 200
                foreign = {"origin": "https://evil.example", "x-write-key": site.write_key}
                assert (await client.post("/v1/events", content=body, headers=foreign)).status_code == 403
                assert (await client.post("/v1/t", content=b"{}", headers={"x-write-key": "wk_no"})).status_code == 401
                assert (await client.get("/nowhere")).status_code == 404
        stream.close()
        return site.site_id

    return asyncio.run(go())


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "clicklake.access"]


def test_each_request_is_one_json_line_with_route_status_latency_and_site(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clicklake.access")
    site = _traffic(tmp_path, access_log=True)
    lines = _lines(caplog)
    assert [(x["method"], x["route"], x["status"], x["site"]) for x in lines] == [
        ("POST", "/v1/events", 200, site),
        ("POST", "/v1/events", 403, site),
        ("POST", "/v1/t", 401, None),
        ("GET", "other", 404, None),
    ]
    assert all(isinstance(x["latency_ms"], float) and x["latency_ms"] >= 0 for x in lines)
    text = caplog.text
    assert CLIENT not in text and "203.0.113" not in text and "wk_" not in text


def test_the_access_log_is_off_by_default(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="clicklake.access")
    _traffic(tmp_path, access_log=False)
    assert _lines(caplog) == []
