"""A seeded generator of realistic, valid ingest events for the benchmarks.

The shapes follow seed 004 (`user.consent`, `session` with `session_id` and
`utm`, `ctx` with page, referrer, locale, user agent and A/B variant,
`metadata.sdk_version`) for its three event types, which make up most of a
batch, plus a share of the extension types of `clicklake.schema.events`
(product views, carts, purchases with 1-4 line items, searches, QR scans and
custom events). Every event is valid against our contract; the seed's three
types are also valid against the seed's ingest JSON Schema. Timestamps are a
few minutes before `now`, so a batch is always fresh.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Final

#: Event types and their share of a batch (weights, not necessarily summing to 1).
MIX: Final[dict[str, float]] = {
    "page_view": 0.45,
    "chart_interaction": 0.22,
    "affiliate_click": 0.13,
    "product_view": 0.06,
    "add_to_cart": 0.04,
    "search": 0.04,
    "purchase": 0.03,
    "qr_scan": 0.015,
    "custom": 0.015,
}
SEED_TYPES: Final = frozenset({"page_view", "chart_interaction", "affiliate_click"})

_HOST: Final = "https://compare.example.com"
_PAGES: Final = (
    "/",
    "/pricing",
    "/compare/notion-vs-obsidian",
    "/compare/figma-vs-sketch",
    "/compare/hosting?plan=pro&region=eu",
    "/reviews/linear",
    "/blog/best-note-taking-apps-2026",
    "/deals/black-friday",
)
_REFERRERS: Final = (
    "",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/aZ3kQ9",
    _HOST + "/",
)
_LOCALES: Final = ("en-US", "en-GB", "de-DE", "fr-FR", "he-IL", "ja-JP", "es-ES", "pt-BR")
_AGENTS: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
)
_UTM: Final = (
    {"source": "google", "medium": "cpc", "campaign": "summer", "term": "note taking app"},
    {"source": "newsletter", "medium": "email", "campaign": "weekly-42", "content": "hero"},
    {"source": "ads", "campaign": "summer"},
    {"source": "twitter", "medium": "social"},
)
_PRODUCTS: Final = ("notion", "obsidian", "figma", "sketch", "linear", "jira", "studio", "pro", "team")
_CHART_ACTIONS: Final = ("toggle", "sort", "filter", "compare_expand", "compare_collapse")
_CONTROLS: Final = (
    ("plan-price", "asc"),
    ("plan-price", "desc"),
    ("feature-offline", True),
    ("seats", 25),
    ("rating-min", 4.5),
    ("region", None),
)
_PARTNERS: Final = ("amzn", "impact", "cj", "partnerstack", "rewardful")
_CURRENCIES: Final = ("USD", "EUR", "GBP", "ILS", "JPY")
_CATEGORIES: Final = ("productivity", "design", "dev-tools", "hosting")
_QUERIES: Final = ("notion alternative", "cheap vps", "figma free plan", "kanban", "markdown editor")


def _ts(rng: random.Random, now: float) -> str:
    """An RFC 3339 UTC time with milliseconds, 0-10 minutes before `now`."""
    moment = datetime.fromtimestamp(now - rng.uniform(0.0, 600.0), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _product(rng: random.Random, *, in_cart: bool) -> dict[str, Any]:
    pid = rng.choice(_PRODUCTS)
    product: dict[str, Any] = {
        "product_id": f"sku-{pid}-{rng.randint(1, 40):03d}",
        "name": f"{pid.title()} {rng.choice(('Starter', 'Pro', 'Team', 'Enterprise'))}",
        "category": rng.choice(_CATEGORIES),
        "price_minor": rng.randint(0, 50_000),
        "currency": rng.choice(_CURRENCIES),
    }
    if rng.random() < 0.5:
        product["brand"] = pid.title()
    if rng.random() < 0.3:
        product["variant"] = rng.choice(("monthly", "yearly"))
    if in_cart:
        product["quantity"] = rng.randint(1, 3)
    else:
        product["list_name"] = rng.choice(("search results", "related", "comparison table"))
        product["position"] = rng.randint(0, 20)
    return product


def _order(rng: random.Random) -> dict[str, Any]:
    items = []
    for _ in range(rng.randint(1, 4)):
        pid = rng.choice(_PRODUCTS)
        item: dict[str, Any] = {
            "product_id": f"sku-{pid}-{rng.randint(1, 40):03d}",
            "quantity": rng.randint(1, 3),
            "price_minor": rng.randint(100, 30_000),
            "name": f"{pid.title()} plan",
        }
        if rng.random() < 0.5:
            item["category"] = rng.choice(_CATEGORIES)
        items.append(item)
    revenue = sum(i["quantity"] * i["price_minor"] for i in items)
    order: dict[str, Any] = {
        "order_id": f"ord_{_hex(rng, 12)}",
        "revenue_minor": revenue,
        "currency": rng.choice(_CURRENCIES),
        "tax_minor": revenue // 5,
        "shipping_minor": 0,
        "items": items,
    }
    if rng.random() < 0.3:
        order["discount_minor"] = revenue // 10
        order["coupon"] = rng.choice(("BF2026", "WELCOME10", "SPRING"))
    return order


def _payload(rng: random.Random, event_type: str) -> dict[str, Any]:
    """The event-type-specific part of an event."""
    if event_type == "chart_interaction":
        control_id, control_value = rng.choice(_CONTROLS)
        return {
            "chart": {
                "product_ids": rng.sample(_PRODUCTS, rng.randint(2, 4)),
                "action": rng.choice(_CHART_ACTIONS),
                "control_id": control_id,
                "control_value": control_value,
            }
        }
    if event_type == "affiliate_click":
        partner = rng.choice(_PARTNERS)
        return {
            "affiliate": {
                "link_id": f"{partner}-{_hex(rng, 8)}",
                "target": f"https://{partner}.example.net/r/{_hex(rng, 10)}?ref=clicklake",
                "payout_cents": rng.randint(0, 2_500),
            }
        }
    if event_type == "page_view":
        if rng.random() < 0.1:
            return {"chart": {"product_ids": rng.sample(_PRODUCTS, 3)}}
        return {}
    if event_type in ("product_view", "add_to_cart"):
        return {"product": _product(rng, in_cart=event_type == "add_to_cart")}
    if event_type == "purchase":
        return {"order": _order(rng)}
    if event_type == "search":
        search: dict[str, Any] = {"query": rng.choice(_QUERIES), "results_count": rng.randint(0, 120)}
        if rng.random() < 0.4:
            search["category"] = rng.choice(_CATEGORIES)
        return {"search": search}
    if event_type == "qr_scan":
        return {
            "qr": {
                "link_id": f"qr-{_hex(rng, 6)}",
                "placement": rng.choice(("table-12", "window", "flyer")),
                "target": _HOST + "/deals/black-friday",
            }
        }
    if event_type == "custom":
        properties: dict[str, Any] = {
            "plan": rng.choice(("free", "pro", "team")),
            "seats": rng.randint(1, 50),
            "annual": rng.random() < 0.5,
            "score": round(rng.uniform(0, 5), 2),
            "coupon": None,
        }
        name = rng.choice(("newsletter_signup", "video.play", "pricing:toggle"))
        return {"custom": {"name": name, "properties": properties}}
    raise ValueError(f"unknown event type {event_type!r}")


def make_event(rng: random.Random, event_type: str, now: float) -> dict[str, Any]:
    """One valid event of `event_type`, as the browser SDK would send it."""
    user: dict[str, Any] = {"consent": {"analytics": True, "ads": rng.random() < 0.4}}
    if rng.random() < 0.3:
        user["user_id_hash"] = "sha256:" + _hex(rng, 64)
    elif rng.random() < 0.8:
        user["anonymous_id"] = _uuid4(rng)
    session: dict[str, Any] = {"session_id": f"sid_{_hex(rng, 16)}"}
    if rng.random() < 0.6:
        session["utm"] = dict(rng.choice(_UTM))
    ctx: dict[str, Any] = {
        "page_url": _HOST + rng.choice(_PAGES),
        "referrer": rng.choice(_REFERRERS),
        "locale": rng.choice(_LOCALES),
        "user_agent": rng.choice(_AGENTS),
        "ab_variant": rng.choice(("A", "B")),
    }
    metadata: dict[str, Any] = {"sdk_version": rng.choice(("0.2.3", "0.3.0", "0.3.1"))}
    if rng.random() < 0.3:
        metadata["experiment_keys"] = ["pricing-table-v2", "cta-color"][: rng.randint(1, 2)]
    return {
        "schema_version": rng.choice(("1.0.0", "1.1.0")),
        "event_type": event_type,
        "event_id": _uuid4(rng),
        "ts": _ts(rng, now),
        "user": user,
        "session": session,
        "ctx": ctx,
        **_payload(rng, event_type),
        "metadata": metadata,
    }


def make_batch(n: int = 1000, *, seed: int = 4, now: float | None = None) -> list[dict[str, Any]]:
    """`n` valid events in the proportions of `MIX`, the same for the same seed (but for `ts`)."""
    rng = random.Random(seed)
    moment = time.time() if now is None else now
    types = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    return [make_event(rng, event_type, moment) for event_type in types]
