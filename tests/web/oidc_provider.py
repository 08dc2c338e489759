"""A small, real OpenID provider on loopback for the OIDC tests (a test fixture, not part of clicklake).

It serves discovery, JWKS, authorize and token; `authorize` signs in `provider.email` at
once (no page), and `token` checks the client's secret, the redirect URI and the PKCE
verifier against the challenge before it answers an ID token signed with its RSA key.
Knobs for hostile tests: `forge` signs with a key that is not in its JWKS, `nonce` replaces
the nonce the client sent, `verified` sets `email_verified`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from conftest import free_port

CLIENT_ID = "clicklake-test"
CLIENT_SECRET = "s3cret with spaces & symbols"


class Provider:
    def __init__(self, port: int) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "main", "use": "sig", "alg": "RS256"})
        self.email = "ana@example.org"
        self.verified: object = True
        self.forge = False
        self.nonce: str | None = None
        self.codes: dict[str, dict[str, str]] = {}
        self.token_requests = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, 400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge") or not q.get("nonce"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE S256 and a nonce"}, 400)
        if "openid" not in q.get("scope", "").split():
            return JSONResponse({"error": "invalid_scope"}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "nonce": q["nonce"],
            "redirect_uri": q["redirect_uri"],
            "email": self.email,
        }
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}", 302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        expected = "Basic " + base64.b64encode(b"clicklake-test:s3cret%20with%20spaces%20%26%20symbols").decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = self.codes.pop(str(form.get("code", "")), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verifier"}, 400)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "sub-" + grant["email"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce or grant["nonce"],
            "email": grant["email"],
            "email_verified": self.verified,
        }
        key = RSAKey.generate_key(2048, parameters={"kid": "main"}) if self.forge else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "main"}, claims, key)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "id_token": id_token})


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider, served by uvicorn in a thread on a free loopback port."""
    port = free_port()
    provider = Provider(port)
    server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test OpenID provider did not start"
        time.sleep(0.05)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(10)
