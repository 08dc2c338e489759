"""The management API over a real `clicklake web` on loopback: sites, keys, members, links, tokens, users, by role."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from web.world import World, serve_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory)


@pytest.fixture(autouse=True)
def _close_clients(world: World) -> Iterator[None]:
    yield
    world.close_clients()


class As:
    """A logged-in client that sends its CSRF token."""

    def __init__(self, world: World, email: str) -> None:
        self.client, self.csrf = world.login(email)

    def __getattr__(self, method: str) -> object:
        call = getattr(self.client, method)

        def send(url: str, **kwargs: object) -> httpx.Response:
            if method != "get":
                kwargs.setdefault("headers", {"X-CSRF-Token": self.csrf})
            return call(url, **kwargs)  # type: ignore[no-any-return]

        return send


def new_user(world: World, root: As, email: str) -> None:
    r = root.post("/api/users", json={"email": email})
    assert r.status_code == 201, r.text
    world.passwords[email] = r.json()["password"]


def test_a_server_admin_creates_a_site_and_makes_an_owner(world: World) -> None:
    root = As(world, "root@example.org")
    r = root.post("/api/sites", json={"name": "Blog", "domain": "blog.example"})
    assert r.status_code == 201, r.text
    site = r.json()
    assert site["write_key"].startswith("wk_") and site["allowed_origins"] == [
        "https://blog.example",
        "https://www.blog.example",
    ]
    new_user(world, root, "owner@example.org")
    assert (
        root.post(
            f"/api/sites/{site['site_id']}/members", json={"email": "owner@example.org", "role": "owner"}
        ).status_code
        == 200
    )
    owner = As(world, "owner@example.org")
    listed = owner.get("/api/sites").json()["sites"]
    assert [(s["site_id"], s["role"]) for s in listed] == [(site["site_id"], "owner")]
    # the owner changes the site and rotates its key; the old key is refused by the collector's lookup
    r = owner.patch(
        f"/api/sites/{site['site_id']}",
        json={"name": "The Blog", "allowed_origins": ["https://blog.example"], "rate_per_s": None},
    )
    assert (
        r.status_code == 200
        and r.json()["name"] == "The Blog"
        and r.json()["allowed_origins"] == ["https://blog.example"]
    )
    rotated = owner.post(f"/api/sites/{site['site_id']}/rotate-key").json()
    assert rotated["write_key"].startswith("wk_") and rotated["write_key"] != site["write_key"]
    assert owner.get(f"/api/sites/{site['site_id']}").json()["write_key"] == rotated["write_key"]
    # links and QR codes
    link = owner.post(f"/api/sites/{site['site_id']}/links", json={"target": "https://shop.example/p/1", "kind": "qr"})
    assert link.status_code == 201 and link.json()["qr_path"].endswith("/qr.svg")
    assert [x["link_id"] for x in owner.get(f"/api/sites/{site['site_id']}/links").json()["links"]] == [
        link.json()["link_id"]
    ]
    # bad input is a 400 naming it, never a 5xx
    for body in ({"name": 5}, {"colour": "red"}, {"allowed_origins": ["not a url"]}, {"rate_per_s": -1}):
        r = owner.patch(f"/api/sites/{site['site_id']}", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    assert owner.post("/api/sites", json={"name": "Mine", "domain": "mine.example"}).status_code == 403


def test_a_viewer_reads_the_site_but_cannot_change_it(world: World) -> None:
    viewer = As(world, "viewer@example.org")
    a = world.sites["a"]
    got = viewer.get(f"/api/sites/{a}")
    assert got.status_code == 200 and got.json()["role"] == "viewer" and "write_key" not in got.json()
    assert viewer.get(f"/api/sites/{world.sites['b']}").status_code == 404
    refused = [
        viewer.patch(f"/api/sites/{a}", json={"name": "mine now"}),
        viewer.post(f"/api/sites/{a}/rotate-key"),
        viewer.delete(f"/api/sites/{a}"),
        viewer.post(f"/api/sites/{a}/members", json={"email": "nobody@example.org", "role": "viewer"}),
        viewer.post(f"/api/sites/{a}/links", json={"target": "https://x.example/"}),
        viewer.post(f"/api/sites/{a}/shares", json={}),
        viewer.post(f"/api/sites/{a}/invitations", json={"email": "x@example.org", "role": "viewer"}),
        viewer.get(f"/api/sites/{a}/shares"),
        viewer.get("/api/users"),
        viewer.post("/api/users", json={"email": "sneaky@example.org", "is_admin": True}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused), [r.text for r in refused]
    assert viewer.get(f"/api/sites/{a}").json()["name"] == "a"


def test_an_admin_manages_members_but_not_owners(world: World) -> None:
    root = As(world, "root@example.org")
    b = world.sites["b"]
    for email, role in (("badmin@example.org", "admin"), ("bowner@example.org", "owner")):
        new_user(world, root, email)
        assert root.post(f"/api/sites/{b}/members", json={"email": email, "role": role}).status_code == 200
    admin = As(world, "badmin@example.org")
    assert (
        admin.post(f"/api/sites/{b}/members", json={"email": "nobody@example.org", "role": "viewer"}).status_code == 200
    )
    assert (
        admin.post(f"/api/sites/{b}/members", json={"email": "nobody@example.org", "role": "owner"}).status_code == 403
    )
    assert admin.delete(f"/api/sites/{b}/members/bowner@example.org").status_code == 403
    assert admin.delete(f"/api/sites/{b}").status_code == 403
    members = {m["email"]: m["role"] for m in admin.get(f"/api/sites/{b}/members").json()["members"]}
    assert members == {"badmin@example.org": "admin", "bowner@example.org": "owner", "nobody@example.org": "viewer"}
    assert admin.delete(f"/api/sites/{b}/members/nobody@example.org").status_code == 200


def test_csrf_is_needed_on_every_state_changing_route(world: World) -> None:
    client, _ = world.login("root@example.org")
    a = world.sites["a"]
    attempts = [
        client.post("/api/sites", json={"name": "x", "domain": "x.example"}),
        client.patch(f"/api/sites/{a}", json={"name": "x"}),
        client.delete(f"/api/sites/{a}"),
        client.post(f"/api/sites/{a}/rotate-key"),
        client.post(f"/api/sites/{a}/members", json={"email": "nobody@example.org", "role": "viewer"}),
        client.delete(f"/api/sites/{a}/members/viewer@example.org"),
        client.post(f"/api/sites/{a}/links", json={"target": "https://x.example/"}),
        client.post(f"/api/sites/{a}/shares", json={}),
        client.delete(f"/api/sites/{a}/shares/sh_x"),
        client.post(f"/api/sites/{a}/invitations", json={"email": "x@example.org", "role": "viewer"}),
        client.delete(f"/api/sites/{a}/invitations/in_x"),
        client.post("/api/tokens", json={"scope": "stats"}),
        client.delete("/api/tokens/t_x"),
        client.post("/api/users", json={"email": "x@example.org"}),
        client.delete("/api/users/viewer@example.org"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts), [r.text for r in attempts]
    assert client.get(f"/api/sites/{a}").json()["name"] == "a"


def test_tokens_of_ones_own_are_made_shown_once_and_revoked(world: World) -> None:
    viewer = As(world, "viewer@example.org")
    made = viewer.post("/api/tokens", json={"scope": "stats", "site_id": world.sites["a"], "expires_days": 1})
    assert made.status_code == 201 and made.json()["token"].startswith("clk_")
    listed = viewer.get("/api/tokens").json()["tokens"]
    assert [t["token_id"] for t in listed] == [made.json()["token_id"]] and "token" not in listed[0]
    bearer = {"Authorization": f"Bearer {made.json()['token']}"}
    assert world.client().get("/api/sites", headers=bearer).status_code == 403  # a stats token manages nothing
    root = As(world, "root@example.org")
    assert root.delete(f"/api/tokens/{made.json()['token_id']}").status_code == 404  # not root's
    assert viewer.delete(f"/api/tokens/{made.json()['token_id']}").status_code == 200
    assert world.client().post("/api/query", headers=bearer, json={}).status_code == 401
    assert viewer.post("/api/tokens", json={"scope": "sql", "site_id": world.sites["b"]}).status_code == 400


def test_a_site_limited_admin_token_of_a_server_admin_is_no_server_admin(world: World) -> None:
    secret = world.token("--user", "root@example.org", "--scope", "admin", "--site", world.sites["c"])
    client = world.client()
    client.headers["Authorization"] = f"Bearer {secret}"
    assert client.get("/api/users").status_code == 403
    assert [s["site_id"] for s in client.get("/api/sites").json()["sites"]] == [world.sites["c"]]
    assert client.patch(f"/api/sites/{world.sites['a']}", json={"name": "x"}).status_code == 404
    assert client.patch(f"/api/sites/{world.sites['c']}", json={"name": "c2"}).status_code == 200


def test_users_are_managed_by_a_server_admin(world: World) -> None:
    root = As(world, "root@example.org")
    new_user(world, root, "short@example.org")
    assert "short@example.org" in {u["email"] for u in root.get("/api/users").json()["users"]}
    assert root.post("/api/users", json={"email": "short@example.org"}).status_code == 400
    assert root.post("/api/users", json={"email": "not an address"}).status_code == 400
    assert root.delete("/api/users/root@example.org").status_code == 400
    assert root.delete("/api/users/short@example.org").status_code == 200
    assert (
        world.client()
        .post("/login", json={"email": "short@example.org", "password": world.passwords["short@example.org"]})
        .status_code
        == 401
    )


def test_every_response_forbids_framing(world: World) -> None:
    for r in (world.client().get("/healthz"), world.client().get("/api/me")):
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_the_openapi_document_describes_every_access_route(world: World) -> None:
    doc = world.client().get("/api/openapi.json").json()
    expected = {
        "/api/sites": {"get", "post"},
        "/api/sites/{site_id}": {"get", "patch", "delete"},
        "/api/sites/{site_id}/rotate-key": {"post"},
        "/api/sites/{site_id}/test-event": {"post"},
        "/api/sites/{site_id}/members": {"get", "post"},
        "/api/sites/{site_id}/members/{email}": {"delete"},
        "/api/sites/{site_id}/links": {"get", "post"},
        "/api/sites/{site_id}/shares": {"get", "post"},
        "/api/sites/{site_id}/shares/{share_id}": {"delete"},
        "/api/sites/{site_id}/invitations": {"get", "post"},
        "/api/sites/{site_id}/invitations/{invitation_id}": {"delete"},
        "/api/tokens": {"get", "post"},
        "/api/tokens/{token_id}": {"delete"},
        "/api/users": {"get", "post"},
        "/api/users/{email}": {"delete"},
        "/share/{token}": {"get", "post"},
        "/invite/{token}": {"get", "post"},
    }
    for path, methods in expected.items():
        assert set(doc["paths"][path]) == methods, path
    schemas = doc["components"]["schemas"]
    assert "write_key" in schemas["Site"]["properties"] and "session" in schemas["ShareSession"]["properties"]


def test_a_deleted_site_takes_its_members_shares_and_invitations_along(world: World) -> None:
    root = As(world, "root@example.org")
    site = root.post("/api/sites", json={"name": "Gone", "domain": "gone.example"}).json()["site_id"]
    assert (
        root.post(f"/api/sites/{site}/members", json={"email": "viewer@example.org", "role": "viewer"}).status_code
        == 200
    )
    shared = root.post(f"/api/sites/{site}/shares", json={}).json()
    invited = root.post(f"/api/sites/{site}/invitations", json={"email": "later@example.org", "role": "viewer"}).json()
    session = world.client().get(shared["url"], headers={"Accept": "application/json"}).json()["session"]
    assert root.delete(f"/api/sites/{site}").status_code == 200
    assert root.get(f"/api/sites/{site}").status_code == 404
    viewer = As(world, "viewer@example.org")
    assert site not in {s["site_id"] for s in viewer.get("/api/me").json()["sites"]}
    assert world.client().get(shared["url"], headers={"Accept": "application/json"}).status_code == 401
    assert world.client().get("/api/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    assert world.client().get(invited["url"], headers={"Accept": "application/json"}).status_code == 401
