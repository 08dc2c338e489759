"""OIDC sign-in against a real (small) OpenID provider on loopback, through a real `clicklake web`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conftest import kill_server, run_clicklake, start_server
from web.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def base(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("oidc")
    assert run_clicklake(root, "users", "create", "ana@example.org").returncode == 0
    env = {
        "CLICKLAKE_WEB__OIDC_ISSUER": provider.issuer,
        "CLICKLAKE_WEB__OIDC_CLIENT_ID": CLIENT_ID,
        "CLICKLAKE_WEB__OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "CLICKLAKE_WEB__OIDC_ALLOWED_DOMAINS": "staff.example",
    }
    proc, url = start_server(root, command="web", env=env)
    try:
        yield url
    finally:
        kill_server(proc)


@pytest.fixture(autouse=True)
def _reset(provider: Provider) -> None:
    provider.email, provider.verified, provider.forge, provider.nonce = "ana@example.org", True, False, None


def sign_in(base: str, client: httpx.Client, next_path: str = "/") -> httpx.Response:
    """Start at clicklake, let the provider answer, and bring its answer back: clicklake's last response."""
    start = client.get("/login/oidc", params={"next": next_path})
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert query["redirect_uri"] == [f"{base}/oidc/callback"]
    with httpx.Client(trust_env=False) as browser_at_provider:
        back = browser_at_provider.get(authorize)
    assert back.status_code == 302, back.text
    return client.get(back.headers["location"])


def test_an_existing_user_signs_in_with_the_provider(base: str) -> None:
    with httpx.Client(base_url=base, trust_env=False) as client:
        assert client.get("/api/login-methods").json()["oidc"] is True
        done = sign_in(base, client, "/sites?x=1")
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/sites?x=1"
        me = client.get("/api/me")
        assert me.status_code == 200 and me.json()["email"] == "ana@example.org" and me.json()["via"] == "session"
    with httpx.Client(base_url=base, trust_env=False) as client:
        assert sign_in(base, client, "//evil.example/x").headers["location"] == "/"  # never off to another host


def test_a_new_user_of_an_allowed_domain_gets_an_account_others_do_not(base: str, provider: Provider) -> None:
    provider.email = "bo@staff.example"
    with httpx.Client(base_url=base, trust_env=False) as client:
        assert sign_in(base, client).status_code == 303
        assert client.get("/api/me").json() == {
            **client.get("/api/me").json(),
            "email": "bo@staff.example",
            "sites": [],
        }
    provider.email = "eve@elsewhere.example"
    with httpx.Client(base_url=base, trust_env=False) as client:
        r = sign_in(base, client)
        assert r.status_code == 403 and "no account" in r.json()["error"]
        assert client.get("/api/me").status_code == 401


def test_a_token_signed_with_a_foreign_key_is_refused(base: str, provider: Provider) -> None:
    provider.forge = True
    with httpx.Client(base_url=base, trust_env=False) as client:
        r = sign_in(base, client)
        assert r.status_code == 401 and "not valid" in r.json()["error"]
        assert client.get("/api/me").status_code == 401


def test_a_wrong_nonce_or_an_unverified_email_is_refused(base: str, provider: Provider) -> None:
    provider.nonce = "replayed"
    with httpx.Client(base_url=base, trust_env=False) as client:
        assert sign_in(base, client).status_code == 401
    provider.nonce, provider.verified = None, False
    with httpx.Client(base_url=base, trust_env=False) as client:
        r = sign_in(base, client)
        assert r.status_code == 403 and "not verified" in r.json()["error"]


def test_an_answer_in_another_browser_or_a_second_time_is_refused(base: str) -> None:
    with (
        httpx.Client(base_url=base, trust_env=False) as victim,
        httpx.Client(base_url=base, trust_env=False) as attacker,
    ):
        start = attacker.get("/login/oidc")
        with httpx.Client(trust_env=False) as at_provider:
            back = at_provider.get(start.headers["location"]).headers["location"]
        assert victim.get(back).status_code == 400  # the attacker's sign-in lands in the victim's browser: no
        assert victim.get("/api/me").status_code == 401
        assert attacker.get(back).status_code == 303
        assert attacker.get(back).status_code == 400  # a state is used once
    with httpx.Client(base_url=base, trust_env=False) as client:
        client.get("/login/oidc")
        assert client.get("/oidc/callback", params={"code": "x", "state": "forged"}).status_code == 400


def test_an_issuer_over_plain_http_off_loopback_is_refused_at_start(tmp_path: Path) -> None:
    env = {"CLICKLAKE_WEB__OIDC_ISSUER": "http://idp.example", "CLICKLAKE_WEB__OIDC_CLIENT_ID": CLIENT_ID}
    with pytest.raises(RuntimeError, match="not an https:// URL"):
        start_server(tmp_path, command="web", env=env)


@pytest.mark.browser
def test_the_login_page_offers_single_sign_on_and_signs_in_through_the_provider(base: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    from web.test_dashboard_browser import _launch, settle

    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page()
            page.goto(f"{base}/login?next=/events")
            button = page.get_by_role("link", name="Sign in with single sign-on")
            expect(button).to_be_visible()
            assert button.get_attribute("href") == "/login/oidc?next=%2Fevents"
            button.click()  # clicklake -> the provider -> clicklake's callback -> the page asked for
            settle(page)
            expect(page.get_by_role("heading", name="Events", level=1)).to_be_visible()
            assert urlsplit(page.url).path == "/events"
            me = page.evaluate("fetch('/api/me').then((r) => r.json())")
            assert me["email"] == "ana@example.org" and me["via"] == "session"
        finally:
            browser.close()
