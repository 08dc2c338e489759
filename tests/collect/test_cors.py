"""CORS on the collector's routes, in process: preflights of our SDK and of the Segment and RudderStack libraries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from clicklake.collect.app import create_app
from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from clicklake.stream import open_stream

SHOP = "https://shop.example"
SEGMENT_HEADERS = "authorization,content-type,x-retry-count"
RUDDER_HEADERS = "anonymousid,authorization,content-type,rsa-retry-attempt,rsa-retry-reason,sentat"


def _exchange(tmp_path: Path, *requests: tuple[str, str, dict[str, str]]) -> tuple[str, list[httpx.Response]]:
    """Send each (method, path, headers) to a fresh collector with one site on https://shop.example; its key too.

    `{key}` in a path is the site's write key.
    """

    async def go() -> tuple[str, list[httpx.Response]]:
        settings = Settings(data=str(tmp_path / "data"))
        stream = open_stream(tmp_path / "data" / "stream")
        with Metadata.open(settings) as metadata:
            key = metadata.create_site("Shop", "shop.example", [SHOP]).write_key
            app = create_app(settings, stream=stream, metadata=metadata)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
                out = [await client.request(m, p.format(key=key), headers=h) for m, p, h in requests]
        stream.close()
        return key, out

    return asyncio.run(go())


def _preflight(origin: str, headers: str) -> dict[str, str]:
    return {"origin": origin, "access-control-request-method": "POST", "access-control-request-headers": headers}


@pytest.mark.parametrize(
    ("path", "asked"),
    [
        ("/v1/t", SEGMENT_HEADERS),
        ("/v1/b", SEGMENT_HEADERS),
        ("/v1/g", SEGMENT_HEADERS),
        ("/v1/a", SEGMENT_HEADERS),
        ("/v1/track", RUDDER_HEADERS),
        ("/v1/group", RUDDER_HEADERS),
        ("/v1/alias", RUDDER_HEADERS),
        ("/v1/screen", RUDDER_HEADERS),
        ("/v1/batch", RUDDER_HEADERS),
        ("/beacon/v1/batch?writeKey={key}", "content-type"),
        ("/v1/events", "content-type,x-write-key"),
    ],
)
def test_a_preflight_from_an_allowed_origin_admits_the_libraries_headers(tmp_path: Path, path: str, asked: str) -> None:
    _, [answer] = _exchange(tmp_path, ("OPTIONS", path, _preflight(SHOP, asked)))
    assert answer.status_code == 204, answer.text
    assert answer.headers["access-control-allow-origin"] == SHOP
    admitted = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert set(asked.split(",")) <= admitted
    assert "POST" in answer.headers["access-control-allow-methods"]


def test_a_foreign_origin_is_refused_with_the_origin_and_the_way_to_allow_it(tmp_path: Path) -> None:
    evil = "https://evil.example"
    _, (no_site, with_key, post) = _exchange(
        tmp_path,
        ("OPTIONS", "/v1/t", _preflight(evil, SEGMENT_HEADERS)),
        ("OPTIONS", "/beacon/v1/batch?writeKey={key}", _preflight(evil, "content-type")),
        ("POST", "/v1/events?key={key}", {"origin": evil}),
    )
    for answer in (no_site, with_key, post):
        assert answer.status_code == 403
        assert "access-control-allow-origin" not in answer.headers  # the foreign page may not read it
        body = answer.json()
        assert evil in body["message"] and f"--origin {evil}" in body["message"]
        assert "clicklake sites update" in body["message"] and body["code"] == "origin_not_allowed"
    assert "site_" in with_key.json()["message"] and "site_" in post.json()["message"]


def test_a_preflight_asking_for_an_unknown_header_is_told_which(tmp_path: Path) -> None:
    _, [answer] = _exchange(tmp_path, ("OPTIONS", "/v1/t", _preflight(SHOP, "content-type,x-custom-thing")))
    assert answer.status_code == 403 and "x-custom-thing" in answer.json()["message"]
