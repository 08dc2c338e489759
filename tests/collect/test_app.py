"""The collector's ASGI app, in process: health, the published schema, routing errors."""

from __future__ import annotations

import asyncio

import httpx

from clicklake import __version__
from clicklake.collect.app import create_app
from clicklake.config import Settings
from clicklake.schema import SCHEMA_HASH, json_schema_bytes


def request(method: str, path: str) -> httpx.Response:
    """One request to a fresh app built from default settings."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(Settings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://clicklake.test") as client:
            return await client.request(method, path)

    return asyncio.run(go())


def test_healthz_is_ok_with_version() -> None:
    response = request("GET", "/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "version": __version__}


def test_schema_body_is_the_published_bytes() -> None:
    response = request("GET", "/schema/v1.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    assert response.content == json_schema_bytes()


def test_schema_has_etag_of_the_schema_hash() -> None:
    response = request("GET", "/schema/v1.json")

    etag = response.headers["etag"]
    assert etag == f'"{SCHEMA_HASH}"'
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert request("GET", "/schema/v1.json").headers["etag"] == etag  # stable between requests


def test_schema_can_be_fetched_cross_origin_and_cached() -> None:
    response = request("GET", "/schema/v1.json")

    assert response.headers["access-control-allow-origin"] == "*"
    assert "max-age" in response.headers["cache-control"]


def test_schema_head_has_headers_and_no_body() -> None:
    response = request("HEAD", "/schema/v1.json")

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/schema+json"
    assert response.headers["etag"] == f'"{SCHEMA_HASH}"'
    assert int(response.headers["content-length"]) == len(json_schema_bytes())


def test_healthz_head() -> None:
    response = request("HEAD", "/healthz")

    assert response.status_code == 200
    assert response.content == b""


def test_unknown_route_is_404() -> None:
    assert request("GET", "/no/such/page").status_code == 404
    assert request("GET", "/schema/v2.json").status_code == 404


def test_post_to_healthz_is_405() -> None:
    response = request("POST", "/healthz")

    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
