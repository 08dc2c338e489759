"""OpenID Connect sign-in: the authorization-code flow with PKCE, state and nonce.

On when the setting `web.oidc_issuer` is set. `GET /login/oidc[?next=/path]` sends the
browser to the provider (found through its `/.well-known/openid-configuration`) with a
random state, nonce and PKCE verifier, kept in `oidc_logins` (the state as SHA-256) and the
state in the cookie `clicklake_oidc`, so the answer is accepted only in the browser that
asked. `GET /oidc/callback` checks the state against that cookie, takes the row once,
exchanges the code (with the verifier and the client's secret) at the token endpoint, and
checks the ID token: its signature against the provider's JWKS, `iss`, `aud` (and `azp`),
`exp`, and the nonce. Then the verified e-mail (`email_verified` true) logs in the user of
that e-mail; one who has no account gets one only if the e-mail's domain is in
`web.oidc_allowed_domains` (no site, no admin: an owner adds them to sites).

The OAuth 2.0 request and the PKCE challenge are authlib's; the JOSE checks are joserfc's
(authlib's JOSE library); HTTP goes through httpx.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

import anyio.to_thread
import httpx
import sqlalchemy as sa
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from clicklake.errors import ConfigError, InputError
from clicklake.web.accounts import User, new_password
from clicklake.web.app import HTTPError, answer, error

if TYPE_CHECKING:
    from clicklake.config import WebSettings
    from clicklake.web.app import Web

COOKIE: Final = "clicklake_oidc"
LOGIN_TTL_S: Final = 600
DISCOVERY_TTL_S: Final = 3600.0
HTTP_TIMEOUT_S: Final = 10.0
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

_LOOPBACK: Final = ("127.0.0.1", "localhost", "::1")

tables = sa.MetaData()

logins_table = sa.Table(
    "oidc_logins",
    tables,
    sa.Column("state_hash", sa.String(64), primary_key=True),
    sa.Column("nonce", sa.String(64), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("next_path", sa.Text, nullable=False),
    sa.Column("expires_ts", sa.BigInteger, nullable=False),
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Provider:
    """The configured OpenID provider: its discovery document and keys, fetched and cached."""

    def __init__(self, settings: WebSettings) -> None:
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.domains = settings.allowed_domains()
        self._config: tuple[float, dict[str, Any]] | None = None
        self._keys: KeySet | None = None

    async def _get(self, url: str) -> Any:
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
                r = await client.get(url, headers={"Accept": "application/json"})
                r.raise_for_status()
                return r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise HTTPError(502, f"the OpenID provider did not answer {url}: {exc}") from None

    async def config(self) -> dict[str, Any]:
        if self._config is None or self._config[0] < time.monotonic():
            doc = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if not isinstance(doc, dict) or str(doc.get("issuer", "")).rstrip("/") != self.issuer:
                raise HTTPError(502, f"the provider's discovery document names another issuer than {self.issuer}")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(doc.get(key), str):
                    raise HTTPError(502, f"the provider's discovery document has no {key}")
            self._config = (time.monotonic() + DISCOVERY_TTL_S, doc)
        return self._config[1]

    async def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            jwks = await self._get((await self.config())["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(jwks)
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise HTTPError(502, f"the provider's JWKS is not a key set: {exc}") from None
        return self._keys

    async def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The ID token that the token endpoint gives for the code."""
        config = await self.config()
        methods = config.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        fields: dict[str, str] = {"code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
        auth: httpx.Auth | None = None
        if self.client_secret and "client_secret_basic" in methods:
            # RFC 6749 2.3.1: the id and secret are form-encoded before they are joined
            auth = httpx.BasicAuth(quote(self.client_id, safe=""), quote(self.client_secret, safe=""))
        else:
            fields["client_id"] = self.client_id
            if self.client_secret:
                fields["client_secret"] = self.client_secret
        body = prepare_token_request("authorization_code", **fields)
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
                r = await client.post(
                    config["token_endpoint"],
                    content=body,
                    auth=auth or httpx.USE_CLIENT_DEFAULT,
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                )
                token = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise HTTPError(502, f"the provider's token endpoint failed: {exc}") from None
        if r.status_code != 200 or not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
            raise HTTPError(401, f"the provider refused the code: {str(token)[:200]}")
        return str(token["id_token"])

    async def claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, expiry and nonce are right."""
        try:
            try:
                decoded = jwt.decode(id_token, await self.keys(), algorithms=list(ALGORITHMS))
            except (JoseError, ValueError):  # the provider may have rotated its keys: look once more
                decoded = jwt.decode(id_token, await self.keys(refresh=True), algorithms=list(ALGORITHMS))
            claims: dict[str, Any] = decoded.claims
            jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            raise HTTPError(401, f"the provider's ID token is not valid: {exc}") from None
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise HTTPError(401, "the provider's ID token is for several clients and not authorized for this one")
        return claims


def routes(web: Web) -> list[BaseRoute]:
    settings = web.settings.web
    methods = Route("/api/login-methods", _methods(bool(settings.oidc_issuer)), methods=["GET"])
    if not settings.oidc_issuer:
        return [methods]
    if not settings.oidc_client_id:
        raise ConfigError("Setting 'web.oidc_client_id' is empty, but 'web.oidc_issuer' is set: set both, or neither.")
    issuer = urlsplit(settings.oidc_issuer)
    if issuer.scheme != "https" and not (issuer.scheme == "http" and issuer.hostname in _LOOPBACK):
        raise ConfigError(
            f"Setting 'web.oidc_issuer' = {settings.oidc_issuer!r} is not an https:// URL "
            "(plain http is accepted on loopback only, for tests)."
        )
    try:
        tables.create_all(web.metadata.engine)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        tables.create_all(web.metadata.engine)  # another process created it meanwhile
    flow = Flow(web, Provider(settings))
    return [
        methods,
        Route("/login/oidc", flow.start, methods=["GET"]),
        Route("/oidc/callback", flow.callback, methods=["GET"]),
    ]


def _methods(oidc: bool) -> Any:
    async def methods(request: Request) -> Response:
        """`GET /api/login-methods`: `{password: true, oidc: bool}`, for the login page."""
        return answer({"password": True, "oidc": oidc, "oidc_url": "/login/oidc" if oidc else None})

    return methods


class Flow:
    def __init__(self, web: Web, provider: Provider) -> None:
        self.web = web
        self.provider = provider
        self.engine = web.metadata.engine

    def _redirect_uri(self, request: Request) -> str:
        base = self.web.settings.web.public_url.rstrip("/")
        if not base:
            base = f"{'https' if self.web.https(request) else 'http'}://{request.url.netloc}"
        return f"{base}/oidc/callback"

    async def start(self, request: Request) -> Response:
        """`GET /login/oidc[?next=/path]`: off to the provider."""
        try:
            config = await self.provider.config()
        except HTTPError as exc:
            return error(exc.status, exc.message)
        next_path = request.query_params.get("next", "/")
        if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
            next_path = "/"  # never a redirect to another host
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        redirect_uri = self._redirect_uri(request)
        row = {
            "state_hash": _sha256(state),
            "nonce": nonce,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "next_path": next_path,
            "expires_ts": _now_ms() + LOGIN_TTL_S * 1000,
        }

        def keep() -> None:
            with self.engine.begin() as con:
                con.execute(logins_table.delete().where(logins_table.c.expires_ts < _now_ms()))
                con.execute(logins_table.insert().values(**row))

        await anyio.to_thread.run_sync(keep)
        url = prepare_grant_uri(
            config["authorization_endpoint"],
            self.provider.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope="openid email profile",
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
        response.set_cookie(
            COOKIE,
            state,
            max_age=LOGIN_TTL_S,
            path="/oidc/",
            httponly=True,
            samesite="lax",  # sent on the provider's top-level redirect back
            secure=self.web.https(request),
        )
        return response

    async def callback(self, request: Request) -> Response:
        """`GET /oidc/callback?code&state`: check everything, log the user in, back to `next`."""
        try:
            return await self._callback(request)
        except HTTPError as exc:
            return error(exc.status, exc.message, exc.headers)

    async def _callback(self, request: Request) -> Response:
        params = request.query_params
        if "error" in params:
            raise HTTPError(401, f"the provider refused: {params['error']} {params.get('error_description', '')}")
        state, code = params.get("state", ""), params.get("code", "")
        cookie = request.cookies.get(COOKIE, "")
        if not state or not code:
            raise HTTPError(400, "the provider's answer has no code or state")
        if not cookie or not secrets.compare_digest(cookie, state):
            raise HTTPError(400, "this sign-in was not started in this browser; start again at /login/oidc")

        def take() -> sa.Row[Any] | None:
            t = logins_table
            with self.engine.begin() as con:
                row = con.execute(t.select().where(t.c.state_hash == _sha256(state))).first()
                gone = con.execute(t.delete().where(t.c.state_hash == _sha256(state))).rowcount
            return row if gone and row is not None and row.expires_ts > _now_ms() else None

        login = await anyio.to_thread.run_sync(take)
        if login is None:
            raise HTTPError(400, "this sign-in is unknown, used or too old; start again at /login/oidc")
        id_token = await self.provider.exchange(code, login.redirect_uri, login.code_verifier)
        claims = await self.provider.claims(id_token, login.nonce)
        user = await anyio.to_thread.run_sync(self._user, claims)

        def respond(session: dict[str, Any]) -> Response:
            return RedirectResponse(login.next_path, status_code=303, headers={"Cache-Control": "no-store"})

        response = await self.web.start_session(request, user, respond)
        response.delete_cookie(COOKIE, path="/oidc/", httponly=True, samesite="lax", secure=self.web.https(request))
        return response

    def _user(self, claims: dict[str, Any]) -> User:
        email = claims.get("email")
        verified = claims.get("email_verified")
        if not isinstance(email, str) or not email:
            raise HTTPError(403, "the provider gave no e-mail address (ask for the 'email' scope)")
        if verified is not True and verified != "true":  # some providers send the string
            raise HTTPError(403, f"the provider has not verified {email}")
        accounts = self.web.accounts
        try:
            return accounts.user(email)
        except InputError:
            pass
        domain = email.rpartition("@")[2].lower()
        if domain not in self.provider.domains:
            raise HTTPError(403, f"{email} has no account here; an admin creates it, or invites it to a site")
        try:
            user, _ = accounts.create_user(email, new_password())  # signs in through the provider only
        except InputError:
            user = accounts.user(email)  # made meanwhile by another sign-in
        return user
