"""Who may do what to a site: the role checks of the management routes.

- A server admin (`Principal.server_admin`) manages every site, and users.
- On a site, an owner manages everything, members of any role included; an admin manages
  the site, its key, links, shared links, invitations and the members who are not owners;
  a viewer reads the site's settings and figures only.
- A token manages only with the `admin` scope; a shared link's principal manages nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from clicklake.web.accounts import Principal
from clicklake.web.app import HTTPError, answer

Handler = Callable[[Request, Principal], Awaitable[Response]]

MANAGERS: Final = ("owner", "admin")


def site_role(principal: Principal, site_id: str) -> str | None:
    """The principal's role on a site (a server admin is an owner of every site), or None."""
    if principal.server_admin:
        return "owner"
    return principal.roles.get(site_id)


def readable(principal: Principal, site_id: str) -> str:
    """The principal's role on a site it may read; 404 if none (a stranger learns nothing of the site)."""
    role = site_role(principal, site_id)
    if role is None:
        raise HTTPError(404, f"no site {site_id!r} that you may see")
    return role


def manageable(principal: Principal, site_id: str) -> str:
    """The principal's role on a site it may manage (owner or admin, and the `admin` scope); else 403/404."""
    role = readable(principal, site_id)
    if role not in MANAGERS or "admin" not in principal.scopes or principal.via == "share":
        raise HTTPError(403, f"managing site {site_id!r} needs the owner or admin role (you are {role})")
    return role


def may_grant(role: str, granted: str) -> None:
    """Only an owner gives, changes or takes away the owner role."""
    if granted == "owner" and role != "owner":
        raise HTTPError(403, "only an owner of the site gives, changes or takes away the owner role")


def server_admin(principal: Principal) -> None:
    if not principal.server_admin:
        raise HTTPError(403, "this needs a server admin (`clicklake users create EMAIL --admin`)")


def a_user(principal: Principal) -> None:
    """Refuse a shared link's principal: it is no one's account."""
    if principal.via == "share":
        raise HTTPError(403, "a shared link reads figures only")


def site_listing(key: str, rows: Callable[[str], object]) -> Handler:
    """`GET /api/sites/{site_id}/<key>` for a manager of the site: `{key: rows(site_id)}`."""

    async def listing(request: Request, principal: Principal) -> Response:
        site_id = request.path_params["site_id"]
        manageable(principal, site_id)
        return answer({key: await anyio.to_thread.run_sync(rows, site_id)})

    return listing


def site_revoker(param: str, revoke: Callable[[str, str], object]) -> Handler:
    """`DELETE /api/sites/{site_id}/.../{<param>}` for a manager of the site: `revoke(that id, site_id)`."""

    async def revoker(request: Request, principal: Principal) -> Response:
        site_id, item = request.path_params["site_id"], request.path_params[param]
        manageable(principal, site_id)
        await anyio.to_thread.run_sync(revoke, item, site_id)
        return answer({"revoked": item})

    return revoker
