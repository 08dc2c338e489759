"""`POST /v1/events`: from request bytes to durably appended stream records.

The order of work is the order of the promise "privacy at the door, nothing lost":

1. Limits before reading: a declared body over `max_body_bytes` is 413 at once; a
   body that grows past it while read is 413; gzip is inflated with a cap.
2. The site comes from the write key (header `X-Write-Key` or `?key=`), never from
   the payload: 401 without a known key; a request with an `Origin` that the site
   does not allow is 403.
3. The body is a JSON array, `{"events": [...], "sent_at": ...}`, or NDJSON of
   objects; anything else holds no events and is 400 with the reason. Each event is
   judged alone (32 KB at most, UTF-8, then the contract); invalid ones become
   rejections kept for `bronze.quarantine`, valid ones go on.
4. Consent: an event whose `user.consent.analytics` is false, or any event of a
   browser sending DNT or GPC to a site that honours them, is not stored, valid or
   not; only a per-site daily count is kept.
5. Privacy: the client IP is truncated, URLs, referrers, titles, search queries and
   custom properties are scrubbed of PII, ids that hold PII are hashed; a visitor
   without an id of its own gets a cookieless id from the day's salt. A rejected
   event's bytes are scrubbed the same way before they are kept
   (`privacy.scrub_refused`).
6. Enrichment: server `ingest_ts`, clock-skew correction from `sent_at`, device from
   the user agent, country from the IP, UTM from the page URL, referrer class.
7. One stream append for the whole request. Only when it returns is the answer 200;
   a full or unavailable stream is 503 with `Retry-After`, and nothing is claimed.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio.to_thread
import msgspec
from msgspec import UNSET

from clicklake.collect import enrich
from clicklake.collect.metadata import utc_day
from clicklake.schema import SCHEMA_HASH, decode_batch, privacy, to_record, validate
from clicklake.schema import events as ev
from clicklake.schema.envelope import Rejected, encode_payload
from clicklake.schema.validate import Rejection
from clicklake.stream import StreamFullError, StreamUnavailableError

if TYPE_CHECKING:
    from clicklake.config import CollectSettings

MAX_EVENT_BYTES: Final = 32 * 1024


class BadRequest(Exception):
    """The request as a whole is unusable: answered with `status` and `message`, nothing stored."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    events: list[msgspec.Raw]
    sent_at: str | None = None


_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_envelope = msgspec.json.Decoder(_Envelope)
_raw_one = msgspec.json.Decoder(msgspec.Raw)


@dataclass(frozen=True)
class Limits:
    """Request limits; every one of them is a setting (`collect.*`)."""

    max_body_bytes: int = 1 << 20
    max_inflated_bytes: int = 8 << 20
    max_events: int = 1000
    max_event_bytes: int = MAX_EVENT_BYTES
    body_timeout_s: float = 10.0

    @classmethod
    def of(cls, settings: CollectSettings) -> Limits:
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_inflated_bytes=settings.max_inflated_bytes,
            max_events=settings.max_events,
            max_event_bytes=settings.max_event_bytes,
            body_timeout_s=settings.body_timeout_s,
        )


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding (identity or gzip), refusing more than `limit` bytes inflated."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise BadRequest(415, f"Content-Encoding {encoding!r} is not supported; send gzip or nothing")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadRequest(400, f"the gzip body is corrupt: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BadRequest(413, f"the body inflates to more than {limit} bytes")
    if not inflater.eof:
        raise BadRequest(400, "the gzip body is truncated")
    return out


_KINDS: Final = {b'"': "a string", b"t": "true", b"f": "false", b"n": "null", b"[": "an array", b"{": "an object"}


def _kind(text: bytes) -> str:
    """What a JSON value that is not an event list is, for the reason of a 400."""
    first = text[:1]
    if first in _KINDS:
        return _KINDS[first]
    if first in b"-0123456789" and first:
        return "a number"
    return "not JSON"


def _one_value(text: bytes) -> bool:
    """Whether `text` (several lines, starting with `{`) is one JSON value rather than NDJSON."""
    try:
        _raw_one.decode(text)
    except msgspec.DecodeError:
        return False
    return True


def split_events(body: bytes, content_type: str) -> tuple[list[bytes], str | None]:
    """The raw bytes of each event, and the batch's `sent_at` when it has one.

    The body is a JSON array (of events: each element is judged alone), an object
    `{"events": [...], "sent_at": "..."}`, or NDJSON, one object per line (chosen by
    Content-Type `application/x-ndjson`, or when the body is several lines of objects).
    Anything else (a bare string, number, boolean or null, an object without `events`,
    an NDJSON line that is not an object) holds no events: `BadRequest` 400 with the reason.
    """
    text = body.strip()
    if not text:
        raise BadRequest(400, "the body is empty; send a JSON array of events")
    ndjson = "ndjson" in content_type or "jsonl" in content_type
    try:
        if not ndjson and text[:1] == b"[":
            return [bytes(r) for r in _raw_list.decode(text)], None
        if not ndjson and text[:1] == b"{" and (b"\n" not in text or _one_value(text)):
            try:
                envelope = _envelope.decode(text)
            except msgspec.ValidationError as exc:  # one JSON object, but not an envelope
                raise BadRequest(
                    400,
                    'a JSON object body must be {"events": [...], "sent_at": "..."} '
                    f"({validate.explain(str(exc))}); send one event as an array of one, "
                    "or as NDJSON with Content-Type application/x-ndjson",
                ) from None
            return [bytes(r) for r in envelope.events], envelope.sent_at
        if not ndjson and text[:1] != b"{":
            raise BadRequest(
                400,
                f'the body holds no events: it is {_kind(text)}; send a JSON array of events, {{"events": [...]}}, '
                "or NDJSON (one event object a line)",
            )
        raws = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            raw = bytes(_raw_one.decode(line))
            if raw[:1] != b"{":
                raise BadRequest(400, f"NDJSON line {number} is {_kind(raw)}, not an event object")
            raws.append(raw)
        if not raws:
            raise BadRequest(400, "the body holds no events: NDJSON of empty lines")
        return raws, None
    except msgspec.DecodeError as exc:
        raise BadRequest(400, f"the body is not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BadRequest(400, f"the body is not UTF-8: {exc}") from None
    except RecursionError:
        raise BadRequest(400, "the body is nested too deeply") from None


@dataclass(frozen=True)
class Client:
    """What the request says about its sender, before any of it is stored."""

    ip: str
    user_agent: str
    dnt: bool = False
    gpc: bool = False


class SiteRef(Protocol):
    """What `admit` needs of a site (`clicklake.collect.metadata.Site` has it)."""

    @property
    def site_id(self) -> str: ...
    @property
    def honor_dnt(self) -> bool: ...
    @property
    def honor_gpc(self) -> bool: ...


@dataclass(frozen=True)
class SiteView:
    """The site a request is for, as the collector needs it."""

    site_id: str
    honor_dnt: bool = True
    honor_gpc: bool = True


class Outcome(msgspec.Struct):
    """The answer to a batch, and the stream records it needs appended first.

    `consent_denied` counts every event not stored for want of consent (or for DNT/GPC),
    valid or not; `denied_rejections` are the indices of those among `rejected`.
    """

    accepted: int
    rejected: list[Rejection]
    consent_denied: int
    records: list[tuple[str, bytes]]
    denied_rejections: frozenset[int] = frozenset()

    @property
    def rejected_denied(self) -> int:
        """How many of `rejected` were not kept for want of consent (counted in `consent_denied`)."""
        return len(self.denied_rejections)


def _ts_ms_of(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def process(
    raws: list[bytes],
    site: SiteView,
    client: Client,
    *,
    salt: bytes,
    sent_at: str | None = None,
    now_ms: int | None = None,
    limits: Limits = Limits(),
    scrub_keys: frozenset[str] = privacy.DEFAULT_SCRUB_KEYS,
    refused: Mapping[int, str] | None = None,
) -> Outcome:
    """Judge, protect and enrich the events of one request; nothing is stored here.

    `refused` names events already judged unusable by the caller (index: reason), such as
    Segment messages of a type clicklake does not take; they are rejected and quarantined
    like any invalid event.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if len(raws) > limits.max_events:
        raise BadRequest(413, f"{len(raws)} events in one request; at most {limits.max_events}")
    rejected: list[Rejection] = []
    records: list[tuple[str, bytes]] = []
    keep: list[int] = []
    for i, raw in enumerate(raws):
        if refused and i in refused:
            rejected.append(Rejection(i, refused[i]))
        elif len(raw) > limits.max_event_bytes:
            rejected.append(Rejection(i, f"the event is {len(raw)} bytes; at most {limits.max_event_bytes}"))
        else:
            keep.append(i)
    try:
        batch = decode_batch(b"[" + b",".join(raws[i] for i in keep) + b"]", now_ms=now)
    except RecursionError:
        raise BadRequest(400, "an event is nested too deeply") from None
    rejected.extend(Rejection(keep[r.index], r.error) for r in batch.rejected)
    rejected.sort(key=lambda r: r.index)
    denied_by_browser = (site.honor_dnt and client.dnt) or (site.honor_gpc and client.gpc)
    denied_rejections: set[int] = set()
    for r in rejected:
        # privacy before the first byte is written, for refused events too: nothing of an event
        # without consent, and the bytes of the others scrubbed like a valid event's fields
        # an oversized event is kept as its first max_event_bytes (its size is in the reason)
        raw = raws[r.index][: limits.max_event_bytes]
        kept = None if denied_by_browser else privacy.scrub_refused(raw, scrub_keys)
        if kept is None:
            denied_rejections.add(r.index)
            continue
        reason = Rejected(site_id=site.site_id, received_ts=now, source="http", reason=r.error, raw=kept)
        records.append((f"rejected:{site.site_id}", encode_payload(reason)))
    ip_anonymized = privacy.anonymize_ip(client.ip)
    country = enrich.geo_country(client.ip)
    sent_ms = _ts_ms_of(sent_at)
    denied = 0
    for event, ts_ms in zip(batch.events, batch.ts_ms, strict=True):
        if denied_by_browser or not event.user.consent.analytics:
            denied += 1
            continue
        scrub_event(event, scrub_keys)
        ctx = event.ctx if event.ctx is not UNSET else None
        user_agent = (ctx.user_agent if ctx is not None and isinstance(ctx.user_agent, str) else None) or (
            client.user_agent
        )
        page_url = ctx.page_url if ctx is not None and isinstance(ctx.page_url, str) else None
        referrer = ctx.referrer if ctx is not None and isinstance(ctx.referrer, str) else None
        if event.session is UNSET or event.session.utm is UNSET:
            utm = enrich.utm_from_url(page_url)
            if utm is not None:
                if event.session is UNSET:
                    event.session = ev.Session()
                event.session.utm = ev.Utm(**{k: v for k, v in msgspec.structs.asdict(utm).items() if v is not None})
        given_id = event.event_id
        event_id = given_id.lower() if isinstance(given_id, str) else str(uuid.uuid4())
        visitor = None
        if not isinstance(event.user.user_id_hash, str) and not isinstance(event.user.anonymous_id, str):
            visitor = privacy.visitor_id(salt, site.site_id, client.ip, user_agent or "")
        record = to_record(
            event,
            enrich.corrected_ts(ts_ms, sent_ms, now),
            site_id=site.site_id,
            ingest_ts=now,
            event_id=event_id,
            schema_hash=SCHEMA_HASH,
            source_ip_anonymized=ip_anonymized,
            visitor_id=visitor,
            geo_country=country,
            device=enrich.device_of(user_agent),
        )
        utm_record = record.session.utm
        u = utm_record
        has_utm = not (u.source is u.medium is u.campaign is u.term is u.content is None)
        record.traffic = enrich.traffic_of(referrer, page_url, utm_record if has_utm else None)
        key = record.session.session_id or record.user.visitor_id or event_id
        records.append((key, encode_payload(record)))
    return Outcome(
        accepted=len(raws) - len(rejected),
        rejected=rejected,
        consent_denied=denied + len(denied_rejections),
        records=records,
        denied_rejections=frozenset(denied_rejections),
    )


def scrub_event(event: ev.Event, keys: frozenset[str] = privacy.DEFAULT_SCRUB_KEYS) -> None:
    """Remove PII from the free-text parts of an event, in place (a quarantine replay does it too)."""
    ctx = event.ctx
    if ctx is not UNSET:
        if isinstance(ctx.page_url, str):
            ctx.page_url = privacy.scrub_url(ctx.page_url, keys)
        if isinstance(ctx.referrer, str):
            ctx.referrer = privacy.scrub_url(ctx.referrer, keys)
        if isinstance(ctx.title, str):
            ctx.title = privacy.scrub_text(ctx.title)
    if isinstance(event, ev.SearchEvent):
        event.search.query = privacy.scrub_text(event.search.query)
    elif isinstance(event, ev.CustomEvent) and event.custom.properties is not UNSET:
        props = event.custom.properties
        # scrub_properties judges names and string values; a number under a secret name ("card") goes too
        probe = privacy.scrub_properties({k: v if isinstance(v, str) else "0" for k, v in props.items()}, keys)
        event.custom.properties = {
            k: probe[k] if isinstance(v, str) or probe[k] == privacy.REDACTED else v for k, v in props.items()
        }
    affiliate = getattr(event, "affiliate", UNSET)
    if affiliate is not UNSET and isinstance(affiliate.target, str):
        affiliate.target = privacy.scrub_url(affiliate.target, keys)
    if isinstance(event, ev.QrScan):
        if isinstance(event.qr.target, str):
            event.qr.target = privacy.scrub_url(event.qr.target, keys)
        if isinstance(event.qr.placement, str):
            event.qr.placement = privacy.scrub_text(event.qr.placement)
    session = event.session
    if session is not UNSET:
        if isinstance(session.session_id, str):
            session.session_id = privacy.scrub_id(session.session_id)
        utm = session.utm
        if utm is not UNSET:  # sent by the client (those read from the page URL were scrubbed with it)
            for name in ("source", "medium", "campaign", "term", "content"):
                value = getattr(utm, name)
                if isinstance(value, str):
                    setattr(utm, name, privacy.scrub_text(value))
    user = event.user
    if isinstance(user.user_id_hash, str):
        user.user_id_hash = privacy.scrub_id(user.user_id_hash)
    if isinstance(user.anonymous_id, str):
        user.anonymous_id = privacy.scrub_id(user.anonymous_id)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The client's address: the direct peer, or, when the peer is a trusted proxy, the last address in
    `X-Forwarded-For` that is not a trusted proxy (the addresses before it are the client's own claims)."""
    ip = peer or ""
    if not forwarded_for or not proxies or not _trusted(ip, proxies):
        return ip
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        if hop.startswith("[") and "]" in hop:  # "[2001:db8::1]:443"
            hop = hop[1 : hop.index("]")]
        elif hop.count(":") == 1:  # "203.0.113.7:5123"
            hop = hop.split(":", 1)[0]
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return ip  # a garbled header: believe nothing in it
        ip = hop
        if not _trusted(hop, proxies):
            break
    return ip


def client_of(headers: Mapping[str, str], peer: str | None, proxies: tuple[Network, ...] = ()) -> Client:
    """The sender as the request shows it: its address (see `client_ip`), user agent, DNT and GPC."""
    dnt, gpc = privacy.dnt_or_gpc(headers)
    ip = client_ip(peer, headers.get("x-forwarded-for"), proxies)
    return Client(ip=ip, user_agent=headers.get("user-agent", ""), dnt=dnt, gpc=gpc)


async def admit(
    state: Any,
    site: SiteRef,
    client: Client,
    raws: list[bytes],
    *,
    sent_at: str | None = None,
    refused: Mapping[int, str] | None = None,
) -> Outcome:
    """`process` the events of one request, append its records durably, count consent and metrics.

    `state` is the app's state (metadata, stream, salts, limits, metrics). A refused append
    raises `StreamFullError` or `StreamUnavailableError` after noting the refusal for
    `/readyz`; nothing is counted as stored then.
    """
    now = time.time_ns() // 1_000_000
    day = utc_day(now)
    salts = state.salts
    # the database is asked (in a thread) once a day; every other request reads the day's salt
    salt = salts.salt if salts.day == day else await anyio.to_thread.run_sync(salts, day)
    outcome = process(
        raws,
        SiteView(site.site_id, site.honor_dnt, site.honor_gpc),
        client,
        salt=salt,
        sent_at=sent_at,
        now_ms=now,
        limits=state.limits,
        refused=refused,
    )
    metrics = state.metrics
    if outcome.records:
        try:
            await state.appender.append(outcome.records)
        except (StreamFullError, StreamUnavailableError):
            state.last_refusal = time.monotonic()
            raise
        state.last_refusal = 0.0
    accepted = outcome.accepted - (outcome.consent_denied - outcome.rejected_denied)
    metrics.accepted.inc(accepted)
    metrics.site_counted(site.site_id, accepted, len(outcome.rejected), outcome.consent_denied)
    if outcome.rejected:
        metrics.rejected_events.inc(len(outcome.rejected))
        metrics.rejected([r.error for r in outcome.rejected])
    if outcome.consent_denied:
        metrics.consent_denied.inc(outcome.consent_denied)
    if outcome.consent_denied:
        await anyio.to_thread.run_sync(state.metadata.add_consent_denied, site.site_id, day, outcome.consent_denied)
    return outcome
