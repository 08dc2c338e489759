"""CORS for the collector's routes: which browser requests may be sent, and the preflight's answer.

A preflight (`OPTIONS`) carries no write key in a header, so it is judged by its origin:
it is admitted when the site named by `?writeKey=` / `?key=` allows that origin, or, with
no key in the URL, when some site does. The real request is then judged again by its key.
The headers admitted are the ones our SDK and the Segment and RudderStack browser
libraries send; a preflight asking for any other header gets a 403 that names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from clicklake.collect.metadata import Metadata

#: Request headers a page may send, in lower case: ours, analytics.js's (`X-Retry-Count`) and
#: RudderStack's (`AnonymousId`, `SentAt`, and the `Rsa-*` retry headers, matched by prefix).
ALLOWED_HEADERS: Final = frozenset(
    {
        "content-type",
        "content-encoding",
        "x-write-key",
        "authorization",
        "x-retry-count",
        "anonymousid",
        "sentat",
    }
)
ALLOWED_PREFIXES: Final = ("rsa-",)
MAX_AGE_S: Final = 600
_json = msgspec.json.Encoder()


def refused_headers(requested: str) -> list[str]:
    """The headers of an `Access-Control-Request-Headers` value that are not admitted."""
    names = (h.strip().lower() for h in requested.split(","))
    return [h for h in names if h and h not in ALLOWED_HEADERS and not h.startswith(ALLOWED_PREFIXES)]


def _refuse(code: str, message: str) -> Response:
    body = {"error": message, "code": code, "message": message}
    return Response(_json.encode(body), status_code=403, media_type="application/json", headers={"Vary": "Origin"})


def _origin_allowed(metadata: Metadata, origin: str, key: str | None) -> str | None:
    """None when `origin` may send here, else why not."""
    if key:
        site = metadata.site_by_key(key)
        if site is None:
            return "unknown write key"
        if origin not in site.allowed_origins:
            return f"origin {origin} is not allowed for site {site.site_id}; " + how_to_allow(site.site_id, origin)
        return None
    if any(origin in site.allowed_origins for site in metadata.sites()):
        return None
    return f"origin {origin} is not allowed by any site; " + how_to_allow("SITE_ID", origin)


def how_to_allow(site_id: str, origin: str) -> str:
    """The next step for an origin that a site refused."""
    return f"allow it with: clicklake sites update {site_id} --origin {origin} (repeat --origin for each origin)"


async def preflight(request: Request) -> Response:
    """`OPTIONS` on a collector route: 204 with the CORS headers for an admitted origin, else 403."""
    origin = request.headers.get("origin")
    requested = request.headers.get("access-control-request-headers", "")
    headers = {
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Max-Age": str(MAX_AGE_S),
        "Vary": "Origin",
    }
    if origin is None:  # not a browser's preflight: nothing to admit
        return Response(status_code=204, headers=headers)
    refused = refused_headers(requested)
    if refused:
        return _refuse("header_not_allowed", f"request header(s) {', '.join(refused)} not allowed")
    metadata: Metadata = request.app.state.metadata
    key = request.query_params.get("writeKey") or request.query_params.get("key")
    reason = await anyio.to_thread.run_sync(_origin_allowed, metadata, origin, key)
    if reason is not None:
        return _refuse("origin_not_allowed", reason)
    headers["Access-Control-Allow-Origin"] = origin
    # echo what was asked (all admitted): a browser wants each header it will send listed
    headers["Access-Control-Allow-Headers"] = requested or ", ".join(sorted(ALLOWED_HEADERS))
    return Response(status_code=204, headers=headers)
