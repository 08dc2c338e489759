"""The management API of the dashboard's Settings page: sites, their keys, members and links;
the caller's API tokens; users (server admins). Who may do what: `clicklake.web.access`.

Every route needs the `admin` scope (a session has it; a token only if made with
`--scope admin`), and a session's state change needs its CSRF token. Bodies are JSON
objects; answers are JSON, refusals `{"error": ...}` with a 4xx.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import msgspec
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.collect import metadata as md
from clicklake.web import access
from clicklake.web.accounts import ROLES, SCOPES, Principal
from clicklake.web.app import HTTPError, answer, json_body

if TYPE_CHECKING:
    from clicklake.web.app import Web


def routes(web: Web) -> list[BaseRoute]:
    a = Admin(web)
    g = web.guarded
    return [
        Route("/api/sites", g(a.list_sites, "admin"), methods=["GET"]),
        Route("/api/sites", g(a.create_site, "admin"), methods=["POST"]),
        Route("/api/sites/{site_id}", g(a.get_site, "admin"), methods=["GET"]),
        Route("/api/sites/{site_id}", g(a.update_site, "admin"), methods=["PATCH"]),
        Route("/api/sites/{site_id}", g(a.delete_site, "admin"), methods=["DELETE"]),
        Route("/api/sites/{site_id}/rotate-key", g(a.rotate_key, "admin"), methods=["POST"]),
        Route("/api/sites/{site_id}/members", g(a.list_members, "admin"), methods=["GET"]),
        Route("/api/sites/{site_id}/members", g(a.set_member, "admin"), methods=["POST"]),
        Route("/api/sites/{site_id}/members/{email}", g(a.remove_member, "admin"), methods=["DELETE"]),
        Route("/api/sites/{site_id}/links", g(a.list_links, "admin"), methods=["GET"]),
        Route("/api/sites/{site_id}/links", g(a.create_link, "admin"), methods=["POST"]),
        Route("/api/tokens", g(a.list_tokens, "admin"), methods=["GET"]),
        Route("/api/tokens", g(a.create_token, "admin"), methods=["POST"]),
        Route("/api/tokens/{token_id}", g(a.revoke_token, "admin"), methods=["DELETE"]),
        Route("/api/users", g(a.list_users, "admin"), methods=["GET"]),
        Route("/api/users", g(a.create_user, "admin"), methods=["POST"]),
        Route("/api/users/{email}", g(a.delete_user, "admin"), methods=["DELETE"]),
    ]


def _fields(body: dict[str, Any], allowed: Sequence[str], required: Sequence[str] = ()) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise HTTPError(400, f"unknown field {unknown[0]!r}; the fields are {', '.join(allowed)}")
    missing = [f for f in required if body.get(f) is None]
    if missing:
        raise HTTPError(400, f"send the field {missing[0]!r}")


def _typed(body: dict[str, Any], name: str, tp: Any) -> Any:
    try:
        return msgspec.convert(body.get(name), tp)
    except msgspec.ValidationError as exc:
        raise HTTPError(400, f"field {name!r}: {exc}") from None


def _site_fields() -> dict[str, Any]:
    """The fields `Metadata.update_site` changes, with their types (less its "keep" marker)."""
    hints = typing.get_type_hints(md.Metadata.update_site)
    out: dict[str, Any] = {}
    for name, param in inspect.signature(md.Metadata.update_site).parameters.items():
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            args = [a for a in typing.get_args(hints[name]) if a is not md._Keep] or [hints[name]]
            out[name] = typing.Union[tuple(args)]  # noqa: UP007 (built at run time)
    return out


class Admin:
    def __init__(self, web: Web) -> None:
        self.web = web
        self.metadata = web.metadata
        self.accounts = web.accounts

    def _site_view(self, site: md.Site, role: str) -> dict[str, Any]:
        view = {**msgspec.structs.asdict(site), "role": role}
        if role not in access.MANAGERS:
            del view["write_key"]  # a viewer reads the settings, not the key
        return view

    async def _site(self, site_id: str) -> md.Site:
        site = await anyio.to_thread.run_sync(self.metadata.site, site_id)
        if site is None:
            raise HTTPError(404, f"no site {site_id!r}")
        return site

    # -- sites ----------------------------------------------------------------

    async def list_sites(self, request: Request, principal: Principal) -> Response:
        """`GET /api/sites`: the sites the caller may see, with their role (the write key for managers)."""
        sites = await anyio.to_thread.run_sync(self.metadata.sites)
        out = []
        for site in sites:
            role = access.site_role(principal, site.site_id)
            if role is not None:
                out.append(self._site_view(site, role))
        return answer({"sites": out})

    async def create_site(self, request: Request, principal: Principal) -> Response:
        """`POST /api/sites` `{name, domain, allowed_origins?, honor_dnt?, honor_gpc?, rate_per_s?}` (server admin)."""
        access.server_admin(principal)
        body = await json_body(request)
        names = ("name", "domain", "allowed_origins", "honor_dnt", "honor_gpc", "rate_per_s")
        _fields(body, names, ("name", "domain"))
        kwargs = {
            "name": _typed(body, "name", str),
            "domain": _typed(body, "domain", str),
            "allowed_origins": _typed(body, "allowed_origins", list[str] | None),
            "honor_dnt": _typed(body, "honor_dnt", bool | None) is not False,
            "honor_gpc": _typed(body, "honor_gpc", bool | None) is not False,
            "rate_per_s": _typed(body, "rate_per_s", float | None),
        }
        site = await anyio.to_thread.run_sync(lambda: self.metadata.create_site(**kwargs))
        return answer(self._site_view(site, "owner"), 201)

    async def get_site(self, request: Request, principal: Principal) -> Response:
        """`GET /api/sites/{site_id}`: its settings and the caller's role."""
        site_id = request.path_params["site_id"]
        role = access.readable(principal, site_id)
        return answer(self._site_view(await self._site(site_id), role))

    async def update_site(self, request: Request, principal: Principal) -> Response:
        """`PATCH /api/sites/{site_id}` with any fields `Metadata.update_site` changes (owner, admin)."""
        site_id = request.path_params["site_id"]
        role = access.manageable(principal, site_id)
        body = await json_body(request)
        fields = _site_fields()
        _fields(body, list(fields))
        kwargs = {name: _typed(body, name, fields[name]) for name in body}
        site = await anyio.to_thread.run_sync(lambda: self.metadata.update_site(site_id, **kwargs))
        return answer(self._site_view(site, role))

    async def delete_site(self, request: Request, principal: Principal) -> Response:
        """`DELETE /api/sites/{site_id}` (owner or server admin): the key stops; its events stay in the lake."""
        site_id = request.path_params["site_id"]
        if access.manageable(principal, site_id) != "owner":
            raise HTTPError(403, "only an owner of the site (or a server admin) deletes it")
        _, links = await anyio.to_thread.run_sync(self.metadata.delete_site, site_id)
        await anyio.to_thread.run_sync(self._forget_site, site_id)
        return answer({"deleted": site_id, "links_deleted": links})

    def _forget_site(self, site_id: str) -> None:
        """A deleted site's members, shared links (and their sessions) and invitations go with it."""
        from clicklake.web.accounts import members_table
        from clicklake.web.invitations import invitations_table
        from clicklake.web.shares import share_sessions_table, shares_table

        with self.metadata.engine.begin() as con:
            con.execute(members_table.delete().where(members_table.c.site_id == site_id))
            gone = sa.select(shares_table.c.share_id).where(shares_table.c.site_id == site_id)
            con.execute(share_sessions_table.delete().where(share_sessions_table.c.share_id.in_(gone)))
            con.execute(shares_table.delete().where(shares_table.c.site_id == site_id))
            con.execute(invitations_table.delete().where(invitations_table.c.site_id == site_id))

    async def rotate_key(self, request: Request, principal: Principal) -> Response:
        """`POST /api/sites/{site_id}/rotate-key`: a new write key; the old one is refused from now on."""
        site_id = request.path_params["site_id"]
        role = access.manageable(principal, site_id)
        site = await anyio.to_thread.run_sync(self.metadata.rotate_write_key, site_id)
        return answer(self._site_view(site, role))

    # -- members --------------------------------------------------------------

    async def list_members(self, request: Request, principal: Principal) -> Response:
        """`GET /api/sites/{site_id}/members`: `{members: [{email, role}]}`."""
        site_id = request.path_params["site_id"]
        access.readable(principal, site_id)
        members = await anyio.to_thread.run_sync(self.accounts.members, site_id)
        return answer({"members": [{"email": e, "role": r} for e, r in members]})

    async def set_member(self, request: Request, principal: Principal) -> Response:
        """`POST /api/sites/{site_id}/members` `{email, role}`: give an existing user a role (or change it)."""
        site_id = request.path_params["site_id"]
        role = access.manageable(principal, site_id)
        body = await json_body(request)
        _fields(body, ("email", "role"), ("email", "role"))
        email, new = _typed(body, "email", str), _typed(body, "role", str)
        if new not in ROLES:
            raise HTTPError(400, f"role {new!r} is not one of {', '.join(ROLES)}")
        access.may_grant(role, new)
        access.may_grant(role, await self._role_of(site_id, email))
        await anyio.to_thread.run_sync(self.accounts.add_member, site_id, email, new)
        return answer({"email": email.strip().lower(), "role": new})

    async def remove_member(self, request: Request, principal: Principal) -> Response:
        """`DELETE /api/sites/{site_id}/members/{email}`."""
        site_id, email = request.path_params["site_id"], request.path_params["email"]
        role = access.manageable(principal, site_id)
        access.may_grant(role, await self._role_of(site_id, email))
        await anyio.to_thread.run_sync(self.accounts.remove_member, site_id, email)
        return answer({"removed": email})

    async def _role_of(self, site_id: str, email: str) -> str:
        members = dict(await anyio.to_thread.run_sync(self.accounts.members, site_id))
        return members.get(email.strip().lower(), "")

    # -- links ----------------------------------------------------------------

    async def list_links(self, request: Request, principal: Principal) -> Response:
        """`GET /api/sites/{site_id}/links`: the site's tracked links and QR codes."""
        site_id = request.path_params["site_id"]
        access.readable(principal, site_id)
        t = md.links_table

        def links() -> list[md.Link]:
            with self.metadata.engine.connect() as con:
                rows = con.execute(t.select().where(t.c.site_id == site_id).order_by(t.c.created_ts))
                return [msgspec.convert(r, md.Link, from_attributes=True) for r in rows]

        return answer({"links": [_link_view(link) for link in await anyio.to_thread.run_sync(links)]})

    async def create_link(self, request: Request, principal: Principal) -> Response:
        """`POST /api/sites/{site_id}/links` `{target, kind?: affiliate|qr, payout_cents?}`."""
        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)
        body = await json_body(request)
        _fields(body, ("target", "kind", "payout_cents"), ("target",))
        target, kind = _typed(body, "target", str), _typed(body, "kind", str | None) or "affiliate"
        cents = _typed(body, "payout_cents", int | None)
        link = await anyio.to_thread.run_sync(self.metadata.create_link, site_id, target, kind, cents)
        return answer(_link_view(link), 201)

    # -- tokens ---------------------------------------------------------------

    async def list_tokens(self, request: Request, principal: Principal) -> Response:
        """`GET /api/tokens`: the caller's own tokens (never their secrets)."""
        access.a_user(principal)
        return answer({"tokens": await anyio.to_thread.run_sync(self.accounts.tokens, principal.user.email)})

    async def create_token(self, request: Request, principal: Principal) -> Response:
        """`POST /api/tokens` `{scope, site_id?, expires_days?}`: a token of the caller; its secret is in this
        answer only."""
        access.a_user(principal)
        body = await json_body(request)
        _fields(body, ("scope", "site_id", "expires_days"), ("scope",))
        scope, site_id = _typed(body, "scope", str), _typed(body, "site_id", str | None)
        days = _typed(body, "expires_days", float | None)
        if scope not in SCOPES:
            raise HTTPError(400, f"scope {scope!r} is not one of {', '.join(SCOPES)}")
        if principal.limited_to is not None and site_id != principal.limited_to:
            raise HTTPError(403, f"a token for site {principal.limited_to!r} makes tokens for that site only")
        token, secret = await anyio.to_thread.run_sync(
            lambda: self.accounts.create_token(principal.user.email, scope, site_id=site_id, expires_days=days)
        )
        return answer({**msgspec.structs.asdict(token), "token": secret}, 201)

    async def revoke_token(self, request: Request, principal: Principal) -> Response:
        """`DELETE /api/tokens/{token_id}`: one of the caller's own tokens."""
        access.a_user(principal)
        token_id = request.path_params["token_id"]
        mine = await anyio.to_thread.run_sync(self.accounts.tokens, principal.user.email)
        if token_id not in {t.token_id for t in mine}:
            raise HTTPError(404, f"you have no token {token_id!r}")
        await anyio.to_thread.run_sync(self.accounts.revoke_token, token_id)
        return answer({"revoked": token_id})

    # -- users ----------------------------------------------------------------

    async def list_users(self, request: Request, principal: Principal) -> Response:
        """`GET /api/users` (server admin): every user with their sites and roles."""
        access.server_admin(principal)

        def users() -> list[dict[str, Any]]:
            return [
                {**msgspec.structs.asdict(u), "sites": self.accounts.roles(u) if not u.is_admin else {}}
                for u in self.accounts.users()
            ]

        return answer({"users": await anyio.to_thread.run_sync(users)})

    async def create_user(self, request: Request, principal: Principal) -> Response:
        """`POST /api/users` `{email, is_admin?, password?}` (server admin): the password is in this answer only."""
        access.server_admin(principal)
        body = await json_body(request)
        _fields(body, ("email", "is_admin", "password"), ("email",))
        email, admin = _typed(body, "email", str), bool(_typed(body, "is_admin", bool | None))
        password = _typed(body, "password", str | None)
        user, password = await anyio.to_thread.run_sync(lambda: self.accounts.create_user(email, password, admin=admin))
        return answer({**msgspec.structs.asdict(user), "password": password}, 201)

    async def delete_user(self, request: Request, principal: Principal) -> Response:
        """`DELETE /api/users/{email}` (server admin; not oneself)."""
        access.server_admin(principal)
        email = request.path_params["email"]
        if email.strip().lower() == principal.user.email:
            raise HTTPError(400, "you cannot delete yourself; another server admin can")
        await anyio.to_thread.run_sync(self.accounts.delete_user, email)
        return answer({"deleted": email})


def _link_view(link: md.Link) -> dict[str, Any]:
    return {**msgspec.structs.asdict(link), "path": link.path, "qr_path": link.qr_path}
