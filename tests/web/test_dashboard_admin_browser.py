"""The dashboard's Live and Settings pages in headless Chromium against `clicklake up` on loopback.

The world of web/world.py (sites a, b, c; root@example.org a server admin, viewer@example.org a
viewer of site a), served by `clicklake up`, so that the collector's `/v1/events` and the realtime
stage's `/api/live` answer on the same port. The live page's figure is compared with `/api/live`'s
own answer and must move, without a reload, when an event reaches the collector; in Settings an
admin rotates the key, makes a token and a shared link, changes a member's role and schedules an
e-mail report, and a viewer sees no key and no control. On a new site, the Overview's empty
state sends a test event through the collector and says when the live figures show it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from conftest import kill_server, start_server
from web.test_dashboard_browser import Session, axe_violations, browser, settle
from web.world import World, serve_world

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the module's one Chromium, shared with the dashboard's tests


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    for world in serve_world(tmp_path_factory, command="up"):
        yield world
        world.close_clients()


@pytest.fixture(scope="module")
def root(world: World, browser: Browser) -> Iterator[Session]:
    session = Session(world, browser, "root@example.org", bypass_csp=True, viewport={"width": 1280, "height": 900})
    yield session
    session.close()


def _events(visitors: list[str]) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "event_type": "page_view",
            "event_id": str(uuid.uuid4()),
            "ts": now,
            "user": {"consent": {"analytics": True}, "anonymous_id": v},
            "ctx": {"page_url": "https://a.example/live", "referrer": "https://news.example/x"},
        }
        for v in visitors
    ]


def _key(session: Session, site: str) -> str:
    r = session.client.get(f"/api/sites/{site}")
    assert r.status_code == 200, r.text
    key: str = r.json()["write_key"]
    return key


def _send(world: World, key: str, visitors: list[str]) -> httpx.Response:
    with world.client() as client:
        return client.post("/v1/events", json=_events(visitors), headers={"X-Write-Key": key})


def _live(session: Session, site: str) -> dict[str, Any]:
    r = session.client.get("/api/live", params={"site": site})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


#: The elements past a phone's width (a scrolling table's rows aside), to name what broke the layout.
WIDER_THAN_A_PHONE = """[...document.querySelectorAll("body *")]
  .filter((e) => !(e.parentElement && e.parentElement.closest(".table-wrap")) && e.getBoundingClientRect().right > 391)
  .slice(0, 5).map((e) => e.tagName + "." + e.className)"""


def test_the_live_page_shows_the_apis_count_and_follows_new_events(world: World, root: Session) -> None:
    site = world.sites["a"]
    assert _send(world, _key(root, site), ["lv1", "lv2"]).status_code == 200
    deadline = time.monotonic() + 10
    while _live(root, site)["current_visitors"] < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    page = root.open(f"/live?site={site}")
    expect(page.locator(".live-state")).to_have_attribute("data-connection", "open", timeout=10_000)
    want = _live(root, site)
    assert want["current_visitors"] == 2
    expect(page.locator(".kpi[data-metric=current_visitors] .value")).to_have_text(str(want["current_visitors"]))
    expect(page.locator("[data-tile=live-pages] tbody tr").first).to_contain_text("/live")
    expect(page.locator("[data-tile=live-sources] tbody tr").first).to_contain_text("news.example")
    # a new visitor reaches the collector: the figure moves with no reload of the page
    page.evaluate("window.__same_page = true")
    assert _send(world, _key(root, site), ["lv3"]).status_code == 200
    expect(page.locator(".kpi[data-metric=current_visitors] .value")).to_have_text("3", timeout=5_000)
    assert page.evaluate("window.__same_page === true")
    assert _live(root, site)["current_visitors"] == 3
    # leaving the page closes its stream (an open EventSource would keep a connection in the list)
    page.evaluate(
        """() => { const O = window.EventSource; window.__streams = [];
        window.EventSource = function (...a) { const s = new O(...a); window.__streams.push(s); return s; }; }"""
    )
    page.get_by_role("link", name="Overview").click()
    settle(page)
    page.get_by_role("link", name="Live").click()
    expect(page.locator(".live-state")).to_have_attribute("data-connection", "open", timeout=10_000)
    page.get_by_role("link", name="Events").click()
    settle(page)
    assert page.evaluate("window.__streams.length") == 1
    assert page.evaluate("window.__streams[0].readyState") == 2  # CLOSED
    # the rollup's site=all shows one site here: the first, named in the switcher
    page = root.open("/live?site=all")
    expect(page.get_by_label("Site")).to_have_value(site)
    expect(page.get_by_role("option", name="All sites (3)")).to_have_count(0)
    expect(page.locator(".kpi[data-metric=current_visitors] .value")).to_have_text("3")
    assert root.errors == []


def test_the_live_page_says_in_words_when_no_realtime_stage_runs(world: World, browser: Browser) -> None:
    # `clicklake web` alone over the same data: no realtime stage in its process, no realtime.url
    proc, base = start_server(world.root, command="web")
    alone = World(world.root, base, world.sites, world.passwords)
    viewer = Session(alone, browser, "viewer@example.org")
    try:
        page = viewer.open(f"/live?site={world.sites['a']}")
        expect(page.get_by_role("alert")).to_contain_text("the realtime stage does not run in this process")
        assert page.locator(".kpi").count() == 0
    finally:
        viewer.close()
        alone.close_clients()
        kill_server(proc)


def test_an_admin_rotates_the_key_and_makes_a_token_and_a_shared_link(world: World, root: Session) -> None:
    site = world.sites["a"]
    page = root.open(f"/settings?site={site}")
    old = _key(root, site)
    expect(page.locator("[data-write-key]")).to_have_text(old)
    expect(page.locator("[data-snippet]")).to_contain_text(f'src="{world.base}/sdk.js" data-key="{old}"')
    page.get_by_role("button", name="Rotate the key…").click()
    expect(page.get_by_role("button", name="Rotate now")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("A new key is in place")).to_be_visible()
    new = _key(root, site)
    assert new != old
    expect(page.locator("[data-write-key]")).to_have_text(new)
    deadline = time.monotonic() + 5
    while (refused := _send(world, old, ["k1"])).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert refused.status_code in (401, 403), refused.text
    assert _send(world, new, ["k2"]).status_code == 200

    # a token, its secret shown once
    before = {t["token_id"] for t in root.client.get("/api/tokens").json()["tokens"]}
    tokens = page.locator("[data-tile=tokens]")
    tokens.get_by_label("Scope").select_option("stats")
    tokens.get_by_role("button", name="Create the token").click()
    secret = tokens.locator("[data-secret] code")
    expect(secret).to_be_visible()
    made = [t for t in root.client.get("/api/tokens").json()["tokens"] if t["token_id"] not in before]
    assert len(made) == 1 and made[0]["scope"] == "stats" and made[0]["site_id"] == site
    expect(tokens.locator("tbody")).to_contain_text(made[0]["token_id"])
    with world.client() as client:
        r = client.get("/api/live", params={"site": site}, headers={"Authorization": f"Bearer {secret.inner_text()}"})
        assert r.status_code == 200, r.text

    # a shared link with a password: created, opened, revoked
    shares = page.locator("[data-tile=shares]")
    shares.get_by_label("Label").fill("press kit")
    shares.get_by_label("Password (optional, 8 characters or more)").fill("a long password")
    shares.get_by_role("button", name="Create the shared link").click()
    link = shares.locator("[data-secret] code")
    expect(link).to_contain_text(f"{world.base}/share/")
    row = shares.locator("tbody tr", has_text="press kit")
    expect(row).to_contain_text("yes")
    with world.client() as client:
        opened = client.get(link.inner_text(), headers={"Accept": "application/json"})
        assert opened.status_code == 401 and opened.json()["needs_password"] is True
        row.get_by_role("button", name="Revoke").click()
        expect(row).to_have_count(0)
        assert client.get(link.inner_text(), headers={"Accept": "application/json"}).status_code == 410
    # the secrets are not shown again
    page.reload()
    settle(page)
    expect(page.locator("[data-secret]")).to_have_count(0)
    assert root.errors == []


def test_an_admin_edits_the_site_its_members_invitations_and_alert_rules(world: World, root: Session) -> None:
    site = world.sites["b"]
    page = root.open(f"/settings?site={site}")
    form = page.get_by_role("form", name="Site settings")
    form.get_by_label("Name").fill("Shop B")
    form.get_by_label("Allowed origins (one a line; empty: no browser origin)").fill("https://b.example")
    form.get_by_label("Time zone (IANA)").fill("Europe/Berlin")
    form.get_by_label("Honour Do Not Track").uncheck()
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("status")).to_have_text("Saved.")
    saved = root.client.get(f"/api/sites/{site}").json()
    assert (saved["name"], saved["timezone"], saved["honor_dnt"]) == ("Shop B", "Europe/Berlin", False)
    assert saved["allowed_origins"] == ["https://b.example"]
    form.get_by_label("Time zone (IANA)").fill("Nowhere/Atlantis")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("Nowhere/Atlantis")  # the server's reason, in words

    members = page.locator("[data-tile=members]")
    add = members.get_by_role("form", name="Add a member")
    add.get_by_label("E-mail of a user").fill("nobody@example.org")
    add.get_by_label("Role").select_option("viewer")
    add.get_by_role("button", name="Add the member").click()
    row = members.locator("tbody tr", has_text="nobody@example.org")
    expect(row).to_contain_text("viewer")
    assert {"email": "nobody@example.org", "role": "viewer"} in root.client.get(f"/api/sites/{site}/members").json()[
        "members"
    ]
    row.get_by_role("button", name="Remove").click()
    expect(row).to_have_count(0)
    assert all(
        m["email"] != "nobody@example.org" for m in root.client.get(f"/api/sites/{site}/members").json()["members"]
    )
    invite = members.get_by_role("form", name="Invite someone")
    invite.get_by_label("E-mail to invite").fill("new@example.org")
    invite.get_by_role("button", name="Create the invitation").click()
    link = members.locator("[data-secret] code")
    expect(link).to_contain_text(f"{world.base}/invite/inv_")
    with world.client() as client:
        about = client.get(link.inner_text(), headers={"Accept": "application/json"}).json()
    assert (about["email"], about["site_id"], about["has_account"]) == ("new@example.org", site, False)

    alerts = page.locator("[data-tile=alerts]")
    alerts.get_by_label("When").select_option("no_events")
    alerts.get_by_label("Minutes (optional)").fill("45")
    alerts.get_by_label("To (a URL, or an e-mail address)").fill("http://127.0.0.1:9/hook")
    alerts.get_by_role("button", name="Create the rule").click()
    rule = alerts.locator("tbody tr", has_text="45 minutes")
    expect(rule).to_contain_text("webhook to http://127.0.0.1:9/hook")
    ours = [r for r in root.client.get("/api/alerts").json()["rules"] if r["site_id"] == site]
    assert [(r["kind"], r["minutes"]) for r in ours] == [("no_events", 45)]
    rule.get_by_role("button", name="Delete").click()
    expect(rule).to_have_count(0)
    assert not [r for r in root.client.get("/api/alerts").json()["rules"] if r["site_id"] == site]
    # the refused time zone's 400 is the one error the browser logged
    assert [e for e in root.errors if "status of 400" not in e] == [], root.errors
    root.errors.clear()


def test_an_admin_changes_a_members_role_and_schedules_an_email_report(world: World, root: Session) -> None:
    site = world.sites["c"]
    page = root.open(f"/settings?site={site}")
    members = page.locator("[data-tile=members]")
    add = members.get_by_role("form", name="Add a member")
    add.get_by_label("E-mail of a user").fill("viewer@example.org")
    add.get_by_label("Role").select_option("viewer")
    add.get_by_role("button", name="Add the member").click()
    role = members.get_by_label("Role of viewer@example.org")
    expect(role).to_have_value("viewer")
    role.select_option("admin")
    expect(role).to_be_enabled()
    listed = root.client.get(f"/api/sites/{site}/members").json()["members"]
    assert {"email": "viewer@example.org", "role": "admin"} in listed
    page.reload()
    settle(page)
    expect(members.get_by_label("Role of viewer@example.org")).to_have_value("admin")
    members.locator("tbody tr", has_text="viewer@example.org").get_by_role("button", name="Remove").click()
    expect(members.get_by_label("Role of viewer@example.org")).to_have_count(0)

    reports = page.locator("[data-tile=email-reports]")
    expect(reports.get_by_text("No e-mail report.")).to_be_visible()
    form = reports.get_by_role("form", name="Schedule an e-mail report")
    form.get_by_label("Send to (e-mail)").fill("boss@example.org")
    form.get_by_label("Period").select_option("monthly")
    form.get_by_role("button", name="Schedule the report").click()
    row = reports.locator("tbody tr", has_text="boss@example.org")
    expect(row).to_contain_text("monthly")
    expect(row).to_contain_text("not yet")
    ours = [r for r in root.client.get("/api/email-reports").json()["reports"] if r["site_id"] == site]
    assert [(r["email"], r["period"]) for r in ours] == [("boss@example.org", "monthly")]
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert not [r for r in root.client.get("/api/email-reports").json()["reports"] if r["site_id"] == site]
    assert root.errors == []


def _rows_in_words(rows: dict[str, int]) -> str:
    return ", ".join(f"{t}: {n:,}" for t, n in rows.items()) if rows else "no row"


def test_an_admin_sets_retention_reads_usage_and_exports_and_erases_a_person(world: World, root: Session) -> None:
    site = world.sites["c"]
    person, other = "priv-" + uuid.uuid4().hex, "keep-" + uuid.uuid4().hex
    events = _events(["anon-priv", "anon-priv", "anon-keep"])
    for e, who in zip(events, (person, person, other), strict=True):
        e["user"]["user_id_hash"] = who
    with world.client() as client:
        assert client.post("/v1/events", json=events, headers={"X-Write-Key": _key(root, site)}).status_code == 200
    exported: dict[str, Any] = {}
    deadline = time.monotonic() + 20
    while not sum(exported.get("rows", {}).values()) and time.monotonic() < deadline:
        r = root.client.get(f"/api/sites/{site}/users/{person}/export")
        assert r.status_code == 200, r.text
        exported = r.json()
        time.sleep(0.2)
    assert exported["rows"].get("bronze.events") == 2, exported["rows"]
    page = root.open(f"/settings?site={site}")

    # retention: the three fields, saved with PATCH
    form = page.get_by_role("form", name="Retention")
    form.get_by_label("Bronze (raw events), days").fill("400")
    form.get_by_label("Quarantine (refused events), days").fill("30")
    form.get_by_label("Silver and gold, days").fill("0")
    form.get_by_role("button", name="Save the retention").click()
    expect(form.get_by_role("status")).to_have_text("Saved.")
    kept = root.client.get(f"/api/sites/{site}/retention").json()
    assert (kept["bronze_days"], kept["quarantine_days"], kept["silver_days"]) == (400, 30, 0)
    assert sorted(kept["own"]) == ["bronze", "quarantine", "silver"]

    # storage: the API's figures, table by table and day by day
    usage = root.client.get(f"/api/sites/{site}/usage").json()
    storage = page.locator("[data-tile=storage]")
    storage.get_by_role("button", name="Measure the storage").click()
    total = f"in {usage['files']:,} files, {usage['rows']:,} rows"
    expect(storage.locator("[data-usage-total]")).to_contain_text(total)
    for table in usage["tables"]:
        expect(storage.locator("tbody tr", has_text=table["table"]).first).to_contain_text(f"{table['rows']:,}")
    for day in usage["events_per_day"]:
        expect(storage.locator("tbody tr", has_text=day["day"])).to_contain_text(f"{day['events']:,}")

    # a request with no person is refused in words
    privacy = page.locator("[data-tile=privacy]")
    privacy.get_by_role("button", name="Erase…").click()
    expect(privacy.get_by_role("alert")).to_contain_text("Name the person")
    # the export downloads what the API answers
    privacy.get_by_label("User id hash or e-mail address").fill(person)
    with page.expect_download() as download:
        privacy.get_by_role("button", name="Export").click()
    document = json.loads(Path(download.value.path()).read_text())
    assert document["user_id_hash"] == person and document["rows"] == exported["rows"]
    assert document["tables"]["bronze.events"] and "anon-keep" not in json.dumps(document)
    expect(privacy.get_by_role("status")).to_contain_text("Exported bronze.events: 2")

    # the erasure: asked, confirmed, and its receipt listed as the API lists it
    privacy.get_by_role("button", name="Erase…").click()
    expect(privacy.get_by_role("button", name="Erase now")).to_be_focused()
    page.keyboard.press("Enter")
    expect(privacy.get_by_role("status")).to_contain_text("Erased: ", timeout=90_000)
    receipt = root.client.get(f"/api/sites/{site}/erasures").json()["erasures"][0]
    assert receipt["rows"]["bronze.events"] == 2
    row = privacy.locator("tbody tr").first
    expect(row).to_contain_text(datetime.fromtimestamp(receipt["finished_ts"] / 1000, UTC).strftime("%Y-%m-%d %H:%M"))
    expect(row.locator("[data-receipt-rows]")).to_have_text(_rows_in_words(receipt["rows"]))
    expect(privacy.get_by_role("status")).to_have_text(f"Erased: {_rows_in_words(receipt['rows'])}.")
    assert person not in json.dumps(receipt)
    after = root.client.get(f"/api/sites/{site}/users/{person}/export").json()
    assert not sum(after["rows"].values()), after["rows"]
    kept_other = root.client.get(f"/api/sites/{site}/users/{other}/export").json()
    assert kept_other["rows"].get("bronze.events") == 1
    assert axe_violations(page) == []  # the three tiles filled in: receipts, retention, storage tables
    assert root.errors == []


def test_a_test_event_from_the_empty_state_arrives_through_the_collector(
    world: World, root: Session, tmp_path: Path
) -> None:
    made = root.client.post(
        "/api/sites", json={"name": "fresh", "domain": "fresh.example"}, headers={"X-CSRF-Token": root.csrf}
    )
    assert made.status_code == 201, made.text
    site = made.json()["site_id"]
    page = root.open(f"/?site={site}")
    empty = page.get_by_role("region", name="No events yet")
    expect(empty).to_be_visible()
    before = root.client.get("/api/live", params={"site": site}).json()
    assert before["events"] == 0
    empty.get_by_role("button", name="Send a test event").click()
    done = empty.locator("[data-test-event=done]")
    expect(done).to_contain_text("It arrived", timeout=20_000)
    expect(done).to_contain_text("/clicklake-test-event")
    live = root.client.get("/api/live", params={"site": site}).json()
    assert live["pageviews"] == 1 and live["top_pages"] == [{"page": "/clicklake-test-event", "pageviews": 1}]
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(100)
        page.screenshot(path=str(tmp_path / f"empty-{scheme}.png"), full_page=True)
        assert axe_violations(page) == [], scheme
    page.emulate_media(color_scheme="light")
    # a viewer may not write to a site, and the route says so
    viewer, csrf = world.login("viewer@example.org")
    refused = viewer.post(f"/api/sites/{world.sites['a']}/test-event", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403, refused.text
    assert root.errors == []


def test_a_viewer_reads_the_settings_with_no_key_and_no_controls(world: World, browser: Browser) -> None:
    viewer = Session(world, browser, "viewer@example.org")
    try:
        page = viewer.open(f"/settings?site={world.sites['a']}")
        expect(page.get_by_text("You read them as a viewer")).to_be_visible()
        expect(page.locator(".facts")).to_contain_text("a.example")
        expect(page.locator("[data-tile=members] tbody")).to_contain_text("viewer@example.org")
        assert page.locator("[data-write-key], [data-snippet]").count() == 0
        assert "wk_" not in page.content()
        for name in ("Save", "Rotate the key…", "Create the link", "Add the member", "Create the shared link",
                     "Create the rule", "Remove", "Create the invitation", "Schedule the report", "Erase…",
                     "Measure the storage", "Save the retention"):  # fmt: skip
            assert page.get_by_role("button", name=name).count() == 0, name
        assert page.locator("[data-tile=shares], [data-tile=alerts], [data-tile=email-reports]").count() == 0
        assert page.locator("[data-tile=privacy], [data-tile=retention], [data-tile=storage]").count() == 0
        assert page.locator("[data-tile=members] select").count() == 0
        assert viewer.errors == []
    finally:
        viewer.close()


def test_live_and_settings_pass_axe_in_light_and_dark_and_fit_a_phone(
    world: World, root: Session, tmp_path: Path
) -> None:
    page = root.page
    for name in ("live", "settings"):
        page.set_viewport_size({"width": 1280, "height": 900})
        root.open(f"/{name}?site={world.sites['a']}")
        if name == "settings":  # a QR code on show, and a link to show it for
            links = page.locator("[data-tile=links]")
            links.get_by_label("Target URL").fill("https://a.example/menu")
            links.get_by_label("Kind").select_option("qr")
            links.get_by_role("button", name="Create the link").click()
            expect(links.locator("tbody tr")).to_have_count(1)
            links.get_by_role("button", name="QR code").click()
            qr = links.locator("img")
            expect(qr).to_be_visible()
            # visible comes before loaded: wait for the picture itself (a broken one never gets a width)
            page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.wait_for_timeout(100)
            settle(page)
            page.screenshot(path=str(tmp_path / f"{name}-{scheme}.png"), full_page=True)
            assert axe_violations(page) == [], f"{name} in {scheme}"
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(150)
        page.screenshot(path=str(tmp_path / f"{name}-phone.png"), full_page=True)
        wide = page.evaluate(WIDER_THAN_A_PHONE)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, (name, wide)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert root.errors == []
