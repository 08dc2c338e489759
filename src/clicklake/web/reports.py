"""The Stats API's reports that are not plain aggregates, each a `POST /api/<name>` (scope `stats`).

Each report is a query module of `clicklake.query` with `parse(body)` and `build_sql(query)`;
its route checks that the caller may read every site asked for (403 otherwise), runs the
SQL, built for the sites' time zone (as the Stats API picks it), in the caller's sandbox
and answers `{results, meta: {sql, freshness, date_range, timezone}}` (CSV with
`?format=csv`); `date_range` may be a shorthand ("7d", ...) resolved in that zone. A bad body is
a 400 with the reason. docs/metrics.md defines each figure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.query import affiliates, attribution, ecommerce, menus, paths, retention
from clicklake.web.accounts import Principal
from clicklake.web.app import Web, _may_read, read_body, report_answer


class _Query(Protocol):
    site_ids: list[str]


class _Report(Protocol):
    def parse(self, body: bytes) -> Any: ...
    def build_sql(self, query: Any, tz: str = ...) -> str: ...


#: path → the query module that answers it.
REPORTS: Final[dict[str, _Report]] = {
    "/api/retention": retention,
    "/api/paths": paths,
    "/api/attribution": attribution,
    "/api/affiliates": affiliates,
    "/api/ecommerce": ecommerce,
    "/api/menus": menus,
}


def _handler(web: Web, report: _Report) -> Callable[[Request, Principal], Awaitable[Response]]:
    async def handle(request: Request, principal: Principal) -> Response:
        q: _Query = report.parse(await read_body(request))
        _may_read(principal, q.site_ids)
        rows, meta = await web._report(q, report.build_sql)
        if report is menus:
            names = await anyio.to_thread.run_sync(_site_names, web, {r["site_id"] for r in rows})
            for row in rows:
                row["restaurant"] = names.get(row["site_id"])
        return report_answer(request, rows, meta)

    return handle


def _site_names(web: Web, site_ids: set[str]) -> dict[str, str]:
    found = {s: web.metadata.site(s) for s in site_ids}
    return {s: site.name for s, site in found.items() if site is not None}


def report_routes(web: Web) -> list[BaseRoute]:
    """One route per report, each behind the session or a token with scope `stats`."""
    return [
        Route(path, web.guarded(_handler(web, report), "stats"), methods=["POST"]) for path, report in REPORTS.items()
    ]
