"""Accounts over a real `clicklake web` server on loopback: users, sessions, CSRF, roles, tokens, throttling."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import kill_server, start_server
from web.world import World, serve_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from serve_world(tmp_path_factory)


@pytest.fixture(autouse=True)
def _close_clients(world: World) -> Iterator[None]:
    yield
    world.close_clients()


def sql(client: httpx.Client, query: str, csrf: str | None = None, **headers: str) -> httpx.Response:
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.post("/api/sql", json={"sql": query}, headers=headers)


def site_ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return {r["site_id"] for r in rows}


def test_the_cli_lists_users_with_their_sites_and_never_a_password(world: World) -> None:
    out = world.cli("users", "list", "--format", "json")
    users = {u["email"]: u for u in json.loads(out.stdout)}
    assert users["viewer@example.org"]["sites"] == {world.sites["a"]: "viewer"}
    root = users["root@example.org"]
    assert root["is_admin"] and set(root["sites"]) == set(world.sites.values())
    assert not any(p in out.stdout for p in world.passwords.values())
    again = world.cli("users", "create", "viewer@example.org")
    assert again.returncode == 2 and "exists already" in again.stderr


def test_login_sets_a_secure_cookie_and_the_session_reads_its_own_sites(world: World) -> None:
    client = world.client()
    r = client.post("/login", json={"email": "viewer@example.org", "password": world.passwords["viewer@example.org"]})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http
    me = client.get("/api/me").json()
    assert me["email"] == "viewer@example.org" and [s["site_id"] for s in me["sites"]] == [world.sites["a"]]
    assert me["csrf_token"] == r.json()["csrf_token"]
    seen = site_ids(sql(client, "select site_id from silver.events", me["csrf_token"]))
    assert seen == {world.sites["a"]}


def test_behind_a_trusted_proxy_that_says_https_the_cookie_is_secure(world: World) -> None:
    body = {"email": "viewer@example.org", "password": world.passwords["viewer@example.org"]}
    r = world.client().post("/login", json=body, headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]


def test_a_server_admin_reads_every_site(world: World) -> None:
    client, csrf = world.login("root@example.org")
    assert site_ids(sql(client, "select site_id from silver.events", csrf)) == set(world.sites.values())


def test_a_user_without_sites_sees_no_row(world: World) -> None:
    client, csrf = world.login("nobody@example.org")
    r = sql(client, "select count(*) as n from silver.events", csrf)
    assert r.status_code == 200 and r.json()["rows"] == [{"n": 0}]


def test_a_state_changing_request_without_the_csrf_token_is_refused(world: World) -> None:
    client, csrf = world.login("viewer@example.org")
    assert sql(client, "select 1 as x").status_code == 403
    assert sql(client, "select 1 as x", "forged").status_code == 403
    assert client.post("/logout").status_code == 403
    assert client.get("/api/me").status_code == 200  # still logged in
    assert sql(client, "select 1 as x", csrf).json()["rows"] == [{"x": 1}]


def test_logout_ends_the_session(world: World) -> None:
    client, csrf = world.login("viewer@example.org")
    stolen = dict(client.cookies)
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    again = world.client()
    again.cookies.update(stolen)
    assert again.get("/api/me").status_code == 401


def test_wrong_password_forged_cookie_and_cross_site_login_are_refused(world: World) -> None:
    client = world.client()
    assert client.post("/login", json={"email": "c@example.org", "password": "x"}).status_code == 401
    assert client.post("/login", content=b"{not json").status_code == 400
    forged = world.client()
    forged.cookies.set("clicklake_session", "A" * 43)
    assert forged.get("/api/me").status_code == 401
    body = {"email": "viewer@example.org", "password": world.passwords["viewer@example.org"]}
    assert client.post("/login", json=body, headers={"Origin": "https://evil.example"}).status_code == 403


def test_repeated_failed_logins_are_throttled(world: World) -> None:
    client = world.client()
    email = "throttled@example.org"
    out = world.cli("users", "create", email, "--format", "json")
    password = json.loads(out.stdout)["password"]
    codes = [client.post("/login", json={"email": email, "password": f"wrong{i}"}).status_code for i in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    r = client.post("/login", json={"email": email, "password": password})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_tokens_have_a_scope_a_site_and_can_be_revoked(world: World) -> None:
    client = world.client()
    sql_token = world.token("--user", "root@example.org", "--scope", "sql")
    one_site = world.token("--user", "root@example.org", "--scope", "sql", "--site", world.sites["b"])
    stats = world.token("--user", "root@example.org", "--scope", "stats")
    bearer = {"Authorization": f"Bearer {sql_token}"}
    assert site_ids(sql(client, "select site_id from silver.events", **bearer)) == set(world.sites.values())
    r = sql(client, "select site_id from silver.events", Authorization=f"Bearer {one_site}")
    assert site_ids(r) == {world.sites["b"]}
    assert sql(client, "select 1", Authorization=f"Bearer {stats}").status_code == 403
    assert sql(client, "select 1", Authorization="Bearer clk_forged").status_code == 401
    assert sql(client, "select 1", Authorization="Basic eDp5").status_code == 401
    listed = json.loads(world.cli("tokens", "list", "--format", "json").stdout)
    assert all("token" not in t for t in listed) and sql_token not in json.dumps(listed)
    used = {t["token_id"]: t for t in listed}
    mine = [t for t in used.values() if t["site_id"] == world.sites["b"]]
    assert mine and mine[0]["last_used_ts"] is not None
    revoked = world.cli("tokens", "revoke", mine[0]["token_id"])
    assert revoked.returncode == 0
    assert sql(client, "select 1", Authorization=f"Bearer {one_site}").status_code == 401


def test_a_token_for_a_site_the_user_may_not_read_is_refused(world: World) -> None:
    out = world.cli("tokens", "create", "--user", "viewer@example.org", "--scope", "sql", "--site", world.sites["b"])
    assert out.returncode == 2 and "may not read site" in out.stderr


def test_an_expired_token_is_refused(world: World) -> None:
    secret = world.token("--user", "viewer@example.org", "--scope", "sql", "--expires", "0.00002")  # 1.7 s
    client = world.client()
    deadline = time.monotonic() + 10
    while sql(client, "select 1", Authorization=f"Bearer {secret}").status_code == 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sql(client, "select 1", Authorization=f"Bearer {secret}").status_code == 401


def test_members_remove_takes_the_site_away(world: World) -> None:
    email = "temp@example.org"
    password = json.loads(world.cli("users", "create", email, "--format", "json").stdout)["password"]
    world.passwords[email] = password
    site = world.sites["c"]
    assert world.cli("members", "add", "--site", site, "--user", email, "--role", "owner").returncode == 0
    client, csrf = world.login(email)
    assert site_ids(sql(client, "select site_id from silver.events", csrf)) == {site}
    assert world.cli("members", "remove", "--site", site, "--user", email).returncode == 0
    r = sql(client, "select count(*) as n from silver.events", csrf)
    assert r.json()["rows"] == [{"n": 0}]
    assert world.cli("users", "delete", email).returncode == 0
    assert client.get("/api/me").status_code == 401


def test_reset_password_ends_sessions_and_prints_a_new_one(world: World) -> None:
    email = "reset@example.org"
    world.passwords[email] = json.loads(world.cli("users", "create", email, "--format", "json").stdout)["password"]
    client, _ = world.login(email)
    out = world.cli("users", "reset-password", email)
    new = re.search(r"new password of \S+: (\S+)", out.stdout)
    assert new is not None
    assert client.get("/api/me").status_code == 401
    world.passwords[email] = new.group(1)
    world.login(email)


def test_two_servers_on_one_data_dir_count_the_same_failed_logins(world: World) -> None:
    email = "shared-throttle@example.org"
    password = json.loads(world.cli("users", "create", email, "--format", "json").stdout)["password"]
    proc, other = start_server(world.root, command="web")
    try:
        first, second = world.client(), httpx.Client(base_url=other, trust_env=False, timeout=30)
        with second:
            wrong = [
                (first if i % 2 else second).post("/login", json={"email": email, "password": f"no{i}"})
                for i in range(5)
            ]
            assert [r.status_code for r in wrong] == [401] * 5
            for client in (first, second):  # each server saw only some of the five, yet both refuse
                r = client.post("/login", json={"email": email, "password": password})
                assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    finally:
        kill_server(proc)
