"""Shared links: read-only access to one site's figures for whoever holds the link.

`shares` holds a link's SHA-256 (the token `shr_...` is shown once), an optional argon2id
password, whether it may be embedded in an iframe, an optional expiry and its revocation.
Opening `/share/<token>` (and giving the password, when it has one) starts a share session
(`share_sessions`, SHA-256 of the secret `shs_...`, with a CSRF token): a `Principal` with
`via="share"`, the `stats` scope and the role viewer on that one site, so it may read
figures (`POST /api/query` and the reports) and nothing else. The session ends when the
link is revoked or expires.

The session is answered in the page (for `Authorization: Bearer shs_...`, which works in
an iframe whatever the browser does with third-party cookies) and set as the cookie
`clicklake_share`: SameSite=Lax, except for an embeddable link opened over HTTPS, where
it is SameSite=None; Secure (the only way a cookie reaches a cross-site iframe, and
browsers refuse SameSite=None without Secure). A cookie request other than GET, HEAD or
OPTIONS needs the session's CSRF token, as a user's does.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import anyio.to_thread
import msgspec
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from clicklake.collect.metadata import Metadata
from clicklake.errors import InputError
from clicklake.web import access, bare, pages
from clicklake.web.accounts import Principal, User
from clicklake.web.app import Handler, HTTPError, answer, error, json_body

if TYPE_CHECKING:
    from clicklake.web.app import Web

SHARE_PREFIX: Final = "shr_"
SESSION_PREFIX: Final = "shs_"
COOKIE: Final = "clicklake_share"
SESSION_TTL_S: Final = 12 * 3600
_hasher = PasswordHasher()

tables = sa.MetaData()

shares_table = sa.Table(
    "shares",
    tables,
    sa.Column("share_id", sa.String(16), primary_key=True),
    sa.Column("site_id", sa.String(32), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("embed", sa.Boolean, nullable=False),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(320), nullable=True),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
    sa.Column("expires_ts", sa.BigInteger, nullable=True),
    sa.Column("revoked_ts", sa.BigInteger, nullable=True),
)

share_sessions_table = sa.Table(
    "share_sessions",
    tables,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("share_id", sa.String(16), sa.ForeignKey("shares.share_id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("expires_ts", sa.BigInteger, nullable=False),
)


class Share(msgspec.Struct, frozen=True, kw_only=True):
    """A shared link as listed (never its token or password)."""

    share_id: str
    site_id: str
    label: str | None
    embed: bool
    has_password: bool
    created_by: str | None
    created_ts: int
    expires_ts: int | None
    revoked_ts: int | None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _share(row: sa.Row[object]) -> Share:
    m = row._mapping
    return Share(
        share_id=m["share_id"],
        site_id=m["site_id"],
        label=m["label"],
        embed=m["embed"],
        has_password=m["password_hash"] is not None,
        created_by=m["created_by"],
        created_ts=m["created_ts"],
        expires_ts=m["expires_ts"],
        revoked_ts=m["revoked_ts"],
    )


class Shares:
    """The shared links and their sessions in the metadata database."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata
        self.engine = metadata.engine
        try:
            tables.create_all(self.engine)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            tables.create_all(self.engine)  # another process created them meanwhile

    def create(
        self,
        site_id: str,
        *,
        password: str | None = None,
        embed: bool = False,
        label: str | None = None,
        expires_days: float | None = None,
        created_by: str | None = None,
    ) -> tuple[Share, str]:
        """A new shared link of a site; return it and its token (shown this once, stored hashed)."""
        if self.metadata.site(site_id) is None:
            raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
        if password is not None and len(password) < 8:
            raise InputError("A shared link's password has at least 8 characters.")
        if expires_days is not None and not expires_days > 0:
            raise InputError(f"Expiry {expires_days!r}: a link expires a positive number of days from now.")
        now = _now_ms()
        token = SHARE_PREFIX + secrets.token_urlsafe(24)
        values = {
            "share_id": "sh_" + secrets.token_urlsafe(9),
            "site_id": site_id,
            "token_hash": _sha256(token),
            "password_hash": None if password is None else _hasher.hash(password),
            "embed": embed,
            "label": label,
            "created_by": created_by,
            "created_ts": now,
            "expires_ts": None if expires_days is None else now + int(expires_days * 86_400_000),
            "revoked_ts": None,
        }
        with self.engine.begin() as con:
            con.execute(shares_table.insert().values(**values))
            row = con.execute(shares_table.select().where(shares_table.c.share_id == values["share_id"])).one()
        return _share(row), token

    def list(self, site_id: str | None = None) -> list[Share]:
        t = shares_table
        query = t.select().order_by(t.c.created_ts)
        if site_id is not None:
            query = query.where(t.c.site_id == site_id)
        with self.engine.connect() as con:
            return [_share(r) for r in con.execute(query)]

    def revoke(self, share_id: str, site_id: str | None = None) -> None:
        """Refuse the link and end its sessions from now on."""
        t = shares_table
        where = [t.c.share_id == share_id, t.c.revoked_ts.is_(None)]
        if site_id is not None:
            where.append(t.c.site_id == site_id)
        with self.engine.begin() as con:
            done = con.execute(t.update().where(*where).values(revoked_ts=_now_ms())).rowcount
            con.execute(share_sessions_table.delete().where(share_sessions_table.c.share_id == share_id))
        if not done:
            raise InputError(f"No live shared link {share_id!r}: `clicklake shares list` shows them.")

    def by_token(self, token: str) -> tuple[Share | None, str | None]:
        """The link of a token and its password hash; (None, None) for an unknown token."""
        with self.engine.connect() as con:
            row = con.execute(shares_table.select().where(shares_table.c.token_hash == _sha256(token))).first()
        return (None, None) if row is None else (_share(row), row.password_hash)

    def start_session(self, share: Share) -> tuple[str, str, int]:
        """A session of a live link: its secret, its CSRF token and when it ends."""
        secret, csrf = SESSION_PREFIX + secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = _now_ms() + SESSION_TTL_S * 1000
        if share.expires_ts is not None:
            expires = min(expires, share.expires_ts)
        with self.engine.begin() as con:
            con.execute(share_sessions_table.delete().where(share_sessions_table.c.expires_ts < _now_ms()))
            con.execute(
                share_sessions_table.insert().values(
                    session_hash=_sha256(secret), share_id=share.share_id, csrf_token=csrf, expires_ts=expires
                )
            )
        return secret, csrf, expires

    def session_principal(self, secret: str) -> Principal | None:
        """The read-only principal of a share session, while the session and its link are live."""
        s, t = share_sessions_table, shares_table
        now = _now_ms()
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(t.c.share_id, t.c.site_id, s.c.csrf_token)
                .join(t, t.c.share_id == s.c.share_id)
                .where(
                    s.c.session_hash == _sha256(secret),
                    s.c.expires_ts > now,
                    t.c.revoked_ts.is_(None),
                    sa.or_(t.c.expires_ts.is_(None), t.c.expires_ts > now),
                )
            ).first()
        if row is None or self.metadata.site(row.site_id) is None:
            return None
        user = User(user_id=f"share:{row.share_id}", email="", is_admin=False, created_ts=0)
        return Principal(
            user=user,
            roles={row.site_id: "viewer"},
            scopes=frozenset({"stats"}),
            via="share",
            csrf_token=row.csrf_token,
            limited_to=row.site_id,
            share_id=row.share_id,
        )


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def routes(web: Web) -> list[BaseRoute]:
    """`/api/sites/{site_id}/shares` (manage) and `/share/{token}` (open)."""
    return [
        Route("/api/sites/{site_id}/shares", web.guarded(_create(web), "admin"), methods=["POST"]),
        Route(
            "/api/sites/{site_id}/shares",
            web.guarded(access.site_listing("shares", web.shares.list), "admin"),
            methods=["GET"],
        ),
        Route(
            "/api/sites/{site_id}/shares/{share_id}",
            web.guarded(access.site_revoker("share_id", web.shares.revoke), "admin"),
            methods=["DELETE"],
        ),
        Route("/share/{token}", _opener(web), methods=["GET", "POST"]),
    ]


def _create(web: Web) -> Handler:
    async def create(request: Request, principal: Principal) -> Response:
        """`POST /api/sites/{site_id}/shares` `{password?, embed?, label?, expires_days?}` → the link, once."""
        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)
        body = await json_body(request)
        unknown = set(body) - {"password", "embed", "label", "expires_days"}
        if unknown:
            raise HTTPError(400, f"unknown field {sorted(unknown)[0]!r}; send password, embed, label, expires_days")
        password, embed, label, days = (body.get(k) for k in ("password", "embed", "label", "expires_days"))
        if not (password is None or isinstance(password, str)) or not isinstance(embed, bool | None):
            raise HTTPError(400, "password is a string, embed true or false")
        if not (label is None or isinstance(label, str)) or not (days is None or isinstance(days, int | float)):
            raise HTTPError(400, "label is a string, expires_days a number")
        share, token = await anyio.to_thread.run_sync(
            lambda: web.shares.create(
                site_id,
                password=password,
                embed=bool(embed),
                label=label,
                expires_days=days,
                created_by=principal.user.email,
            )
        )
        return answer({**msgspec.structs.asdict(share), "token": token, "url": f"/share/{token}"}, 201)

    return create


def _opener(web: Web) -> Callable[[Request], Awaitable[Response]]:
    async def open_share(request: Request) -> Response:
        """`GET /share/{token}` starts a share session (a password form first when the link has one);
        `POST /share/{token}` `{password}` (a form or JSON) gives the password.

        HTML for a browser, JSON when the request accepts `application/json`:
        `{site_id, site_name, share_id, embed, session, csrf_token, expires_ts}`.
        """
        wants_json = bare.wants_json(request)
        share, password_hash = await anyio.to_thread.run_sync(web.shares.by_token, request.path_params["token"])
        if share is None:
            return bare.refusal(401, "this shared link does not exist", wants_json)
        if share.revoked_ts is not None or (share.expires_ts is not None and share.expires_ts <= _now_ms()):
            return bare.refusal(410, "this shared link was revoked or has expired", wants_json)
        site = await anyio.to_thread.run_sync(web.metadata.site, share.site_id)
        if site is None:
            return bare.refusal(410, "the site of this shared link was deleted", wants_json)
        frame = _frame_policy(share.embed, site.allowed_origins)
        if password_hash is not None:
            if request.method == "GET" and not await _has_session(web, request, share):
                return _password_page(share, wants_json, frame, "")
            if request.method == "POST":
                origin = bare.foreign_origin(request)
                if origin is not None:
                    return bare.refusal(403, f"a password from {origin} is not accepted here", wants_json)
                wait = await anyio.to_thread.run_sync(web.share_throttle.wait, share.share_id)
                if wait > 0:
                    return error(429, "too many wrong passwords; try again later", {"Retry-After": str(int(wait) + 1)})
                try:
                    given = (await json_body(request)).get("password")
                except HTTPError as exc:
                    return error(exc.status, exc.message)
                ok = isinstance(given, str) and await anyio.to_thread.run_sync(verify_password, password_hash, given)
                if not ok:
                    await anyio.to_thread.run_sync(web.share_throttle.failed, share.share_id)
                    return _password_page(share, wants_json, frame, "wrong password", 401)
        elif request.method == "POST":
            return bare.refusal(400, "this shared link has no password; open it with GET", wants_json)
        secret, csrf, expires = await anyio.to_thread.run_sync(web.shares.start_session, share)
        body = {
            "site_id": site.site_id,
            "site_name": site.name,
            "share_id": share.share_id,
            "embed": share.embed,
            "session": secret,
            "csrf_token": csrf,
            "expires_ts": expires,
        }
        if request.method == "POST" and not wants_json:
            response: Response = RedirectResponse(request.url.path, status_code=303)
        elif wants_json:
            response = answer(body, headers={**bare.PRIVATE, **frame})
        else:
            response = _page(site.name, body, frame)
        https = web.https(request)
        cross_site = share.embed and https
        response.set_cookie(
            COOKIE,
            secret,
            max_age=max(1, (expires - _now_ms()) // 1000),
            path="/",
            httponly=True,
            samesite="none" if cross_site else "lax",
            secure=https,
        )
        return response

    return open_share


async def _has_session(web: Web, request: Request, share: Share) -> bool:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return False
    principal = await anyio.to_thread.run_sync(web.shares.session_principal, cookie)
    return principal is not None and principal.share_id == share.share_id


def _frame_policy(embed: bool, origins: tuple[str, ...]) -> dict[str, str]:
    """An embeddable link's page may be framed by the site's own origins (`FrameGuard` denies the rest)."""
    if not embed:
        return {}
    return {"Content-Security-Policy": "frame-ancestors " + " ".join(("'self'", *origins))}


def _password_page(share: Share, as_json: bool, frame: dict[str, str], problem: str, status: int = 200) -> Response:
    if as_json:
        message = problem or 'this shared link needs its password: POST it as {"password": ...}'
        return answer({"error": message, "needs_password": True}, 401, frame)
    note = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
    form = (
        f"{note}<form method=post><label>Password <input type=password name=password required autofocus></label>"
        "<button>Open</button></form>"
    )
    # same-origin, not no-referrer: under no-referrer a browser posts the form with `Origin: null`,
    # which the foreign-origin check refuses; the secret is still sent to no other origin
    return bare.page("Shared dashboard", form, status, {**frame, "Referrer-Policy": "same-origin"})


def _page(site_name: str, body: dict[str, object], frame: dict[str, str]) -> Response:
    """The shared dashboard's page: the dashboard in its read-only mode (a bare page when it is not built),
    the share session for its script in a JSON block."""
    data = msgspec.json.encode(body).decode().replace("<", "\\u003c")
    block = f'<script type="application/json" id="clicklake-share">{data}</script>'
    dashboard = pages.shared_shell(f"{site_name}: shared dashboard", block + "\n", frame.get("Content-Security-Policy"))
    if dashboard is not None:
        return dashboard
    return bare.page(
        f"{site_name}: shared dashboard",
        f'<script type="application/json" id="clicklake-share">{data}</script>'
        f"<h1>{html.escape(site_name)}</h1><main id=dashboard></main>",
        headers=frame,
    )
