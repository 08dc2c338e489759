"""The API of erasure, access requests, retention and storage per site, for the dashboard's Settings.

- `POST /api/sites/{site_id}/erasures` `{"user_id_hash": ...}` or `{"email": ...}`: erase one
  person (`clicklake.transform.erasure.erase_person`); answers the receipt (201). It runs
  while the request waits, seconds to minutes on a large lake.
- `GET /api/sites/{site_id}/erasures`: the receipts, newest first.
- `GET /api/sites/{site_id}/users/{user_id_hash}/export`: everything held about one person
  (`?email=ADDR` instead names them by e-mail, with `-` as the path's user).
- `GET|PATCH /api/sites/{site_id}/retention`: days kept per layer (`bronze_days`,
  `quarantine_days`, `silver_days`; 0 for ever, null back to the setting).
- `GET /api/sites/{site_id}/usage`: storage of the site (`clicklake.lake.usage`).

Erasure, export and retention need a manager of the site with the `admin` scope (a CSRF
token for a session's POST and PATCH); usage, any member's `stats` scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.errors import InputError
from clicklake.web import access
from clicklake.web.accounts import Principal
from clicklake.web.app import HTTPError, answer, json_body

if TYPE_CHECKING:
    from clicklake.web.app import Web


def routes(web: Web) -> list[BaseRoute]:
    p = Privacy(web)
    g = web.guarded
    return [
        Route("/api/sites/{site_id}/erasures", g(p.erase, "admin"), methods=["POST"]),
        Route("/api/sites/{site_id}/erasures", g(p.erasures, "admin"), methods=["GET"]),
        Route("/api/sites/{site_id}/users/{user}/export", g(p.export, "admin"), methods=["GET"]),
        Route("/api/sites/{site_id}/retention", g(p.retention, "admin"), methods=["GET"]),
        Route("/api/sites/{site_id}/retention", g(p.set_retention, "admin"), methods=["PATCH"]),
        Route("/api/sites/{site_id}/usage", g(p.usage, "stats"), methods=["GET"]),
    ]


def _subject(user: str | None, email: str | None) -> str:
    from clicklake.lake.erase import email_hash

    if email:
        return email_hash(email)
    if not user or user == "-":
        raise HTTPError(400, "name the person: send user_id_hash, or email")
    return user


class Privacy:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def erase(self, request: Request, principal: Principal) -> Response:
        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)
        body = await json_body(request)
        unknown = sorted(set(body) - {"user_id_hash", "email"})
        if unknown:
            raise HTTPError(400, f"unknown field {unknown[0]!r}; send user_id_hash or email")
        subject = _subject(body.get("user_id_hash"), body.get("email"))
        from clicklake.transform.erasure import erase_person

        def run() -> Any:
            return erase_person(self.web.settings, site_id, subject, requested_by=principal.user.email)

        try:
            receipt = await anyio.to_thread.run_sync(run)
        except InputError as exc:
            raise HTTPError(404, str(exc)) from None
        return answer(receipt, 201)

    async def erasures(self, request: Request, principal: Principal) -> Response:
        from clicklake.collect.policy import receipts

        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)
        found = await anyio.to_thread.run_sync(receipts, self.web.metadata, site_id)
        return answer({"erasures": found})

    async def export(self, request: Request, principal: Principal) -> Response:
        from clicklake.transform.erasure import export_person

        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)
        subject = _subject(request.path_params["user"], request.query_params.get("email"))
        document = await anyio.to_thread.run_sync(export_person, self.web.settings, site_id, subject)
        return answer(document)

    async def retention(self, request: Request, principal: Principal) -> Response:
        from clicklake.collect.policy import retention_of

        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)
        found = await anyio.to_thread.run_sync(retention_of, self.web.metadata, self.web.settings.lake, site_id)
        return answer(found)

    async def set_retention(self, request: Request, principal: Principal) -> Response:
        from clicklake.collect.policy import KINDS, set_retention

        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)
        body = await json_body(request)
        allowed = {f"{k}_days": k for k in KINDS}
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            raise HTTPError(400, f"unknown field {unknown[0]!r}; the fields are {', '.join(allowed)}")
        days: dict[str, int | None] = {}
        for name, kind in allowed.items():
            if name in body:
                value = body[name]
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise HTTPError(400, f"field {name!r}: a whole number of days, 0 for ever, or null")
                days[kind] = value
        try:
            found = await anyio.to_thread.run_sync(
                set_retention, self.web.metadata, self.web.settings.lake, site_id, days
            )
        except InputError as exc:
            raise HTTPError(400, str(exc)) from None
        return answer(found)

    async def usage(self, request: Request, principal: Principal) -> Response:
        from clicklake.lake.catalog import catalog_from_settings
        from clicklake.lake.usage import usage

        site_id = request.path_params["site_id"]
        access.readable(principal, site_id)
        settings = self.web.settings

        def measure() -> Any:
            return usage(catalog_from_settings(settings), [site_id])[0]

        return answer(await anyio.to_thread.run_sync(measure))
