"""Golden tests of the Stats API's metric definitions (docs/metrics.md) on a hand-built story.

The story, site s1 (times UTC; `sid` is the SDK's session id):

- 2026-11-20, visitor A from Germany via a newsletter, session a1: page views of /home at 10:00
  and /pricing at 10:02, an affiliate click (payout 2.50) at 10:03: 3 events, 2 page views,
  180 s, converted (affiliate click).
- 2026-11-20, visitor B from France, session b1: one page view of /home at 11:00: a bounce of 0 s.
- 2026-11-20, visitor B again, session b2: /product at 15:00, a purchase of order o1 (40.00) at
  15:05 and the same order again at 15:06 (a reloaded thank-you page, counted once): 3 events,
  360 s, converted (order).
- 2026-11-20, a bot's page view of /home at 12:00: left out of every figure.
- 2026-11-21, visitor C from Germany, session c1: /home at 09:00 and a QR scan at 09:01: 60 s.

And site s2, never in s1's figures: visitor Z's page view at 10:00 on 2026-11-20 (a bounce),
and visitor A again (the same id as on s1) at 12:00 with a page view and a purchase of an
order also called o1 (10.00), after viewing product P7.

And site s3, for the time zone (Europe/Berlin: UTC+1 in November), hosts, time on page and
custom properties (times UTC, Berlin's in brackets):

- visitor D (A/B variant A), no SDK session (a visit keyed by the visitor): page views of
  www.s3.example/home at 2026-11-20 22:50 (23:50), /pricing at 22:51 (23:51), a custom event
  "signup" {plan: pro, seats: 3} at 23:10 (00:10 on the 21st), blog.s3.example/post at 23:20
  (00:20) and Blog.S3.example:443/post?x=1 at 23:25 (00:25): one visit of 35 min.
- visitor E, SDK session e1 on 2026-11-21: www.s3.example/home (variant B) at 08:00, "signup" {plan: free}
  at 08:00:30, /home again at 08:01; then session e2: /pricing at 08:03 (a bounce).
- visitor F, from a link on news.example (social): https://blog.s3.example (path "/") at
  2026-11-21 23:30 (00:30 on the 22nd): a bounce.
- a bot's page view of /home at 2026-11-21 09:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest

from clicklake.errors import InputError
from clicklake.query import periods, stats
from clicklake.query.engine import query
from clicklake.query.sandbox import Limits, Sandbox
from transform.lakes import Lake, event

ORDER = {"order_id": "o1", "revenue_minor": 4000, "currency": "EUR"}
RANGE = ["2026-11-20", "2026-11-21"]
BERLIN = "Europe/Berlin"
_D = {"site": "s3", "visitor": "D", "country": "DE", "variant": "A"}
_E1 = {"site": "s3", "visitor": "E", "sid": "e1", "country": "AT"}
_E2 = {"site": "s3", "visitor": "E", "sid": "e2", "country": "AT"}
S3_STORY = (
    event("page_view", "2026-11-20T22:50:00Z", page="https://www.s3.example/home", **_D),
    event("page_view", "2026-11-20T22:51:00Z", page="https://www.s3.example/pricing", **_D),
    event("custom", "2026-11-20T23:10:00Z", custom={"name": "signup", "properties": {"plan": "pro", "seats": 3}}, **_D),
    event("page_view", "2026-11-20T23:20:00Z", page="https://blog.s3.example/post", **_D),
    event("page_view", "2026-11-20T23:25:00Z", page="https://Blog.S3.example:443/post?x=1", **_D),
    event("page_view", "2026-11-21T08:00:00Z", page="https://www.s3.example/home", variant="B", **_E1),
    event("custom", "2026-11-21T08:00:30Z", custom={"name": "signup", "properties": {"plan": "free"}}, **_E1),
    event("page_view", "2026-11-21T08:01:00Z", page="https://www.s3.example/home", **_E1),
    event("page_view", "2026-11-21T08:03:00Z", page="https://www.s3.example/pricing", **_E2),
    event(
        "page_view",
        "2026-11-21T23:30:00Z",
        page="https://blog.s3.example",
        site="s3",
        visitor="F",
        sid="f1",
        referrer_host="news.example",
        referrer_class="social",
    ),
    event("page_view", "2026-11-21T09:00:00Z", page="https://www.s3.example/home", site="s3", visitor="bot", bot=True),
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    lake = Lake(tmp_path_factory.mktemp("story"))
    a = {"visitor": "A", "sid": "a1", "country": "DE", "utm": {"source": "newsletter", "medium": "email"}}
    b1 = {"visitor": "B", "sid": "b1", "country": "FR"}
    b2 = {"visitor": "B", "sid": "b2", "country": "FR"}
    c = {"visitor": "C", "sid": "c1", "country": "DE"}
    lake.add(
        event("page_view", "2026-11-20T10:00:00Z", page="https://s1.example/home", **a),
        event("page_view", "2026-11-20T10:02:00Z", page="https://s1.example/pricing", **a),
        event(
            "affiliate_click",
            "2026-11-20T10:03:00Z",
            affiliate={"link_id": "L1", "target": "https://shop.example", "payout_cents": 250},
            **a,
        ),
        event("page_view", "2026-11-20T11:00:00Z", page="https://s1.example/home", **b1),
        event("page_view", "2026-11-20T15:00:00Z", page="https://s1.example/product", **b2),
        event("purchase", "2026-11-20T15:05:00Z", order=ORDER, **b2),
        event("purchase", "2026-11-20T15:06:00Z", order=ORDER, **b2),
        event("page_view", "2026-11-20T12:00:00Z", page="https://s1.example/home", visitor="bot", sid="x", bot=True),
        event("page_view", "2026-11-21T09:00:00Z", page="https://s1.example/home", **c),
        event("qr_scan", "2026-11-21T09:01:00Z", qr={"link_id": "Q1", "placement": "table-3"}, **c),
        event("page_view", "2026-11-20T10:00:00Z", site="s2", visitor="Z", sid="z1", page="https://s2.example/home"),
        event("page_view", "2026-11-20T12:00:00Z", site="s2", visitor="A", sid="a2", page="https://s2.example/p"),
        event("product_view", "2026-11-20T12:00:30Z", site="s2", visitor="A", sid="a2", product={"product_id": "P7"}),
        event(
            "purchase", "2026-11-20T12:01:00Z", site="s2", visitor="A", sid="a2", order={**ORDER, "revenue_minor": 1000}
        ),
        *S3_STORY,
    )
    lake.run()
    return Sandbox(lake.catalog, Limits())


def ask(sandbox: Sandbox, tz: str = "UTC", **body: Any) -> list[dict[str, Any]]:
    body.setdefault("site_ids", ["s1"])
    body.setdefault("date_range", RANGE)
    query = stats.parse(msgspec.json.encode(body))
    sql = stats.build_sql(query, periods.resolve(query.date_range, tz), tz=tz)
    rows: list[dict[str, Any]] = sandbox.run(query.site_ids, sql).table.to_pylist()
    return rows


def test_every_metric_of_the_story(sandbox: Sandbox) -> None:
    [row] = ask(sandbox, metrics=list(stats.METRICS))
    assert row == {
        "visitors": 3,  # A, B, C (the bot is left out)
        "visits": 4,  # a1, b1, b2, c1
        "bounce_rate": 25.0,  # b1 of 4
        "visit_duration": 150.0,  # (180 + 0 + 360 + 60) / 4
        "views_per_visit": 1.25,  # 5 page views / 4 visits
        "conversions": 2,  # a1 (affiliate click), b2 (order)
        "conversion_rate": 50.0,  # 2 of 4 visits
        "pageviews": 5,
        "events": 9,  # 3 + 1 + 3 + 2
        "orders": 1,  # o1 once, though sent twice
        "revenue": 40.0,
        "aov": 40.0,
        "affiliate_clicks": 1,
        "affiliate_payout": 2.5,
        "qr_scans": 1,
        "time_on_page": 120.0,  # a1's /home to /pricing; the other page views are the last of their visits
    }


def test_by_day(sandbox: Sandbox) -> None:
    rows = ask(sandbox, metrics=["visitors", "visits", "pageviews"], dimensions=["time:day"])
    assert [(str(r["time:day"])[:10], r["visitors"], r["visits"], r["pageviews"]) for r in rows] == [
        ("2026-11-20", 2, 3, 4),
        ("2026-11-21", 1, 1, 1),
    ]


def test_by_page_and_by_entry_page(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["pageviews"], dimensions=["page"]) == [
        {"page": "/home", "pageviews": 3},
        {"page": "/pricing", "pageviews": 1},
        {"page": "/product", "pageviews": 1},
    ]
    assert ask(sandbox, metrics=["visits", "bounce_rate"], dimensions=["entry_page"]) == [
        {"entry_page": "/home", "visits": 3, "bounce_rate": 33.3},
        {"entry_page": "/product", "visits": 1, "bounce_rate": 0.0},
    ]


def test_visits_and_events_by_country_together(sandbox: Sandbox) -> None:
    rows = ask(sandbox, metrics=["visitors", "pageviews", "revenue"], dimensions=["country"])
    assert rows == [
        {"country": "DE", "visitors": 2, "pageviews": 3, "revenue": 0.0},
        {"country": "FR", "visitors": 1, "pageviews": 2, "revenue": 40.0},
    ]


def test_filters(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["visits", "pageviews"], filters=[["is", "country", ["DE"]]]) == [
        {"visits": 2, "pageviews": 3}
    ]
    assert ask(sandbox, metrics=["visits"], filters=[["is_not", "country", ["DE"]]]) == [{"visits": 2}]
    assert ask(sandbox, metrics=["visits"], filters=[["is", "source", ["newsletter"]]]) == [{"visits": 1}]
    assert ask(sandbox, metrics=["pageviews"], filters=[["contains", "page", ["pro", "pri"]]]) == [{"pageviews": 2}]


def test_the_date_range_and_the_previous_period(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["visits"], date_range=["2026-11-21", "2026-11-21"]) == [{"visits": 1}]
    query = stats.parse(
        msgspec.json.encode({"site_ids": ["s1"], "metrics": ["visits"], "date_range": ["2026-11-21", "2026-11-21"]})
    )
    before = periods.previous_period(*query.date_range)
    assert [str(d) for d in before] == ["2026-11-20", "2026-11-20"]
    assert sandbox.run(["s1"], stats.build_sql(query, before)).table.to_pylist() == [{"visits": 3}]


def test_a_rollup_across_sites_and_no_foreign_rows(sandbox: Sandbox) -> None:
    both = ["s1", "s2"]
    # visitors and orders are counted per site and summed: A (and order o1) on s1 and on s2 count twice
    assert ask(sandbox, metrics=["visitors", "visits", "bounce_rate", "orders", "revenue", "aov"], site_ids=both) == [
        # visitors 3 + 2, visits 4 + 2, bounces b1 and z1 of 6, orders o1 of s1 and o1 of s2, 40 + 10
        {"visitors": 5, "visits": 6, "bounce_rate": 33.3, "orders": 2, "revenue": 50.0, "aov": 25.0}
    ]
    assert ask(sandbox, metrics=["visitors", "orders"], site_ids=["s2"]) == [{"visitors": 2, "orders": 1}]
    # the SQL names s2, but a principal of s1 alone runs it: the sandbox keeps s2's rows out
    query = stats.parse(msgspec.json.encode({"site_ids": ["s2"], "metrics": ["visitors"], "date_range": RANGE}))
    assert sandbox.run(["s1"], stats.build_sql(query)).table.to_pylist() == [{"visitors": 0}]


def test_order_limit_offset(sandbox: Sandbox) -> None:
    rows = ask(sandbox, metrics=["pageviews"], dimensions=["page"], order_by=[["page", "desc"]], limit=1, offset=1)
    assert rows == [{"page": "/pricing", "pageviews": 1}]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"metrics": ["nope"]}, "unknown metric"),
        ({"metrics": ["visits"], "dimensions": ["nope"]}, "unknown dimension"),
        ({"metrics": ["visits"], "dimensions": ["page"]}, "does not apply to visits"),
        ({"metrics": ["visits"], "date_range": ["2026-11-21", "2026-11-20"]}, "before it starts"),
        ({"metrics": ["visits"], "date_range": ["x", "y"]}, "bad query"),
        ({"metrics": ["visits"], "filters": [["is", "country", ["x'); drop"]]], "extra": 1}, "bad query"),
        ({"metrics": ["visits"], "order_by": [["pageviews", "asc"]]}, "order_by"),
        ({"metrics": ["visits"], "limit": 10**9}, "bad query"),
        ({"metrics": ["visits"], "date_range": "6d"}, "one of today, yesterday, 7d, 30d, month, last_month, 12mo"),
        ({"metrics": ["visits"], "compare": "previous_decade"}, "bad query"),
        ({"metrics": ["visits"], "dimensions": ["prop:a b"]}, "not a plain name"),
        ({"metrics": ["time_on_page"], "dimensions": ["entry_page"]}, "does not apply to time_on_page"),
    ],
)
def test_bad_queries_are_refused_with_a_reason(body: dict[str, Any], reason: str) -> None:
    body = {"site_ids": ["s1"], "date_range": RANGE, **body}
    with pytest.raises(InputError, match=reason):
        stats.build_sql(stats.parse(msgspec.json.encode(body)))


def test_quotes_in_filter_values_stay_values(sandbox: Sandbox) -> None:
    assert ask(sandbox, metrics=["visits"], filters=[["is", "country", ["DE') or ('1'='1"]]]) == [{"visits": 0}]


def test_the_sql_of_an_answer_reproduces_it_in_clicklake_query(sandbox: Sandbox) -> None:
    body = {"site_ids": ["s1"], "metrics": ["visitors", "pageviews"], "dimensions": ["time:day"], "date_range": RANGE}
    sql = stats.build_sql(stats.parse(msgspec.json.encode(body)))
    assert query(sandbox.catalog, sql).to_pylist() == sandbox.run(["s1"], sql).table.to_pylist() != []
    # in a time zone, with time on page and a host
    body = {
        "site_ids": ["s3"],
        "metrics": ["visits", "events", "time_on_page"],
        "dimensions": ["time:day", "hostname"],
        "date_range": RANGE,
    }
    sql = stats.build_sql(stats.parse(msgspec.json.encode(body)), (date(2026, 11, 20), date(2026, 11, 22)), tz=BERLIN)
    assert query(sandbox.catalog, sql).to_pylist() == sandbox.run(["s3"], sql).table.to_pylist() != []


# -- site s3: time zone, hosts, time on page, custom properties -----------------------


def days(rows: list[dict[str, Any]], dim: str, metric: str) -> list[tuple[str, Any]]:
    return [(str(r[dim]), r[metric]) for r in rows]


def test_days_and_hours_in_the_sites_time_zone(sandbox: Sandbox) -> None:
    s3 = {"site_ids": ["s3"], "metrics": ["pageviews"], "date_range": ["2026-11-20", "2026-11-22"]}
    # UTC: D's four page views on the 20th, E's three and F's one on the 21st
    assert days(ask(sandbox, **s3, dimensions=["time:day"]), "time:day", "pageviews") == [
        ("2026-11-20 00:00:00", 4),
        ("2026-11-21 00:00:00", 4),
    ]
    # Berlin: D's last two page views are past midnight (the 21st), F's is on the 22nd
    assert days(ask(sandbox, BERLIN, **s3, dimensions=["time:day"]), "time:day", "pageviews") == [
        ("2026-11-20 00:00:00", 2),
        ("2026-11-21 00:00:00", 5),
        ("2026-11-22 00:00:00", 1),
    ]
    assert days(ask(sandbox, BERLIN, **s3, dimensions=["time:hour"]), "time:hour", "pageviews") == [
        ("2026-11-20 23:00:00", 2),
        ("2026-11-21 00:00:00", 2),
        ("2026-11-21 09:00:00", 3),
        ("2026-11-22 00:00:00", 1),
    ]
    # a visit counts on the day it started: D's (23:50 in Berlin) on the 20th
    visits = {**s3, "metrics": ["visits"], "dimensions": ["time:day"]}
    assert days(ask(sandbox, BERLIN, **visits), "time:day", "visits") == [
        ("2026-11-20 00:00:00", 1),
        ("2026-11-21 00:00:00", 2),
        ("2026-11-22 00:00:00", 1),
    ]
    assert days(ask(sandbox, BERLIN, **visits | {"dimensions": ["time:month"]}), "time:month", "visits") == [
        ("2026-11-01 00:00:00", 4)
    ]


def test_the_date_range_is_the_sites_days(sandbox: Sandbox) -> None:
    one_day = {"site_ids": ["s3"], "metrics": ["pageviews", "visits"], "date_range": ["2026-11-21", "2026-11-21"]}
    # UTC: E's three page views and F's; the visits e1, e2, f1
    assert ask(sandbox, **one_day) == [{"pageviews": 4, "visits": 3}]
    # Berlin: D's two after midnight (event_dt 2026-11-20 in the lake) and E's three; F's is the 22nd
    assert ask(sandbox, BERLIN, **one_day) == [{"pageviews": 5, "visits": 2}]


def test_time_on_page(sandbox: Sandbox) -> None:
    s3 = {"site_ids": ["s3"], "date_range": RANGE}
    # /home: D 22:50 → 22:51 (60 s), E 08:00 → 08:01 (60 s); E's 08:01 is e1's last page view (e2 is
    # another visit), so it has no time. /pricing: D 22:51 → 23:20 (1740 s; the custom event between
    # them keeps the visit going); E's is a bounce. /post: D 23:20 → 23:25 (300 s), then D's last.
    assert ask(sandbox, **s3, metrics=["time_on_page", "pageviews"], dimensions=["page"]) == [
        {"page": "/pricing", "time_on_page": 1740.0, "pageviews": 2},
        {"page": "/post", "time_on_page": 300.0, "pageviews": 2},
        {"page": "/home", "time_on_page": 60.0, "pageviews": 3},
        {"page": "/", "time_on_page": None, "pageviews": 1},  # F's bounce: no time
    ]
    assert ask(sandbox, **s3, metrics=["time_on_page"]) == [{"time_on_page": 540.0}]  # (60 + 60 + 1740 + 300) / 4
    # a filter keeps the page views it names, timed to whatever page comes next
    assert ask(sandbox, **s3, metrics=["time_on_page"], filters=[["is", "page", ["/pricing"]]]) == [
        {"time_on_page": 1740.0}
    ]
    # the next page view may be past the range's end: in Berlin, D's /pricing is on the 20th, /post on the 21st
    on_the_20th = {"site_ids": ["s3"], "metrics": ["time_on_page"], "date_range": ["2026-11-20", "2026-11-20"]}
    assert ask(sandbox, BERLIN, **on_the_20th) == [{"time_on_page": 900.0}]  # (60 + 1740) / 2


def test_hostname_exit_page_and_channel(sandbox: Sandbox) -> None:
    s3 = {"site_ids": ["s3"], "date_range": RANGE}
    assert ask(sandbox, **s3, metrics=["pageviews"], dimensions=["hostname"]) == [
        {"hostname": "www.s3.example", "pageviews": 5},
        {"hostname": "blog.s3.example", "pageviews": 3},  # Blog.S3.example:443 is the same host
    ]
    # on visits: the host of the first page
    assert ask(sandbox, **s3, metrics=["visits"], dimensions=["hostname"]) == [
        {"hostname": "www.s3.example", "visits": 3},
        {"hostname": "blog.s3.example", "visits": 1},
    ]
    assert ask(sandbox, **s3, metrics=["visits"], dimensions=["exit_page"], order_by=[["exit_page", "asc"]]) == [
        {"exit_page": "/", "visits": 1},  # F's https://blog.s3.example
        {"exit_page": "/home", "visits": 1},  # e1
        {"exit_page": "/post", "visits": 1},  # D
        {"exit_page": "/pricing", "visits": 1},  # e2
    ]
    # s1: A came with UTM tags (a campaign), the others directly; on events, each event's own class
    assert ask(sandbox, metrics=["visits"], dimensions=["channel"]) == [
        {"channel": "direct", "visits": 3},
        {"channel": "campaign", "visits": 1},
    ]
    assert ask(sandbox, metrics=["events"], dimensions=["channel"]) == [
        {"channel": "direct", "events": 6},
        {"channel": "campaign", "events": 3},
    ]


def test_custom_event_properties(sandbox: Sandbox) -> None:
    signups = {"site_ids": ["s3"], "date_range": RANGE, "filters": [["is", "event_name", ["signup"]]]}
    assert ask(sandbox, **signups, metrics=["events"], dimensions=["prop:plan"]) == [
        {"prop:plan": "free", "events": 1},
        {"prop:plan": "pro", "events": 1},
    ]
    assert ask(sandbox, **signups, metrics=["events"], dimensions=["event_name", "prop:seats"]) == [
        {"event_name": "signup", "prop:seats": "3", "events": 1},  # numbers are kept as text
        {"event_name": "signup", "prop:seats": None, "events": 1},  # E's has no seats (empty last)
    ]
    assert ask(sandbox, site_ids=["s3"], metrics=["events"], filters=[["is", "prop:plan", ["pro"]]]) == [{"events": 1}]
    # a property name is a value in the SQL, never a column or code
    hostile = {"site_ids": ["s3"], "metrics": ["events"], "date_range": RANGE}
    for name in ("plan']", "plan' or 1=1 --", "a b", "", "1st", "x" * 65):
        with pytest.raises(InputError, match="is not a plain name"):
            stats.parse(msgspec.json.encode({**hostile, "dimensions": [f"prop:{name}"]}))
    with pytest.raises(InputError, match="does not apply to visits"):
        stats.build_sql(stats.parse(msgspec.json.encode({**hostile, "metrics": ["visits"], "dimensions": ["prop:x"]})))


def test_shorthand_ranges_and_the_previous_year(sandbox: Sandbox) -> None:
    now = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)  # 00:30 on the 22nd in Berlin
    query = stats.parse(msgspec.json.encode({"site_ids": ["s3"], "metrics": ["pageviews"], "date_range": "yesterday"}))
    assert periods.resolve(query.date_range, "UTC", now) == (date(2026, 11, 20), date(2026, 11, 20))
    berlin = periods.resolve(query.date_range, BERLIN, now)
    assert berlin == (date(2026, 11, 21), date(2026, 11, 21))
    assert sandbox.run(["s3"], stats.build_sql(query, berlin, tz=BERLIN)).table.to_pylist() == [{"pageviews": 5}]
    # the same days a year later compare with these
    later = (date(2027, 11, 20), date(2027, 11, 21))
    assert periods.compared(later, "previous_year") == (date(2026, 11, 20), date(2026, 11, 21))
    assert ask(sandbox, metrics=["visits"], date_range=[str(d) for d in later]) == [{"visits": 0}]
    before = periods.compared(later, "previous_year")
    body = stats.parse(msgspec.json.encode({"site_ids": ["s1"], "metrics": ["visits"], "date_range": "today"}))
    assert sandbox.run(["s1"], stats.build_sql(body, before)).table.to_pylist() == [{"visits": 4}]
    with pytest.raises(InputError, match="resolve the date_range"):
        stats.build_sql(body)


def test_every_other_dimension(sandbox: Sandbox) -> None:
    s3 = {"site_ids": ["s3"], "date_range": RANGE}
    by = lambda d, m, **kw: ask(sandbox, **{**s3, **kw}, metrics=[m], dimensions=[d])  # noqa: E731
    assert by("event_type", "events") == [
        {"event_type": "page_view", "events": 8},
        {"event_type": "custom", "events": 2},
    ]
    assert by("variant", "visits") == [  # the visit's first variant: e1's first page view
        {"variant": None, "visits": 2},  # e2, F
        {"variant": "A", "visits": 1},
        {"variant": "B", "visits": 1},
    ]
    assert by("variant", "events") == [
        {"variant": "A", "events": 5},
        {"variant": None, "events": 4},  # E's other three, F's
        {"variant": "B", "events": 1},
    ]
    assert by("referrer", "visits") == [{"referrer": None, "visits": 3}, {"referrer": "news.example", "visits": 1}]
    assert by("source", "visits") == [{"source": "direct", "visits": 3}, {"source": "news.example", "visits": 1}]
    assert by("channel", "visits") == [{"channel": "direct", "visits": 3}, {"channel": "social", "visits": 1}]
    assert by("country", "visitors") == [
        {"country": "AT", "visitors": 1},
        {"country": "DE", "visitors": 1},
        {"country": None, "visitors": 1},  # F (ties go by the dimension, empty last)
    ]
    for d, value in (("device", "desktop"), ("browser", "Firefox"), ("os", "Linux")):
        assert by(d, "visits") == [{d: value, "visits": 4}]  # the bot's is left out
    assert by("time:week", "visits", date_range=["2026-11-16", "2026-11-29"]) == [
        {"time:week": datetime(2026, 11, 16), "visits": 4}  # weeks start on Monday
    ]
    assert by("time:minute", "pageviews", filters=[["is", "page", ["/home"]]]) == [
        {"time:minute": datetime(2026, 11, 20, 22, 50), "pageviews": 1},
        {"time:minute": datetime(2026, 11, 21, 8, 0), "pageviews": 1},
        {"time:minute": datetime(2026, 11, 21, 8, 1), "pageviews": 1},
    ]
    # s1: UTM tags, links; s2: products
    assert ask(sandbox, metrics=["visits"], dimensions=["utm_source", "utm_medium"]) == [
        {"utm_source": None, "utm_medium": None, "visits": 3},
        {"utm_source": "newsletter", "utm_medium": "email", "visits": 1},
    ]
    assert ask(sandbox, metrics=["affiliate_clicks", "qr_scans"], dimensions=["link"]) == [
        {"link": "L1", "affiliate_clicks": 1, "qr_scans": 0},
        {"link": "Q1", "affiliate_clicks": 0, "qr_scans": 1},
    ]
    assert ask(sandbox, site_ids=["s2"], metrics=["events"], dimensions=["product"]) == [
        {"product": None, "events": 3},  # Z's and A's page views, A's purchase
        {"product": "P7", "events": 1},
    ]
    # an average over no orders is empty, not 0
    assert ask(sandbox, **s3, metrics=["orders", "revenue", "aov"]) == [{"orders": 0, "revenue": 0.0, "aov": None}]


def test_data_until_is_the_newest_event_counted(sandbox: Sandbox) -> None:
    query = stats.parse(msgspec.json.encode({"site_ids": ["s3"], "metrics": ["events"], "date_range": RANGE}))

    def until(tz: str, first: str, last: str) -> Any:
        sql = stats.data_until_sql(query, (date.fromisoformat(first), date.fromisoformat(last)), tz)
        return sandbox.run(["s3"], sql).table.to_pylist()[0]["data_until"]

    # UTC: F's page view at 23:30 on the 21st
    assert until("UTC", "2026-11-20", "2026-11-21") == datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    # Berlin: F's is on the 22nd and the bot's (09:00 UTC) is not counted: E's /pricing at 08:03
    assert until(BERLIN, "2026-11-20", "2026-11-21") == datetime(2026, 11, 21, 8, 3, tzinfo=UTC)
    assert until(BERLIN, "2026-11-23", "2026-11-30") is None  # nothing in the range
