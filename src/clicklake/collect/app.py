"""The ASGI application of the collector (and, in embedded mode, of the whole port)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

import anyio.to_thread
import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clicklake import __version__
from clicklake.collect import links
from clicklake.collect.ingest import BadRequest, Limits, admit, client_of, inflate, split_events
from clicklake.collect.metrics import Metrics, MetricsMiddleware
from clicklake.config import Settings
from clicklake.schema import SCHEMA_HASH, json_schema_bytes
from clicklake.stream import Stream, StreamFullError, StreamUnavailableError

if TYPE_CHECKING:
    from clicklake.collect.metadata import Metadata

BODY_TIMEOUT_S: Final = 10.0
#: /readyz answers 503 for this long after an append was refused.
READY_AFTER_REFUSAL_S: Final = 5.0
_CORS_ALLOW_HEADERS: Final = "content-type, content-encoding, x-write-key"
_json = msgspec.json.Encoder()


async def healthz(request: Request) -> Response:
    """Alive: answers as long as the process serves HTTP."""
    return JSONResponse({"status": "ok", "version": __version__})


async def schema_v1(request: Request) -> Response:
    """The published JSON Schema of one ingest event."""
    return Response(
        json_schema_bytes(),
        media_type="application/schema+json",
        headers={
            "Cache-Control": "public, max-age=300",
            "ETag": f'"{SCHEMA_HASH}"',
            "Access-Control-Allow-Origin": "*",
        },
    )


def _answer(status: int, body: object, origin: str | None = None, retry_after: int | None = None) -> Response:
    headers = {"Cache-Control": "no-store"}
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(_json.encode(body), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, origin: str | None = None, retry_after: int | None = None) -> Response:
    return _answer(status, {"error": message}, origin, retry_after)


async def events_preflight(request: Request) -> Response:
    """CORS preflight: a browser cannot send the write key here, so the real request is judged instead."""
    origin = request.headers.get("origin")
    headers = {
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": _CORS_ALLOW_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
    return Response(status_code=204, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest(400, f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:
            raise BadRequest(413, f"the body is {declared} bytes; at most {limit}")
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise BadRequest(413, f"the body is more than {limit} bytes")
    except TimeoutError:
        raise BadRequest(408, f"the body did not arrive within {BODY_TIMEOUT_S:.0f} s") from None
    return bytes(body)


async def post_events(request: Request) -> Response:
    """`POST /v1/events`: see `clicklake.collect.ingest` for the order of work."""
    state = request.app.state
    metadata: Metadata = state.metadata
    limits: Limits = state.limits
    origin = request.headers.get("origin")
    key = request.headers.get("x-write-key") or request.query_params.get("key")
    if not key:
        return _error(401, "no write key: send header X-Write-Key or ?key=")
    site = metadata.site_by_key(key)
    if site is None:
        return _error(401, "unknown write key")
    if origin is not None and origin not in site.allowed_origins:
        return _error(403, f"origin {origin} is not allowed for this site")
    try:
        body = await _read_body(request, limits.max_body_bytes)
        body = inflate(body, request.headers.get("content-encoding", ""), limits.max_inflated_bytes)
        raws, sent_at = split_events(body, request.headers.get("content-type", ""))
        client = client_of(request.headers, request.client.host if request.client else None)
        outcome = await admit(state, site, client, raws, sent_at=sent_at)
    except BadRequest as exc:
        return _error(exc.status, exc.message, origin)
    except ClientDisconnect:
        return _error(400, "the client went away before the body arrived")
    except StreamFullError as exc:
        return _error(503, f"the stream is full, try again later: {exc}", origin, retry_after=5)
    except StreamUnavailableError as exc:
        return _error(503, f"the stream is unavailable, try again later: {exc}", origin, retry_after=5)
    body_out = {
        "accepted": outcome.accepted,
        "rejected": [{"index": r.index, "error": r.error} for r in outcome.rejected],
        "consent_denied": outcome.consent_denied,
    }
    return _answer(200, body_out, origin)


async def readyz(request: Request) -> Response:
    """Ready while the stream takes appends: it answers, it is not full, and no append was refused lately."""
    state = request.app.state
    stream: Stream = state.stream
    if time.monotonic() - state.last_refusal < READY_AFTER_REFUSAL_S:
        return _error(503, "the stream refused an append in the last few seconds", retry_after=5)
    try:
        behind = sum(lag.records for lag in await anyio.to_thread.run_sync(stream.lag, "loader"))
    except StreamUnavailableError as exc:
        return _error(503, f"the stream is unavailable: {exc}", retry_after=5)
    limit = state.settings.stream.max_lag_records
    if behind >= limit:
        return _error(503, f"the stream is full: {behind} records unread (limit {limit})", retry_after=5)
    return _answer(200, {"status": "ready", "unread_records": behind})


class _Salts:
    """The day's salt for cookieless visitor ids, asked of the metadata database once a day per process."""

    def __init__(self, metadata: Metadata) -> None:
        self._metadata = metadata
        self._day = ""
        self._salt = b""

    def __call__(self, day: str) -> bytes:
        if day != self._day:
            self._salt = self._metadata.daily_salt(day)
            self._day = day
        return self._salt


def create_app(settings: Settings, *, stream: Stream | None = None, metadata: Metadata | None = None) -> Starlette:
    """Build the app for these settings; the collector's routes need a stream and a metadata database."""
    routes = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/schema/v1.json", schema_v1, methods=["GET", "HEAD"]),
    ]
    if stream is not None and metadata is not None:
        routes += [
            Route("/v1/events", post_events, methods=["POST"]),
            Route("/v1/events", events_preflight, methods=["OPTIONS"]),
            Route("/r/{link_id}", links.redirect, methods=["GET", "HEAD"], name="redirect"),
            Route("/r/{link_id}/qr.svg", links.qr_svg, methods=["GET", "HEAD"]),
            Route("/i.gif", links.pixel, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
        ]
    metrics = Metrics()
    routes.append(Route("/metrics", metrics.render, methods=["GET"]))
    app = Starlette(routes=routes, middleware=[Middleware(MetricsMiddleware, metrics=metrics)])
    app.state.metrics = metrics
    app.state.last_refusal = 0.0
    app.state.settings = settings
    app.state.stream = stream
    app.state.metadata = metadata
    app.state.limits = Limits()
    if metadata is not None:
        app.state.salts = _Salts(metadata)
    return app
