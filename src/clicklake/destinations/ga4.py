"""Google Analytics 4 Measurement Protocol: clicklake events as GA4 events.

A batch becomes one POST per visitor and 25 events (the protocol's limit per request) to
`<url>?measurement_id=M&api_secret=S` (url: `https://www.google-analytics.com/mp/collect`
unless the destination names another, e.g. `/debug/mp/collect` or a local receiver), with body
`{"client_id", "user_id"?, "timestamp_micros", "consent"?, "events": [{"name", "params"}]}`.

| clicklake          | GA4 event          | params                                                       |
|--------------------|--------------------|--------------------------------------------------------------|
| page_view          | page_view          | page_location, page_title, page_referrer, language, campaign |
| product_view       | view_item          | currency, value, items                                       |
| add_to_cart        | add_to_cart        | currency, value, items                                       |
| purchase           | purchase           | transaction_id, value, currency, tax, shipping, coupon, items|
| search             | search             | search_term                                                  |
| affiliate_click    | affiliate_click    | link_id, link_url, payout_cents                              |
| chart_interaction  | chart_interaction  | action, control_id, control_value                            |
| qr_scan            | qr_scan            | link_id, placement, link_url                                 |
| custom             | its name           | its properties                                               |

`client_id` is the visitor id (the hashed user id, the anonymous id, or the collector's
cookieless id), `user_id` the hashed user id when there is one. Amounts are in the contract's
minor units and become major units by the currency's ISO 4217 exponent. `consent` carries the
event's ads consent (`GRANTED`/`DENIED`) when it was given. Every event has `session_id`
(the SDK's, when sent) and `engagement_time_msec`, without which GA4 shows no active users.
GA4 accepts events up to 72 hours old; older ones are accepted by the endpoint and dropped by GA4.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Final
from urllib.parse import urlencode

import msgspec

from clicklake.destinations.delivery import Delivery
from clicklake.destinations.store import Destination

DEFAULT_URL: Final = "https://www.google-analytics.com/mp/collect"
EVENTS_PER_REQUEST: Final = 25
PARAMS_PER_EVENT: Final = 25
_LONG_PARAMS: Final = frozenset({"page_location", "page_referrer", "link_url"})
_NAME_BAD: Final = re.compile(r"[^A-Za-z0-9_]")
#: ISO 4217 currencies whose minor unit is not a hundredth.
_EXPONENT: Final[dict[str, int]] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"), 0),
    **dict.fromkeys(("UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def ga4_url(destination: Destination) -> str:
    query = urlencode(
        {"measurement_id": destination.options["measurement_id"], "api_secret": destination.options["api_secret"]}
    )
    return f"{destination.url}?{query}"


def ga4_deliveries(destination: Destination, batch_id: str, payloads: list[bytes]) -> list[Delivery]:
    """The requests that carry `payloads`: per visitor, in order, at most 25 events each."""
    url = ga4_url(destination)
    by_client: dict[tuple[str, str | None, str | None], list[tuple[bytes, dict[str, Any], int]]] = defaultdict(list)
    for payload in payloads:
        record = msgspec.json.decode(payload)
        event = ga4_event(record)
        user = record.get("user") or {}
        client_id = user.get("visitor_id") or user.get("anonymous_id") or record["event_id"]
        ads = (record.get("privacy") or {}).get("ads")
        consent = None if ads is None else ("GRANTED" if ads else "DENIED")
        by_client[(client_id, user.get("user_id_hash"), consent)].append((payload, event, int(record["ts"])))
    out = []
    headers = {"content-type": "application/json", "x-clicklake-batch": batch_id}
    for (client_id, user_id, consent), items in by_client.items():
        for i in range(0, len(items), EVENTS_PER_REQUEST):
            chunk = items[i : i + EVENTS_PER_REQUEST]
            body: dict[str, Any] = {"client_id": client_id}
            if user_id:
                body["user_id"] = user_id
            body["timestamp_micros"] = chunk[0][2] * 1000
            if consent is not None:
                body["consent"] = {"ad_user_data": consent, "ad_personalization": consent}
            # each event keeps its own time; the request's is its first event's
            body["events"] = [{**event, "timestamp_micros": ts * 1000} for _p, event, ts in chunk]
            out.append(
                Delivery(url=url, body=msgspec.json.encode(body), headers=headers, payloads=[p for p, _e, _t in chunk])
            )
    return out


def ga4_event(record: dict[str, Any]) -> dict[str, Any]:
    """One clicklake record as a GA4 event `{"name", "params"}`."""
    kind = record["event_type"]
    ctx = record.get("ctx") or {}
    session = record.get("session") or {}
    params: dict[str, Any] = {"engagement_time_msec": 100}
    if session.get("session_id"):
        params["session_id"] = session["session_id"]
    name = kind
    if kind == "page_view":
        _put(params, page_location=ctx.get("page_url"), page_title=ctx.get("title"))
        _put(params, page_referrer=ctx.get("referrer"), language=ctx.get("locale"))
        utm = session.get("utm") or {}
        _put(params, source=utm.get("source"), medium=utm.get("medium"), campaign=utm.get("campaign"))
        _put(params, term=utm.get("term"), content=utm.get("content"))
    elif kind in ("product_view", "add_to_cart"):
        name = "view_item" if kind == "product_view" else "add_to_cart"
        product = record.get("product") or {}
        currency = product.get("currency")
        item = _item(product, currency)
        price, quantity = product.get("price_minor"), product.get("quantity") or 1
        _put(params, currency=currency, value=_major(price * quantity, currency) if price is not None else None)
        params["items"] = [item]
    elif kind == "purchase":
        order = record.get("order") or {}
        currency = order.get("currency")
        _put(params, transaction_id=order.get("order_id"), currency=currency)
        _put(params, value=_major(order.get("revenue_minor"), currency), tax=_major(order.get("tax_minor"), currency))
        _put(params, shipping=_major(order.get("shipping_minor"), currency), coupon=order.get("coupon"))
        params["items"] = [_item(i, currency) for i in order.get("items") or []]
    elif kind == "search":
        search = record.get("search") or {}
        _put(params, search_term=search.get("query"), search_category=search.get("category"))
    elif kind == "affiliate_click":
        affiliate = record.get("affiliate") or {}
        _put(params, link_id=affiliate.get("link_id"), link_url=affiliate.get("target"))
        _put(params, payout_cents=affiliate.get("payout_cents"), page_location=ctx.get("page_url"))
    elif kind == "chart_interaction":
        chart = record.get("chart") or {}
        _put(params, action=chart.get("action"), control_id=chart.get("control_id"))
        _put(params, control_value=chart.get("control_value"))
    elif kind == "qr_scan":
        qr = record.get("qr") or {}
        _put(params, link_id=qr.get("link_id"), placement=qr.get("placement"), link_url=qr.get("target"))
    elif kind == "custom":
        custom = record.get("custom") or {}
        name = _name(custom.get("name") or "custom")
        for key, value in (custom.get("properties") or {}).items():
            if len(params) >= PARAMS_PER_EVENT:
                break
            params.setdefault(_name(key), value)
    if ctx.get("ab_variant") and len(params) < PARAMS_PER_EVENT:
        params["ab_variant"] = ctx["ab_variant"]
    return {"name": _name(name), "params": {k: _limit(k, v) for k, v in params.items()}}


def _put(params: dict[str, Any], **values: Any) -> None:
    for key, value in values.items():
        if value is not None and value != "":
            params[key] = value


def _item(product: dict[str, Any], currency: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"item_id": product.get("product_id")}
    _put(item, item_name=product.get("name"), item_category=product.get("category"), item_brand=product.get("brand"))
    _put(
        item,
        item_variant=product.get("variant"),
        item_list_name=product.get("list_name"),
        index=product.get("position"),
    )
    _put(item, price=_major(product.get("price_minor"), product.get("currency") or currency))
    item["quantity"] = product.get("quantity") or 1
    return item


def _major(minor: int | None, currency: str | None) -> float | None:
    """Minor units as major units of `currency` (cents to dollars, yen stay yen)."""
    if minor is None:
        return None
    exponent: int = _EXPONENT.get((currency or "").upper(), 2)
    return round(minor / 10.0**exponent, 3)


def _name(name: str) -> str:
    """A GA4 event or parameter name: letters, digits and '_', starting with a letter, at most 40 characters."""
    clean = _NAME_BAD.sub("_", name)
    if not clean[:1].isalpha():
        clean = "e_" + clean
    return clean[:40]


def _limit(key: str, value: Any) -> Any:
    """GA4 keeps parameter values of at most 100 characters (page_location and the like: 1000)."""
    if isinstance(value, str):
        return value[: 1000 if key in _LONG_PARAMS else 100]
    return value
