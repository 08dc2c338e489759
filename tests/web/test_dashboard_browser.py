"""The dashboard in headless Chromium against `clicklake web` on loopback: what a person sees and does.

The world (web/world.py) has sites a, b and c with three visitors each over 2026-11-20..22;
this module adds to site a two visitors from Germany on /pricing (one from a newsletter,
with a custom `signup` after the page) in A/B variants A and B. viewer@example.org reads
site a only, root@example.org every site. Each figure on a page is compared with the
Stats API's own answer for the same question, asked over HTTP in the same test. Every
page is checked with axe-core (from dashboard/node_modules, injected into the page) and
photographed into the test's tmp dir.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from clicklake.collect.metadata import Metadata
from clicklake.schema.record import Record
from clicklake.web import pages
from transform.lakes import event
from web.world import World, serve_world

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
AXE = Path(__file__).resolve().parents[2] / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"
RANGE = ["2026-11-20", "2026-11-22"]
VIEW = "period=custom&from=2026-11-20&to=2026-11-22"
BUDGET_GZIP = 250 * 1024


def story(sites: dict[str, str]) -> Iterable[Record]:
    a = sites["a"]
    yield event("page_view", "2026-11-21T11:00:00Z", site=a, visitor="p1", page="https://x/pricing", country="DE",
                utm={"source": "newsletter"}, variant="A")  # fmt: skip
    yield event("custom", "2026-11-21T11:01:00Z", site=a, visitor="p1", page="https://x/pricing", country="DE",
                utm={"source": "newsletter"}, variant="A", custom={"name": "signup"})  # fmt: skip
    yield event("page_view", "2026-11-22T12:00:00Z", site=a, visitor="p2", page="https://x/pricing", country="DE",
                variant="B")  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    for world in serve_world(tmp_path_factory, extra=story):
        yield world
        world.close_clients()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, one for the module; a launch failure fails the tests (`make chromium`)."""
    with sync_playwright() as p:
        chromium = _launch(p)
        yield chromium
        chromium.close()


def _launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Session:
    """A logged-in browser context and an HTTP client of the same user, to ask the API directly."""

    def __init__(self, world: World, browser: Browser, email: str, **context: Any) -> None:
        self.world = world
        self.context: BrowserContext = browser.new_context(accept_downloads=True, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{world.base}/login")
        self.page.get_by_label("E-mail").fill(email)
        self.page.get_by_label("Password").fill(world.passwords[email])
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        self.client, self.csrf = world.login(email)

    def api(self, path: str, body: dict[str, Any], **params: str) -> httpx.Response:
        r = self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf}, params=params)
        assert r.status_code == 200, r.text
        return r

    def stats(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.api("/api/query", body).json()["results"]
        return rows

    def open(self, path: str) -> Page:
        self.page.goto(self.world.base + path)
        settle(self.page)
        return self.page

    def close(self) -> None:
        self.context.close()
        self.client.close()


def settle(page: Page) -> None:
    """Wait until the page has asked for its figures and every answer is in (`<html data-loading>` is gone)."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # a click's new request starts within a frame or two
    expect(page.locator("html[data-loading]")).to_have_count(0, timeout=15_000)
    expect(page.locator(".status[role=status] .spinner")).to_have_count(0)
    expect(page.locator(".chart-box:not([data-drawn])")).to_have_count(0)


@pytest.fixture(scope="module")
def viewer(world: World, browser: Browser) -> Iterator[Session]:
    session = Session(world, browser, "viewer@example.org")
    yield session
    session.close()


def kpi(page: Page, metric: str) -> str:
    return page.locator(f".kpi[data-metric={metric}] .value").inner_text()


def tile(page: Page, name: str) -> Any:
    return page.locator(f"[data-tile={name}]")


# -- served as it should be --------------------------------------------------------------


def test_the_shell_and_assets_are_served_with_security_and_cache_headers(world: World) -> None:
    with world.client() as client:
        for path in pages.PAGE_PATHS:
            r = client.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
            csp = r.headers["content-security-policy"]
            assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
            assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
            assert "<script>" not in r.text and r.headers["cache-control"] == "no-cache"
        scripts = re.findall(r'src="(/assets/[^"]+\.js)"', r.text)
        assert len(scripts) == 1
        js = client.get(scripts[0])
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert "immutable" in js.headers["cache-control"]
        # every script, the chart library's chunk included, gzipped, within the budget; the
        # world map's own chunk is loaded only once the Overview's countries are in (bench/dashboard_size.py)
        built = json.loads((pages.ASSETS / "manifest.json").read_text())
        chunks = {name: client.get(f"/assets/{name}") for name in built["chunks"]}
        assert all(c.status_code == 200 and "immutable" in c.headers["cache-control"] for c in chunks.values())
        first = [js, *(c for name, c in chunks.items() if name != built["map"])]
        assert sum(len(gzip.compress(s.content, 9)) for s in first) <= BUDGET_GZIP
        assert client.get("/assets/manifest.json").status_code == 404
        assert client.get("/assets/..%2Fpages.py").status_code == 404
        # POST /login is still the JSON API beside the page
        bad = client.post("/login", json={"email": "viewer@example.org", "password": "wrong"})
        assert bad.status_code == 401 and bad.json()["error"] == "wrong e-mail or password"


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page_and_back(world: World, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{world.base}/funnels?{VIEW}")
    expect(page.get_by_role("heading", name="Log in to clicklake")).to_be_visible()
    page.get_by_label("E-mail").fill("viewer@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("wrong e-mail or password")
    page.get_by_label("Password").fill(world.passwords["viewer@example.org"])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Funnels", level=1)).to_be_visible()
    assert urlparse(page.url).path == "/funnels" and "from=2026-11-20" in page.url
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to clicklake")).to_be_visible()
    page.goto(f"{world.base}/")
    expect(page.get_by_role("heading", name="Log in to clicklake")).to_be_visible()
    context.close()


# -- the figures are the API's -----------------------------------------------------------

KPIS = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]


def test_the_overview_shows_the_stats_apis_figures(world: World, viewer: Session) -> None:
    page = viewer.open(f"/?{VIEW}")
    body = {"site_ids": [world.sites["a"]], "metrics": KPIS, "date_range": RANGE}
    want = viewer.stats(body)[0]
    assert want["visitors"] == 5 and want["pageviews"] == 5
    for m in ("visitors", "visits", "pageviews"):
        assert kpi(page, m) == str(want[m]), m
    # the pages table, row by row
    pages_rows = viewer.stats({**body, "metrics": ["pageviews"], "dimensions": ["page"]})
    shown = tile(page, "pages").locator("tbody tr").all_inner_texts()
    assert [re.split(r"\s+", t.strip()) for t in shown] == [[r["page"], str(r["pageviews"])] for r in pages_rows]
    countries = tile(page, "countries").locator("tbody tr").all_inner_texts()
    assert [re.split(r"\s+", t.strip()) for t in countries] == [["(none)", "3"], ["Germany", "(DE)", "2"]]
    # the time series has a point for each day, and the chart says so to a screen reader
    summary = tile(page, "series").locator(".chart-box").get_attribute("aria-label")
    assert summary == "Visitors per day, 3 points from 2026-11-20 to 2026-11-22"
    # a tile's other tab: entry pages, by visits
    tile(page, "pages").get_by_role("button", name="Entry pages").click()
    settle(page)
    assert "pages=entry_page" in page.url
    entries = viewer.stats({**body, "metrics": ["visits"], "dimensions": ["entry_page"]})
    shown = tile(page, "pages").locator("tbody tr").all_inner_texts()
    assert [re.split(r"\s+", t.strip()) for t in shown] == [[r["entry_page"], str(r["visits"])] for r in entries]
    # the site switcher offers the viewer's one site only
    options = page.get_by_label("Site").locator("option").all_inner_texts()
    assert options == ["a"]
    assert viewer.errors == []


def test_a_row_click_filters_everything_and_the_url_keeps_it(world: World, viewer: Session) -> None:
    page = viewer.open(f"/?{VIEW}")
    # by keyboard: the country's name is a button, Enter filters by its code
    tile(page, "countries").get_by_role("button", name="Germany (DE)").focus()
    page.keyboard.press("Enter")
    settle(page)
    assert parse_qs(urlparse(page.url).query)["f"] == ["country|is|DE"]
    body = {"site_ids": [world.sites["a"]], "metrics": KPIS, "date_range": RANGE}
    want = viewer.stats({**body, "filters": [["is", "country", ["DE"]]]})[0]
    assert want["visitors"] == 2
    assert kpi(page, "visitors") == "2" and kpi(page, "pageviews") == str(want["pageviews"])
    sources = tile(page, "sources").locator("tbody tr").all_inner_texts()
    assert sorted(re.split(r"\s+", t.strip())[0] for t in sources) == ["direct", "newsletter"]
    # a page filter has no visit side: the visit figures say so instead of showing a wrong number
    page.goto(f"{world.base}/?{VIEW}")
    settle(page)
    tile(page, "pages").get_by_role("button", name="/pricing").click()
    settle(page)
    want = viewer.stats({**body, "metrics": ["pageviews"], "filters": [["is", "page", ["/pricing"]]]})[0]
    assert kpi(page, "pageviews") == str(want["pageviews"]) == "2"
    assert kpi(page, "visitors") == "—"
    # removing the filter brings the whole figures back; the back button restores it
    page.locator(".filters").get_by_role("button", name="remove this filter").click()
    settle(page)
    assert kpi(page, "pageviews") == "5" and "f=" not in page.url
    page.go_back()
    settle(page)
    assert kpi(page, "pageviews") == "2"
    assert viewer.errors == [], viewer.errors


#: The map's countries with a figure (ECharts adds a bare item for every other region), and where on
#: the page the point `lonlat` is drawn: asked of the map's ECharts instance through its chunk's module.
MAP_STATE = """async ([chunk, lonlat]) => {
  const box = document.querySelector('[data-tile=countries] .chart-box');
  const chart = (await import('/assets/' + chunk)).instanceOf(box);
  const drawn = chart.getOption().series[0].data.filter((d) => 'value' in d).map((d) => [d.name, d.value]);
  const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, lonlat);
  const r = box.getBoundingClientRect();
  return { drawn: Object.fromEntries(drawn), at: [r.left + x, r.top + y] };
}"""
GERMANY = [10.4, 51.2]


def test_the_world_map_draws_the_apis_countries_and_a_click_on_one_filters(world: World, viewer: Session) -> None:
    page = viewer.open(f"/?{VIEW}")
    body = {"site_ids": [world.sites["a"]], "metrics": ["visitors"], "dimensions": ["country"], "date_range": RANGE}
    want = {r["country"]: r["visitors"] for r in viewer.stats(body) if r["country"]}
    assert want == {"DE": 2}
    box = tile(page, "countries").locator(".chart-box")
    expect(box).to_have_attribute("data-drawn", "true")
    assert box.get_attribute("aria-label") == (
        "Visitors by country on a world map, 1 country; the most: DE 2. The list beside it has every figure."
    )
    box.scroll_into_view_if_needed()
    chunk = json.loads((pages.ASSETS / "manifest.json").read_text())["map"]
    state = page.evaluate(MAP_STATE, [chunk, GERMANY])
    assert state["drawn"] == want
    page.mouse.click(*state["at"])  # where the map draws Germany
    settle(page)
    assert parse_qs(urlparse(page.url).query)["f"] == ["country|is|DE"]
    assert kpi(page, "visitors") == "2"
    assert page.evaluate(MAP_STATE, [chunk, GERMANY])["drawn"] == {"DE": 2}
    assert viewer.errors == [], viewer.errors


def test_a_date_range_change_changes_the_figures_and_the_comparison(world: World, viewer: Session) -> None:
    page = viewer.open(f"/?{VIEW}")
    page.get_by_label("From", exact=True).fill("2026-11-22")
    page.get_by_label("From", exact=True).dispatch_event("change")
    settle(page)
    assert "from=2026-11-22" in page.url
    body = {"site_ids": [world.sites["a"]], "metrics": ["visitors", "pageviews"], "compare": "previous_period"}
    answer = viewer.api("/api/query", {**body, "date_range": ["2026-11-22", "2026-11-22"]}).json()
    now, before = answer["results"][0], answer["comparison"]["results"][0]
    assert (now["visitors"], before["visitors"]) == (2, 2)
    assert kpi(page, "visitors") == "2"
    assert page.locator(".kpi[data-metric=visitors] .delta").inner_text().startswith("0 %")
    assert page.locator(".previous").inner_text() == ", against 2026-11-21 to 2026-11-21"
    # without the comparison, no change is shown
    page.get_by_label("Compare with").select_option("off")
    settle(page)
    assert "compare=off" in page.url and page.locator(".kpi .delta").count() == 0
    assert kpi(page, "visitors") == "2"
    # the same days a year before: the API's previous_year, kept in the URL (the story has no visit then)
    page.get_by_label("Compare with").select_option("previous_year")
    settle(page)
    assert "compare=year" in page.url
    year = viewer.api("/api/query", {**body, "compare": "previous_year", "date_range": ["2026-11-22", "2026-11-22"]})
    assert year.json()["comparison"]["results"][0]["visitors"] == 0
    assert page.locator(".previous").inner_text() == ", against 2025-11-22 to 2025-11-22"
    assert page.locator(".kpi[data-metric=visitors] .delta").inner_text().startswith("new")
    page.reload()
    settle(page)
    assert page.get_by_label("Compare with").input_value() == "previous_year"
    page.get_by_label("Compare with").select_option("previous_period")
    settle(page)
    assert "compare=" not in page.url
    # days without a visit are on the time axis too
    page.get_by_label("From", exact=True).fill("2026-11-15")
    page.get_by_label("From", exact=True).dispatch_event("change")
    settle(page)
    summary = tile(page, "series").locator(".chart-box").get_attribute("aria-label")
    assert summary == "Visitors per day, 8 points from 2026-11-15 to 2026-11-22"
    # a preset range is computed in the browser: the last 7 days end today
    page.get_by_label("Dates").select_option("7d")
    settle(page)
    shown = page.locator(".range").inner_text()
    today = page.evaluate("new Date().toISOString().slice(0, 10)")
    assert shown.endswith(today)


def test_csv_downloads_are_the_rows_of_the_table(world: World, viewer: Session) -> None:
    page = viewer.open(f"/?{VIEW}")
    with page.expect_download() as info:
        tile(page, "pages").get_by_role("button", name="CSV of Pages").click()
    got = Path(info.value.path()).read_text()
    body = {"site_ids": [world.sites["a"]], "metrics": ["pageviews"], "dimensions": ["page"], "date_range": RANGE}
    want = viewer.api("/api/query", {**body, "limit": 10}, format="csv").text
    assert list(csv.reader(io.StringIO(got))) == list(csv.reader(io.StringIO(want)))
    assert info.value.suggested_filename == "page.csv"


def test_show_sql_opens_the_console_with_a_query_that_gives_the_same_figure(world: World, viewer: Session) -> None:
    page = viewer.open(f"/?{VIEW}")
    shown = kpi(page, "visitors")
    page.get_by_role("link", name="Show SQL of the key figures").click()
    settle(page)
    expect(page.get_by_role("heading", name="SQL", level=1)).to_be_visible()
    sql = page.get_by_label(re.compile("^SQL")).input_value()
    assert sql.startswith("with ") and "visitors" in sql and world.sites["a"] in sql
    header = page.locator("table.result thead th").all_inner_texts()
    cells = page.locator("table.result tbody tr").first.locator("td").all_inner_texts()
    assert dict(zip(header, cells, strict=True))["visitors"] == shown == "5"
    # the console runs what is typed, sees the viewer's site only, and draws a label-and-number result
    page.get_by_label(re.compile("^SQL")).fill(
        "select page_path, count(*) as n from silver.events where event_type = 'page_view' group by 1 order by 1"
    )
    page.keyboard.press("Control+Enter")
    settle(page)
    rows = [re.split(r"\s+", t.strip()) for t in page.locator("table.result tbody tr").all_inner_texts()]
    assert rows == [["/a", "3"], ["/pricing", "2"]]
    assert page.locator("[data-tile=result] .chart-box").get_attribute("aria-label") == "n by page_path, 2 rows"
    # and says in words what is wrong
    page.get_by_label(re.compile("^SQL")).fill("select * from read_parquet('/etc/passwd')")
    page.get_by_role("button", name="Run the query").click()
    expect(page.get_by_role("alert")).to_contain_text("Could not load this")


def test_a_viewer_of_one_site_cannot_see_another(world: World, viewer: Session) -> None:
    page = viewer.open(f"/?site={world.sites['b']}&{VIEW}")
    expect(page.get_by_role("alert").first).to_contain_text(f"you may not read site '{world.sites['b']}'")
    assert page.locator(".kpi .value").count() == 0


def test_an_admin_sees_every_site_and_the_all_sites_rollup(world: World, browser: Browser) -> None:
    root = Session(world, browser, "root@example.org")
    try:
        page = root.open(f"/?{VIEW}")
        assert page.get_by_label("Site").locator("option").all_inner_texts() == ["a", "b", "c", "All sites (3)"]
        page.get_by_label("Site").select_option("all")
        settle(page)
        everyone = sorted(world.sites.values())
        want = root.stats({"site_ids": everyone, "metrics": ["visitors"], "date_range": RANGE})[0]
        assert kpi(page, "visitors") == str(want["visitors"]) == "11"
        # a new site without events: the tag to paste instead of zeros
        with Metadata(f"sqlite:///{world.root / 'data' / 'metadata.sqlite3'}") as md:
            new = md.create_site("d", "d.example").site_id
        page = root.open(f"/?site={new}&{VIEW}")
        expect(page.get_by_role("heading", name="No events yet")).to_be_visible()
        assert f'<script defer src="{world.base}/sdk.js" data-key=' in page.locator(".snippet").inner_text()
        assert "into the <head> of every page" in page.locator(".empty").inner_text()  # not an escaped &lt;head&gt;
    finally:
        root.close()


def test_funnels_experiments_and_events_show_the_apis_figures(world: World, viewer: Session) -> None:
    site = [world.sites["a"]]
    page = viewer.open(f"/funnels?{VIEW}")
    builder = tile(page, "builder")
    builder.get_by_label("Step 1 value").fill("/pricing")
    builder.get_by_label("Step 2 kind").select_option("custom")
    builder.get_by_label("Step 2 value").fill("signup")
    builder.get_by_role("button", name="Show this funnel").click()
    settle(page)
    want = viewer.api(
        "/api/funnel", {"site_ids": site, "date_range": RANGE, "steps": [{"page": "/pricing"}, {"custom": "signup"}]}
    ).json()["results"]
    assert [r["visitors"] for r in want] == [2, 1]
    rows = tile(page, "funnel").locator("tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(2)] == ["2", "1"]
    assert rows.nth(1).locator("td").last.inner_text() == "50 %"  # the drop-off

    page = viewer.open(f"/experiments?{VIEW}")
    want = viewer.api("/api/experiment", {"site_ids": site, "date_range": RANGE}).json()["results"]
    assert [r["variant"] for r in want] == ["A", "B"]
    table = tile(page, "experiment").locator("tbody tr").all_inner_texts()
    assert [t.split()[0] for t in table] == ["A", "B"]
    assert page.locator("[data-verdict]").inner_text().startswith("No clear winner yet")

    page = viewer.open(f"/events?{VIEW}")
    body = {"site_ids": site, "metrics": ["events"], "dimensions": ["event_name"], "date_range": RANGE}
    want = viewer.stats({**body, "filters": [["is", "event_type", ["custom"]]]})
    assert [(r["event_name"], r["events"]) for r in want] == [("signup", 1)]
    assert re.split(r"\s+", tile(page, "custom-events").locator("tbody tr").inner_text().strip()) == ["signup", "1"]


def test_a_funnel_split_by_variant_in_any_order_shows_the_apis_figures(
    world: World, viewer: Session, tmp_path: Path
) -> None:
    site = [world.sites["a"]]
    page = viewer.open(f"/funnels?{VIEW}&steps=page%3A%2Fpricing%0Acustom%3Asignup")
    page.get_by_label("Split by").select_option(label="A/B variant")
    settle(page)
    page.get_by_label("Order").select_option("any")
    settle(page)
    query = parse_qs(urlparse(page.url).query)
    assert query["split"] == ["variant"] and query["order"] == ["any"]
    body = {"site_ids": site, "date_range": RANGE, "steps": [{"page": "/pricing"}, {"custom": "signup"}]}
    want = viewer.api("/api/funnel", {**body, "order": "any", "breakdown": "variant"}).json()["results"]
    # p1 (variant A) signs up after /pricing, p2 (B) does not
    assert [(r["group"], r["step"], r["visitors"]) for r in want] == [
        ("A", 1, 1),
        ("A", 2, 1),
        ("B", 1, 1),
        ("B", 2, 0),
    ]
    rows = tile(page, "funnel").locator("tbody tr")
    seen = [
        (rows.nth(i).get_attribute("data-group"), rows.nth(i).locator("td.num").first.inner_text())
        for i in range(rows.count())
    ]
    assert seen == [(r["group"], str(r["visitors"])) for r in want]
    assert rows.nth(3).locator("td.num").nth(1).inner_text() == "0 %"  # B's share of step 1 at the signup
    page.screenshot(path=str(tmp_path / "funnels-split.png"), full_page=True)
    # the choices are kept in the URL: a reload shows the same split
    page = viewer.open(urlparse(page.url).path + "?" + urlparse(page.url).query)
    expect(page.get_by_label("Split by")).to_have_value("variant")
    expect(tile(page, "funnel").locator("tbody tr[data-group=B]")).to_have_count(2)


# -- usable by everyone ------------------------------------------------------------------

PAGES = [
    "/login",
    "/",
    "/funnels",
    "/funnels?funnel=shop&split=variant",
    "/experiments",
    "/events",
    "/sql?sql=select+1+as+one",
]


def axe_violations(page: Page) -> list[tuple[str, str, list[Any]]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_page_passes_axe_in_light_and_dark_and_fits_a_phone(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    # axe-core is injected as a script, which the page's own CSP would (rightly) refuse
    session = Session(world, browser, "viewer@example.org", bypass_csp=True, viewport={"width": 1280, "height": 800})
    try:
        for path in PAGES:
            page = session.open(path + ("&" if "?" in path else "?") + VIEW if path != "/login" else path)
            if path == "/login":
                expect(page.get_by_role("heading", name="Log in to clicklake")).to_be_visible()
            name = re.sub(r"[^a-z0-9]+", "-", path.strip("/").split("&")[0]) or "overview"
            for scheme in ("light", "dark"):  # the system's scheme changes under the open page
                page.emulate_media(color_scheme=scheme)
                page.wait_for_timeout(100)
                settle(page)
                page.screenshot(path=str(tmp_path / f"{name}-{scheme}.png"), full_page=True)
                assert axe_violations(page) == [], f"{path} in {scheme}"
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(100)
            page.screenshot(path=str(tmp_path / f"{name}-phone.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a phone"
            page.set_viewport_size({"width": 1280, "height": 800})
            page.emulate_media(color_scheme="light")
        assert session.errors == []
    finally:
        session.close()
