"""Serve the built browser SDK (`dist/sdk.js`, `dist/sdk.mjs`) from the collector's port.

The files are built by `make up` / `make test` (esbuild, see `build.mjs`) and
shipped inside the wheel. Every site's pages load them from the collector, so
they are cached for a day by browsers and shared caches, served again for a
week while a fresh copy is fetched in the background, and revalidated cheaply
with an ETag of their content. Any origin may load them.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

DIST: Final = Path(__file__).parent / "dist"
CACHE_CONTROL: Final = "public, max-age=86400, stale-while-revalidate=604800"
MEDIA_TYPE: Final = "text/javascript; charset=utf-8"


@lru_cache(maxsize=4)
def _asset(name: str) -> tuple[bytes, str] | None:
    """The bytes of a built file and their ETag, read once per process; None when it was not built."""
    try:
        body = (DIST / name).read_bytes()
    except FileNotFoundError:
        return None
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _serve(request: Request, name: str) -> Response:
    asset = _asset(name)
    if asset is None:
        return PlainTextResponse(
            f"the browser SDK is not built ({DIST / name} is missing): run 'make up' or 'make sdk'", status_code=404
        )
    body, etag = asset
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, "Access-Control-Allow-Origin": "*"}
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


async def sdk_js(request: Request) -> Response:
    """`GET /sdk.js`: the classic script for the one-line tag."""
    return _serve(request, "sdk.js")


async def sdk_mjs(request: Request) -> Response:
    """`GET /sdk.mjs`: the ES module (`import { init } from ".../sdk.mjs"`)."""
    return _serve(request, "sdk.mjs")


def routes() -> list[Route]:
    """The SDK's routes, for the collector's app (served with or without a stream)."""
    return [Route("/sdk.js", sdk_js, methods=["GET", "HEAD"]), Route("/sdk.mjs", sdk_mjs, methods=["GET", "HEAD"])]
