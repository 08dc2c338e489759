"""The ASGI application of the collector (and, in embedded mode, of the whole port)."""

from __future__ import annotations

import asyncio
import base64
import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, NamedTuple

import anyio.to_thread
import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clicklake import __version__
from clicklake.collect import cors, links, segment
from clicklake.collect.appender import GroupAppender
from clicklake.collect.ingest import BadRequest, Limits, admit, client_of, inflate, split_events
from clicklake.collect.metrics import Metrics, MetricsMiddleware, timed_append
from clicklake.collect.ratelimit import RateLimiter, retry_after
from clicklake.config import Settings
from clicklake.schema import SCHEMA_HASH, Rejection, json_schema_bytes
from clicklake.sdk import assets as sdk_assets
from clicklake.stream import Stream, StreamFullError, StreamUnavailableError

if TYPE_CHECKING:
    from clicklake.collect.metadata import Metadata, Site

#: /readyz answers 503 for this long after an append was refused.
READY_AFTER_REFUSAL_S: Final = 5.0
#: The `code` of an error body by its status (Segment-style clients read `code` and `message`).
ERROR_CODES: Final = {
    400: "bad_request",
    401: "unknown_write_key",
    403: "origin_not_allowed",
    408: "request_timeout",
    413: "body_too_large",
    429: "rate_limited",
    503: "unavailable",
}
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
        headers["Access-Control-Expose-Headers"] = "Retry-After"
        headers["Vary"] = "Origin"
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(_json.encode(body), status_code=status, media_type="application/json", headers=headers)


def _rejection(r: Rejection, denied: frozenset[int]) -> dict[str, object]:
    """One refused event in an answer; `consent_denied` when, for want of consent, nothing of it was kept."""
    out: dict[str, object] = {"index": r.index, "error": r.error}
    if r.index in denied:
        out["consent_denied"] = True
    return out


def _error(status: int, message: str, origin: str | None = None, retry_after: int | None = None) -> Response:
    """An error body: `error` (as always), and `code` and `message` as Segment-style clients read them."""
    body = {"error": message, "code": ERROR_CODES.get(status, "error"), "message": message}
    return _answer(status, body, origin, retry_after)


async def _read_body(request: Request, limits: Limits) -> bytes:
    limit = limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest(400, f"Content-Length {declared!r} is not a number")
        if int(declared) > limit:
            raise BadRequest(413, f"the body is {declared} bytes; at most {limit}")
    # Most bodies arrive with their headers, in the first message: taken without a timer.
    message = await request.receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnect()
    body = bytearray(message.get("body", b""))
    more = message.get("more_body", False)
    try:
        async with asyncio.timeout(limits.body_timeout_s if more else None):
            while more:
                if len(body) > limit:
                    raise BadRequest(413, f"the body is more than {limit} bytes")
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                body += message.get("body", b"")
                more = message.get("more_body", False)
    except TimeoutError:
        raise BadRequest(408, f"the body did not arrive within {limits.body_timeout_s:g} s") from None
    if len(body) > limit:
        raise BadRequest(413, f"the body is more than {limit} bytes")
    return inflate(bytes(body), request.headers.get("content-encoding", ""), limits.max_inflated_bytes)


class _Parsed(NamedTuple):
    """A request body as events: raw JSON per event, the refused ones, `sent_at`, and a write key if it has one."""

    raws: list[bytes]
    refused: dict[int, str]
    sent_at: str | None
    write_key: str | None


def _parse_events(body: bytes, content_type: str) -> _Parsed:
    raws, sent_at = split_events(body, content_type)
    return _Parsed(raws, {}, sent_at, None)


def _parse_segment(route_type: str | None) -> Callable[[bytes, str], _Parsed]:
    def parse(body: bytes, content_type: str) -> _Parsed:
        try:
            t = segment.translate(body, route_type)
        except ValueError as exc:
            raise BadRequest(400, str(exc)) from None
        return _Parsed(t.raws, t.refused, t.sent_at, t.write_key)

    return parse


def _basic_user(authorization: str | None) -> str | None:
    """The user name of an HTTP Basic `Authorization` header (Segment puts the write key there)."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _site_of(metadata: Metadata, key: str, origin: str | None, request: Request) -> Site | Response:
    """The site of a write key if the request's origin (when it has one) is one of its own; else the 401 or 403
    (without CORS headers: a foreign page may not read it). The site's id goes to the access log."""
    site = metadata.site_by_key(key)
    if site is None:
        return _error(401, "unknown write key")
    request.state.site_id = site.site_id
    if origin is not None and origin not in site.allowed_origins:
        return _error(
            403, f"origin {origin} is not allowed for site {site.site_id}; {cors.how_to_allow(site.site_id, origin)}"
        )
    return site


async def _door(request: Request, key: str | None, parse: Callable[[bytes, str], _Parsed], **extra: object) -> Response:
    """The way in shared by `POST /v1/events` and the Segment routes.

    Per-IP rate limit, then the site from the write key (a key that is only in the body is
    read after the body), the origin, the body within its limits, the per-site rate limit
    by event count, and `admit`. `extra` is added to a 200 answer.
    """
    state = request.app.state
    metadata: Metadata = state.metadata
    origin = request.headers.get("origin")
    client = client_of(request.headers, request.client.host if request.client else None, state.proxies)
    wait = state.ip_limit.take(client.ip)
    if wait:
        state.metrics.rate_limited.labels("ip").inc()
        return _error(429, f"too many requests from {client.ip}; slow down", origin, retry_after(wait))
    site: Site | None = None
    try:
        if key:
            found = _site_of(metadata, key, origin, request)
            if isinstance(found, Response):
                return found
            site = found
        body = await _read_body(request, state.limits)
        parsed = parse(body, request.headers.get("content-type", ""))
        if site is None:
            if not parsed.write_key:
                return _error(401, "no write key: send header X-Write-Key, ?key=, or HTTP Basic with the key as user")
            found = _site_of(metadata, parsed.write_key, origin, request)
            if isinstance(found, Response):
                return found
            site = found
        wait = state.site_limit.take(site.site_id, len(parsed.raws) - len(parsed.refused), site.rate_per_s)
        if wait:
            state.metrics.rate_limited.labels("site").inc()
            return _error(429, "this site sends more events than its rate limit; slow down", origin, retry_after(wait))
        outcome = await admit(state, site, client, parsed.raws, sent_at=parsed.sent_at, refused=parsed.refused)
    except BadRequest as exc:
        return _error(exc.status, exc.message, origin)
    except ClientDisconnect:
        return _error(400, "the client went away before the body arrived")
    except StreamFullError as exc:
        return _error(503, f"the stream is full, try again later: {exc}", origin, retry_after=5)
    except StreamUnavailableError as exc:
        return _error(503, f"the stream is unavailable, try again later: {exc}", origin, retry_after=5)
    answer = {
        "accepted": outcome.accepted,
        "rejected": [_rejection(r, outcome.denied_rejections) for r in outcome.rejected],
        "consent_denied": outcome.consent_denied,
        **extra,
    }
    if outcome.rejected_denied:
        # of `rejected`, those dropped for want of consent (also in consent_denied), so a client
        # can tell what was stored: accepted - (consent_denied - consent_denied_rejected)
        answer["consent_denied_rejected"] = outcome.rejected_denied
    if "success" in extra and outcome.rejected and len(outcome.rejected) == len(parsed.raws):
        # every message refused (each kept in quarantine): a Segment-style client must not count it delivered
        message = f"all {len(parsed.raws)} messages were rejected; the first: {outcome.rejected[0].error}"
        answer.update(success=False, error=message, code="invalid_messages", message=message)
        return _answer(400, answer, origin)
    return _answer(200, answer, origin)


async def post_events(request: Request) -> Response:
    """`POST /v1/events`: see `clicklake.collect.ingest` for the order of work."""
    key = request.headers.get("x-write-key") or request.query_params.get("key")
    if not key:
        return _error(401, "no write key: send header X-Write-Key or ?key=")
    return await _door(request, key, _parse_events)


def _segment_route(route_type: str | None) -> Callable[[Request], Awaitable[Response]]:
    parse = _parse_segment(route_type)

    async def post_segment(request: Request) -> Response:
        """The Segment HTTP Tracking API (`/v1/batch`, `/v1/track`, ...; see `segment_routes`)."""
        key = (
            _basic_user(request.headers.get("authorization"))
            or request.headers.get("x-write-key")
            or request.query_params.get("writeKey")
        )
        return await _door(request, key, parse, success=True)

    return post_segment


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
        self.day = ""
        self.salt = b""

    def __call__(self, day: str) -> bytes:
        if day != self.day:
            self.salt = self._metadata.daily_salt(day)
            self.day = day
        return self.salt


def segment_routes() -> list[Route]:
    """The routes of the Segment and RudderStack libraries, each with its CORS preflight.

    Batches: `/v1/batch` (the server libraries, RudderStack's), `/v1/b` (analytics.js) and
    `/beacon/v1/batch?writeKey=` (RudderStack's beacon mode). One message: `/v1/{type}`
    and analytics.js's `/v1/{t,p,i,s,g,a}`.
    """
    paths: dict[str, str | None] = {"/v1/batch": None, "/v1/b": None, "/beacon/v1/batch": None}
    paths |= {f"/v1/{t}": t for t in segment.TYPES}
    paths |= {f"/v1/{short}": t for short, t in segment.SHORT_PATHS.items()}
    routes = [Route(path, _segment_route(t), methods=["POST"]) for path, t in paths.items()]
    return routes + [Route(path, cors.preflight, methods=["OPTIONS"]) for path in paths]


def create_app(settings: Settings, *, stream: Stream | None = None, metadata: Metadata | None = None) -> Starlette:
    """Build the app for these settings; the collector's routes need a stream and a metadata database."""
    routes = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/schema/v1.json", schema_v1, methods=["GET", "HEAD"]),
        *sdk_assets.routes(),
    ]
    if stream is not None and metadata is not None:
        routes += [
            Route("/v1/events", post_events, methods=["POST"]),
            Route("/v1/events", cors.preflight, methods=["OPTIONS"]),
            *segment_routes(),
            Route("/r/{link_id}", links.redirect, methods=["GET", "HEAD"], name="redirect"),
            Route("/r/{link_id}/qr.svg", links.qr_svg, methods=["GET", "HEAD"]),
            Route("/i.gif", links.pixel, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
        ]
    metrics = Metrics()
    routes.append(Route("/metrics", metrics.render, methods=["GET"]))
    direct = {("POST", "/v1/events"): post_events} if stream is not None and metadata is not None else {}
    middleware = Middleware(MetricsMiddleware, metrics=metrics, direct=direct, access_log=settings.collect.access_log)
    app = Starlette(routes=routes, middleware=[middleware])
    app.state.metrics = metrics
    app.state.last_refusal = 0.0
    app.state.settings = settings
    app.state.stream = stream
    app.state.metadata = metadata
    collect = settings.collect
    app.state.limits = Limits.of(collect)
    if stream is not None:
        app.state.appender = GroupAppender(functools.partial(timed_append, metrics, stream))
    app.state.proxies = collect.proxy_networks()
    app.state.ip_limit = RateLimiter(collect.rate_per_ip, collect.rate_burst_s)
    app.state.site_limit = RateLimiter(collect.rate_per_site, collect.rate_burst_s)
    if metadata is not None:
        app.state.salts = _Salts(metadata)
    return app
