"""Golden tests of silver.user_segments (SCD2) and of the segments in gold.fact_funnel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from transform.lakes import Lake, event, rule


def at(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(UTC)


def click(ts: str, **kw: Any) -> Any:
    return event("affiliate_click", ts, affiliate={"link_id": "l1", "payout_cents": 10}, **kw)


def view(ts: str, page: str = "https://a.example/", **kw: Any) -> Any:
    return event("page_view", ts, page=page, **kw)


def segments(lake: Lake) -> list[tuple[str, str, datetime, datetime | None]]:
    rows = lake.rows("select visitor_id, segment_key, valid_from, valid_to from silver.user_segments order by 1, 2, 3")
    return [(r["visitor_id"], r["segment_key"], r["valid_from"], r["valid_to"]) for r in rows]


def funnel_segments(lake: Lake) -> dict[datetime, list[str]]:
    rows = lake.rows("select session_start_ts, segments from gold.fact_funnel where visitor_id = 'v5'")
    return {r["session_start_ts"]: r["segments"] for r in rows}


def configure(lake: Lake) -> None:
    lake.settings.segments = {
        "affiliate_clicker": rule("affiliate_clicks > 0", window_days=30),
        "comparison_shopper": rule("comparison_pages >= 3", window_days=30),
        "big_spender": rule("orders > 0", amount="revenue_minor", at_least=1000, window_days=10),
    }


def test_entries_and_exits_open_and_close_rows_and_closed_rows_stay(lake: Lake) -> None:
    configure(lake)
    lake.add(
        click("2026-10-01T10:00:00Z", visitor="v5"),
        view("2026-10-05T09:00:00Z", visitor="v5"),
    )
    lake.run()
    # in the segment from the click on; the exit (30 days on) is still ahead of the lake's latest event
    assert segments(lake) == [("v5", "affiliate_clicker", at("2026-10-01T10:00:00Z"), None)]
    assert funnel_segments(lake) == {
        at("2026-10-01T10:00:00Z"): [],  # the session that qualified was not in the segment when it began
        at("2026-10-05T09:00:00Z"): ["affiliate_clicker"],
    }

    lake.add(view("2026-11-10T09:00:00Z", visitor="v5"))
    lake.run()
    # the lake's clock passed the exit: the row closes, at the exit
    assert segments(lake) == [("v5", "affiliate_clicker", at("2026-10-01T10:00:00Z"), at("2026-10-31T10:00:00Z"))]
    assert funnel_segments(lake)[at("2026-11-10T09:00:00Z")] == []

    comparisons = [
        view(f"2026-11-12T09:0{i}:00Z", page=f"https://a.example/compare/{i}", visitor="v5") for i in range(3)
    ]
    lake.add(click("2026-11-12T08:00:00Z", visitor="v5"), *comparisons)
    lake.run()
    # a new entry opens a new row; the closed one is as it was
    assert segments(lake) == [
        ("v5", "affiliate_clicker", at("2026-10-01T10:00:00Z"), at("2026-10-31T10:00:00Z")),
        ("v5", "affiliate_clicker", at("2026-11-12T08:00:00Z"), None),
        ("v5", "comparison_shopper", at("2026-11-12T09:02:00Z"), None),
    ]
    # two pages are not three
    assert lake.rows("select count(*) as n from silver.user_segments where visitor_id = 'v6'") == [{"n": 0}]


def test_a_late_click_reopens_history_and_the_funnel_days_it_reaches(lake: Lake) -> None:
    configure(lake)
    lake.add(
        click("2026-10-01T10:00:00Z", visitor="v5"),
        view("2026-11-10T09:00:00Z", visitor="v5"),
    )
    lake.run()
    assert funnel_segments(lake)[at("2026-11-10T09:00:00Z")] == []
    assert segments(lake) == [("v5", "affiliate_clicker", at("2026-10-01T10:00:00Z"), at("2026-10-31T10:00:00Z"))]
    # a click from 20 October arrives weeks late: the visitor stays a clicker until 19 November,
    # after the lake's latest event, so the closed row opens again
    lake.add(click("2026-10-20T10:00:00Z", visitor="v5"))
    report = lake.run()
    assert report.days == [at("2026-10-20T00:00:00Z").date()]
    assert segments(lake) == [("v5", "affiliate_clicker", at("2026-10-01T10:00:00Z"), None)]
    # the session of 10 November is far from the late day, and its funnel row follows anyway
    assert funnel_segments(lake)[at("2026-11-10T09:00:00Z")] == ["affiliate_clicker"]


def test_amount_thresholds_within_the_window(lake: Lake) -> None:
    configure(lake)

    def buy(ts: str, revenue: int, order_id: str) -> Any:
        order = {"order_id": order_id, "revenue_minor": revenue, "currency": "USD"}
        return event("purchase", ts, visitor="v7", order=order)

    lake.add(
        buy("2026-10-01T10:00:00Z", 600, "a"),
        buy("2026-10-05T10:00:00Z", 600, "b"),  # 1200 within 10 days: in
        buy("2026-10-30T10:00:00Z", 600, "c"),  # alone in its window: not enough
    )
    lake.run()
    assert [s for s in segments(lake) if s[1] == "big_spender"] == [
        # out again when the first purchase leaves the window, 10 days after it
        ("v7", "big_spender", at("2026-10-05T10:00:00Z"), at("2026-10-11T10:00:00Z"))
    ]


def test_bots_join_no_segment(lake: Lake) -> None:
    configure(lake)
    lake.add(click("2026-10-01T10:00:00Z", visitor="crawler", bot=True))
    lake.run()
    assert segments(lake) == []
