"""The Segment HTTP Tracking API, translated into clicklake events.

The official Segment libraries (analytics-python, analytics-node, analytics.js, ...) send
to `POST /v1/batch` (`{"batch": [...], "sentAt": ..., "writeKey": ...}`) or to one of
`/v1/track`, `/v1/page`, `/v1/identify` (one message). Pointed at clicklake they work
unchanged: the write key is the HTTP Basic user name (or `writeKey` in the body).

Each message becomes one event of the contract, which then goes through the same
validation, consent, privacy and enrichment as `POST /v1/events`:

- `messageId` becomes `event_id` (itself when it is a UUID, else a UUID derived from it,
  so a retried message is still recognised as a duplicate); `timestamp` (or
  `originalTimestamp`) becomes `ts`.
- `userId` is never stored as sent: it becomes `user.user_id_hash`, its SHA-256 in hex.
  `anonymousId` becomes `user.anonymous_id`. Consent is given unless
  `context.consent.categoryPreferences` says `analytics: false`.
- `context.page` (url, referrer, title), `context.userAgent`, `context.locale` and
  `context.campaign` (UTM) fill `ctx` and `session.utm`.
- `page` (and `screen`) become `page_view`.
- `track` becomes the built-in type its event name stands for: the e-commerce spec's
  "Product Viewed", "Product Added", "Order Completed", "Products Searched", and
  clicklake's own type names (`chart_interaction`, `affiliate_click`, `qr_scan`, ...)
  with their fields as properties. Prices and totals in major units become `*_minor`
  amounts in the currency's minor unit. Any other name is a `custom` event: the name
  with characters outside `A-Za-z0-9_.:-` replaced by `_`, the properties as they are
  (nested values as JSON text).
- `identify` becomes a `custom` event named `identify` that links the anonymous id to
  the hashed user id (or, with only an `anonymousId`, records that visitor's traits);
  its traits are its properties, without the personal ones (name, e-mail, phone,
  address, birthday, ...) and scrubbed like any custom property.
- `group` becomes a `custom` event named `group`: `groupId` as the property `group_id`,
  the group's traits as the other properties, treated like identify's traits.
- `alias` becomes a `custom` event named `alias`: `userId` hashed like any user id, and
  `previousId` as the property `previous_id_hash`, its SHA-256 in hex.
- Unknown types are rejected with that reason and kept in quarantine, like any
  invalid event: with `userId` and `previousId` hashed (`userIdHash`,
  `previousIdHash`), without personal traits, and scrubbed like any refused event; a
  message whose consent is false is not kept at all.
- A message without `timestamp`, `originalTimestamp` and a request `sentAt` takes the
  time it was received, as Segment does.

A message that cannot be translated at all (not an object) is rejected the same way.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from clicklake.schema import events as ev

#: Messages of these types are taken; the route `/v1/{type}` implies one.
TYPES: Final = ("track", "page", "screen", "identify", "group", "alias")
#: The one-letter paths of analytics.js (`/v1/t`, ...) by the type they imply.
SHORT_PATHS: Final = {"t": "track", "p": "page", "s": "screen", "i": "identify", "g": "group", "a": "alias"}
#: Namespace of the UUIDs derived from message ids that are not UUIDs themselves.
MESSAGE_ID_NAMESPACE: Final = uuid.UUID("3f7c2a1e-6b1d-4a7e-9c55-2d4e8b0f61a9")
#: Traits that identify a person; `identify` never stores them.
PERSONAL_TRAITS: Final = frozenset(
    {
        "name",
        "firstname",
        "lastname",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "birthday",
        "username",
        "avatar",
        "website",
        "title",
        "description",
    }
)
#: Currencies without minor units (ISO 4217 exponent 0); the others are taken as 2.
_ZERO_DECIMAL: Final = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMAL: Final = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_UUID_RE: Final = re.compile(ev.UUID_PATTERN)
_NAME_BAD: Final = re.compile(r"[^A-Za-z0-9_.:-]")
_STRING_LIMIT: Final = 1024

_json = msgspec.json.Encoder()
_any = msgspec.json.Decoder()


class Unusable(Exception):
    """A message that cannot become an event; the text is its rejection reason."""


@dataclass
class Translated:
    """A Segment request as clicklake events: raw JSON per message, the refused ones, and the sender."""

    raws: list[bytes]
    refused: dict[int, str] = field(default_factory=dict)
    sent_at: str | None = None
    write_key: str | None = None


def translate(body: bytes, route_type: str | None, received: str | None = None) -> Translated:
    """The events of a `/v1/batch` body (`route_type` None) or of a `/v1/{route_type}` body.

    `received` (RFC 3339, default now) is the time of a message that carries none.
    Raises `ValueError` with a reason when the body as a whole is not a Segment request.
    """
    try:
        doc = _any.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(f"the body is not valid JSON: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"the body is not UTF-8: {exc.reason} in a string") from None
    except RecursionError:
        raise ValueError("the body is nested too deeply") from None
    if not isinstance(doc, dict):
        raise ValueError("the body must be a JSON object")
    write_key = doc.get("writeKey") if isinstance(doc.get("writeKey"), str) else None
    sent_at = _iso(doc.get("sentAt"))
    if route_type is None:
        batch = doc.get("batch")
        if not isinstance(batch, list):
            raise ValueError('a /v1/batch body needs "batch": a list of messages')
        shared = doc.get("context") if isinstance(doc.get("context"), dict) else None
        messages: list[Any] = batch
    else:
        shared = None
        messages = [doc]
    out = Translated(raws=[], sent_at=sent_at, write_key=write_key)
    received = received or _iso(datetime.now(UTC).isoformat())
    for i, message in enumerate(messages):
        try:
            if not isinstance(message, dict):
                raise Unusable("a message must be a JSON object")
            if shared:
                message = {**message, "context": {**shared, **_dict(message.get("context"))}}
            event = _event(message, route_type, sent_at or received)
        except Unusable as exc:
            out.refused[i] = f"segment: {exc}"
            out.raws.append(_json.encode(_refused(message)))
        else:
            out.raws.append(_json.encode(event))
    return out


def _event(msg: Mapping[str, Any], route_type: str | None, fallback_ts: str | None) -> dict[str, Any]:
    kind = msg.get("type", route_type)
    if route_type is not None and kind != route_type:
        raise Unusable(f"a message of type {kind!r} sent to /v1/{route_type}")
    if kind not in TYPES:
        raise Unusable(f"message type {kind!r} is not taken (clicklake takes {', '.join(TYPES)})")
    context = _dict(msg.get("context"))
    ts = _iso(msg.get("timestamp")) or _iso(msg.get("originalTimestamp")) or fallback_ts
    if ts is None:
        raise Unusable('no "timestamp" on the message and no "sentAt" on the request')
    event: dict[str, Any] = {"ts": ts, "user": _user(msg, context)}
    if (message_id := msg.get("messageId")) is not None:
        event["event_id"] = _event_id(message_id)
    session: dict[str, Any] = {}
    utm = _utm(_dict(context.get("campaign")))
    if utm:
        session["utm"] = utm
    if isinstance(sid := context.get("sessionId"), str | int) and not isinstance(sid, bool):
        session["session_id"] = str(sid)
    if session:
        event["session"] = session
    page = _dict(context.get("page"))
    properties = _dict(msg.get("properties"))
    if kind in ("page", "screen"):
        page = {**page, **{k: properties[k] for k in ("url", "referrer", "title") if k in properties}}
        if "title" not in page and isinstance(msg.get("name"), str):
            page["title"] = msg["name"]
    ctx = _ctx(page, context)
    if ctx:
        event["ctx"] = ctx
    library = _dict(context.get("library"))
    if isinstance(library.get("name"), str):
        event["metadata"] = {"sdk_version": f"{library['name']}/{library.get('version', '')}"[:_STRING_LIMIT]}
    if kind in ("page", "screen"):
        event["event_type"] = "page_view"
    elif kind in ("identify", "group", "alias"):
        event["event_type"] = "custom"
        event["custom"] = {"name": kind, "properties": _who(kind, msg, event["user"])}
    else:
        name = msg.get("event")
        if not isinstance(name, str) or not name.strip():
            raise Unusable('a track message needs an "event" name')
        event.update(_track(name.strip(), properties))
    return event


def _id(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None


def _who(kind: str, msg: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of an identify, group or alias event; raises `Unusable` when it names nobody."""
    if kind == "alias":
        if "user_id_hash" not in user:
            raise Unusable('an alias message needs a "userId"')
        previous = _id(msg.get("previousId"))
        if previous is None:
            raise Unusable('an alias message needs a "previousId"')
        return {"previous_id_hash": hashlib.sha256(previous.encode()).hexdigest()}
    if "user_id_hash" not in user and "anonymous_id" not in user:
        raise Unusable(f'an {kind} message needs a "userId" or an "anonymousId"')
    # Segment's browser library puts the traits in context.traits, the others in traits
    traits = _dict(msg.get("traits")) or _dict(_dict(msg.get("context")).get("traits"))
    props = _impersonal(traits)
    if kind == "group":
        group_id = _id(msg.get("groupId"))
        if group_id is None:
            raise Unusable('a group message needs a "groupId"')
        props = {"group_id": group_id[:_STRING_LIMIT], **{k: v for k, v in props.items() if k != "group_id"}}
    return _scalars(props)


def _refused(message: Any) -> Any:
    """A message that becomes no event, as it may be kept for quarantine: its user ids hashed (as
    `user.user_id_hash` is) and its personal traits left out, like an identify's. The rest is
    scrubbed with every refused event (`clicklake.schema.privacy.scrub_refused`)."""
    if not isinstance(message, dict):
        return message
    out = dict(message)
    for name in ("userId", "previousId"):
        value = out.pop(name, None)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            out[name + "Hash"] = hashlib.sha256(str(value).encode()).hexdigest()
    if isinstance(out.get("traits"), dict):
        out["traits"] = _impersonal(out["traits"])
    context = out.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        out["context"] = {**context, "traits": _impersonal(context["traits"])}
    return out


def _impersonal(traits: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in traits.items() if _plain(k) not in PERSONAL_TRAITS}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _plain(key: str) -> str:
    return key.lower().replace("-", "_").replace(" ", "_")


def _iso(value: Any) -> str | None:
    """An ISO 8601 time as RFC 3339 in UTC with milliseconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_id(message_id: Any) -> str:
    text = str(message_id)
    if _UUID_RE.match(text):
        return text.lower()
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, text))


def _user(msg: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    prefs = _dict(_dict(context.get("consent")).get("categoryPreferences"))
    analytics = next((v for k, v in prefs.items() if k.lower() == "analytics" and isinstance(v, bool)), True)
    user: dict[str, Any] = {"consent": {"analytics": analytics}}
    ads = next((v for k, v in prefs.items() if k.lower() in ("advertising", "ads") and isinstance(v, bool)), None)
    if ads is not None:
        user["consent"]["ads"] = ads
    user_id = msg.get("userId")
    if isinstance(user_id, str | int) and not isinstance(user_id, bool) and str(user_id):
        user["user_id_hash"] = hashlib.sha256(str(user_id).encode()).hexdigest()
    anonymous_id = msg.get("anonymousId")
    if isinstance(anonymous_id, str | int) and not isinstance(anonymous_id, bool) and str(anonymous_id):
        user["anonymous_id"] = str(anonymous_id)[:_STRING_LIMIT]
    return user


def _utm(campaign: Mapping[str, Any]) -> dict[str, str]:
    names = {"source": "source", "medium": "medium", "name": "campaign", "term": "term", "content": "content"}
    return {ours: str(campaign[theirs]) for theirs, ours in names.items() if isinstance(campaign.get(theirs), str)}


def _ctx(page: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    for theirs, ours in (("url", "page_url"), ("referrer", "referrer"), ("title", "title")):
        if isinstance(page.get(theirs), str) and page[theirs]:
            ctx[ours] = page[theirs]
    if isinstance(context.get("userAgent"), str):
        ctx["user_agent"] = context["userAgent"]
    if isinstance(context.get("locale"), str):
        ctx["locale"] = context["locale"]
    return ctx


def _minor(amount: Any, currency: str) -> int | None:
    """An amount in major units (19.99) as an integer in the currency's minor unit (1999)."""
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        return None
    exponent = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    try:
        minor: float = float(amount) * 10**exponent
        return round(minor)  # an amount too big for a float, or infinite: no amount (the contract's range says why)
    except (OverflowError, ValueError):
        return None


def _currency(props: Mapping[str, Any]) -> str:
    value = props.get("currency")
    return value.upper() if isinstance(value, str) else "USD"


def _product(props: Mapping[str, Any]) -> dict[str, Any]:
    currency = _currency(props)
    product_id = props.get("product_id", props.get("productId", props.get("sku", props.get("id"))))
    if product_id is None:
        raise Unusable("a product event needs product_id (or sku)")
    product: dict[str, Any] = {"product_id": str(product_id)}
    for key in ("name", "category", "brand", "variant"):
        if isinstance(props.get(key), str | int | float) and not isinstance(props.get(key), bool):
            product[key] = str(props[key])
    if (price := _minor(props.get("price"), currency)) is not None:
        product["price_minor"] = price
        product["currency"] = currency
    for key in ("quantity", "position"):
        if isinstance(props.get(key), int) and not isinstance(props.get(key), bool):
            product[key] = props[key]
    if isinstance(props.get("list"), str):
        product["list_name"] = props["list"]
    return product


def _order(props: Mapping[str, Any]) -> dict[str, Any]:
    currency = _currency(props)
    order_id = props.get("order_id", props.get("orderId", props.get("checkout_id")))
    if order_id is None:
        raise Unusable("an Order Completed event needs order_id")
    total = props.get("total", props.get("revenue", props.get("value")))
    revenue = _minor(total, currency)
    if revenue is None:
        raise Unusable("an Order Completed event needs a total (or revenue) of at least 0")
    order: dict[str, Any] = {"order_id": str(order_id), "revenue_minor": revenue, "currency": currency}
    for theirs, ours in (("tax", "tax_minor"), ("shipping", "shipping_minor"), ("discount", "discount_minor")):
        if (amount := _minor(props.get(theirs), currency)) is not None:
            order[ours] = amount
    if isinstance(props.get("coupon"), str):
        order["coupon"] = props["coupon"]
    items = []
    for p in props.get("products") or []:
        if isinstance(p, dict):
            product = _product({"currency": currency, **p})
            item: dict[str, Any] = {
                k: product[k] for k in ("product_id", "name", "category", "brand", "variant") if k in product
            }
            if "price_minor" in product:
                item["price_minor"] = product["price_minor"]
            if isinstance(p.get("quantity"), int) and not isinstance(p.get("quantity"), bool):
                item["quantity"] = p["quantity"]
            items.append(item)
    if items:
        order["items"] = items
    return order


def _fields(props: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: props[k] for k in names if k in props}


#: Segment's e-commerce spec names and clicklake's own type names, by the event they stand for.
_TRACKED: Final = {
    "product viewed": "product_view",
    "product_view": "product_view",
    "product added": "add_to_cart",
    "add_to_cart": "add_to_cart",
    "order completed": "purchase",
    "purchase": "purchase",
    "products searched": "search",
    "search": "search",
    "chart_interaction": "chart_interaction",
    "affiliate_click": "affiliate_click",
    "qr_scan": "qr_scan",
    "page_view": "page_view",
}


def _track(name: str, props: dict[str, Any]) -> dict[str, Any]:
    kind = _TRACKED.get(name.lower())
    if kind in ("product_view", "add_to_cart"):
        return {"event_type": kind, "product": _product(props)}
    if kind == "purchase":
        return {"event_type": kind, "order": _order(props)}
    if kind == "search":
        query = props.get("query")
        if not isinstance(query, str):
            raise Unusable('a search event needs a "query"')
        search: dict[str, Any] = {"query": query}
        if isinstance(props.get("results_count"), int):
            search["results_count"] = props["results_count"]
        return {"event_type": kind, "search": search}
    if kind == "chart_interaction":
        return {"event_type": kind, "chart": _fields(props, ("product_ids", "action", "control_id", "control_value"))}
    if kind == "affiliate_click":
        return {"event_type": kind, "affiliate": _fields(props, ("link_id", "target", "payout_cents"))}
    if kind == "qr_scan":
        return {"event_type": kind, "qr": _fields(props, ("link_id", "placement", "target"))}
    if kind == "page_view":
        return {"event_type": kind}
    custom = _NAME_BAD.sub("_", name)
    if not custom[:1].isalpha():
        custom = "e_" + custom
    return {"event_type": "custom", "custom": {"name": custom[:64], "properties": _scalars(props)}}


def _scalars(props: Mapping[str, Any]) -> dict[str, Any]:
    """Properties as the contract's scalars: nested values become their JSON text.

    Nothing is cut short here: a value or name over the contract's limits gets the event
    rejected with that reason (and kept in quarantine), rather than stored altered."""
    plain = (str, int, float, bool)
    return {
        str(key): value if value is None or isinstance(value, plain) else _json.encode(value).decode()
        for key, value in props.items()
    }
