"""`POST /api/query`, `/api/openapi.json` and a battery of hostile requests, against `clicklake web` on loopback.

The world (web/world.py) has sites a, b, c with three visitors each over 2026-11-20..22;
viewer@example.org may read site a only. Hostile requests must find no row of another
site and never a 5xx.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from web.world import World, serve_world

RANGE = ["2026-11-20", "2026-11-22"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory)


@pytest.fixture(scope="module")
def viewer(world: World) -> Iterator[tuple[httpx.Client, str]]:
    client, csrf = world.login("viewer@example.org")
    yield client, csrf
    client.close()


def ask(viewer: tuple[httpx.Client, str], body: dict[str, Any], **params: str) -> httpx.Response:
    client, csrf = viewer
    return client.post("/api/query", json=body, headers={"X-CSRF-Token": csrf}, params=params)


def test_a_viewer_gets_figures_the_sql_and_the_freshness(world: World, viewer: tuple[httpx.Client, str]) -> None:
    body = {"site_ids": [world.sites["a"]], "metrics": ["visitors", "pageviews"], "date_range": RANGE}
    r = ask(viewer, {**body, "dimensions": ["time:day"], "compare": "previous_period"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [(row["time:day"][:10], row["visitors"], row["pageviews"]) for row in out["results"]] == [
        ("2026-11-20", 1, 1),
        ("2026-11-21", 1, 1),
        ("2026-11-22", 1, 1),
    ]
    assert world.sites["a"] in out["meta"]["sql"] and set(out["meta"]["freshness"]) == {
        "silver.sessions",
        "silver.events",
    }
    assert out["comparison"]["date_range"] == ["2026-11-17", "2026-11-19"] and out["comparison"]["results"] == []
    # the SQL of the answer gives the same figures in `clicklake query`
    ran = world.cli("query", out["meta"]["sql"], "--format", "json")
    assert ran.returncode == 0, ran.stderr
    assert [r["visitors"] for r in json.loads(ran.stdout)] == [1, 1, 1]


def test_days_in_the_sites_time_zone_with_the_newest_event(world: World, viewer: tuple[httpx.Client, str]) -> None:
    site = world.sites["a"]
    zone = "Pacific/Kiritimati"  # UTC+14: the world's visits at 10:00 UTC are at midnight of the next day
    moved = world.cli("sites", "update", site, "--timezone", zone)
    assert moved.returncode == 0, moved.stderr
    try:
        body = {"site_ids": [site], "metrics": ["visitors"], "dimensions": ["time:day"], "date_range": RANGE}
        r = ask(viewer, body)
        assert r.status_code == 200, r.text
        out = r.json()
        # the 20th's visit is on the 21st there, the 21st's on the 22nd, the 22nd's past the range
        assert [(row["time:day"], row["visitors"]) for row in out["results"]] == [
            ("2026-11-21T00:00:00", 1),
            ("2026-11-22T00:00:00", 1),
        ]
        assert out["meta"]["timezone"] == zone and "timezone_note" not in out["meta"]
        assert out["meta"]["date_range"] == RANGE
        assert out["meta"]["data_until"] == "2026-11-21T10:00:00Z"  # the newest event the figures include
        assert set(out["meta"]["freshness"]) == {"silver.sessions", "silver.events"}

        before = datetime.now(ZoneInfo(zone)).date()
        r = ask(viewer, {**body, "date_range": "7d", "compare": "previous_year"})
        after = datetime.now(ZoneInfo(zone)).date()
        assert r.status_code == 200, r.text
        out = r.json()
        week = [[str(today - timedelta(days=6)), str(today)] for today in (before, after)]
        assert out["meta"]["date_range"] in week  # the same unless the zone's midnight fell during the request
        start, end = (date.fromisoformat(d) for d in out["meta"]["date_range"])
        assert out["comparison"]["compare"] == "previous_year"
        assert out["comparison"]["date_range"] == [str(_year_before(start)), str(_year_before(end))]
    finally:
        back = world.cli("sites", "update", site, "--timezone", "UTC")
        assert back.returncode == 0, back.stderr


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def test_a_rollup_across_sites_in_different_time_zones(world: World) -> None:
    client, csrf = world.login("root@example.org")  # a server admin reads every site
    a, b = world.sites["a"], world.sites["b"]
    moved = world.cli("sites", "update", a, "--timezone", "Europe/Berlin")
    assert moved.returncode == 0, moved.stderr
    try:
        body = {"site_ids": [a, b], "metrics": ["visitors", "pageviews"], "date_range": RANGE}
        r = client.post("/api/query", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["results"] == [{"visitors": 6, "pageviews": 6}]  # three of each site, summed
        assert out["meta"]["timezone"] == "UTC" and "Europe/Berlin" in out["meta"]["timezone_note"]
        both_berlin = world.cli("sites", "update", b, "--timezone", "Europe/Berlin")
        assert both_berlin.returncode == 0, both_berlin.stderr
        r = client.post("/api/query", json=body, headers={"X-CSRF-Token": csrf})
        assert r.json()["meta"]["timezone"] == "Europe/Berlin" and "timezone_note" not in r.json()["meta"]
    finally:
        client.close()
        for site in (a, b):
            assert world.cli("sites", "update", site, "--timezone", "UTC").returncode == 0


def test_a_bad_date_range_or_compare_is_a_400(viewer: tuple[httpx.Client, str], world: World) -> None:
    body = {"site_ids": [world.sites["a"]], "metrics": ["visits"]}
    for bad in ({"date_range": "6d"}, {"date_range": RANGE, "compare": "previous_decade"}):
        r = ask(viewer, {**body, **bad})
        assert r.status_code == 400 and "bad query" in r.json()["error"], r.text
    assert "7d" in ask(viewer, {**body, "date_range": "6d"}).json()["error"]


def test_csv(world: World, viewer: tuple[httpx.Client, str]) -> None:
    body = {"site_ids": [world.sites["a"]], "metrics": ["visits"], "dimensions": ["page"], "date_range": RANGE}
    r = ask(viewer, {**body, "metrics": ["pageviews"]}, format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(r.text))) == [["page", "pageviews"], ["/a", "3"]]


def test_openapi_lists_the_routes_and_every_metric(world: World) -> None:
    with world.client() as client:
        doc = client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1") and {"/api/query", "/api/sql", "/login", "/api/me"} <= set(doc["paths"])
    query = doc["components"]["schemas"]["StatsQuery"]["properties"]
    metrics = query["metrics"]["items"]["enum"]
    assert {"visitors", "bounce_rate", "conversion_rate", "revenue", "qr_scans", "time_on_page"} <= set(metrics)
    assert {"hostname", "exit_page", "time:week"} <= set(query["dimensions"]["items"]["anyOf"][0]["enum"])
    assert {"7d", "last_month", "12mo"} <= set(query["date_range"]["oneOf"][1]["enum"])
    assert set(query["compare"]["enum"]) == {"previous_period", "previous_year", None}


# -- hostile requests ------------------------------------------------------------------


def test_a_foreign_site_in_site_ids_is_refused(world: World, viewer: tuple[httpx.Client, str]) -> None:
    for sites in ([world.sites["b"]], [world.sites["a"], world.sites["b"]], ["made-up"]):
        r = ask(viewer, {"site_ids": sites, "metrics": ["visitors"], "date_range": RANGE})
        assert r.status_code == 403 and "may not read site" in r.json()["error"]


@pytest.mark.parametrize(
    "filters",
    [
        [["is_not", "country", ["nowhere"]]],
        [["is", "page", ["/b') or site_id in ('x"]]],
        [["contains", "page", ["%"]]],
        [["is", "source", ["' union select site_id from silver.events --"]]],
    ],
)
def test_hostile_filters_find_no_foreign_row(
    world: World, viewer: tuple[httpx.Client, str], filters: list[Any]
) -> None:
    body = {
        "site_ids": [world.sites["a"]],
        "metrics": ["pageviews"],
        "dimensions": ["page"],
        "filters": filters,
        "date_range": RANGE,
    }
    r = ask(viewer, body)
    assert r.status_code == 200, r.text
    assert {row["page"] for row in r.json()["results"]} <= {"/a"}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"site_ids": [], "metrics": ["visits"], "date_range": ["2026-11-20", "2026-11-22"]}',
        b'{"site_ids": ["x"], "metrics": ["visits; drop table x"], "date_range": ["2026-11-20", "2026-11-22"]}',
        b'{"site_ids": ["x"], "metrics": ["visits"], "date_range": ["2026-11-20"]}',
        b'{"site_ids": ["x"], "metrics": ["visits"], "date_range": ["2026-11-20", "2026-11-22"], "limit": 1e99}',
        b'{"site_ids": ["x"], "metrics": ["visits"], "date_range": ["2026-11-20", "2026-11-22"], "sql": "select 1"}',
        b'{"site_ids": ["x"], "metrics": ["events"], "dimensions": ["prop:a\') or 1=1 --"], "date_range": "7d"}',
        b'{"site_ids": ["x"], "metrics": ["visits"], "date_range": "forever"}',
        b'{"site_ids": ["x"], "metrics": ["visits"], "date_range": "7d", "compare": "previous_decade"}',
        b"x" * (2 << 20),
    ],
)
def test_malformed_queries_are_4xx_with_a_reason(viewer: tuple[httpx.Client, str], body: bytes) -> None:
    client, csrf = viewer
    r = client.post("/api/query", content=body, headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500 and r.json()["error"]


@pytest.mark.parametrize(
    "sql",
    [
        "select site_id from silver.events where site_id <> '{a}'",
        "select * from read_parquet('{root}/data/warehouse/**/*.parquet')",
        "select * from '{root}/data/metadata.sqlite3'",
        "select * from sqlite_scan('{root}/data/metadata.sqlite3', 'users')",
        "select current_setting('enable_external_access') as x from silver.events, (set x = 1)",
        "attach '{root}/data/metadata.sqlite3' as m",
        "copy (select * from silver.events) to '{root}/leak.csv'",
        "set lock_configuration = false",
        "pragma database_list",
        "install httpfs",
        "select * from bronze.events union all select * from bronze.quarantine",
        "select count(*) from range(100000000000) a, range(100000000) b",
        "select * from range(100000000)",
        "select site_id from silver.events" + " union all select site_id from silver.events" * 200,
    ],
)
def test_hostile_sql_finds_no_foreign_row_and_no_5xx(world: World, viewer: tuple[httpx.Client, str], sql: str) -> None:
    client, csrf = viewer
    r = client.post(
        "/api/sql",
        json={"sql": sql.replace("{a}", world.sites["a"]).replace("{root}", str(world.root))},
        headers={"X-CSRF-Token": csrf},
        timeout=60,
    )
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        rows = r.json()["rows"]
        foreign = set(world.sites.values()) - {world.sites["a"]}
        assert not [row for row in rows if row.get("site_id") in foreign]
        assert len(rows) <= 10_000
    else:
        assert r.json()["error"]
    assert not (world.root / "leak.csv").exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer clk_" + "A" * 43},
        {"Authorization": "Bearer"},
        {"Authorization": "Token abc"},
        {"Cookie": "clicklake_session=" + "A" * 43},
        {"Cookie": "clicklake_session="},
        {},
    ],
)
def test_forged_credentials_are_401(world: World, headers: dict[str, str]) -> None:
    with world.client() as client:
        body = {"site_ids": [world.sites["a"]], "metrics": ["visits"], "date_range": RANGE}
        assert client.post("/api/query", json=body, headers=headers).status_code == 401


def test_a_session_without_the_csrf_token_cannot_query(world: World, viewer: tuple[httpx.Client, str]) -> None:
    client, _ = viewer
    body = {"site_ids": [world.sites["a"]], "metrics": ["visits"], "date_range": RANGE}
    assert client.post("/api/query", json=body).status_code == 403
    assert client.post("/api/query", json=body, headers={"X-CSRF-Token": "x"}).status_code == 403


def test_a_sql_scoped_token_cannot_use_the_stats_api(world: World) -> None:
    secret = world.token("--user", "viewer@example.org", "--scope", "sql")
    with world.client() as client:
        body = {"site_ids": [world.sites["a"]], "metrics": ["visits"], "date_range": RANGE}
        r = client.post("/api/query", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403 and "scope 'stats'" in r.json()["error"]


def test_a_funnel_over_http_and_not_of_a_foreign_site(world: World, viewer: tuple[httpx.Client, str]) -> None:
    client, csrf = viewer
    body = {"site_ids": [world.sites["a"]], "date_range": RANGE, "steps": [{"page": "/a"}, {"event": "purchase"}]}
    r = client.post("/api/funnel", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert [(row["step"], row["visitors"]) for row in r.json()["results"]] == [(1, 3), (2, 0)]
    assert r.json()["results"][0]["step_definition"] == {"page": "/a"}
    r = client.post("/api/funnel", json={**body, "site_ids": [world.sites["b"]]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    r = client.post("/api/funnel", json={**body, "steps": [{"page": "/a"}]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and r.json()["error"]


def test_a_funnel_split_by_a_dimension_over_http(world: World, viewer: tuple[httpx.Client, str]) -> None:
    client, csrf = viewer
    body = {"site_ids": [world.sites["a"]], "date_range": RANGE, "steps": [{"page": "/a"}, {"event": "purchase"}]}
    r = client.post("/api/funnel", json={**body, "breakdown": "country"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    out = r.json()
    # the world's visitors have no country: one group, "(none)"
    assert [(row["group"], row["step"], row["visitors"], row["pct_of_first"]) for row in out["results"]] == [
        ("(none)", 1, 3, 100.0),
        ("(none)", 2, 0, 0.0),
    ]
    assert out["results"][1]["step_definition"] == {"event": "purchase"} and out["meta"]["breakdown"] == "country"
    r = client.post("/api/funnel", json={**body, "breakdown": "device"}, headers={"X-CSRF-Token": csrf})
    assert [(row["group"], row["visitors"]) for row in r.json()["results"]] == [("desktop", 3), ("desktop", 0)]
    r = client.post("/api/funnel", json={**body, "breakdown": "city"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "city" in r.json()["error"] and "variant, channel" in r.json()["error"]


def test_experiments_over_http(world: World, viewer: tuple[httpx.Client, str]) -> None:
    client, csrf = viewer
    body = {"site_ids": [world.sites["a"]], "date_range": RANGE}
    r = client.post("/api/experiment", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["results"] == []  # the world's visits have no variant
    assert "ab_variant" in r.json()["meta"]["sql"]
    r = client.post("/api/experiment", json={**body, "site_ids": [world.sites["c"]]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
