"""Golden tests of silver.events and silver.sessions: hand-built event sequences with known sessions."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from transform.lakes import Lake, event, ms


def at(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def derived_id(site: str, visitor: str, start: str) -> str:
    """The documented id of a session without an SDK id: "v_" and a hash of site, visitor and start."""
    return "v_" + hashlib.md5(f"{site}|{visitor}|{ms(start)}".encode()).hexdigest()[:24]


def sessions(lake: Lake, visitor: str) -> list[dict[str, Any]]:
    return lake.rows(
        "select session_id, session_source, session_start_ts, session_end_ts, duration_ms, events, pageviews, "
        f"is_bounce, event_dt from silver.sessions where visitor_id = '{visitor}' order by session_start_ts"
    )


def test_a_gap_of_30_minutes_starts_a_new_session(lake: Lake) -> None:
    lake.add(
        event("page_view", "2026-11-20T10:00:00Z", page="https://a.example/a"),
        event("page_view", "2026-11-20T10:29:59Z", page="https://a.example/b"),  # 29:59 later: same session
        event("chart_interaction", "2026-11-20T10:59:59Z", chart={"action": "sort"}),  # exactly 30:00: a new one
        event("page_view", "2026-11-20T11:10:00Z", page="https://a.example/c"),
    )
    assert lake.run().outcome == "published"
    assert sessions(lake, "v1") == [
        {
            "session_id": derived_id("s1", "v1", "2026-11-20T10:00:00Z"),
            "session_source": "visitor",
            "session_start_ts": at("2026-11-20T10:00:00Z"),
            "session_end_ts": at("2026-11-20T10:29:59Z"),
            "duration_ms": 1_799_000,
            "events": 2,
            "pageviews": 2,
            "is_bounce": False,
            "event_dt": date(2026, 11, 20),
        },
        {
            "session_id": derived_id("s1", "v1", "2026-11-20T10:59:59Z"),
            "session_source": "visitor",
            "session_start_ts": at("2026-11-20T10:59:59Z"),
            "session_end_ts": at("2026-11-20T11:10:00Z"),
            "duration_ms": 601_000,
            "events": 2,
            "pageviews": 1,
            "is_bounce": False,
            "event_dt": date(2026, 11, 20),
        },
    ]


def test_a_session_crossing_midnight_belongs_to_the_day_it_started(lake: Lake) -> None:
    lake.add(
        event("page_view", "2026-11-20T23:50:00Z", visitor="v2", page="https://a.example/"),
        event("page_view", "2026-11-21T00:10:00Z", visitor="v2", page="https://a.example/x"),
        event("page_view", "2026-11-21T00:50:00Z", visitor="v2", page="https://a.example/y"),  # 40 min: new
    )
    lake.run()
    got = [(s["session_start_ts"], s["session_end_ts"], s["events"], s["event_dt"]) for s in sessions(lake, "v2")]
    assert got == [
        (at("2026-11-20T23:50:00Z"), at("2026-11-21T00:10:00Z"), 2, date(2026, 11, 20)),
        (at("2026-11-21T00:50:00Z"), at("2026-11-21T00:50:00Z"), 1, date(2026, 11, 21)),
    ]
    # each event on its own UTC day, with its hour
    days = lake.rows("select event_dt, event_hour from silver.events where visitor_id = 'v2' order by ts")
    assert [(d["event_dt"], d["event_hour"]) for d in days] == [
        (date(2026, 11, 20), "23"),
        (date(2026, 11, 21), "00"),
        (date(2026, 11, 21), "00"),
    ]
    kpi = lake.rows("select event_dt, sessions, pageviews from gold.kpi_daily where dimension = 'all' order by 1")
    assert kpi == [
        {"event_dt": date(2026, 11, 20), "sessions": 1, "pageviews": 2},
        {"event_dt": date(2026, 11, 21), "sessions": 1, "pageviews": 1},
    ]


def test_nonstop_activity_is_cut_at_the_second_midnight(lake: Lake) -> None:
    start = at("2026-11-20T23:10:00Z")
    # one event every 20 minutes from 23:10 on the 20th to 01:10 on the 22nd, never a 30-minute pause
    stamps = [start + timedelta(minutes=20 * i) for i in range(79)]
    lake.add(*(event("page_view", t.isoformat(), visitor="kiosk", page="https://a.example/") for t in stamps))
    lake.run()
    got = [(s["session_start_ts"], s["session_end_ts"], s["events"], s["event_dt"]) for s in sessions(lake, "kiosk")]
    assert got == [
        # crosses the first midnight, runs all through the 21st, and is cut at the next midnight
        (start, at("2026-11-21T23:50:00Z"), 75, date(2026, 11, 20)),
        (at("2026-11-22T00:10:00Z"), at("2026-11-22T01:10:00Z"), 4, date(2026, 11, 22)),
    ]


def test_sdk_session_ids_key_sessions_and_a_reused_id_gets_its_start(lake: Lake) -> None:
    lake.add(
        event("page_view", "2026-11-20T10:00:00Z", sid="sdk_a", page="https://a.example/"),
        event("page_view", "2026-11-20T10:02:00Z", sid="sdk_b", page="https://a.example/other-tab"),
        event("page_view", "2026-11-20T10:05:00Z", sid="sdk_a", page="https://a.example/2"),
        # the same SDK id back after three hours: another session, named by its start
        event("page_view", "2026-11-20T13:00:00Z", sid="sdk_a", page="https://a.example/3"),
        # an SDK session across midnight
        event("page_view", "2026-11-20T23:55:00Z", sid="sdk_c", page="https://a.example/"),
        event("page_view", "2026-11-21T00:05:00Z", sid="sdk_c", page="https://a.example/4"),
    )
    lake.run()
    got = lake.rows(
        "select session_id, session_source, sdk_session_id, events, event_dt from silver.sessions "
        "order by session_start_ts"
    )
    assert got == [
        {
            "session_id": "sdk_a",
            "session_source": "sdk",
            "sdk_session_id": "sdk_a",
            "events": 2,
            "event_dt": date(2026, 11, 20),
        },
        {
            "session_id": "sdk_b",
            "session_source": "sdk",
            "sdk_session_id": "sdk_b",
            "events": 1,
            "event_dt": date(2026, 11, 20),
        },
        {
            "session_id": f"sdk_a~{ms('2026-11-20T13:00:00Z')}",
            "session_source": "sdk",
            "sdk_session_id": "sdk_a",
            "events": 1,
            "event_dt": date(2026, 11, 20),
        },
        {
            "session_id": "sdk_c",
            "session_source": "sdk",
            "sdk_session_id": "sdk_c",
            "events": 2,
            "event_dt": date(2026, 11, 20),
        },
    ]


def test_events_without_a_visitor_are_sessions_of_their_own(lake: Lake) -> None:
    order = {"order_id": "o1", "revenue_minor": 100, "currency": "USD"}
    lake.add(
        event("purchase", "2026-11-20T10:00:00Z", visitor=None, event_id="srv1", order=order),
        event("purchase", "2026-11-20T10:00:01Z", visitor=None, event_id="srv2", order={**order, "order_id": "o2"}),
    )
    lake.run()
    got = lake.rows("select session_id, session_source, orders from silver.sessions order by session_id")
    assert got == [
        {"session_id": "e_srv1", "session_source": "event", "orders": 1},
        {"session_id": "e_srv2", "session_source": "event", "orders": 1},
    ]


def test_silver_events_flatten_and_normalise(lake: Lake) -> None:
    lake.add(
        event(
            "affiliate_click",
            "2026-11-20T10:00:00.250Z",
            sid="s9",
            page="https://a.example/compare/x-vs-y?ref=1",
            variant="",  # empty strings become null
            country="IL",
            utm={"source": "news", "campaign": ""},
            affiliate={"link_id": "l1", "target": "https://shop.example/x", "payout_cents": 120},
            event_id="click1",
        ),
        event("page_view", "2026-11-20T10:01:00Z", page="https://a.example/compare/a-vs-b", bot=True),
    )
    lake.run()
    rows = lake.rows(
        "select event_id, session_id, page_path, ab_variant, geo_country, utm_source, utm_campaign, "
        "affiliate_link_id, affiliate_target, payout_cents, is_comparison, is_bot, event_dt, event_hour, ts "
        "from silver.events order by ts"
    )
    assert rows[0] == {
        "event_id": "click1",
        "session_id": "s9",
        "page_path": "/compare/x-vs-y",
        "ab_variant": None,
        "geo_country": "IL",
        "utm_source": "news",
        "utm_campaign": None,
        "affiliate_link_id": "l1",
        "affiliate_target": "https://shop.example/x",
        "payout_cents": 120,
        "is_comparison": False,  # a click, not a page view
        "is_bot": False,
        "event_dt": date(2026, 11, 20),
        "event_hour": "10",
        "ts": at("2026-11-20T10:00:00.250Z"),
    }
    # bots are kept and flagged; a comparison page view is marked
    assert (rows[1]["is_bot"], rows[1]["is_comparison"]) == (True, True)
    assert lake.rows("select is_bot from silver.sessions where visitor_id = 'v1' and session_id like 'v_%'") == [
        {"is_bot": True}
    ]


def test_session_totals_and_entry_attributes(lake: Lake) -> None:
    lake.add(
        event(
            "page_view",
            "2026-11-20T12:00:00Z",
            sid="t1",
            page="https://a.example/landing?x=1",
            utm={"source": "news", "medium": "email", "campaign": "bf"},
            referrer_class="email",
            country="DE",
            variant="B",
        ),
        event("product_view", "2026-11-20T12:01:00Z", sid="t1", product={"product_id": "p1"}),
        event("add_to_cart", "2026-11-20T12:02:00Z", sid="t1", product={"product_id": "p1", "quantity": 1}),
        event("page_view", "2026-11-20T12:03:00Z", sid="t1", page="https://a.example/cart", referrer_class="internal"),
    )
    lake.run()
    assert lake.rows(
        "select events, pageviews, product_views, add_to_carts, first_page_url, last_page_url, entry_page, "
        "channel, utm_source, utm_medium, utm_campaign, geo_country, ab_variant, duration_ms from silver.sessions"
    ) == [
        {
            "events": 4,
            "pageviews": 2,
            "product_views": 1,
            "add_to_carts": 1,
            "first_page_url": "https://a.example/landing?x=1",
            "last_page_url": "https://a.example/cart",
            "entry_page": "/landing",
            "channel": "email",
            "utm_source": "news",
            "utm_medium": "email",
            "utm_campaign": "bf",
            "geo_country": "DE",
            "ab_variant": "B",
            "duration_ms": 180_000,
        }
    ]
