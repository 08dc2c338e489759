"""The reports' routes (`/api/retention`, `/paths`, `/attribution`, `/affiliates`, `/ecommerce`, `/menus`) on loopback.

The world (web/world.py) has sites a, b, c with one page view of /a, /b, /c by each of
three visitors on 2026-11-20, 21 and 22, plus here: on site a two QR scans of link q1
(at table-7 and table-9), an affiliate click and a product view, on site b a QR scan. viewer@example.org
may read site a only.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from clicklake.schema.record import Record
from transform.lakes import event
from web.world import World, serve_world

RANGE = ["2026-11-20", "2026-11-22"]
REPORTS = ["retention", "paths", "attribution", "affiliates", "ecommerce", "menus"]


def extra(sites: dict[str, str]) -> Iterable[Record]:
    for site, at in ((sites["a"], "table-7"), (sites["a"], "table-9"), (sites["b"], "table-7")):
        qr = {"link_id": "q1", "placement": at, "target": "https://menu.example/"}
        yield event("qr_scan", "2026-11-21T19:00:00Z", site=site, visitor="guest", qr=qr)
    affiliate = {"link_id": "L1", "target": "https://shop.example/x", "payout_cents": 120}
    yield event("affiliate_click", "2026-11-20T10:01:00Z", site=sites["a"], visitor="a0", affiliate=affiliate)
    yield event("product_view", "2026-11-20T10:02:00Z", site=sites["a"], visitor="a0", product={"product_id": "p1"})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory, extra)


@pytest.fixture(scope="module")
def viewer(world: World) -> Iterator[tuple[httpx.Client, str]]:
    client, csrf = world.login("viewer@example.org")
    yield client, csrf
    client.close()


def ask(viewer: tuple[httpx.Client, str], report: str, body: dict[str, Any]) -> httpx.Response:
    client, csrf = viewer
    return client.post(f"/api/{report}", json=body, headers={"X-CSRF-Token": csrf})


def test_every_report_answers_rows_its_sql_and_freshness(world: World, viewer: tuple[httpx.Client, str]) -> None:
    for report in REPORTS:
        r = ask(viewer, report, {"site_ids": [world.sites["a"]], "date_range": RANGE})
        assert r.status_code == 200, (report, r.text)
        out = r.json()
        assert out["results"] and world.sites["a"] in out["meta"]["sql"] and out["meta"]["freshness"], report


def test_figures_over_http_and_the_same_in_clicklake_query(world: World, viewer: tuple[httpx.Client, str]) -> None:
    a = [world.sites["a"]]
    # three visitors, each a one-page visit of /a: one journey
    r = ask(viewer, "paths", {"site_ids": a, "date_range": RANGE, "page": "/a"})
    rows = [(x["kind"], x["page"], x["journey"], x["visits"]) for x in r.json()["results"]]
    assert rows == [("next", "(exit)", None, 3), ("previous", "(entrance)", None, 3), ("journey", None, ["/a"], 3)]
    # site a's two scans, by table, named after the site (the restaurant); site b's scan is not there
    r = ask(viewer, "menus", {"site_ids": a, "date_range": RANGE, "by": "table"})
    assert [(x["restaurant"], x["table"], x["scans"]) for x in r.json()["results"]] == [
        ("a", "table-7", 1),
        ("a", "table-9", 1),
    ]
    # a0's click in its direct visit
    r = ask(viewer, "attribution", {"site_ids": a, "date_range": RANGE})
    assert [(x["source"], x["conversions"], x["affiliate_payout"]) for x in r.json()["results"]] == [("direct", 1, 1.2)]
    ran = world.cli("query", r.json()["meta"]["sql"], "--format", "json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == r.json()["results"]


def test_a_foreign_site_is_403_and_a_bad_body_400(world: World, viewer: tuple[httpx.Client, str]) -> None:
    for report in REPORTS:
        for sites in ([world.sites["b"]], [world.sites["a"], world.sites["c"]]):
            r = ask(viewer, report, {"site_ids": sites, "date_range": RANGE})
            assert r.status_code == 403 and "may not read site" in r.json()["error"], report
        r = ask(viewer, report, {"site_ids": [world.sites["a"]], "date_range": RANGE, "by": "nope' or 1=1"})
        assert r.status_code == 400 and r.json()["error"], report
        client, csrf = viewer
        r = client.post(f"/api/{report}", content=b"{not json", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 400 and "not JSON" in r.json()["error"], report


def test_reports_need_the_csrf_token_and_a_login(world: World, viewer: tuple[httpx.Client, str]) -> None:
    client, _ = viewer
    body = {"site_ids": [world.sites["a"]], "date_range": RANGE}
    assert client.post("/api/retention", json=body).status_code == 403
    with world.client() as anonymous:
        assert anonymous.post("/api/menus", json=body).status_code == 401


def test_the_reports_are_in_the_openapi_document(world: World) -> None:
    with world.client() as client:
        doc = client.get("/api/openapi.json").json()
    assert {f"/api/{r}" for r in REPORTS} <= set(doc["paths"])
    ref = doc["paths"]["/api/attribution"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["properties"]["model"] == {"enum": ["first", "last"], "default": "last"}
    assert set(schema["required"]) == {"site_ids", "date_range"} and schema["additionalProperties"] is False


def test_a_hostile_page_finds_no_foreign_row(world: World, viewer: tuple[httpx.Client, str]) -> None:
    for page in ("/a') or site_id <> ('x", "' union all select site_id from silver.events --"):
        r = ask(viewer, "paths", {"site_ids": [world.sites["a"]], "date_range": RANGE, "page": page})
        assert r.status_code == 200, r.text
        assert [x["journey"] for x in r.json()["results"]] == [["/a"]]  # journeys only: no visit viewed it


def test_every_report_answers_csv_with_the_json_rows(world: World, viewer: tuple[httpx.Client, str]) -> None:
    client, csrf = viewer
    steps = {"steps": [{"page": "/a"}, {"page": "/b"}]}
    for report, more in [*((r, {}) for r in REPORTS), ("funnel", steps), ("experiment", {})]:
        body = {"site_ids": [world.sites["a"]], "date_range": RANGE, **more}
        as_json = client.post(f"/api/{report}", json=body, headers={"X-CSRF-Token": csrf}).json()["results"]
        r = client.post(f"/api/{report}?format=csv", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), (report, r.text)
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == len(as_json), report
        for got, want in zip(rows, as_json, strict=True):
            assert list(got) == list(want), report
            for k, v in want.items():
                if isinstance(v, dict | list):
                    assert json.loads(got[k]) == v, (report, k)
                elif isinstance(v, float):
                    assert float(got[k]) == pytest.approx(v), (report, k)
                else:
                    assert got[k] == ("" if v is None else str(v)), (report, k)


def test_reports_count_in_the_sites_time_zone(world: World, viewer: tuple[httpx.Client, str]) -> None:
    a, b = world.sites["a"], world.sites["b"]
    moved = world.cli("sites", "update", a, "--timezone", "America/New_York")
    assert moved.returncode == 0, moved.stderr
    steps = {"steps": [{"page": "/a"}, {"page": "/b"}]}
    try:
        for report, more in [*((r, {}) for r in REPORTS), ("funnel", steps), ("experiment", {})]:
            r = ask(viewer, report, {"site_ids": [a], "date_range": RANGE, **more})
            assert r.status_code == 200, (report, r.text)
            assert r.json()["meta"]["timezone"] == "America/New_York" and "timezone_note" not in r.json()["meta"]
        # site a's two scans at 19:00 UTC on the 21st are at 14:00 in New York (UTC-5)
        r = ask(viewer, "menus", {"site_ids": [a], "date_range": RANGE, "by": "hour"})
        assert [(x["hour"], x["scans"]) for x in r.json()["results"] if x["scans"]] == [(14, 2)]
        # sites a (New York) and b (UTC) together: counted in UTC, and the answer says why
        client, csrf = world.login("root@example.org")
        try:
            body = {"site_ids": [a, b], "date_range": RANGE, "by": "hour"}
            out = client.post("/api/menus", json=body, headers={"X-CSRF-Token": csrf}).json()
        finally:
            client.close()
        assert out["meta"]["timezone"] == "UTC" and "America/New_York" in out["meta"]["timezone_note"]
        assert sorted((x["site_id"], x["hour"], x["scans"]) for x in out["results"] if x["scans"]) == sorted(
            [(a, 19, 2), (b, 19, 1)]
        )
    finally:
        assert world.cli("sites", "update", a, "--timezone", "UTC").returncode == 0


def test_a_shorthand_date_range_is_resolved_in_the_sites_zone(world: World, viewer: tuple[httpx.Client, str]) -> None:
    a = world.sites["a"]
    zone = "Pacific/Kiritimati"  # UTC+14: its today is often not UTC's
    moved = world.cli("sites", "update", a, "--timezone", zone)
    assert moved.returncode == 0, moved.stderr
    steps = {"steps": [{"page": "/a"}, {"page": "/b"}]}
    try:
        for report, more in [*((r, {}) for r in REPORTS), ("funnel", steps), ("experiment", {})]:
            before = datetime.now(ZoneInfo(zone)).date()
            r = ask(viewer, report, {"site_ids": [a], "date_range": "7d", **more})
            after = datetime.now(ZoneInfo(zone)).date()
            assert r.status_code == 200, (report, r.text)
            week = [[str(today - timedelta(days=6)), str(today)] for today in (before, after)]
            assert r.json()["meta"]["date_range"] in week, report
            r = ask(viewer, report, {"site_ids": [a], "date_range": RANGE, **more})
            assert r.json()["meta"]["date_range"] == RANGE, report
            r = ask(viewer, report, {"site_ids": [a], "date_range": "6d", **more})
            assert r.status_code == 400 and "7d" in r.json()["error"], (report, r.text)
    finally:
        assert world.cli("sites", "update", a, "--timezone", "UTC").returncode == 0
