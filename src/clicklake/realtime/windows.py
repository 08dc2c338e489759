"""Per-site live windows in memory, keyed by the event's own time (`ts`), not by arrival.

Because every figure is bucketed by event time, reading the same stream records again
(a restart that rebuilds from the stream) gives the same figures, whatever order or
batch sizes they arrive in.

- Minute buckets, kept for `MINUTES` minutes of wall clock: events, page views, the exact
  set of visitor ids (no sketch: at a single site's scale a set of a few thousand ids a
  minute is small, and exact counts reconcile with the lake), page views per page path,
  visitors per source and per country, and orders (order id → revenue).
- Hour buckets, kept for `HOURS` hours: events, page views, the exact set of visitors, and
  the event ids seen, so a repeated event id (a client retry) counts once, as
  `silver.events` keeps it once. An hour's figures are whole when every record of it was
  appended to the stream after `rebuilt_from` (the start minus `realtime.rebuild_minutes`).
- Rejections per minute of their stream append (and how many of them were refused for want
  of consent); a rejection with no site is counted under `None`.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import msgspec

MS_PER_MINUTE: Final = 60_000
MS_PER_HOUR: Final = 3_600_000
#: Minutes of per-minute detail kept (the "last 30 minutes" of the live view).
MINUTES: Final = 30
#: Minutes that count as "now" for current visitors.
CURRENT_MINUTES: Final = 5
#: Hour buckets kept (the current hour and the two closed before it).
HOURS: Final = 3
TOP: Final = 10


class SiteCounters(Protocol):
    """What `/metrics` and the alert rules read of the live windows, here or in another process."""

    @property
    def complete_from(self) -> int: ...

    def site_counters(self) -> dict[str, tuple[int, int]]: ...

    def last_append(self, site_id: str) -> int | None: ...


class _Utm(msgspec.Struct):
    source: str | None = None


class _Session(msgspec.Struct):
    utm: _Utm = msgspec.field(default_factory=_Utm)


class _User(msgspec.Struct):
    visitor_id: str | None = None
    geo_country: str | None = None


class _Ctx(msgspec.Struct):
    page_url: str | None = None


class _Traffic(msgspec.Struct):
    referrer_host: str | None = None
    referrer_class: str | None = None


class _Order(msgspec.Struct):
    order_id: str | None = None
    revenue_minor: int = 0
    currency: str | None = None


class LiveEvent(msgspec.Struct, tag="event/1", tag_field="kind"):
    """The few fields of a stream record (`clicklake.schema.record.Record`) the live view reads."""

    site_id: str
    event_type: str
    event_id: str
    ts: int
    user: _User = msgspec.field(default_factory=_User)
    session: _Session = msgspec.field(default_factory=_Session)
    ctx: _Ctx = msgspec.field(default_factory=_Ctx)
    traffic: _Traffic = msgspec.field(default_factory=_Traffic)
    order: _Order | None = None


class LiveRejection(msgspec.Struct, tag="rejected", tag_field="kind"):
    site_id: str | None
    reason: str


LivePayload = LiveEvent | LiveRejection
decoder: Final = msgspec.json.Decoder(LivePayload)


def page_path(url: str | None) -> str:
    """The path of a page URL, as `silver.events.page_path` groups pages; "(none)" without one."""
    if not url:
        return "(none)"
    if "://" in url:
        return urlsplit(url).path or "/"
    return url.split("?", 1)[0].split("#", 1)[0] or "(none)"


def source_of(event: LiveEvent) -> str | None:
    """The UTM source, else the referring host, else "(direct)"; None for a move within the site (no source)."""
    if event.session.utm.source:
        return event.session.utm.source
    if event.traffic.referrer_class == "internal":
        return None
    return event.traffic.referrer_host or "(direct)"


class _Minute:
    __slots__ = ("countries", "events", "orders", "pages", "pageviews", "sources", "visitors")

    def __init__(self) -> None:
        self.events = 0
        self.pageviews = 0
        self.visitors: set[str] = set()
        self.pages: Counter[str] = Counter()
        self.sources: defaultdict[str, set[str]] = defaultdict(set)
        self.countries: defaultdict[str, set[str]] = defaultdict(set)
        self.orders: dict[str, tuple[int, str | None]] = {}


class _Hour:
    __slots__ = ("event_ids", "events", "pageviews", "visitors")

    def __init__(self) -> None:
        self.events = 0
        self.pageviews = 0
        self.event_ids: set[str] = set()
        self.visitors: set[str] = set()


class _Site:
    def __init__(self) -> None:
        self.minutes: dict[int, _Minute] = {}
        self.hours: dict[int, _Hour] = {}
        self.version = 0
        self.last_append = 0  # newest stream append time (epoch ms) of an event of the site
        self.counted = 0  # events counted since the stage started (repeats not counted)


class Windows:
    """Every site's windows; thread-safe (one writer thread, any number of readers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sites: dict[str, _Site] = {}
        # minute → site (None: unknown) → [rejected, consent_denied]
        self._rejected: dict[int, dict[str | None, list[int]]] = {}
        #: Epoch ms of append time from which the windows hold every record of the stream (set by the stage).
        self.complete_from = 0

    def add(self, event: LiveEvent, now_ms: int, append_ts: int = 0) -> bool:
        """Count one event appended at `append_ts`; False when it is a repeat or older than every window."""
        with self._lock:
            site = self._sites.get(event.site_id)
            if site is None:
                site = self._sites[event.site_id] = _Site()
            site.last_append = max(site.last_append, append_ts)
            hour_key = event.ts - event.ts % MS_PER_HOUR
            if hour_key < now_ms - now_ms % MS_PER_HOUR - (HOURS - 1) * MS_PER_HOUR:
                return False
            hour = site.hours.get(hour_key)
            if hour is None:
                hour = site.hours[hour_key] = _Hour()
            if event.event_id in hour.event_ids:
                return False
            hour.event_ids.add(event.event_id)
            site.counted += 1
            page_view = event.event_type == "page_view"
            hour.events += 1
            hour.pageviews += page_view
            if event.user.visitor_id:
                hour.visitors.add(event.user.visitor_id)
            site.version += 1
            minute_key = event.ts - event.ts % MS_PER_MINUTE
            if minute_key < now_ms - now_ms % MS_PER_MINUTE - (MINUTES - 1) * MS_PER_MINUTE:
                return True
            minute = site.minutes.get(minute_key)
            if minute is None:
                minute = site.minutes[minute_key] = _Minute()
            minute.events += 1
            visitor = event.user.visitor_id
            if page_view:
                minute.pageviews += 1
                minute.pages[page_path(event.ctx.page_url)] += 1
            if visitor:
                minute.visitors.add(visitor)
                source = source_of(event)
                if source is not None:
                    minute.sources[source].add(visitor)
                minute.countries[event.user.geo_country or "(none)"].add(visitor)
            order = event.order
            if event.event_type == "purchase" and order is not None and order.order_id:
                minute.orders[order.order_id] = (order.revenue_minor, order.currency)
            return True

    def reject(self, site_id: str | None, consent_denied: bool, append_ts: int) -> None:
        """Count one rejection in the minute it was appended to the stream."""
        key = append_ts - append_ts % MS_PER_MINUTE
        with self._lock:
            counts = self._rejected.setdefault(key, {}).setdefault(site_id, [0, 0])
            counts[0] += 1
            counts[1] += consent_denied

    def evict(self, now_ms: int) -> None:
        """Forget the minutes and hours that left the windows."""
        first_minute = now_ms - now_ms % MS_PER_MINUTE - (MINUTES - 1) * MS_PER_MINUTE
        first_hour = now_ms - now_ms % MS_PER_HOUR - (HOURS - 1) * MS_PER_HOUR
        with self._lock:
            for site in self._sites.values():
                for key in [k for k in site.minutes if k < first_minute]:
                    del site.minutes[key]
                    site.version += 1
                for key in [k for k in site.hours if k < first_hour]:
                    del site.hours[key]
            for key in [k for k in self._rejected if k < first_minute]:
                del self._rejected[key]

    def version(self, site_id: str) -> int:
        with self._lock:
            site = self._sites.get(site_id)
            return site.version if site else 0

    def sites(self) -> list[str]:
        with self._lock:
            return sorted(self._sites)

    def rejections(self, since_ms: int) -> dict[str | None, tuple[int, int]]:
        """Rejected and consent-denied counts per site since `since_ms` (by arrival minute)."""
        out: dict[str | None, tuple[int, int]] = {}
        with self._lock:
            for key, per_site in self._rejected.items():
                if key + MS_PER_MINUTE <= since_ms:
                    continue
                for site_id, (rejected, denied) in per_site.items():
                    before = out.get(site_id, (0, 0))
                    out[site_id] = (before[0] + rejected, before[1] + denied)
        return out

    def site_counters(self) -> dict[str, tuple[int, int]]:
        """Per site: events counted since the stage started, and the newest event's append time (epoch ms)."""
        with self._lock:
            return {k: (s.counted, s.last_append) for k, s in self._sites.items()}

    def last_append(self, site_id: str) -> int | None:
        """When the newest event of the site read so far was appended to the stream (epoch ms), if any."""
        with self._lock:
            site = self._sites.get(site_id)
            return site.last_append if site is not None and site.last_append else None

    def snapshot(self, site_id: str, now_ms: int) -> dict[str, Any]:
        """What `/api/live` shows for one site at `now_ms` (JSON-ready)."""
        this_minute = now_ms - now_ms % MS_PER_MINUTE
        first = this_minute - (MINUTES - 1) * MS_PER_MINUTE
        current_from = this_minute - (CURRENT_MINUTES - 1) * MS_PER_MINUTE
        with self._lock:
            site = self._sites.get(site_id) or _Site()
            minutes = [(k, m) for k, m in sorted(site.minutes.items()) if first <= k <= this_minute]
            per_minute = dict(minutes)
            series = [
                {
                    "minute": _iso(k),
                    "events": per_minute[k].events if k in per_minute else 0,
                    "pageviews": per_minute[k].pageviews if k in per_minute else 0,
                }
                for k in range(first, this_minute + 1, MS_PER_MINUTE)
            ]
            current: set[str] = set()
            visitors: set[str] = set()
            pages: Counter[str] = Counter()
            sources: defaultdict[str, set[str]] = defaultdict(set)
            countries: defaultdict[str, set[str]] = defaultdict(set)
            orders: dict[str, tuple[int, str | None]] = {}
            for key, minute in minutes:
                visitors |= minute.visitors
                if key >= current_from:
                    current |= minute.visitors
                pages.update(minute.pages)
                for name, ids in minute.sources.items():
                    sources[name] |= ids
                for name, ids in minute.countries.items():
                    countries[name] |= ids
                orders.update(minute.orders)
            hours = [
                {
                    "hour": _iso(k),
                    "events": h.events,
                    "pageviews": h.pageviews,
                    "visitors": len(h.visitors),
                }
                for k, h in sorted(site.hours.items())
            ]
            version = site.version
            refused = [per.get(site_id, [0, 0]) for k, per in self._rejected.items() if first <= k <= this_minute]
        currencies = sorted({c for _, c in orders.values() if c})
        return {
            "site_id": site_id,
            "now": _iso(now_ms),
            "version": version,
            "current_visitors": len(current),
            "current_window_minutes": CURRENT_MINUTES,
            "window_minutes": MINUTES,
            "visitors": len(visitors),
            "events": sum(m.events for _, m in minutes),
            "pageviews": sum(m.pageviews for _, m in minutes),
            "per_minute": series,
            "top_pages": [{"page": p, "pageviews": n} for p, n in _top(pages)],
            "top_sources": [{"source": s, "visitors": n} for s, n in _top_sets(sources)],
            "top_countries": [{"country": c, "visitors": n} for c, n in _top_sets(countries)],
            "conversions": len(orders),
            "revenue_minor": sum(r for r, _ in orders.values()),
            "currencies": currencies,
            "rejected": sum(r for r, _ in refused),
            "consent_denied_rejected": sum(d for _, d in refused),
            "hours": hours,
            "rebuilt_from": _iso(self.complete_from),
        }


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]


def _top_sets(groups: dict[str, set[str]]) -> list[tuple[str, int]]:
    return _top(Counter({k: len(v) for k, v in groups.items()}))


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")
