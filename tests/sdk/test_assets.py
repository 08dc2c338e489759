"""`GET /sdk.js` and `GET /sdk.mjs` in process: the built SDK, cacheable, loadable from any origin."""

from __future__ import annotations

import asyncio
import gzip

import httpx

from clicklake.collect.app import create_app
from clicklake.config import Settings
from clicklake.sdk.assets import DIST


def request(method: str, path: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(Settings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://clicklake.test") as client:
            return await client.request(method, path, headers=headers)

    return asyncio.run(go())


def test_sdk_js_is_the_built_script_with_long_cache_and_any_origin() -> None:
    response = request("GET", "/sdk.js")

    assert response.status_code == 200
    assert response.content == (DIST / "sdk.js").read_bytes()
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "max-age=86400" in response.headers["cache-control"]
    assert response.headers["cache-control"].startswith("public")
    assert b"/v1/events?key=" in response.content


def test_sdk_mjs_is_the_module_build() -> None:
    response = request("GET", "/sdk.mjs")

    assert response.status_code == 200
    assert response.content == (DIST / "sdk.mjs").read_bytes()
    assert b"export{" in response.content.replace(b" ", b"")


def test_etag_revalidates_with_304_and_differs_between_builds() -> None:
    js = request("GET", "/sdk.js").headers["etag"]
    mjs = request("GET", "/sdk.mjs").headers["etag"]
    assert js.startswith('"') and js != mjs

    again = request("GET", "/sdk.js", **{"if-none-match": js})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == js
    assert request("GET", "/sdk.js", **{"if-none-match": mjs}).status_code == 200


def test_head_has_the_headers_without_a_body() -> None:
    response = request("HEAD", "/sdk.js")

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"] == request("GET", "/sdk.js").headers["etag"]


def test_each_build_is_within_the_4_kb_gzipped_budget() -> None:
    for name in ("sdk.js", "sdk.mjs"):
        body = request("GET", f"/{name}").content
        assert 2000 < len(gzip.compress(body, compresslevel=9)) <= 4096, name
