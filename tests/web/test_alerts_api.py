"""`/api/alerts` and `/api/email-reports` of `clicklake web`: server admins manage every rule, site owners and
admins their sites' rules, viewers and stats tokens none."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from web.world import World, serve_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory)


@pytest.fixture(autouse=True)
def _close_clients(world: World) -> Iterator[None]:
    yield
    world.close_clients()


def _owner(world: World, site: str) -> str:
    email = f"owner-{site}@example.org"
    out = world.cli("users", "create", email, "--format", "json")
    assert out.returncode == 0, out.stderr
    world.passwords[email] = json.loads(out.stdout)["password"]
    assert world.cli("members", "add", "--site", site, "--user", email, "--role", "owner").returncode == 0
    return email


def test_who_manages_which_rules(world: World) -> None:
    a, b = world.sites["a"], world.sites["b"]
    owner, owner_csrf = world.login(_owner(world, b))
    rule = {"kind": "no_events", "channel": "webhook", "target": "http://127.0.0.1:9/hook", "minutes": 15}

    r = owner.post("/api/alerts", json={**rule, "site_id": b}, headers={"X-CSRF-Token": owner_csrf})
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["site_id"] == b and mine["minutes"] == 15 and "15 minutes" in mine["description"]
    assert owner.post("/api/alerts", json={**rule, "site_id": b}).status_code == 403  # no CSRF token
    r = owner.post("/api/alerts", json=rule, headers={"X-CSRF-Token": owner_csrf})
    assert r.status_code == 403 and "server admin" in r.json()["error"]
    r = owner.post("/api/alerts", json={**rule, "site_id": a}, headers={"X-CSRF-Token": owner_csrf})
    assert r.status_code == 403 and a in r.json()["error"]
    r = owner.post("/api/alerts", json={**rule, "kind": "nope", "site_id": b}, headers={"X-CSRF-Token": owner_csrf})
    assert r.status_code == 400 and "unknown alert kind 'nope'" in r.json()["error"]

    root, root_csrf = world.login("root@example.org")
    r = root.post(
        "/api/alerts", json={**rule, "kind": "disk_free", "threshold": 5}, headers={"X-CSRF-Token": root_csrf}
    )
    assert r.status_code == 201
    global_id = r.json()["rule_id"]
    listing = root.get("/api/alerts").json()
    assert {mine["rule_id"], global_id} <= {x["rule_id"] for x in listing["rules"]}
    assert "stream_lag" in {k["kind"] for k in listing["kinds"]} and listing["channels"] == [
        "webhook",
        "slack",
        "email",
    ]
    assert [x["rule_id"] for x in owner.get("/api/alerts").json()["rules"]] == [mine["rule_id"]]

    viewer, viewer_csrf = world.login("viewer@example.org")
    assert viewer.get("/api/alerts").json()["rules"] == []
    r = viewer.post("/api/alerts", json={**rule, "site_id": a}, headers={"X-CSRF-Token": viewer_csrf})
    assert r.status_code == 403
    stats_token = world.token("--user", "root@example.org", "--scope", "stats")
    r = world.client().get("/api/alerts", headers={"Authorization": f"Bearer {stats_token}"})
    assert r.status_code == 403 and "admin" in r.json()["error"]

    assert owner.delete(f"/api/alerts/{global_id}", headers={"X-CSRF-Token": owner_csrf}).status_code == 403
    assert root.delete(f"/api/alerts/{global_id}", headers={"X-CSRF-Token": root_csrf}).status_code == 200
    assert root.delete(f"/api/alerts/{global_id}", headers={"X-CSRF-Token": root_csrf}).status_code == 404
    assert owner.delete(f"/api/alerts/{mine['rule_id']}", headers={"X-CSRF-Token": owner_csrf}).status_code == 200
    assert world.cli("alerts", "list").stdout.startswith("no alert rules")


def test_email_reports_of_a_managed_site(world: World) -> None:
    c = world.sites["c"]
    owner, csrf = world.login(_owner(world, c))
    body = {"site_id": c, "period": "monthly", "email": "boss@example.org"}
    r = owner.post("/api/email-reports", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    report_id = r.json()["report_id"]
    assert [x["report_id"] for x in owner.get("/api/email-reports").json()["reports"]] == [report_id]
    r = owner.post("/api/email-reports", json={**body, "period": "daily"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "daily" in r.json()["error"]
    r = owner.post("/api/email-reports", json={**body, "site_id": world.sites["a"]}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    assert owner.delete(f"/api/email-reports/{report_id}", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert owner.get("/api/email-reports").json()["reports"] == []
