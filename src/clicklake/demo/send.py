"""Sending visits to a collector over its real HTTP API, at a steady rate, and counting the outcome.

A few worker tasks each play one visit at a time through one keep-alive `httpx` client;
a shared pacer spaces requests so that events leave at the asked rate. Each request
looks like the browser's: its `User-Agent`, the page's `Origin`, `DNT`/`Sec-GPC` when the
visitor sends them, and the visitor's address in `X-Forwarded-For` (the collector
believes it from a trusted proxy, by default 127.0.0.1; from anywhere else it sees the
demo's own address and finds no country).

Time: a visit is laid out so that its *anchor* step (the first one the collector
time-stamps itself, a tracked link or the pixel; else the last step) happens now. The
steps before it are sent at once with `ts` in the past, like an SDK flushing its queue;
the steps after it (a menu read after the QR scan) are sent when they fall due, so no
event ever claims a time ahead of the collector's clock.

Every event sent ends in exactly one of the counts of `Summary`: accepted (stored in
`bronze.events`), consent-denied (counted by the collector, not stored), rejected (kept
in `bronze.quarantine` with the reason) or failed (the collector never took it, after
retries of 429 and 503 as `Retry-After` says).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import msgspec

from clicklake.demo.traffic import Pixel, Post, Redirect, Session, Step, Traffic, Visitor

log = logging.getLogger(__name__)

#: Worker tasks playing visits at once (each visit's first steps are sent one after another).
WORKERS: Final = 8
#: Requests in flight at once over the keep-alive connections.
IN_FLIGHT: Final = 16
ATTEMPTS: Final = 5
MAX_RETRY_AFTER_S: Final = 10.0
#: Distinct reasons kept per kind in a summary (the counts still cover every event).
MAX_REASONS: Final = 20

_json = msgspec.json.Encoder()


class Summary(msgspec.Struct, kw_only=True):
    """What became of the events a demo run sent; `sent = accepted + consent_denied + rejected + failed`."""

    sent: int = 0
    accepted: int = 0
    consent_denied: int = 0
    rejected: int = 0
    failed: int = 0
    requests: int = 0
    sessions: int = 0
    seconds: float = 0.0
    #: Events sent, by `event_type`.
    by_type: dict[str, int] = msgspec.field(default_factory=dict)
    #: Visits played, by scenario (compare, shop, menu, crawl, newsletter).
    by_scenario: dict[str, int] = msgspec.field(default_factory=dict)
    #: Rejection reasons the collector gave, with how many events each.
    rejections: dict[str, int] = msgspec.field(default_factory=dict)
    #: Why events failed, with how many events each.
    failures: dict[str, int] = msgspec.field(default_factory=dict)
    #: Set when the run stopped early because the collector refused the site (unknown key, origin).
    error: str | None = None

    def line(self) -> str:
        """The one-line account of a run."""
        rate = self.sent / self.seconds if self.seconds > 0 else 0.0
        text = (
            f"sent {self.sent} events in {self.requests} requests ({self.seconds:.1f} s, {rate:,.0f}/s): "
            f"{self.accepted} accepted (bronze.events), {self.consent_denied} consent-denied (counted, not stored), "
            f"{self.rejected} rejected (bronze.quarantine)"
        )
        return text + (f", {self.failed} failed" if self.failed else "")

    def report(self) -> str:
        """Events sent by type, the reasons for rejections and failures, then `line()`."""
        lines = ["event type           sent"]
        lines += [f"{t:<18} {n:>6}" for t, n in sorted(self.by_type.items(), key=lambda kv: -kv[1])]
        visits = ", ".join(f"{n} {s}" for s, n in sorted(self.by_scenario.items(), key=lambda kv: -kv[1]))
        lines.append(f"visits: {self.sessions} ({visits})")
        for title, reasons in (("rejected", self.rejections), ("failed", self.failures)):
            for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
                lines.append(f"{title} {n}: {reason}")
        lines.append(self.line())
        return "\n".join(lines) + "\n"


def iso(ms: int) -> str:
    """RFC 3339 with milliseconds in UTC, as a browser's `toISOString()`."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_loopback(url: str) -> bool:
    """Whether `url` is on this machine: then a proxy from the environment must not catch its requests."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _add(counts: dict[str, int], key: str, n: int = 1) -> None:
    if key in counts or len(counts) < MAX_REASONS:
        counts[key] = counts.get(key, 0) + n


class _Pacer:
    """Spaces requests so that events leave at `rate` per second on average (0: as fast as possible)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = time.monotonic()

    def delay(self, events: int) -> float:
        """Seconds to wait before sending `events` events; the slot after them is booked at once."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + events / self.rate
        return start - now


class _Fatal(Exception):
    """The collector refuses the site itself: no further request can succeed."""


class Sender:
    """Plays visits from `traffic` against the collector at `url` for one site, and counts the outcomes."""

    def __init__(
        self,
        url: str,
        write_key: str,
        origin: str | None,
        traffic: Traffic,
        *,
        on_sent: Callable[[int], object] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.write_key = write_key
        self.origin = origin
        self.traffic = traffic
        self.on_sent = on_sent
        self.summary = Summary()
        self.stop = asyncio.Event()
        self._left: int | None = None
        self._pacer = _Pacer(0)
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self._later: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def run(self, phases: list[tuple[int | None, float]]) -> Summary:
        """Send each phase's events (None: until stopped) at its rate; the summary of all of them."""
        started = time.monotonic()
        async with httpx.AsyncClient(
            base_url=self.url,
            timeout=httpx.Timeout(15.0, pool=None),
            limits=httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT),
            trust_env=not is_loopback(self.url),
            headers={"accept": "*/*"},
        ) as client:
            self._client = client
            try:
                for events, rate in phases:
                    if self.stop.is_set():
                        break
                    self._left = events
                    self._pacer = _Pacer(rate)
                    await asyncio.gather(*(self._work() for _ in range(WORKERS)))
            finally:
                self.stop.set()  # visits waiting for a later step end here: their visitors left
                if self._later:
                    await asyncio.gather(*self._later, return_exceptions=True)
        self.summary.seconds = time.monotonic() - started
        return self.summary

    # -- playing visits -------------------------------------------------------------------------

    def _over(self) -> bool:
        return self.stop.is_set() or self._left == 0

    async def _work(self) -> None:
        try:
            while not self._over():
                session = self.traffic.session()
                self.summary.sessions += 1
                self.summary.by_scenario[session.scenario] = self.summary.by_scenario.get(session.scenario, 0) + 1
                await self._play(session)
        except _Fatal as exc:
            self.summary.error = self.summary.error or str(exc)
            self.stop.set()

    async def _play(self, session: Session) -> None:
        anchor = session.anchor
        base = _now_ms() - session.steps[anchor].at
        for step in session.steps[: anchor + 1]:
            if not await self._send(session.visitor, step, base):
                return
        rest = session.steps[anchor + 1 :]
        if rest:
            task = asyncio.create_task(self._play_later(session.visitor, rest, base))
            self._later.add(task)
            task.add_done_callback(self._later.discard)

    async def _play_later(self, visitor: Visitor, steps: list[Step], base: int) -> None:
        try:
            for step in steps:
                if await self._sleep((base + step.at - _now_ms()) / 1000):
                    return
                if not await self._send(visitor, step, base):
                    return
        except _Fatal as exc:
            self.summary.error = self.summary.error or str(exc)
            self.stop.set()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped first; True when stopped."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), seconds)
        return self.stop.is_set()

    def _take(self, events: int) -> int:
        """Book up to `events` events of the phase's budget; 0 when it is spent."""
        if self.stop.is_set():
            return 0
        if self._left is None:
            return events
        granted = min(events, self._left)
        self._left -= granted
        return granted

    async def _send(self, visitor: Visitor, step: Step, base: int) -> bool:
        """Send one step (cut short when the budget ends within it); False when the visit cannot go on."""
        events = len(step.events) if isinstance(step, Post) else 1
        if await self._sleep(self._pacer.delay(events)):
            return False
        granted = self._take(events)
        if granted == 0:
            return False
        if isinstance(step, Post):
            batch = [event for _, event in step.events[:granted]]
            for at, event in step.events[:granted]:
                event.setdefault("ts", iso(base + at))
            types = [str(e["event_type"]) for e in batch]
            await self._post(visitor, batch, step.beacon)
        elif isinstance(step, Redirect):
            types = [step.event_type]
            await self._redirect(visitor, step)
        else:
            types = ["page_view"]
            await self._pixel(visitor, step)
        for event_type in types:
            self.summary.by_type[event_type] = self.summary.by_type.get(event_type, 0) + 1
        if self.on_sent is not None:
            self.on_sent(granted)
        return granted == events

    # -- requests ---------------------------------------------------------------------------------

    def _headers(self, visitor: Visitor) -> dict[str, str]:
        headers = {"user-agent": visitor.user_agent, "x-forwarded-for": visitor.ip}
        if visitor.dnt:
            headers["dnt"] = "1"
        if visitor.gpc:
            headers["sec-gpc"] = "1"
        return headers

    async def _request(
        self, events: int, method: str, path: str, *, retry_transport: bool, **kw: Any
    ) -> httpx.Response | None:
        """One request, again after 429/503 (and after a broken connection when `retry_transport`).

        A tracked link or the pixel is not sent again after a broken connection: the
        collector may have recorded it, and it carries no event id to drop the copy by.
        """
        assert self._client is not None
        for attempt in range(ATTEMPTS):
            try:
                async with self._in_flight:
                    self.summary.requests += 1
                    response = await self._client.request(method, path, **kw)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if not retry_transport:
                    self._failed(events, reason)
                    return None
                delay = 0.25 * 2**attempt
            else:
                if response.status_code not in (429, 503):
                    return response
                reason = f"HTTP {response.status_code}: {_error_of(response)}"
                try:
                    delay = min(float(response.headers.get("retry-after", "1")), MAX_RETRY_AFTER_S)
                except ValueError:
                    delay = 1.0
            if attempt == ATTEMPTS - 1 or await self._sleep(delay):
                self._failed(events, reason)
                return None
        return None  # pragma: no cover (the loop returns)

    def _failed(self, events: int, reason: str) -> None:
        self.summary.sent += events
        self.summary.failed += events
        _add(self.summary.failures, reason, events)

    def _fatal(self, response: httpx.Response) -> _Fatal:
        return _Fatal(
            f"the collector at {self.url} answered HTTP {response.status_code} ({_error_of(response)}); "
            "it must share the metadata database (sites, write keys, links) with this command: "
            "the same data directory (CLICKLAKE_DATA) or setting collect.metadata_uri"
        )

    async def _post(self, visitor: Visitor, batch: list[dict[str, Any]], beacon: bool) -> None:
        headers = self._headers(visitor)
        if self.origin is not None:
            headers["origin"] = self.origin
        params = {}
        if beacon:  # navigator.sendBeacon cannot set headers: the key rides in the query string
            params["key"] = self.write_key
            headers["content-type"] = "text/plain;charset=UTF-8"
        else:
            headers["x-write-key"] = self.write_key
            headers["content-type"] = "application/json"
        body = _json.encode({"events": batch, "sent_at": iso(_now_ms())})
        response = await self._request(
            len(batch), "POST", "/v1/events", retry_transport=True, content=body, headers=headers, params=params
        )
        if response is None:
            return
        if response.status_code in (401, 403):
            self._failed(len(batch), f"HTTP {response.status_code}: {_error_of(response)}")
            raise self._fatal(response)
        if response.status_code != 200:
            self._failed(len(batch), f"HTTP {response.status_code}: {_error_of(response)}")
            return
        answer = response.json()
        rejected = answer.get("rejected", [])
        denied = int(answer.get("consent_denied", 0))
        # an invalid event without consent is rejected and consent-denied at once: count it once, as denied
        refused = [r for r in rejected if not r.get("consent_denied")]
        both = len(rejected) - len(refused)
        s = self.summary
        s.sent += len(batch)
        s.accepted += int(answer["accepted"]) - (denied - both)
        s.consent_denied += denied
        s.rejected += len(refused)
        for r in refused:
            _add(s.rejections, str(r.get("error")))

    async def _redirect(self, visitor: Visitor, step: Redirect) -> None:
        headers = self._headers(visitor)
        if step.referer:
            headers["referer"] = step.referer
        params = {"at": step.placement} if step.placement else {}
        response = await self._request(
            1, "GET", f"/r/{step.link_id}", retry_transport=False, headers=headers, params=params
        )
        if response is not None:
            self._count_outcome(response, expect=302)

    async def _pixel(self, visitor: Visitor, step: Pixel) -> None:
        params = {**step.params, "key": self.write_key}
        response = await self._request(
            1, "GET", "/i.gif", retry_transport=False, headers=self._headers(visitor), params=params
        )
        if response is None:
            return
        if response.headers.get("x-clicklake") == "unknown-key":
            self._failed(1, "unknown-key")
            raise self._fatal(response)
        self._count_outcome(response, expect=200)

    def _count_outcome(self, response: httpx.Response, expect: int) -> None:
        """Count an event the collector recorded itself, from the outcome in its `X-Clicklake` header."""
        outcome = response.headers.get("x-clicklake", "")
        s = self.summary
        if response.status_code != expect or not outcome:
            self._failed(1, f"HTTP {response.status_code}: {outcome or _error_of(response)}")
        elif outcome == "accepted":
            s.sent += 1
            s.accepted += 1
        elif outcome == "consent-denied":
            s.sent += 1
            s.consent_denied += 1
        elif outcome.startswith("rejected"):
            s.sent += 1
            s.rejected += 1
            _add(s.rejections, outcome.partition(": ")[2] or outcome)
        else:
            self._failed(1, outcome)


def _error_of(response: httpx.Response) -> str:
    """The collector's `{"error": ...}` message, or the start of whatever it answered."""
    try:
        answer = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        return str(answer["error"])
    return response.text[:200]
