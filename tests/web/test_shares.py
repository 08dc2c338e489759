"""Shared links and invitations over a real `clicklake web` on loopback: read-only, isolated, revocable, one-time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.world import World, serve_world

RANGE = ["2026-11-01", "2026-11-30"]
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory)


@pytest.fixture(autouse=True)
def _close_clients(world: World) -> Iterator[None]:
    yield
    world.close_clients()


@pytest.fixture(scope="module")
def root(world: World) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    client, csrf = world.login("root@example.org")
    world.clients.remove(client)  # kept for the module
    yield client, {"X-CSRF-Token": csrf}
    client.close()


def share(world: World, root: tuple[httpx.Client, dict[str, str]], site: str, **body: Any) -> dict[str, Any]:
    client, csrf = root
    r = client.post(f"/api/sites/{world.sites[site]}/shares", json=body, headers=csrf)
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    assert made["url"] == f"/share/{made['token']}"
    return made


def pageviews(client: httpx.Client, site_id: str, **headers: str) -> httpx.Response:
    body = {"site_ids": [site_id], "metrics": ["pageviews"], "date_range": RANGE}
    return client.post("/api/query", json=body, headers=headers)


def test_a_shared_link_reads_its_site_and_nothing_else(world: World, root: tuple[httpx.Client, dict[str, str]]) -> None:
    made = share(world, root, "a", label="for the board")
    guest = world.client()
    opened = guest.get(made["url"], headers=JSON)
    assert opened.status_code == 200, opened.text
    session = opened.json()
    assert session["site_id"] == world.sites["a"] and session["session"].startswith("shs_")
    assert "SameSite=lax" in opened.headers["set-cookie"] and "HttpOnly" in opened.headers["set-cookie"]
    assert opened.headers["x-frame-options"] == "DENY"  # not made to embed
    csrf = session["csrf_token"]
    r = pageviews(guest, world.sites["a"], **{"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["results"] == [{"pageviews": 3}]
    assert pageviews(guest, world.sites["a"]).status_code == 403  # its cookie needs the CSRF token too
    me = guest.get("/api/me").json()
    assert me["via"] == "share" and [s["site_id"] for s in me["sites"]] == [world.sites["a"]]
    # the same through the bearer session, as a page in an iframe would send it
    bearer = {"Authorization": f"Bearer {session['session']}"}
    assert pageviews(world.client(), world.sites["a"], **bearer).json()["results"] == [{"pageviews": 3}]
    # another site, the SQL console, management and state changes are refused
    for client, headers in ((guest, {"X-CSRF-Token": csrf}), (world.client(), bearer)):
        assert pageviews(client, world.sites["b"], **headers).status_code == 403
        both = {"site_ids": [world.sites["a"], world.sites["b"]], "metrics": ["pageviews"], "date_range": RANGE}
        assert client.post("/api/query", json=both, headers=headers).status_code == 403
        for report in ("/api/funnel", "/api/experiment"):
            own = {
                "site_ids": [world.sites["a"]],
                "date_range": RANGE,
                **({"funnel": "shop"} if "funnel" in report else {}),
            }
            assert client.post(report, json=own, headers=headers).status_code == 200, report
            other = {**own, "site_ids": [world.sites["b"]]}
            assert client.post(report, json=other, headers=headers).status_code == 403, report
        assert (
            client.post("/api/sql", json={"sql": "select site_id from silver.events"}, headers=headers).status_code
            == 403
        )
        assert client.get(f"/api/sites/{world.sites['a']}", headers=headers).status_code == 403
        assert client.get("/api/sites", headers=headers).status_code == 403
        assert client.post("/api/tokens", json={"scope": "admin"}, headers=headers).status_code == 403
        assert client.post(f"/api/sites/{world.sites['a']}/shares", json={}, headers=headers).status_code == 403
        assert client.get("/api/users", headers=headers).status_code == 403
        assert client.post("/logout", headers=headers).status_code == 403
    listed = root[0].get(f"/api/sites/{world.sites['a']}/shares").json()["shares"]
    assert made["share_id"] in {s["share_id"] for s in listed} and made["token"] not in json.dumps(listed)


def test_a_revoked_or_forged_link_is_refused(world: World, root: tuple[httpx.Client, dict[str, str]]) -> None:
    made = share(world, root, "b")
    guest = world.client()
    session = guest.get(made["url"], headers=JSON).json()
    assert pageviews(guest, world.sites["b"], **{"X-CSRF-Token": session["csrf_token"]}).status_code == 200
    client, csrf = root
    assert client.delete(f"/api/sites/{world.sites['b']}/shares/{made['share_id']}", headers=csrf).status_code == 200
    assert guest.get(made["url"], headers=JSON).status_code == 410
    assert guest.get(made["url"]).status_code == 410  # the page too
    assert pageviews(guest, world.sites["b"], **{"X-CSRF-Token": session["csrf_token"]}).status_code == 401
    bearer = {"Authorization": f"Bearer {session['session']}"}
    assert pageviews(world.client(), world.sites["b"], **bearer).status_code == 401
    assert world.client().get("/share/shr_" + "A" * 32, headers=JSON).status_code == 401
    forged = world.client()
    forged.cookies.set("clicklake_share", "shs_" + "A" * 43)
    assert forged.get("/api/me").status_code == 401
    bad = {"Authorization": "Bearer shs_forged"}
    assert pageviews(world.client(), world.sites["b"], **bad).status_code == 401


def test_a_password_protected_link_asks_for_its_password(
    world: World, root: tuple[httpx.Client, dict[str, str]]
) -> None:
    made = share(world, root, "c", password="open sesame")
    assert made["has_password"] is True
    guest = world.client()
    asked = guest.get(made["url"], headers=JSON)
    assert asked.status_code == 401 and asked.json()["needs_password"] is True and "set-cookie" not in asked.headers
    page = guest.get(made["url"])
    assert page.status_code == 200 and "type=password name=password" in page.text
    assert guest.post(made["url"], json={"password": "wrong"}, headers=JSON).status_code == 401
    assert (
        guest.post(
            made["url"], json={"password": "open sesame"}, headers={**JSON, "Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    ok = guest.post(made["url"], data={"password": "open sesame"})  # the HTML form: 303 back to the page
    assert ok.status_code == 303 and ok.headers["location"] == made["url"]
    page = guest.get(made["url"])
    found = re.search(r'<script type="application/json" id="clicklake-share">(.*?)</script>', page.text)
    assert found is not None
    csrf = json.loads(found.group(1))["csrf_token"]
    assert pageviews(guest, world.sites["c"], **{"X-CSRF-Token": csrf}).json()["results"] == [{"pageviews": 3}]
    codes = [guest.post(made["url"], json={"password": f"guess{i}"}, headers=JSON).status_code for i in range(6)]
    assert codes[-1] == 429


def test_only_an_embeddable_link_may_be_framed_and_only_by_the_sites_origins(
    world: World, root: tuple[httpx.Client, dict[str, str]]
) -> None:
    made = share(world, root, "a", embed=True)
    page = world.client().get(made["url"])
    assert page.status_code == 200 and "x-frame-options" not in page.headers
    policy = page.headers["content-security-policy"]
    # the page is the read-only dashboard: its own policy, framed by the site's origins alone
    assert "frame-ancestors 'self' https://a.example https://www.a.example" in policy.split("; ")
    assert "SameSite=lax" in page.headers["set-cookie"]  # plain http: a cross-site cookie is of no use
    # over HTTPS (a trusted proxy says so) the cookie must cross sites to reach the iframe
    secure = world.client().get(made["url"], headers={"X-Forwarded-Proto": "https"})
    cookie = secure.headers["set-cookie"]
    assert "SameSite=none" in cookie and "Secure" in cookie
    plain = share(world, root, "a")
    assert world.client().get(plain["url"], headers={"X-Forwarded-Proto": "https"}).headers["x-frame-options"] == "DENY"
    # the dashboard's own pages are never framed
    assert world.client().get("/api/me").headers["content-security-policy"] == "frame-ancestors 'none'"


# -- invitations --------------------------------------------------------------


def invite(world: World, root: tuple[httpx.Client, dict[str, str]], site: str, email: str, role: str) -> dict[str, Any]:
    client, csrf = root
    r = client.post(f"/api/sites/{world.sites[site]}/invitations", json={"email": email, "role": role}, headers=csrf)
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def test_an_invitation_makes_a_new_user_once(world: World, root: tuple[httpx.Client, dict[str, str]]) -> None:
    made = invite(world, root, "b", "newcomer@example.org", "viewer")
    guest = world.client()
    about = guest.get(made["url"], headers=JSON).json()
    assert about == {**about, "email": "newcomer@example.org", "role": "viewer", "has_account": False}
    assert guest.post(made["url"], json={"password": "short"}, headers=JSON).status_code == 400
    r = guest.post(made["url"], json={"password": "a long enough secret"}, headers=JSON)
    assert r.status_code == 200, r.text
    me = guest.get("/api/me").json()
    assert me["email"] == "newcomer@example.org" and [(s["site_id"], s["role"]) for s in me["sites"]] == [
        (world.sites["b"], "viewer")
    ]
    assert world.client().post(made["url"], json={"password": "another long secret"}, headers=JSON).status_code == 410
    login = world.client().post("/login", json={"email": "newcomer@example.org", "password": "a long enough secret"})
    assert login.status_code == 200


def test_an_existing_user_accepts_logged_in_as_themselves(
    world: World, root: tuple[httpx.Client, dict[str, str]]
) -> None:
    made = invite(world, root, "c", "viewer@example.org", "admin")
    stranger, stranger_csrf = world.login("nobody@example.org")
    assert stranger.post(made["url"], json={}, headers={**JSON, "X-CSRF-Token": stranger_csrf}).status_code == 403
    viewer, csrf = world.login("viewer@example.org")
    assert viewer.post(made["url"], json={}, headers=JSON).status_code == 403  # no CSRF token
    assert viewer.post(made["url"], json={}, headers={**JSON, "X-CSRF-Token": csrf}).status_code == 200
    roles = {s["site_id"]: s["role"] for s in viewer.get("/api/me").json()["sites"]}
    assert roles == {world.sites["a"]: "viewer", world.sites["c"]: "admin"}


def test_a_revoked_or_forged_invitation_is_refused(world: World, root: tuple[httpx.Client, dict[str, str]]) -> None:
    made = invite(world, root, "a", "late@example.org", "viewer")
    client, csrf = root
    listed = client.get(f"/api/sites/{world.sites['a']}/invitations").json()["invitations"]
    assert made["invitation_id"] in {i["invitation_id"] for i in listed} and made["token"] not in json.dumps(listed)
    path = f"/api/sites/{world.sites['a']}/invitations/{made['invitation_id']}"
    assert client.delete(path, headers=csrf).status_code == 200
    assert world.client().get(made["url"], headers=JSON).status_code == 410
    assert world.client().post(made["url"], json={"password": "a long enough secret"}, headers=JSON).status_code == 410
    assert world.client().get("/invite/inv_" + "A" * 32, headers=JSON).status_code == 401
    # a viewer invites no one
    admin, admin_csrf = world.login("viewer@example.org")
    r = admin.post(
        f"/api/sites/{world.sites['a']}/invitations",
        json={"email": "x@example.org", "role": "viewer"},
        headers={"X-CSRF-Token": admin_csrf},
    )
    assert r.status_code == 403


def test_the_cli_invites_and_shares(world: World) -> None:
    out = world.cli("members", "invite", "--site", world.sites["a"], "--email", "cli@example.org", "--role", "viewer")
    assert out.returncode == 0, out.stderr
    link = re.search(r"http://\S+/invite/(inv_\S+)", out.stdout)
    assert link is not None
    assert world.client().get(f"/invite/{link.group(1)}", headers=JSON).json()["email"] == "cli@example.org"
    out = world.cli("shares", "create", "--site", world.sites["b"], "--label", "wall screen", "--format", "json")
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout)
    assert world.client().get(f"/share/{made['token']}", headers=JSON).json()["site_id"] == world.sites["b"]
    listed = world.cli("shares", "list", "--site", world.sites["b"], "--format", "json")
    assert made["share_id"] in {s["share_id"] for s in json.loads(listed.stdout)}
    assert world.cli("shares", "revoke", made["share_id"]).returncode == 0
    assert world.client().get(f"/share/{made['token']}", headers=JSON).status_code == 410


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shared_site=st.sampled_from("abc"),
    asked=st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True),
    page=st.sampled_from(["/a", "/b", "/c", "' or 1=1 --"]),
    op=st.sampled_from(["is", "is_not", "contains"]),
    dimensions=st.sampled_from([["page"], ["page", "country"], ["country", "page"]]),
)
def test_a_shared_link_never_sees_another_sites_rows(
    world: World,
    root: tuple[httpx.Client, dict[str, str]],
    shared_site: str,
    asked: list[str],
    page: str,
    op: str,
    dimensions: list[str],
) -> None:
    session = _sessions.get(shared_site)
    if session is None:
        made = share(world, root, shared_site)
        session = _sessions[shared_site] = world.client().get(made["url"], headers=JSON).json()["session"]
    body = {
        "site_ids": [world.sites[s] for s in asked],
        "metrics": ["pageviews"],
        "dimensions": dimensions,
        "filters": [[op, "page", [page]]],
        "date_range": RANGE,
    }
    r = world.client().post("/api/query", json=body, headers={"Authorization": f"Bearer {session}"})
    if asked != [shared_site]:
        assert r.status_code == 403, r.text  # another site named: refused, whatever else is asked
        return
    assert r.status_code == 200, r.text
    seen = {str(v) for row in r.json()["results"] for k, v in row.items() if k in ("page", "entry_page")}
    assert seen <= {f"/{shared_site}"}, seen  # the world: one page per site, /a on a, ...


_sessions: dict[str, str] = {}
