"""A shared link in headless Chromium: the read-only dashboard of one site, without logging in.

The world and browser are test_dashboard_browser.py's. A share of site a is opened by a
fresh browser context (no cookie, no login): the overview's figures are the Stats API's
for that site, asked with the share's own bearer session; there is no Settings, SQL,
Live or logout, no site switcher, no link to the SQL console; the dates and filters stay
in the URL under /share/<token>. A password-protected link asks for its password first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from web.test_dashboard_browser import RANGE, VIEW, axe_violations, browser, kpi, settle, tile, world  # noqa: F401
from web.world import World

pytestmark = pytest.mark.browser

BASE_KPIS = ["visitors", "visits", "pageviews"]


def make_share(world: World, site: str, **body: Any) -> dict[str, Any]:  # noqa: F811
    client, csrf = world.login("root@example.org")
    r = client.post(f"/api/sites/{world.sites[site]}/shares", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def share_stats(world: World, url: str, body: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: F811
    """The Stats API's answer to the share's own session (the JSON of its page)."""
    with httpx.Client(base_url=world.base) as guest:
        session = guest.get(url, headers={"Accept": "application/json"}).json()["session"]
        r = guest.post("/api/query", json=body, headers={"Authorization": f"Bearer {session}"})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["results"]
    return rows


@pytest.fixture
def guest(browser: Browser) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(bypass_csp=True)  # axe-core is injected as a script
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []


def test_a_shared_link_opens_the_read_only_dashboard_of_its_site(world: World, guest: Page) -> None:  # noqa: F811
    made = make_share(world, "a", label="board")
    response = guest.goto(f"{world.base}{made['url']}?{VIEW}")
    assert response is not None and response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    settle(guest)
    expect(guest.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    want = share_stats(world, made["url"], {"site_ids": [world.sites["a"]], "metrics": BASE_KPIS, "date_range": RANGE})
    assert [kpi(guest, m) for m in BASE_KPIS] == [str(want[0][m]) for m in BASE_KPIS]
    assert want[0]["visitors"] == 5  # the world's three and the module's two
    nav = guest.get_by_role("navigation", name="Pages")
    titles = nav.get_by_role("link").all_inner_texts()
    assert "Settings" not in titles and "SQL" not in titles and "Live" not in titles and "Retention" in titles
    assert guest.get_by_role("button", name="Log out").count() == 0
    assert guest.get_by_label("Site").count() == 0
    assert guest.get_by_role("link", name=re.compile("Show SQL")).count() == 0
    assert guest.locator("details.sql-text").count() > 0  # the statement itself may be read
    # a filter stays in the URL under the link's address, and the figures follow it
    tile(guest, "countries").get_by_role("button", name=re.compile("Germany")).first.click()
    settle(guest)
    assert guest.url.startswith(f"{world.base}{made['url']}?") and "f=country%7Cis%7CDE" in guest.url
    body = {"site_ids": [world.sites["a"]], "metrics": ["visitors"], "date_range": RANGE}
    de = share_stats(world, made["url"], {**body, "filters": [["is", "country", ["DE"]]]})
    assert kpi(guest, "visitors") == str(de[0]["visitors"]) == "2"
    # another page keeps the link's address, the dates and the filter
    nav.get_by_role("link", name="Retention").click()
    settle(guest)
    expect(guest.get_by_role("heading", name="Retention", level=1)).to_be_visible()
    assert guest.url.startswith(f"{world.base}{made['url']}?") and "view=retention" in guest.url
    assert "from=2026-11-20" in guest.url
    assert axe_violations(guest) == []
    guest.go_back()
    settle(guest)
    expect(guest.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    assert axe_violations(guest) == []
    # on a phone, with a statement open, nothing scrolls sideways
    guest.set_viewport_size({"width": 390, "height": 844})
    guest.locator("details.sql-text summary").first.click()
    guest.wait_for_timeout(100)
    assert guest.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_password_protected_link_asks_for_its_password_first(world: World, guest: Page) -> None:  # noqa: F811
    made = make_share(world, "a", password="open sesame")
    guest.goto(f"{world.base}{made['url']}")
    assert guest.locator("#clicklake-share").count() == 0
    guest.get_by_label("Password").fill("open sesame")
    guest.get_by_role("button", name="Open").click()
    settle(guest)
    expect(guest.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    session = json.loads(guest.locator("#clicklake-share").text_content() or "{}")
    assert session["site_id"] == world.sites["a"]


def test_an_embeddable_link_keeps_its_frame_policy(world: World) -> None:  # noqa: F811
    made = make_share(world, "a", embed=True)
    page = httpx.get(f"{world.base}{made['url']}")
    policy = page.headers["content-security-policy"].split("; ")
    assert "frame-ancestors 'self' https://a.example https://www.a.example" in policy
    assert "script-src 'self'" in policy and "x-frame-options" not in page.headers


def test_without_an_openid_provider_the_login_page_has_no_single_sign_on(world: World, guest: Page) -> None:  # noqa: F811
    guest.goto(f"{world.base}/login")
    settle(guest)
    expect(guest.get_by_role("heading", name="Log in to clicklake")).to_be_visible()
    assert httpx.get(f"{world.base}/api/login-methods").json()["oidc"] is False
    assert guest.get_by_role("link", name="Sign in with single sign-on").count() == 0
