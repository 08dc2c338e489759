"""The dashboard's report pages (retention, paths, revenue, menus) in headless Chromium: each page
shows the figures of its report routes for the same question, and passes axe-core in both schemes.

The world (web/world.py) gets site a the story of the reports' golden tests (query/reports_story.py:
shoppers, affiliate clicks and QR scans over 2026-11-20..23). One page load per page, then one
click per choice the page keeps in its URL.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from clicklake.collect.metadata import Metadata
from clicklake.recommend import keys
from clicklake.schema.record import Record
from query.reports_story import ADS, L1, L2, MUG, page, scan, shopper
from transform.lakes import event
from web.test_dashboard_browser import Session, axe_violations, settle, tile
from web.test_dashboard_browser import browser as browser  # the module's Chromium fixture
from web.world import World, serve_world

pytestmark = pytest.mark.browser

RANGE = ["2026-11-20", "2026-11-23"]
VIEW = "period=custom&from=2026-11-20&to=2026-11-23"


def story(sites: dict[str, str]) -> Iterable[Record]:
    a = sites["a"]
    yield from shopper("A", site=a)
    yield page("22T09:00:00", "A", "/home", site=a)
    yield page("20T11:00:00", "B", "/home", utm=ADS, site=a)
    yield page("20T11:01:00", "B", "/pricing", utm=ADS, site=a)
    yield page("21T11:00:00", "B", "/pricing", site=a)
    yield event("affiliate_click", "2026-11-21T11:01:00Z", visitor="B", affiliate=L1, site=a)
    yield page("23T11:00:00", "B", "/home", site=a)
    yield page("21T12:00:00", "C", "/home", utm=ADS, site=a)
    yield event("product_view", "2026-11-21T12:01:00Z", visitor="C", product=MUG, utm=ADS, site=a)
    yield event("affiliate_click", "2026-11-21T12:02:00Z", visitor="C", affiliate=L2, utm=ADS, site=a)
    yield scan("20T19:00:00", "D", "q1", "table-1", site=a)
    yield scan("20T19:20:00", "D", "q1", "table-1", site=a)
    yield scan("21T20:05:00", "E", "q2", "table-2", site=a)
    # clicks on recommended products: two on one answer, one on another (the answers served: SERVED)
    for visitor, rec_id, at in (("C", "rec_1", "12:03"), ("C", "rec_1", "12:04"), ("B", "rec_2", "11:05")):
        click = {"name": "recommendation_click", "properties": {"rec_id": rec_id, "product_id": "p1"}}
        yield event("custom", f"2026-11-21T{at}:00Z", visitor=visitor, custom=click, site=a)


#: Recommendation answers served to site a per day, as the web stage counts them.
SERVED = {"2026-11-20": 10, "2026-11-21": 40, "2026-11-23": 5}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    for world in serve_world(tmp_path_factory, extra=story):
        with Metadata(f"sqlite:///{world.root / 'data' / 'metadata.sqlite3'}") as md:
            keys.create_tables(md.engine)
            keys.add_served(md.engine, {(world.sites["a"], day): n for day, n in SERVED.items()})
        yield world
        world.close_clients()


@pytest.fixture(scope="module")
def viewer(world: World, browser: Browser) -> Iterator[Session]:
    session = Session(world, browser, "viewer@example.org")
    yield session
    session.close()


def report(session: Session, name: str, **body: Any) -> list[dict[str, Any]]:
    site = [session.world.sites["a"]]
    rows: list[dict[str, Any]] = session.api(f"/api/{name}", {"site_ids": site, "date_range": RANGE, **body}).json()[
        "results"
    ]
    return rows


def cells(page: Page, name: str) -> list[list[str]]:
    """A tile's table, row by row, each cell's text."""
    rows = tile(page, name).locator("tbody tr")
    return [[c.strip() for c in rows.nth(i).locator("th, td").all_inner_texts()] for i in range(rows.count())]


def num(v: Any, money: bool = False) -> str:
    """A figure as the dashboard writes it (en locale; money with two decimals)."""
    if v is None:
        return "—"
    return f"{v:,.2f}" if money else f"{v:,}".removesuffix(".0")


def pct(v: float | None) -> str:
    """A share as the dashboard writes it (JavaScript's number text: 100, not 100.0)."""
    return "—" if v is None else f"{v:g} %"


def test_retention_shows_the_cohorts_of_the_api(viewer: Session) -> None:
    page = viewer.open(f"/retention?{VIEW}")
    want = report(viewer, "retention", interval="day", periods=7)
    # a0..a2 of the world and the story's B, D, E, C, A: each first seen in the range
    shown = {r[0]: r for r in cells(page, "retention")}
    assert set(shown) == {r["cohort"] for r in want}
    for r in want:
        assert shown[r["cohort"]][1] == str(r["cohort_size"])
        assert shown[r["cohort"]][2 + r["period"]] == pct(r["pct"])
    assert shown["2026-11-20"][:4] == ["2026-11-20", str(want[0]["cohort_size"]), "100 %", shown["2026-11-20"][3]]
    # week cohorts by the switch, kept in the URL
    tile(page, "retention").get_by_role("button", name="Week").click()
    settle(page)
    assert "interval=week" in page.url
    want = report(viewer, "retention", interval="week", periods=8)
    assert [r[:2] for r in cells(page, "retention")] == [["2026-11-16", str(want[0]["cohort_size"])]]
    assert cells(page, "retention")[0][2:] == [pct(r["pct"]) for r in want]
    assert viewer.errors == []


def test_paths_show_next_and_previous_pages_and_journeys(viewer: Session) -> None:
    page = viewer.open(f"/paths?{VIEW}")
    top = viewer.stats(
        {"site_ids": [viewer.world.sites["a"]], "metrics": ["pageviews"], "dimensions": ["page"], "date_range": RANGE}
    )
    first = top[0]["page"]
    assert page.get_by_role("combobox", name=re.compile("^Page")).input_value() == first
    page.get_by_role("combobox", name=re.compile("^Page")).select_option("/pricing")
    settle(page)
    assert "page=%2Fpricing" in page.url
    want = report(viewer, "paths", page="/pricing", steps=3, limit=10)
    for kind in ("next", "previous"):
        rows = [r for r in want if r["kind"] == kind]
        assert cells(page, kind) == [[r["page"], num(r["visits"]), num(r["visitors"]), pct(r["share"])] for r in rows]
    assert cells(page, "next")[0][0] == "(exit)"
    journeys = [r for r in want if r["kind"] == "journey"]
    assert cells(page, "journey") == [
        [" → ".join(r["journey"]), num(r["visits"]), num(r["visitors"]), pct(r["share"])] for r in journeys
    ]
    assert viewer.errors == []


def test_revenue_shows_sales_products_affiliates_and_attribution(viewer: Session) -> None:
    page = viewer.open(f"/revenue?{VIEW}")
    days = report(viewer, "ecommerce", view="revenue")
    assert [d["day"] for d in days] == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    totals = tile(page, "sales").locator("[data-totals]").inner_text()
    assert totals.startswith(f"Revenue {num(sum(d['revenue'] for d in days), money=True)} from 1 orders")
    summary = tile(page, "sales").locator(".chart-box").get_attribute("aria-label")
    assert summary and "4 days from 2026-11-20 to 2026-11-23" in summary
    products = report(viewer, "ecommerce", view="products", limit=20)
    assert cells(page, "products") == [
        [
            f"{r['name']} ({r['product_id']})" if r["name"] else r["product_id"],
            *(num(r[c]) for c in ("views", "carts", "purchases", "quantity")),
            num(r["revenue"], money=True),
            pct(r["view_to_purchase"]),
        ]
        for r in products
    ]
    assert cells(page, "products")[0][0] == "Mug (p1)"
    clicks = report(viewer, "affiliates", by="link", limit=50)
    assert cells(page, "affiliates") == [
        [r["link"], num(r["clicks"]), num(r["visitors"]), num(r["payout"], money=True), pct(r["share_of_payout"])]
        for r in clicks
    ]
    tile(page, "affiliates").get_by_role("button", name="Target").click()
    settle(page)
    targets = report(viewer, "affiliates", by="target", limit=50)
    assert (
        [r[0] for r in cells(page, "affiliates")] == [r["target"] for r in targets] == ["shop.example", "other.example"]
    )
    # attribution: last touch by source, then first touch (the choices in the URL)
    last = report(viewer, "attribution", model="last", by="source")
    assert [(r[0], r[1]) for r in cells(page, "attribution")] == [(r["source"], num(r["conversions"])) for r in last]
    tile(page, "attribution").get_by_role("button", name="First touch").click()
    settle(page)
    assert "model=first" in page.url
    first = report(viewer, "attribution", model="first", by="source")
    assert first != last
    assert [(r[0], r[1], r[3]) for r in cells(page, "attribution")] == [
        (r["source"], num(r["conversions"]), num(r["revenue"], money=True)) for r in first
    ]
    # recommendations: the click-through of GET /api/recommendations/clicks for the site and range
    clicks_api = viewer.client.get(
        "/api/recommendations/clicks", params={"site": viewer.world.sites["a"], "from": RANGE[0], "to": RANGE[1]}
    )
    assert clicks_api.status_code == 200, clicks_api.text
    want = clicks_api.json()["totals"]
    assert want == {"served": 55, "clicks": 3, "clicked_answers": 2, "click_through": round(2 / 55, 4)}
    card = tile(page, "recommendations")
    shown = card.locator("[data-click-through]").get_attribute("data-click-through")
    assert shown is not None and float(shown) == want["click_through"]
    assert card.locator(".kpi-figure .value").inner_text() == f"{100 * want['click_through']:g} %"
    assert card.locator("[data-served]").inner_text() == "55" and card.locator("[data-clicked]").inner_text() == "2"
    summary = card.locator(".chart-box").get_attribute("aria-label")
    assert summary and "4 days from 2026-11-20 to 2026-11-23" in summary
    quiet = viewer.open("/revenue?period=custom&from=2026-11-10&to=2026-11-12")
    expect(tile(quiet, "recommendations").locator("[data-rec-empty]")).to_be_visible()
    assert viewer.errors == []


def test_menus_show_scans_per_restaurant_table_and_hour(viewer: Session) -> None:
    page = viewer.open(f"/menus?{VIEW}")
    by_site = report(viewer, "menus", by="restaurant")
    assert cells(page, "restaurants") == [[r["restaurant"], num(r["scans"]), num(r["visitors"])] for r in by_site]
    assert cells(page, "restaurants") == [["a", "3", "2"]]
    tables = report(viewer, "menus", by="table")
    assert cells(page, "tables") == [[r["table"], num(r["scans"]), num(r["visitors"])] for r in tables]
    # the tile's CSV is the API's ?format=csv for the same request
    with page.expect_download() as info:
        tile(page, "tables").get_by_role("button", name="CSV of Scans per table").click()
    got = list(csv.reader(io.StringIO(Path(info.value.path()).read_text())))
    body = {"site_ids": [viewer.world.sites["a"]], "date_range": RANGE, "by": "table"}
    want_csv = list(csv.reader(io.StringIO(viewer.api("/api/menus", body, format="csv").text)))
    assert got == want_csv and len(got) == 1 + len(tables)
    hours = report(viewer, "menus", by="hour")
    want = [0] * 24
    for r in hours:
        want[r["hour"]] += r["scans"]
    shown = tile(page, "hours").locator("[data-hours]").get_attribute("data-hours")
    assert shown == re.sub(r"\s", "", str(want)) and want[19] == 2
    summary = tile(page, "hours").locator(".chart-box").get_attribute("aria-label")
    assert summary == "QR scans per hour of the day (UTC), 3 in all, the most at 19:00 (2)"
    assert viewer.errors == []


def test_report_pages_pass_axe_in_light_and_dark(world: World, browser: Browser, tmp_path: Path) -> None:
    session = Session(world, browser, "viewer@example.org", bypass_csp=True, viewport={"width": 1280, "height": 800})
    try:
        for path in ("/retention", "/paths", "/revenue", "/menus"):
            page = session.open(f"{path}?{VIEW}")
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.wait_for_timeout(100)
                settle(page)
                page.screenshot(path=str(tmp_path / f"{path.strip('/')}-{scheme}.png"), full_page=True)
                assert axe_violations(page) == [], f"{path} in {scheme}"
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(100)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a phone"
            page.set_viewport_size({"width": 1280, "height": 800})
            page.emulate_media(color_scheme="light")
        expect(page.get_by_role("heading", name="Menus & QR", level=1)).to_be_visible()
        assert session.errors == []
    finally:
        session.close()
