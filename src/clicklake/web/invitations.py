"""Invitations: an owner or admin invites an e-mail to a site with a role, by a one-time link.

`invitations` holds the SHA-256 of the token `inv_...` (the link `/invite/<token>` is shown
once), the e-mail, site and role, when it expires (7 days by default), and when it was
accepted or revoked. Opening the link lets a new user choose a password (and logs them in),
or lets the user of that e-mail, logged in, accept; either way they get the role. A link
works once.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
import msgspec
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from clicklake.errors import InputError
from clicklake.web import access, bare
from clicklake.web.accounts import ROLES, Accounts, Principal, User, _check_email
from clicklake.web.app import COOKIE, CSRF_HEADER, HTTPError, answer, json_body

if TYPE_CHECKING:
    from clicklake.web.app import Web

PREFIX: Final = "inv_"
DEFAULT_DAYS: Final = 7.0
MIN_PASSWORD: Final = 10

tables = sa.MetaData()

invitations_table = sa.Table(
    "invitations",
    tables,
    sa.Column("invitation_id", sa.String(16), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("site_id", sa.String(32), nullable=False, index=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(320), nullable=True),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
    sa.Column("expires_ts", sa.BigInteger, nullable=False),
    sa.Column("accepted_ts", sa.BigInteger, nullable=True),
    sa.Column("revoked_ts", sa.BigInteger, nullable=True),
)


class Invitation(msgspec.Struct, frozen=True, kw_only=True):
    invitation_id: str
    site_id: str
    email: str
    role: str
    created_by: str | None
    created_ts: int
    expires_ts: int
    accepted_ts: int | None
    revoked_ts: int | None

    def live(self) -> bool:
        return self.accepted_ts is None and self.revoked_ts is None and self.expires_ts > _now_ms()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _columns() -> list[sa.Column[Any]]:
    return [c for c in invitations_table.c if c.name != "token_hash"]


class Invitations:
    """The invitations in the metadata database."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.engine = accounts.engine
        try:
            tables.create_all(self.engine)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            tables.create_all(self.engine)  # another process created it meanwhile

    def create(
        self, site_id: str, email: str, role: str, *, expires_days: float = DEFAULT_DAYS, created_by: str | None = None
    ) -> tuple[Invitation, str]:
        """A new invitation; return it and its token (shown this once, stored hashed)."""
        email = _check_email(email)
        if role not in ROLES:
            raise InputError(f"Role {role!r} is not one of {', '.join(ROLES)}.")
        if self.accounts.metadata.site(site_id) is None:
            raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
        if not expires_days > 0:
            raise InputError(f"Expiry {expires_days!r}: an invitation expires a positive number of days from now.")
        now = _now_ms()
        token = PREFIX + secrets.token_urlsafe(24)
        invitation = Invitation(
            invitation_id="in_" + secrets.token_urlsafe(9),
            site_id=site_id,
            email=email,
            role=role,
            created_by=created_by,
            created_ts=now,
            expires_ts=now + int(expires_days * 86_400_000),
            accepted_ts=None,
            revoked_ts=None,
        )
        with self.engine.begin() as con:
            con.execute(
                invitations_table.insert().values(**msgspec.structs.asdict(invitation), token_hash=_sha256(token))
            )
        return invitation, token

    def list(self, site_id: str) -> list[Invitation]:
        t = invitations_table
        with self.engine.connect() as con:
            rows = con.execute(sa.select(*_columns()).where(t.c.site_id == site_id).order_by(t.c.created_ts))
            return [msgspec.convert(r, Invitation, from_attributes=True) for r in rows]

    def revoke(self, invitation_id: str, site_id: str) -> None:
        t = invitations_table
        with self.engine.begin() as con:
            done = con.execute(
                t.update()
                .where(t.c.invitation_id == invitation_id, t.c.site_id == site_id)
                .where(t.c.revoked_ts.is_(None), t.c.accepted_ts.is_(None))
                .values(revoked_ts=_now_ms())
            ).rowcount
        if not done:
            raise InputError(f"No open invitation {invitation_id!r} to site {site_id!r}.")

    def by_token(self, token: str) -> Invitation | None:
        t = invitations_table
        with self.engine.connect() as con:
            row = con.execute(sa.select(*_columns()).where(t.c.token_hash == _sha256(token))).first()
        return None if row is None else msgspec.convert(row, Invitation, from_attributes=True)

    def accept(self, invitation: Invitation, password: str | None) -> User:
        """Use the invitation once: create the user (with `password`) if there is none, give them the role."""
        t = invitations_table
        now = _now_ms()
        with self.engine.begin() as con:
            taken = con.execute(
                t.update()
                .where(t.c.invitation_id == invitation.invitation_id, t.c.accepted_ts.is_(None))
                .where(t.c.revoked_ts.is_(None), t.c.expires_ts > now)
                .values(accepted_ts=now)
            ).rowcount
        if not taken:
            raise HTTPError(410, "this invitation was used, revoked or has expired")
        try:
            if password is not None:
                user, _ = self.accounts.create_user(invitation.email, password)
            else:
                user = self.accounts.user(invitation.email)
            self.accounts.add_member(invitation.site_id, invitation.email, invitation.role)
        except BaseException:
            with self.engine.begin() as con:  # the invitation stays usable
                con.execute(t.update().where(t.c.invitation_id == invitation.invitation_id).values(accepted_ts=None))
            raise
        return user


def routes(web: Web) -> list[BaseRoute]:
    """`/api/sites/{site_id}/invitations` (manage) and `/invite/{token}` (open, accept)."""
    return [
        Route("/api/sites/{site_id}/invitations", web.guarded(_create(web), "admin"), methods=["POST"]),
        Route(
            "/api/sites/{site_id}/invitations",
            web.guarded(access.site_listing("invitations", web.invitations.list), "admin"),
            methods=["GET"],
        ),
        Route(
            "/api/sites/{site_id}/invitations/{invitation_id}",
            web.guarded(access.site_revoker("invitation_id", web.invitations.revoke), "admin"),
            methods=["DELETE"],
        ),
        Route("/invite/{token}", _opener(web), methods=["GET", "POST"]),
    ]


Handler = Callable[[Request, Principal], Awaitable[Response]]


def _create(web: Web) -> Handler:
    async def create(request: Request, principal: Principal) -> Response:
        """`POST /api/sites/{site_id}/invitations` `{email, role, expires_days?}` → the one-time link."""
        site_id = request.path_params["site_id"]
        role = access.manageable(principal, site_id)
        body = await json_body(request)
        unknown = sorted(set(body) - {"email", "role", "expires_days"})
        if unknown:
            raise HTTPError(400, f"unknown field {unknown[0]!r}; send email, role, expires_days")
        email, invited, days = body.get("email"), body.get("role"), body.get("expires_days", DEFAULT_DAYS)
        if not isinstance(email, str) or not isinstance(invited, str):
            raise HTTPError(400, 'send {"email": ..., "role": "owner|admin|viewer"}')
        if isinstance(days, bool) or not isinstance(days, int | float):
            raise HTTPError(400, "expires_days is a number of days")
        access.may_grant(role, invited)
        members = dict(await anyio.to_thread.run_sync(web.accounts.members, site_id))
        access.may_grant(role, members.get(email.strip().lower(), ""))  # nor demote an owner by an invitation
        invitation, token = await anyio.to_thread.run_sync(
            lambda: web.invitations.create(
                site_id, email, invited, expires_days=float(days), created_by=principal.user.email
            )
        )
        return answer({**msgspec.structs.asdict(invitation), "token": token, "url": f"/invite/{token}"}, 201)

    return create


def _opener(web: Web) -> Callable[[Request], Awaitable[Response]]:
    async def invite(request: Request) -> Response:
        """`GET /invite/{token}`: what the invitation is; `POST` accepts it: `{password}` for a new user
        (logs them in), or, for a user who has an account, their session with its CSRF token."""
        wants_json = bare.wants_json(request)
        try:
            return await _invite(web, request, wants_json)
        except HTTPError as exc:
            return bare.refusal(exc.status, exc.message, wants_json, exc.headers)
        except InputError as exc:
            return bare.refusal(400, str(exc), wants_json)

    return invite


async def _invite(web: Web, request: Request, wants_json: bool) -> Response:
    invitation = await anyio.to_thread.run_sync(web.invitations.by_token, request.path_params["token"])
    if invitation is None:
        raise HTTPError(401, "this invitation does not exist")
    if not invitation.live():
        raise HTTPError(410, "this invitation was used, revoked or has expired")
    site = await anyio.to_thread.run_sync(web.metadata.site, invitation.site_id)
    if site is None:
        raise HTTPError(410, "the site of this invitation was deleted")
    has_account = await anyio.to_thread.run_sync(lambda: _has_account(web.accounts, invitation.email))
    about = {
        "email": invitation.email,
        "site_id": site.site_id,
        "site_name": site.name,
        "role": invitation.role,
        "expires_ts": invitation.expires_ts,
        "has_account": has_account,
    }
    if request.method == "GET":
        return answer(about, headers=bare.PRIVATE) if wants_json else bare.page("Invitation", _page(about))
    origin = bare.foreign_origin(request)
    if origin is not None:
        raise HTTPError(403, f"an invitation accepted from {origin} is not accepted here")
    body = await json_body(request)
    if has_account:
        cookie = request.cookies.get(COOKIE)
        principal = await anyio.to_thread.run_sync(web.accounts.session_principal, cookie) if cookie else None
        if principal is None or principal.user.email != invitation.email:
            raise HTTPError(403, f"log in as {invitation.email} first, then accept the invitation")
        sent = request.headers.get(CSRF_HEADER) or body.get("csrf_token") or ""
        if not (principal.csrf_token and isinstance(sent, str) and secrets.compare_digest(sent, principal.csrf_token)):
            raise HTTPError(403, "missing or wrong CSRF token: send the session's token in X-CSRF-Token")
        await anyio.to_thread.run_sync(web.invitations.accept, invitation, None)
        done = {"email": invitation.email, "site_id": site.site_id, "role": invitation.role}
        return answer(done) if wants_json else RedirectResponse("/", status_code=303)
    password = body.get("password")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise HTTPError(400, f"choose a password of at least {MIN_PASSWORD} characters")
    user = await anyio.to_thread.run_sync(web.invitations.accept, invitation, password)

    def respond(session: dict[str, Any]) -> Response:
        if not wants_json:
            return RedirectResponse("/", status_code=303)
        return answer({**session, "site_id": site.site_id, "role": invitation.role})

    return await web.start_session(request, user, respond)


def _has_account(accounts: Accounts, email: str) -> bool:
    try:
        accounts.user(email)
    except InputError:
        return False
    return True


def _page(about: dict[str, Any]) -> str:
    email, name = html.escape(str(about["email"])), html.escape(str(about["site_name"]))
    what = f"{email} is invited as {about['role']} of {name}."
    if about["has_account"]:
        form = "<p>Log in as that user at the dashboard, then accept the invitation there.</p>"
    else:
        form = (
            f"<form method=post><label>Choose a password (at least {MIN_PASSWORD} characters) "
            f"<input type=password name=password minlength={MIN_PASSWORD} required autofocus></label>"
            "<button>Accept</button></form>"
        )
    return f"<p>{what}</p>{form}"
