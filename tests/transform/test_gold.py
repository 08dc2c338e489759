"""Golden tests of the gold tables: one hand-built session with every funnel step, and its known rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from transform.lakes import Lake, event

DAY = date(2026, 11, 20)
ITEMS = [{"product_id": "p1", "quantity": 2, "price_minor": 2500}]


def shopping_session() -> list[Any]:
    """A visitor from a newsletter compares plans, plays with the chart, clicks two offers and buys."""
    common: dict[str, Any] = {"sid": "s9", "visitor": "v9", "country": "IL", "variant": "B"}
    order = {"order_id": "o9", "revenue_minor": 5000, "currency": "EUR", "items": ITEMS}
    return [
        event(
            "page_view",
            "2026-11-20T12:00:00Z",
            page="https://a.example/compare/x-vs-y",
            utm={"source": "news", "medium": "email", "campaign": "bf"},
            referrer_class="email",
            **common,
        ),
        event("chart_interaction", "2026-11-20T12:01:00Z", chart={"action": "sort"}, **common),
        event("page_view", "2026-11-20T12:02:00Z", page="https://a.example/pricing", **common),
        event(
            "affiliate_click",
            "2026-11-20T12:03:00Z",
            affiliate={"link_id": "l1", "target": "https://shop.example/x", "payout_cents": 120},
            event_id="c1",
            **common,
        ),
        event(
            "affiliate_click",
            "2026-11-20T12:04:00Z",
            affiliate={"link_id": "l2", "target": "https://shop.example/y", "payout_cents": 80},
            event_id="c2",
            **common,
        ),
        event("purchase", "2026-11-20T12:05:00Z", order=order, event_id="p1", **common),
        # the thank-you page reloaded: the same order id again, counted once
        event("purchase", "2026-11-20T12:06:00Z", order=order, event_id="p2", **common),
    ]


def test_funnel_row_has_every_step(lake: Lake) -> None:
    lake.add(*shopping_session())
    lake.run()
    assert lake.rows("select * exclude (session_start_ts) from gold.fact_funnel") == [
        {
            "site_id": "s1",
            "session_id": "s9",
            "visitor_id": "v9",
            "user_id_hash": None,
            "saw_comparison": True,
            "interacted_chart": True,
            "clicked_affiliate": True,
            "purchased": True,
            "affiliate_target": "https://shop.example/x",
            "payout_cents": 200,
            "revenue_minor": 5000,
            "segments": [],
            "ab_variant": "B",
            "geo_country": "IL",
            "channel": "email",
            "device_type": "desktop",
            "is_bot": False,
            "event_dt": DAY,
        }
    ]


def test_a_session_without_the_steps_has_them_false(lake: Lake) -> None:
    lake.add(event("page_view", "2026-11-20T09:00:00Z", page="https://a.example/blog", visitor="v3"))
    lake.run()
    assert lake.rows(
        "select saw_comparison, interacted_chart, clicked_affiliate, purchased, affiliate_target, payout_cents "
        "from gold.fact_funnel"
    ) == [
        {
            "saw_comparison": False,
            "interacted_chart": False,
            "clicked_affiliate": False,
            "purchased": False,
            "affiliate_target": None,
            "payout_cents": 0,
        }
    ]


def test_comparison_pattern_per_site(lake: Lake) -> None:
    lake.settings.site_comparison_patterns = {"s2": "/duel/"}
    lake.add(
        event("page_view", "2026-11-20T09:00:00Z", site="s2", page="https://b.example/duel/a-b"),
        event("page_view", "2026-11-20T09:00:00Z", site="s3", page="https://c.example/duel/a-b"),
        event("page_view", "2026-11-20T09:00:00Z", site="s3", visitor="v2", page="https://c.example/compare/a"),
    )
    lake.run()
    got = lake.rows("select site_id, visitor_id, saw_comparison from gold.fact_funnel order by 1, 2")
    assert [(r["site_id"], r["visitor_id"], r["saw_comparison"]) for r in got] == [
        ("s2", "v1", True),  # the site's own pattern
        ("s3", "v1", False),  # the default pattern does not know /duel/
        ("s3", "v2", True),
    ]


def test_affiliate_clicks_with_their_session_traffic(lake: Lake) -> None:
    lake.add(*shopping_session())
    lake.run()
    assert lake.rows(
        "select event_id, session_id, affiliate_link_id, payout_cents, channel, utm_source, utm_campaign, "
        "geo_country, event_dt from gold.fact_affiliate_clicks order by ts"
    ) == [
        {
            "event_id": "c1",
            "session_id": "s9",
            "affiliate_link_id": "l1",
            "payout_cents": 120,
            "channel": "email",
            "utm_source": "news",
            "utm_campaign": "bf",
            "geo_country": "IL",
            "event_dt": DAY,
        },
        {
            "event_id": "c2",
            "session_id": "s9",
            "affiliate_link_id": "l2",
            "payout_cents": 80,
            "channel": "email",
            "utm_source": "news",
            "utm_campaign": "bf",
            "geo_country": "IL",
            "event_dt": DAY,
        },
    ]


def test_orders_once_with_items_and_attribution(lake: Lake) -> None:
    lake.add(*shopping_session())
    lake.run()
    assert lake.rows(
        "select order_id, event_id, session_id, revenue_minor, currency, items, item_quantity, channel, "
        "entry_page, utm_source, utm_medium, utm_campaign, ts from gold.fact_orders"
    ) == [
        {
            "order_id": "o9",
            "event_id": "p1",
            "session_id": "s9",
            "revenue_minor": 5000,
            "currency": "EUR",
            "items": [
                {
                    "product_id": "p1",
                    "quantity": 2,
                    "price_minor": 2500,
                    "name": None,
                    "category": None,
                    "brand": None,
                    "variant": None,
                }
            ],
            "item_quantity": 2,
            "channel": "email",
            "entry_page": "/compare/x-vs-y",
            "utm_source": "news",
            "utm_medium": "email",
            "utm_campaign": "bf",
            "ts": datetime(2026, 11, 20, 12, 5, tzinfo=UTC),
        }
    ]


def test_kpi_daily_rows(lake: Lake) -> None:
    lake.add(
        *shopping_session(),
        # a second visitor bounces on the blog, coming from a search engine
        event(
            "page_view", "2026-11-20T15:00:00Z", visitor="v4", page="https://a.example/blog", referrer_class="search"
        ),
        # a bot, left out of every KPI
        event("page_view", "2026-11-20T15:00:00Z", visitor="bot1", page="https://a.example/blog", bot=True),
    )
    lake.run()
    measures = "visitors, sessions, pageviews, bounces, duration_ms, conversions, revenue_minor, "
    measures += "affiliate_clicks, payout_cents"

    def kpi(dimension: str) -> dict[str, tuple[Any, ...]]:
        rows = lake.rows(
            f"select value, {measures} from gold.kpi_daily where dimension = '{dimension}' and event_dt = '{DAY}'"
        )
        return {r.pop("value"): tuple(r.values()) for r in rows}

    assert kpi("all") == {"all": (2, 2, 3, 1, 360_000, 1, 5000, 2, 200)}
    assert kpi("channel") == {"email": (1, 1, 2, 0, 360_000, 1, 5000, 2, 200), "search": (1, 1, 1, 1, 0, 0, 0, 0, 0)}
    assert kpi("utm_campaign") == {"bf": (1, 1, 2, 0, 360_000, 1, 5000, 2, 200), "(none)": (1, 1, 1, 1, 0, 0, 0, 0, 0)}
    assert kpi("entry_page") == {
        "/compare/x-vs-y": (1, 1, 2, 0, 360_000, 1, 5000, 2, 200),
        "/blog": (1, 1, 1, 1, 0, 0, 0, 0, 0),
    }
    assert kpi("country")["IL"] == (1, 1, 2, 0, 360_000, 1, 5000, 2, 200)
    # pages: page views per path; purchases and clicks sent without a page land on "(none)"
    assert kpi("page") == {
        "/compare/x-vs-y": (1, 1, 1, 0, None, 1, 0, 0, 0),
        "/pricing": (1, 1, 1, 0, None, 1, 0, 0, 0),
        "/blog": (1, 1, 1, 1, None, 0, 0, 0, 0),
        "(none)": (0, 0, 0, 0, None, 0, 5000, 2, 200),
    }
