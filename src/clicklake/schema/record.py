"""The enriched record: what the collector appends to the stream and the loader
writes as one row of `bronze.events` (seed 004 sections 2 and 3.2, plus
`site_id`, device, traffic source and the extension event fields).

Every nested object of the record is present with nullable leaves, except the
per-event-type ones (`chart`, `affiliate`, `product`, `order`, `search`, `qr`,
`custom`), which are null when the event has none. Timestamps are integers of
epoch milliseconds in UTC; `clicklake.schema.arrow` maps them to Arrow
`timestamp[ms, UTC]` and `date32`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from clicklake.schema import events as ev

TimestampMs = Annotated[int, Meta(extra={"arrow": "timestamp_ms"}, description="epoch ms, UTC")]
DateDays = Annotated[int, Meta(extra={"arrow": "date32"}, description="days since 1970-01-01")]

T = TypeVar("T")

MS_PER_DAY: Final = 86_400_000
MS_PER_HOUR: Final = 3_600_000


class Privacy(Struct):
    analytics: bool
    ads: bool | None = None
    source_ip_anonymized: str | None = None


class UserRecord(Struct):
    user_id_hash: str | None = None
    anonymous_id: str | None = None
    #: The visitor this event counts for: `user_id_hash`, else `anonymous_id`,
    #: else the collector's cookieless daily id.
    visitor_id: str | None = None
    geo_country: str | None = None


class UtmRecord(Struct):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


class SessionRecord(Struct):
    session_id: str | None = None
    utm: UtmRecord = msgspec.field(default_factory=UtmRecord)


class CtxRecord(Struct):
    page_url: str | None = None
    referrer: str | None = None
    locale: str | None = None
    user_agent: str | None = None
    ab_variant: str | None = None
    title: str | None = None


class Device(Struct):
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    #: desktop, mobile, tablet, bot or other.
    device_type: str | None = None
    is_bot: bool = False


class Traffic(Struct):
    referrer_host: str | None = None
    #: search, social, email, campaign, direct, internal or other.
    referrer_class: str | None = None


class ChartRecord(Struct):
    product_ids: list[str] | None = None
    action: str | None = None
    control_id: str | None = None
    #: The client's string, number or boolean as text (seed 004 stores varchar).
    control_value: str | None = None


class AffiliateRecord(Struct):
    link_id: str | None = None
    target: str | None = None
    payout_cents: int | None = None


class CustomRecord(Struct):
    name: str
    #: Values as text: strings as sent, other scalars as their JSON.
    properties: dict[str, str] | None = None


class MetadataRecord(Struct):
    sdk_version: str | None = None
    experiment_keys: list[str] | None = None
    schema_hash: str | None = None


#: The version of `Record` on the stream (the `kind` tag of its JSON). Bump it when a field
#: of any record Struct changes; `tests/schema/test_envelope.py` pins each version's shape.
RECORD_KIND: Final = "event/1"


class Record(Struct, omit_defaults=False, tag=RECORD_KIND, tag_field="kind"):
    """One row of `bronze.events`; on the stream, its JSON tagged `"kind": "event/1"`."""

    site_id: str
    event_type: str
    event_id: str
    ts: TimestampMs
    ingest_ts: int
    source: str
    schema_version: str
    privacy: Privacy
    user: UserRecord
    session: SessionRecord
    ctx: CtxRecord
    device: Device
    traffic: Traffic
    metadata: MetadataRecord
    chart: ChartRecord | None = None
    affiliate: AffiliateRecord | None = None
    product: ev.Product | None = None
    order: ev.Order | None = None
    search: ev.Search | None = None
    qr: ev.Qr | None = None
    custom: CustomRecord | None = None
    #: Partition columns of seed 004 section 3.1, from `ingest_ts`.
    ingest_dt: DateDays = 0
    hour: str = ""


#: The fields `to_record` passes by position, in `Record`'s order (an import fails if they move).
_POSITIONAL: Final = (
    "site_id",
    "event_type",
    "event_id",
    "ts",
    "ingest_ts",
    "source",
    "schema_version",
    "privacy",
    "user",
    "session",
    "ctx",
    "device",
    "traffic",
    "metadata",
)
if Record.__struct_fields__[: len(_POSITIONAL)] != _POSITIONAL:
    raise ImportError(f"Record's fields moved: {Record.__struct_fields__}; update to_record and _POSITIONAL")

#: `hour` of the hours of a day, as the partition column spells it.
_HOURS: Final = tuple(f"{h:02d}" for h in range(24))


def _opt(value: T | UnsetType) -> T | None:
    return None if isinstance(value, UnsetType) else value


def _text(value: object) -> str | None:
    if value is UNSET or value is None:
        return None
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def to_record(
    event: ev.Event,
    ts_ms: int,
    *,
    site_id: str,
    ingest_ts: int,
    event_id: str,
    source: str = "web",
    schema_hash: str | None = None,
    source_ip_anonymized: str | None = None,
    visitor_id: str | None = None,
    geo_country: str | None = None,
    device: Device | None = None,
    traffic: Traffic | None = None,
) -> Record:
    """Flatten a validated event into a bronze row; enrichment comes from the caller.

    `event_id` is the client's (lower-cased) or one the caller made up.
    """
    # Spelled out field by field, with `x if x is not U else None` in line: this runs for every
    # event, and a helper call or a loop over the fields per value doubles its cost.
    U = UNSET
    user = event.user
    consent = user.consent
    session = event.session
    if session is U:
        session_id = None
        utm_record = UtmRecord()
    else:
        session_id = session.session_id if session.session_id is not U else None
        utm = session.utm
        utm_record = (
            UtmRecord()
            if utm is U
            else UtmRecord(
                utm.source if utm.source is not U else None,
                utm.medium if utm.medium is not U else None,
                utm.campaign if utm.campaign is not U else None,
                utm.term if utm.term is not U else None,
                utm.content if utm.content is not U else None,
            )
        )
    ctx = event.ctx
    ctx_record = (
        CtxRecord()
        if ctx is U
        else CtxRecord(
            ctx.page_url if ctx.page_url is not U else None,
            ctx.referrer if ctx.referrer is not U else None,
            ctx.locale if ctx.locale is not U else None,
            ctx.user_agent if ctx.user_agent is not U else None,
            ctx.ab_variant if ctx.ab_variant is not U else None,
            ctx.title if ctx.title is not U else None,
        )
    )
    meta = event.metadata
    user_id_hash = user.user_id_hash if user.user_id_hash is not U else None
    anonymous_id = user.anonymous_id if user.anonymous_id is not U else None
    # The first fields by position, in `_POSITIONAL` order (checked below): msgspec matches
    # keyword arguments by name, and fourteen of them took ~0.5 us of each event's record.
    record = Record(
        site_id,
        ev.EVENT_TYPE_OF[type(event)],
        event_id,
        ts_ms,
        ingest_ts,
        source,
        event.schema_version,
        Privacy(
            analytics=consent.analytics,
            ads=consent.ads if consent.ads is not U else None,
            source_ip_anonymized=source_ip_anonymized,
        ),
        UserRecord(
            user_id_hash=user_id_hash,
            anonymous_id=anonymous_id,
            visitor_id=user_id_hash or anonymous_id or visitor_id,
            geo_country=geo_country,
        ),
        SessionRecord(session_id=session_id, utm=utm_record),
        ctx_record,
        device or Device(),
        traffic or Traffic(),
        MetadataRecord(schema_hash=schema_hash)
        if meta is U
        else MetadataRecord(
            sdk_version=meta.sdk_version if meta.sdk_version is not U else None,
            experiment_keys=meta.experiment_keys if meta.experiment_keys is not U else None,
            schema_hash=schema_hash,
        ),
        ingest_dt=ingest_ts // MS_PER_DAY,
        hour=_HOURS[ingest_ts % MS_PER_DAY // MS_PER_HOUR],
    )
    chart: ev.Chart | UnsetType = getattr(event, "chart", UNSET)
    if not isinstance(chart, UnsetType):
        record.chart = ChartRecord(
            product_ids=_opt(chart.product_ids),
            action=_opt(chart.action),
            control_id=_opt(chart.control_id),
            control_value=_text(chart.control_value),
        )
    affiliate: ev.Affiliate | UnsetType = getattr(event, "affiliate", UNSET)
    if not isinstance(affiliate, UnsetType):
        record.affiliate = AffiliateRecord(
            link_id=_opt(affiliate.link_id),
            target=_opt(affiliate.target),
            # an int by now: validation turned an integral float into one
            payout_cents=None if isinstance(affiliate.payout_cents, UnsetType) else int(affiliate.payout_cents),
        )
    if isinstance(event, (ev.ProductView, ev.AddToCart)):
        record.product = event.product
    elif isinstance(event, ev.Purchase):
        record.order = event.order
    elif isinstance(event, ev.SearchEvent):
        record.search = event.search
    elif isinstance(event, ev.QrScan):
        record.qr = event.qr
    elif isinstance(event, ev.CustomEvent):
        props = event.custom.properties
        record.custom = CustomRecord(
            name=event.custom.name,
            properties=None
            if props is UNSET
            else {k: v if isinstance(v, str) else msgspec.json.encode(v).decode() for k, v in props.items()},
        )
    return record


def schema_fingerprint(document: bytes) -> str:
    """`sha256:` and the first 16 hex digits of the published JSON Schema."""
    return "sha256:" + hashlib.sha256(document).hexdigest()[:16]
