"""The web stage's routes: login and logout, who am I, and the JSON API over the sandboxed lake.

A request is a `Principal` by its session cookie or its `Authorization: Bearer` token.
A session's state-changing request (any method but GET, HEAD, OPTIONS) must carry the
session's CSRF token in `X-CSRF-Token`; a bearer token is not ambient, so needs none.
Every refusal is a 4xx with `{"error": reason}`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final
from urllib.parse import parse_qs

import anyio.to_thread
import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from clicklake.errors import ClicklakeError
from clicklake.query import experiments, funnels, periods, stats
from clicklake.query.engine import format_result
from clicklake.query.sandbox import Result, Sandbox, SandboxError
from clicklake.web import alerts, first_event, live, pages
from clicklake.web.accounts import SESSION_TTL_S, Accounts, Principal, User
from clicklake.web.frames import FrameGuard
from clicklake.web.openapi import openapi_document
from clicklake.web.throttle import LoginThrottle, create_tables

COOKIE: Final = "clicklake_session"
SHARE_COOKIE: Final = "clicklake_share"  # `clicklake.web.shares.COOKIE`
SHARE_SESSION_PREFIX: Final = "shs_"  # `clicklake.web.shares.SESSION_PREFIX`
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


def report_answer(request: Request, rows: list[dict[str, Any]], meta: dict[str, Any]) -> Response:
    """A report's rows: `{results, meta}`, or CSV with `?format=csv` (nested values as JSON text)."""
    if request.query_params.get("format") != "csv":
        return answer({"results": rows, "meta": meta})
    out = io.StringIO()
    columns = list(dict.fromkeys(k for row in rows for k in row)) or list(meta.get("columns", []))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(_csv_cell(row.get(c)) for c in columns)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={"Cache-Control": "no-store"})


def _csv_cell(value: object) -> object:
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    return "" if value is None else value


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
        create_tables(metadata.engine)
        # failures are counted in the metadata database, so every worker and server sees them
        self.throttle = LoginThrottle(metadata.engine, "email")  # guessing one account's password
        self.ip_throttle = LoginThrottle(metadata.engine, "peer", max_failures=50)  # trying many accounts
        self.share_throttle = LoginThrottle(metadata.engine, "share")  # guessing a shared link's password
        self.proxies = settings.collect.proxy_networks()
        from clicklake.web.invitations import Invitations
        from clicklake.web.shares import Shares

        self.shares = Shares(metadata)
        self.invitations = Invitations(self.accounts)
        #: Where `/api/live` reads its figures (`clicklake up` sets the realtime stage of its process).
        self.live: live.LiveSource | None = live.Remote(settings.realtime.url) if settings.realtime.url else None
        self.closing = asyncio.Event()  # set on shutdown: open event streams end

    # -- who asks -----------------------------------------------------------------

    def https(self, request: Request) -> bool:
        """Whether the request came over HTTPS (or a trusted proxy says it did)."""
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
            secret = secret.strip()
            if secret.startswith(SHARE_SESSION_PREFIX):
                found = await anyio.to_thread.run_sync(self.shares.session_principal, secret)
            else:
                found = await anyio.to_thread.run_sync(self.accounts.token_principal, secret)
            if found is None:
                raise HTTPError(401, "unknown, revoked or expired token")
            return found
        cookie, share_cookie = request.cookies.get(COOKIE), request.cookies.get(SHARE_COOKIE)
        if not cookie and not share_cookie:
            raise HTTPError(401, "log in first (POST /login), or send an API token")
        found = None
        if cookie:  # a user's own session goes before a shared link's
            found = await anyio.to_thread.run_sync(self.accounts.session_principal, cookie)
        if found is None and share_cookie:
            found = await anyio.to_thread.run_sync(self.shares.session_principal, share_cookie)
        if found is None:
            raise HTTPError(401, "the session has ended; log in again")
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not (found.csrf_token and secrets.compare_digest(sent, found.csrf_token)):
                raise HTTPError(403, "missing or wrong CSRF token: send the session's token in X-CSRF-Token")
        return found

    def guarded(
        self, handler: Handler, scope: str | None = None, *, share: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """The route's endpoint: `handler` for a principal with `scope`. A shared link's principal
        reaches only routes of scope `stats` (figures) and those that admit it with `share=True`."""

        async def endpoint(request: Request) -> Response:
            try:
                principal = await self.principal(request)
                if principal.via == "share" and not (share or scope == "stats"):
                    raise HTTPError(403, "a shared link reads figures only")
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
        wait = await anyio.to_thread.run_sync(lambda: max(self.throttle.wait(account), self.ip_throttle.wait(peer)))
        if wait > 0:
            return error(429, "too many failed logins; try again later", {"Retry-After": str(int(wait) + 1)})
        user = await anyio.to_thread.run_sync(self.accounts.authenticate, email, password)
        if user is None:
            await anyio.to_thread.run_sync(self.throttle.failed, account)
            await anyio.to_thread.run_sync(self.ip_throttle.failed, peer)
            return error(401, "wrong e-mail or password")
        await anyio.to_thread.run_sync(self.throttle.succeeded, account)
        return await self.start_session(request, user, answer)

    async def start_session(
        self, request: Request, user: User, respond: Callable[[dict[str, Any]], Response]
    ) -> Response:
        """Log `user` in: `respond({email, is_admin, csrf_token})` with the session cookie set."""
        secret, csrf = await anyio.to_thread.run_sync(self.accounts.start_session, user)
        response = respond({"email": user.email, "is_admin": user.is_admin, "csrf_token": csrf})
        response.set_cookie(
            COOKIE,
            secret,
            max_age=SESSION_TTL_S,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.https(request),
        )
        return response

    async def logout(self, request: Request, principal: Principal) -> Response:
        """`POST /logout`: ends this session (needs its CSRF token)."""
        cookie = request.cookies.get(COOKIE)
        if principal.via != "session" or cookie is None:
            return error(400, "only a browser session logs out; revoke a token with `clicklake tokens revoke`")
        await anyio.to_thread.run_sync(self.accounts.end_session, cookie)
        response = answer({"logged_out": True})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.https(request))
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
        zones = await anyio.to_thread.run_sync(self._timezones, q.site_ids)
        tz, tz_note = periods.common_timezone(zones)
        date_range = periods.resolve(q.date_range, tz)
        sql = stats.build_sql(q, date_range, tz=tz)
        csv = request.query_params.get("format") == "csv"
        statements = {"results": sql}
        if not csv:
            statements["data_until"] = stats.data_until_sql(q, date_range, tz)
        if q.compare is not None and not csv:
            before = periods.compared(date_range, q.compare)
            statements["comparison"] = stats.build_sql(q, before, tz=tz)
        ran = await self._run_together(q.site_ids, statements)
        result = ran["results"]
        if csv:
            return Response(format_result(result.table, "csv"), media_type="text/csv; charset=utf-8")
        until = msgspec.json.decode(format_result(ran["data_until"].table, "json"))
        meta: dict[str, Any] = {
            "columns": result.table.column_names,
            "sql": sql,
            "freshness": {**ran["data_until"].freshness, **result.freshness},
            "data_until": until[0]["data_until"] if until else None,
            "data_until_sql": statements["data_until"],
            "date_range": [str(d) for d in date_range],
            "timezone": tz,
        }
        if tz_note is not None:
            meta["timezone_note"] = tz_note
        out: dict[str, Any] = {"results": msgspec.json.decode(format_result(result.table, "json")), "meta": meta}
        if q.compare is not None:
            out["comparison"] = {
                "compare": q.compare,
                "date_range": [str(d) for d in periods.compared(date_range, q.compare)],
                "results": msgspec.json.decode(format_result(ran["comparison"].table, "json")),
                "sql": statements["comparison"],
            }
        return answer(out)

    def _timezones(self, site_ids: Iterable[str]) -> dict[str, str]:
        """Each site's time zone (UTC for a site that is gone)."""
        zones = {}
        for site_id in set(site_ids):
            site = self.metadata.site(site_id)
            zones[site_id] = site.timezone if site is not None else periods.UTC_NAME
        return zones

    async def _run_together(self, site_ids: list[str], statements: dict[str, str]) -> dict[str, Result]:
        """Run the statements in the sandbox at the same time; raise the first one's error, if any fails."""
        results: dict[str, Result] = {}
        errors: dict[str, Exception] = {}

        async def run(name: str, sql: str) -> None:
            try:
                results[name] = await anyio.to_thread.run_sync(self.sandbox.run, site_ids, sql)
            except Exception as exc:  # raised below, in the statements' order
                errors[name] = exc

        async with anyio.create_task_group() as group:
            for name, sql in statements.items():
                group.start_soon(run, name, sql)
        for name in statements:
            if name in errors:
                raise errors[name]
        return results

    async def funnel(self, request: Request, principal: Principal) -> Response:
        """`POST /api/funnel`: visitors at each step of a funnel (see `clicklake.query.funnels`)."""
        q = funnels.parse(await read_body(request))
        _may_read(principal, q.site_ids)
        rows, meta = await self._report(q, funnels.build_sql)
        steps = funnels.steps_of(q)
        for row in rows:  # one per step, or per group and step with a breakdown
            row["step_definition"] = steps[row["step"] - 1]
        if q.breakdown is not None:
            meta["breakdown"] = q.breakdown
        return report_answer(request, rows, meta)

    async def experiment(self, request: Request, principal: Principal) -> Response:
        """`POST /api/experiment`: conversion per A/B variant with a 95 % interval (`clicklake.query.experiments`)."""
        q = experiments.parse(await read_body(request))
        _may_read(principal, q.site_ids)
        rows, meta = await self._report(q, experiments.build_sql)
        return report_answer(request, rows, meta)

    async def _report(
        self, query: Any, build_sql: Callable[[Any, str], str]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Run a report's SQL in the sandbox, built for the sites' time zone as the Stats API picks it and
        for `query.date_range` in it (a shorthand resolved now): its rows, and the SQL with its freshness,
        the days (`date_range`) and the zone (`timezone`, and `timezone_note`)."""
        site_ids: list[str] = query.site_ids
        zones = await anyio.to_thread.run_sync(self._timezones, site_ids)
        tz, tz_note = periods.common_timezone(zones)
        date_range = periods.resolve(query.date_range, tz)
        sql = build_sql(msgspec.structs.replace(query, date_range=date_range), tz)
        result = await anyio.to_thread.run_sync(self.sandbox.run, site_ids, sql)
        rows: list[dict[str, Any]] = msgspec.json.decode(format_result(result.table, "json"))
        meta: dict[str, Any] = {
            "columns": result.table.column_names,
            "sql": sql,
            "freshness": result.freshness,
            "date_range": [str(d) for d in date_range],
            "timezone": tz,
        }
        if tz_note is not None:
            meta["timezone_note"] = tz_note
        return rows, meta

    async def openapi(self, request: Request) -> Response:
        """`GET /api/openapi.json`: the API's OpenAPI 3.1 document."""
        return answer(openapi_document())

    def routes(self) -> list[BaseRoute]:
        from clicklake.web import admin, invitations, oidc, privacy, shares
        from clicklake.web.recommend import recommend_routes  # it imports this module
        from clicklake.web.reports import report_routes  # it imports this module

        return [
            *report_routes(self),
            *recommend_routes(self),
            Route("/api/openapi.json", self.openapi, methods=["GET"]),
            Route("/api/query", self.guarded(self.query, "stats"), methods=["POST"]),
            Route("/api/funnel", self.guarded(self.funnel, "stats"), methods=["POST"]),
            Route("/api/experiment", self.guarded(self.experiment, "stats"), methods=["POST"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.guarded(self.logout), methods=["POST"]),
            Route("/api/me", self.guarded(self.me, share=True), methods=["GET"]),
            Route("/api/sql", self.guarded(self.sql, "sql"), methods=["POST"]),
            *admin.routes(self),
            *privacy.routes(self),
            *shares.routes(self),
            *invitations.routes(self),
            *oidc.routes(self),
            *live.routes(self),
            *alerts.routes(self),
            *first_event.routes(self),
            *pages.routes(),
        ]


def create_app(web: Web) -> Starlette:
    """The web stage alone (`clicklake web`), with `/healthz`."""

    async def healthz(request: Request) -> Response:
        return answer({"status": "ok"})

    routes = [Route("/healthz", healthz, methods=["GET", "HEAD"]), *web.routes()]
    return Starlette(routes=routes, middleware=[Middleware(FrameGuard)])


def _may_read(principal: Principal, site_ids: Iterable[str]) -> None:
    """Raise a 403 naming the first of `site_ids` that `principal` may not read."""
    foreign = sorted(set(site_ids) - set(principal.site_ids))
    if foreign:
        raise HTTPError(403, f"you may not read site {foreign[0]!r}")
