"""The alert rules and e-mail reports over the JSON API, for the Settings page (scope `admin`).

- `GET /api/alerts`: the rules the caller manages, each with where it fires now, and the
  kinds and channels there are.
- `POST /api/alerts` `{kind, channel, target, site_id?, threshold?, minutes?}`: a new rule.
- `DELETE /api/alerts/{rule_id}`.
- `GET /api/email-reports`, `POST /api/email-reports` `{site_id, period, email}`,
  `DELETE /api/email-reports/{report_id}`.

Who manages what: a server admin every rule and report; anyone else the rules and
reports of the sites where they are `owner` or `admin` (a global rule needs a server
admin). Anything else is a 403 that names the site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.alerts.email_reports import EmailReports
from clicklake.alerts.rules import CHANNELS, KIND_HELP, KINDS, Rules
from clicklake.errors import InputError
from clicklake.web.accounts import Principal

if TYPE_CHECKING:
    from clicklake.web.app import Web

_MANAGERS = frozenset({"owner", "admin"})


def _may_manage(principal: Principal, site_id: str | None) -> bool:
    if principal.user.is_admin:
        return True
    return site_id is not None and principal.roles.get(site_id) in _MANAGERS


def _check(principal: Principal, site_id: str | None) -> None:
    from clicklake.web.app import HTTPError

    if not _may_manage(principal, site_id):
        if site_id is None:
            raise HTTPError(403, "a rule for every site needs a server admin; name a site_id you manage")
        raise HTTPError(403, f"you may not manage the alerts of site {site_id!r} (it needs the owner or admin role)")


def _optional_number(body: dict[str, Any], key: str) -> float | None:
    from clicklake.web.app import HTTPError

    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HTTPError(400, f"{key} must be a number, not {value!r}")
    return float(value)


def _text(body: dict[str, Any], key: str, required: bool = True) -> str | None:
    from clicklake.web.app import HTTPError

    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise HTTPError(400, f"send {key} as a string")
    return value


def routes(web: Web) -> list[BaseRoute]:
    """The routes of the alert rules and e-mail reports, guarded by `web`'s access rules (scope admin)."""
    from clicklake.web.app import HTTPError, answer, json_body

    rules = Rules(web.metadata)
    reports = EmailReports(web.metadata)

    async def list_rules(request: Request, principal: Principal) -> Response:
        def read() -> list[dict[str, Any]]:
            out = []
            for rule in rules.list():
                if not _may_manage(principal, rule.site_id):
                    continue
                firing = sorted(s for s, st in rules.states(rule.rule_id).items() if st.firing)
                out.append({**msgspec.structs.asdict(rule), "description": rule.describe(), "firing": firing})
            return out

        kinds = [{"kind": k, "description": KIND_HELP[k][0].replace("%%", "%")} for k in KINDS]
        return answer({"rules": await anyio.to_thread.run_sync(read), "kinds": kinds, "channels": list(CHANNELS)})

    async def create_rule(request: Request, principal: Principal) -> Response:
        body = await json_body(request)
        site_id = _text(body, "site_id", required=False)
        _check(principal, site_id)
        kind, channel, target = _text(body, "kind"), _text(body, "channel"), _text(body, "target")
        assert kind is not None and channel is not None and target is not None
        threshold, minutes = _optional_number(body, "threshold"), _optional_number(body, "minutes")

        def create() -> dict[str, Any]:
            rule = rules.create(kind, channel, target, site_id=site_id, threshold=threshold, minutes=minutes)
            return {**msgspec.structs.asdict(rule), "description": rule.describe(), "firing": []}

        return answer(await anyio.to_thread.run_sync(create), 201)

    async def delete_rule(request: Request, principal: Principal) -> Response:
        rule_id = request.path_params["rule_id"]
        try:
            rule = await anyio.to_thread.run_sync(rules.get, rule_id)
        except InputError as exc:
            raise HTTPError(404, str(exc)) from None
        _check(principal, rule.site_id)
        await anyio.to_thread.run_sync(rules.delete, rule_id)
        return answer({"deleted": rule_id})

    async def list_reports(request: Request, principal: Principal) -> Response:
        items = await anyio.to_thread.run_sync(reports.list)
        return answer({"reports": [r for r in items if _may_manage(principal, r.site_id)]})

    async def create_report(request: Request, principal: Principal) -> Response:
        body = await json_body(request)
        site_id, period, email = _text(body, "site_id"), _text(body, "period"), _text(body, "email")
        assert site_id is not None and period is not None and email is not None
        _check(principal, site_id)
        return answer(await anyio.to_thread.run_sync(reports.create, site_id, period, email), 201)

    async def delete_report(request: Request, principal: Principal) -> Response:
        report_id = request.path_params["report_id"]
        try:
            report = await anyio.to_thread.run_sync(reports.get, report_id)
        except InputError as exc:
            raise HTTPError(404, str(exc)) from None
        if not _may_manage(principal, report.site_id):
            raise HTTPError(403, f"you may not manage the e-mail reports of site {report.site_id!r}")
        await anyio.to_thread.run_sync(reports.delete, report_id)
        return answer({"deleted": report_id})

    g = web.guarded
    return [
        Route("/api/alerts", g(list_rules, "admin"), methods=["GET"]),
        Route("/api/alerts", g(create_rule, "admin"), methods=["POST"]),
        Route("/api/alerts/{rule_id}", g(delete_rule, "admin"), methods=["DELETE"]),
        Route("/api/email-reports", g(list_reports, "admin"), methods=["GET"]),
        Route("/api/email-reports", g(create_report, "admin"), methods=["POST"]),
        Route("/api/email-reports/{report_id}", g(delete_report, "admin"), methods=["DELETE"]),
    ]
