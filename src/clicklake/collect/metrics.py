"""The collector's Prometheus metrics (`GET /metrics`) and the middleware that counts requests.

One registry per app, so that several apps in one process (the tests) do not share
counts. Routes are labelled by their template, not their path, so `/r/{link_id}` is one
series however many links there are.

Under `clicklake up` and `clicklake collect --workers N` every process of the tree (the HTTP
workers, the loader, realtime, the scheduler) counts into files of a directory the supervisor
names in `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode), and `/metrics`
answers the sums over all of them, those replaced since included, whichever worker takes the
scrape, with the series read at scrape time (`scraped`: stream lag, table freshness) beside.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clicklake.stream import Stream, StreamFullError, StreamUnavailableError

#: Set (by `clicklake collect`) before a worker process imports prometheus-client: counts go to files there.
MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
#: The access log (`collect.access_log`): one JSON line per request.
access_log: Final = logging.getLogger("clicklake.access")
_access_json: Final = msgspec.json.Encoder()
_LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: Routes labelled by their path; the Segment and RudderStack ones (`/v1/t`, `/v1/track`, ...) by theirs too.
_PATHS: Final = frozenset(
    {
        "/v1/events",
        "/v1/batch",
        "/v1/b",
        "/beacon/v1/batch",
        *(f"/v1/{t}" for t in ("track", "page", "screen", "identify", "group", "alias", "t", "p", "s", "i", "g", "a")),
        "/i.gif",
        "/healthz",
        "/readyz",
        "/metrics",
    }
)
#: Routes with a variable part, labelled by their template.
_PREFIXES: Final = (("/r/", "/r/{link_id}"), ("/schema/", "/schema/v1.json"))


class Metrics:
    """Every series the collector exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        #: Collectors read at each scrape (stream lag, table freshness), beside the multiprocess files'
        #: sums; without multiprocess mode they are registered on `registry` instead.
        self.scraped: list[Collector] = []
        r = self.registry
        self.requests = Counter(
            "clicklake_http_requests", "HTTP requests by route and status", ("route", "status"), registry=r
        )
        self.latency = Histogram(
            "clicklake_http_request_seconds",
            "Time to answer a request, by route",
            ("route",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.events = Counter(
            "clicklake_events", "Events by outcome (accepted, rejected, consent_denied)", ("outcome",), registry=r
        )
        self.site_events = Counter(
            "clicklake_site_events",
            "Events by site and outcome (accepted, rejected, consent_denied), for per-site alert rules",
            ("site_id", "outcome"),
            registry=r,
        )
        self.rejections = Counter(
            "clicklake_events_rejected", "Rejected events by the field the reason names", ("field",), registry=r
        )
        self.append_latency = Histogram(
            "clicklake_stream_append_seconds", "Time of one durable stream append", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.append_failures = Counter(
            "clicklake_stream_append_failures",
            "Stream appends refused, by cause (full, unavailable)",
            ("cause",),
            registry=r,
        )

        self.rate_limited = Counter(
            "clicklake_rate_limited",
            "Requests refused (429) or clicks not recorded because a rate limit was reached, by limit (ip, site)",
            ("limit",),
            registry=r,
        )

        self.accepted = self.events.labels("accepted")
        self.rejected_events = self.events.labels("rejected")
        self.consent_denied = self.events.labels("consent_denied")
        # labelled children by (route, status) and route: `labels()` is slow for every request
        self._requests: dict[tuple[str, int], Any] = {}
        self._latency: dict[str, Any] = {}
        self._site_events: dict[tuple[str, str], Any] = {}

    def request_done(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its time."""
        counter = self._requests.get((route, status))
        if counter is None:
            counter = self._requests[route, status] = self.requests.labels(route, str(status))
        counter.inc()
        histogram = self._latency.get(route)
        if histogram is None:
            histogram = self._latency[route] = self.latency.labels(route)
        histogram.observe(seconds)

    def site_counted(self, site_id: str, accepted: int, rejected: int, consent_denied: int) -> None:
        """Count one request's events for its site, by outcome."""
        for outcome, n in (("accepted", accepted), ("rejected", rejected), ("consent_denied", consent_denied)):
            if n:
                child = self._site_events.get((site_id, outcome))
                if child is None:
                    child = self._site_events[site_id, outcome] = self.site_events.labels(site_id, outcome)
                child.inc(n)

    def rejected(self, errors: list[str]) -> None:
        """Count rejections by the JSON path their message starts with (`$.ts`, `$.user.consent`, ...)."""
        for error in errors:
            head = error.split(":", 1)[0]
            self.rejections.labels(head if head.startswith("$") else "other").inc()

    def render(self, request: Request) -> Response:
        directory = os.environ.get(MULTIPROCESS_ENV)
        if directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            for collector in self.scraped:
                registry.register(collector)
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def timed_append(metrics: Metrics, stream: Stream, records: list[tuple[str, bytes]]) -> None:
    """`stream.append`, timed, with refusals counted by cause (blocking: run it in a thread)."""
    started = time.perf_counter()
    try:
        stream.append(records)
    except StreamFullError:
        metrics.append_failures.labels("full").inc()
        raise
    except StreamUnavailableError:
        metrics.append_failures.labels("unavailable").inc()
        raise
    metrics.append_latency.observe(time.perf_counter() - started)


def log_request(scope: Scope, route: str, status: int, seconds: float) -> None:
    """One JSON line on the `clicklake.access` logger; the site is the one a route put in the request state.

    Only the route template is written, not the path or query string (a write key or a
    link id may be in them), and never the client's address.
    """
    state = scope.get("state") or {}
    line = {
        "ts": round(time.time(), 3),
        "method": scope.get("method"),
        "route": route,
        "status": status,
        "latency_ms": round(seconds * 1000, 2),
        "site": state.get("site_id"),
    }
    access_log.info("%s", _access_json.encode(line).decode())


def route_of(path: str) -> str:
    if path in _PATHS:
        return path
    for prefix, name in _PREFIXES:
        if path.startswith(prefix):
            return name
    return "other"


class MetricsMiddleware:
    """Counts every HTTP request by route and status, and times it.

    The routes in `direct` (method and path to endpoint) are served from here without
    Starlette's routing and middleware: `POST /v1/events` is most of the traffic, and for a
    one-event beacon the framework's layers cost more than the event. Such an endpoint gets
    the same `Request` (with `app.state`); an exception it raises still counts as a 500 and
    reaches the server, which answers 500 and logs it.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        direct: Mapping[tuple[str, str], Callable[[Request], Awaitable[Response]]] | None = None,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.direct = dict(direct or {})
        self.access_log = access_log

    def _done(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route = route_of(scope["path"])
        self.metrics.request_done(route, status, seconds)
        if self.access_log:
            log_request(scope, route, status, seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        endpoint = self.direct.get((scope["method"], scope["path"]))
        if endpoint is not None:
            try:
                response = await endpoint(Request(scope, receive))
                status = response.status_code
                await response(scope, receive, send)
            finally:
                self._done(scope, status, started)
            return

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._done(scope, status, started)
