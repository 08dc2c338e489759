"""The web stage's routes: login and logout, who am I, and the JSON API over the sandboxed lake.

A request is a `Principal` by its session cookie or its `Authorization: Bearer` token.
A session's state-changing request (any method but GET, HEAD, OPTIONS) must carry the
session's CSRF token in `X-CSRF-Token`; a bearer token is not ambient, so needs none.
Every refusal is a 4xx with `{"error": reason}`.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final
from urllib.parse import parse_qs

import anyio.to_thread
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from clicklake.errors import ClicklakeError
from clicklake.query import experiments, funnels, stats
from clicklake.query.engine import format_result
from clicklake.query.sandbox import Limits, Sandbox, SandboxError
from clicklake.web import pages
from clicklake.web.accounts import SESSION_TTL_S, Accounts, Principal
from clicklake.web.openapi import openapi_document
from clicklake.web.throttle import LoginThrottle

COOKIE: Final = "clicklake_session"
CSRF_HEADER: Final = "x-csrf-token"
MAX_BODY: Final = 1 << 20
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_json = msgspec.json.Encoder(decimal_format="number")

Handler = Callable[[Request, Principal], Awaitable[Response]]


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def answer(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        _json.encode(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return answer({"error": message}, status, headers)


async def read_body(request: Request) -> bytes:
    """The request's body, at most `MAX_BODY` bytes."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        raise HTTPError(413, f"the body is more than {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPError(413, f"the body is more than {MAX_BODY} bytes")
    return bytes(body)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (or form fields), at most `MAX_BODY` bytes."""
    body = await read_body(request)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    try:
        data = msgspec.json.decode(bytes(body))
    except msgspec.DecodeError as exc:
        raise HTTPError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HTTPError(400, "the body must be a JSON object")
    return data


class Web:
    """The web stage of one process: accounts, the sandbox and the login throttle."""

    def __init__(self, settings: Settings, metadata: Metadata, sandbox: Sandbox) -> None:
        self.settings = settings
        self.metadata = metadata
        self.accounts = Accounts(metadata)
        self.sandbox = sandbox
        self.throttle = LoginThrottle()  # per e-mail: guessing one account's password
        self.ip_throttle = LoginThrottle(max_failures=50)  # per address: trying many accounts
        self.proxies = settings.collect.proxy_networks()

    # -- who asks -----------------------------------------------------------------

    def _https(self, request: Request) -> bool:
        if request.url.scheme == "https":
            return True
        peer = request.client.host if request.client else None
        try:
            trusted = peer is not None and any(ipaddress.ip_address(peer) in n for n in self.proxies)
        except ValueError:
            trusted = False
        return trusted and request.headers.get("x-forwarded-proto", "").lower() == "https"

    async def principal(self, request: Request) -> Principal:
        authorization = request.headers.get("authorization", "")
        if authorization:
            scheme, _, secret = authorization.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise HTTPError(401, "send a token as 'Authorization: Bearer clk_...'")
            found = await anyio.to_thread.run_sync(self.accounts.token_principal, secret.strip())
            if found is None:
                raise HTTPError(401, "unknown, revoked or expired token")
            return found
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            raise HTTPError(401, "log in first (POST /login), or send an API token")
        found = await anyio.to_thread.run_sync(self.accounts.session_principal, cookie)
        if found is None:
            raise HTTPError(401, "the session has ended; log in again")
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not (found.csrf_token and secrets.compare_digest(sent, found.csrf_token)):
                raise HTTPError(403, "missing or wrong CSRF token: send the session's token in X-CSRF-Token")
        return found

    def guarded(self, handler: Handler, scope: str | None = None) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                principal = await self.principal(request)
                if scope is not None and scope not in principal.scopes:
                    raise HTTPError(403, f"this needs a token with scope {scope!r}")
                return await handler(request, principal)
            except HTTPError as exc:
                return error(exc.status, exc.message, exc.headers)
            except SandboxError as exc:
                return error(exc.status, str(exc))
            except ClicklakeError as exc:
                return error(400, str(exc))

        return endpoint

    # -- routes -------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """`POST /login` with `{email, password}` (JSON or a form): a session cookie and its CSRF token."""
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin is not None and origin != own:
            return error(403, f"a login from {origin} is not accepted here")
        try:
            body = await json_body(request)
        except HTTPError as exc:
            return error(exc.status, exc.message)
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
            return error(400, "send an email and a password")
        peer = request.client.host if request.client else "?"
        account = email.strip().lower()
        wait = max(self.throttle.wait(account), self.ip_throttle.wait(peer))
        if wait > 0:
            return error(429, "too many failed logins; try again later", {"Retry-After": str(int(wait) + 1)})
        user = await anyio.to_thread.run_sync(self.accounts.authenticate, email, password)
        if user is None:
            self.throttle.failed(account)
            self.ip_throttle.failed(peer)
            return error(401, "wrong e-mail or password")
        self.throttle.succeeded(account)
        secret, csrf = await anyio.to_thread.run_sync(self.accounts.start_session, user)
        response = answer({"email": user.email, "is_admin": user.is_admin, "csrf_token": csrf})
        response.set_cookie(
            COOKIE,
            secret,
            max_age=SESSION_TTL_S,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self._https(request),
        )
        return response

    async def logout(self, request: Request, principal: Principal) -> Response:
        """`POST /logout`: ends this session (needs its CSRF token)."""
        cookie = request.cookies.get(COOKIE)
        if principal.via != "session" or cookie is None:
            return error(400, "only a browser session logs out; revoke a token with `clicklake tokens revoke`")
        await anyio.to_thread.run_sync(self.accounts.end_session, cookie)
        response = answer({"logged_out": True})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self._https(request))
        return response

    async def me(self, request: Request, principal: Principal) -> Response:
        """`GET /api/me`: the user, their sites and roles, scopes, and the session's CSRF token."""
        sites = []
        for site_id, role in sorted(principal.roles.items()):
            site = self.metadata.site(site_id)
            sites.append({"site_id": site_id, "name": site.name if site else None, "role": role})
        return answer(
            {
                "email": principal.user.email,
                "is_admin": principal.user.is_admin,
                "via": principal.via,
                "scopes": sorted(principal.scopes),
                "sites": sites,
                "csrf_token": principal.csrf_token,
            }
        )

    async def sql(self, request: Request, principal: Principal) -> Response:
        """`POST /api/sql` `{sql}`: one SELECT over the caller's sites only, in the sandbox."""
        body = await json_body(request)
        sql = body.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise HTTPError(400, 'send {"sql": "select ..."}')
        result = await anyio.to_thread.run_sync(self.sandbox.run, principal.site_ids, sql)
        if request.query_params.get("format") == "csv":
            return Response(format_result(result.table, "csv"), media_type="text/csv; charset=utf-8")
        rows = msgspec.json.decode(format_result(result.table, "json"))
        return answer(
            {
                "columns": result.table.column_names,
                "rows": rows,
                "truncated": result.truncated,
                "freshness": result.freshness,
                "sql": sql,
            }
        )

    async def query(self, request: Request, principal: Principal) -> Response:
        """`POST /api/query`: the Stats API (see `clicklake.query.stats` and docs/metrics.md)."""
        q = stats.parse(await read_body(request))
        _may_read(principal, q.site_ids)
        sql = stats.build_sql(q)
        result = await anyio.to_thread.run_sync(self.sandbox.run, q.site_ids, sql)
        if request.query_params.get("format") == "csv":
            return Response(format_result(result.table, "csv"), media_type="text/csv; charset=utf-8")
        out: dict[str, Any] = {
            "results": msgspec.json.decode(format_result(result.table, "json")),
            "meta": {
                "columns": result.table.column_names,
                "sql": sql,
                "freshness": result.freshness,
                "date_range": [str(d) for d in q.date_range],
            },
        }
        if q.compare == "previous_period":
            before = stats.previous_period(*q.date_range)
            sql_before = stats.build_sql(q, before)
            previous = await anyio.to_thread.run_sync(self.sandbox.run, q.site_ids, sql_before)
            out["comparison"] = {
                "date_range": [str(d) for d in before],
                "results": msgspec.json.decode(format_result(previous.table, "json")),
                "sql": sql_before,
            }
        return answer(out)

    async def funnel(self, request: Request, principal: Principal) -> Response:
        """`POST /api/funnel`: visitors at each step of a funnel (see `clicklake.query.funnels`)."""
        q = funnels.parse(await read_body(request))
        _may_read(principal, q.site_ids)
        sql = funnels.build_sql(q)
        rows, meta = await self._report(q.site_ids, sql)
        for row, step in zip(rows, funnels.steps_of(q), strict=True):
            row["step_definition"] = step
        return answer({"results": rows, "meta": meta})

    async def experiment(self, request: Request, principal: Principal) -> Response:
        """`POST /api/experiment`: conversion per A/B variant with a 95 % interval (`clicklake.query.experiments`)."""
        q = experiments.parse(await read_body(request))
        _may_read(principal, q.site_ids)
        rows, meta = await self._report(q.site_ids, experiments.build_sql(q))
        return answer({"results": rows, "meta": meta})

    async def _report(self, site_ids: list[str], sql: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Run a report's SQL in the sandbox: its rows, and the SQL with its freshness."""
        result = await anyio.to_thread.run_sync(self.sandbox.run, site_ids, sql)
        rows: list[dict[str, Any]] = msgspec.json.decode(format_result(result.table, "json"))
        return rows, {"sql": sql, "freshness": result.freshness}

    async def openapi(self, request: Request) -> Response:
        """`GET /api/openapi.json`: the API's OpenAPI 3.1 document."""
        return answer(openapi_document())

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/openapi.json", self.openapi, methods=["GET"]),
            Route("/api/query", self.guarded(self.query, "stats"), methods=["POST"]),
            Route("/api/funnel", self.guarded(self.funnel, "stats"), methods=["POST"]),
            Route("/api/experiment", self.guarded(self.experiment, "stats"), methods=["POST"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.guarded(self.logout), methods=["POST"]),
            Route("/api/me", self.guarded(self.me), methods=["GET"]),
            Route("/api/sql", self.guarded(self.sql, "sql"), methods=["POST"]),
            *pages.routes(),
        ]


def web_from_settings(settings: Settings, metadata: Metadata) -> Web:
    """The web stage over the catalog and metadata database the settings name."""
    from clicklake.lake.catalog import open_catalog
    from clicklake.lake.tables import ensure_tables

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = open_catalog(settings.data_dir, settings.catalog_uri)
    ensure_tables(catalog)
    q = settings.query
    limits = Limits(timeout_s=q.timeout_s, memory_limit=q.memory_limit, max_rows=q.max_rows, threads=q.threads)
    return Web(settings, metadata, Sandbox(catalog, limits))


def create_app(web: Web) -> Starlette:
    """The web stage alone (`clicklake web`), with `/healthz`."""

    async def healthz(request: Request) -> Response:
        return answer({"status": "ok"})

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET", "HEAD"]), *web.routes()])


def _may_read(principal: Principal, site_ids: Iterable[str]) -> None:
    """Raise a 403 naming the first of `site_ids` that `principal` may not read."""
    foreign = sorted(set(site_ids) - set(principal.site_ids))
    if foreign:
        raise HTTPError(403, f"you may not read site {foreign[0]!r}")
