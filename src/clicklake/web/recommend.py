"""`GET /api/recommendations` and `GET /api/recommendations/clicks`, served by the web stage.

`/api/recommendations?site=S&(product=P|user=U)&k=N` admits
  * a storefront's browser: the site's public read key in `?key=` or `X-Read-Key`; a request with
    an `Origin` must come from one of the site's allowed origins, and its answer carries
    `Access-Control-Allow-Origin` for that origin alone (a preflight is judged by `?site=`);
  * a server or a dashboard user: `Authorization: Bearer` token (or the session) of scope
    `stats` on the site; no CORS headers are given to such answers.
Each answer is counted as served (`clicklake.recommend.served`).
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING, Final

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.errors import ClicklakeError
from clicklake.recommend import clicks, keys
from clicklake.recommend.answer import parse_k, recommend
from clicklake.recommend.served import ServedCounter
from clicklake.recommend.store import IndexStore
from clicklake.web.app import HTTPError, _may_read, answer, error

if TYPE_CHECKING:
    from clicklake.web.accounts import Principal
    from clicklake.web.app import Web

log = logging.getLogger(__name__)

#: Seconds a site's read key and allowed origins are kept in memory (a rotated key works that much later).
KEY_CACHE_S: Final = 5.0
_READ_KEY_HEADER: Final = "x-read-key"


class _SiteAccess:
    """The read key and allowed origins of each site, read from the metadata database at most every few seconds."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self._cache: dict[str, tuple[float, str | None, tuple[str, ...] | None]] = {}

    def cached(self, site_id: str) -> tuple[str | None, tuple[str, ...] | None] | None:
        """What `get` answers, when it is in memory and fresh; None otherwise."""
        hit = self._cache.get(site_id)
        if hit is not None and time.monotonic() - hit[0] < KEY_CACHE_S:
            return hit[1], hit[2]
        return None

    def get(self, site_id: str) -> tuple[str | None, tuple[str, ...] | None]:
        """(read key, allowed origins); origins None when the site does not exist."""
        hit = self.cached(site_id)
        if hit is not None:
            return hit
        site = self.web.metadata.site(site_id)
        origins = tuple(site.allowed_origins) if site is not None else None
        key = keys.read_key(self.web.metadata.engine, site_id) if site is not None else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[site_id] = (time.monotonic(), key, origins)
        return key, origins


class Recommendations:
    """The routes' state in one web process: the index store, the served counter, the key cache."""

    def __init__(self, web: Web) -> None:
        from clicklake.lake.catalog import catalog_from_settings

        self.web = web
        keys.create_tables(web.metadata.engine)
        settings = web.settings
        self.store = IndexStore(lambda: catalog_from_settings(settings))
        self.served = ServedCounter(web.metadata.engine)
        self.access = _SiteAccess(web)

    async def _site_of(self, request: Request) -> tuple[str, dict[str, str]]:
        """The site asked for, once the caller may read it; and the CORS headers of the answer."""
        site_id = request.query_params.get("site", "")
        if not site_id:
            raise HTTPError(400, "name the site: ?site=SITE_ID")
        key = request.query_params.get("key") or request.headers.get(_READ_KEY_HEADER)
        origin = request.headers.get("origin")
        if key:
            found = self.access.cached(site_id)  # the hot path: no thread, no database
            if found is None:
                found = await anyio.to_thread.run_sync(self.access.get, site_id)
            wanted, origins = found
            if origins is None or wanted is None or not secrets.compare_digest(key, wanted):
                raise HTTPError(401, f"not a read key of site {site_id!r}", {"Vary": "Origin"})
            if origin is None:
                return site_id, {"Vary": "Origin"}
            if origin not in origins:
                raise HTTPError(
                    403,
                    f"origin {origin} is not allowed for site {site_id}; allow it with: "
                    f"clicklake sites update {site_id} --origin {origin}",
                    {"Vary": "Origin"},
                )
            return site_id, {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        principal: Principal = await self.web.principal(request)
        if "stats" not in principal.scopes:
            raise HTTPError(403, "this needs a token with scope 'stats', or the site's read key")
        _may_read(principal, [site_id])
        return site_id, {}

    async def get(self, request: Request) -> Response:
        """`GET /api/recommendations?site=S&(product=P|user=U)&k=N`."""
        try:
            site_id, headers = await self._site_of(request)
            params = request.query_params
            k = parse_k(params.get("k"))
            try:
                index = self.store.current() if self.store.loads else await anyio.to_thread.run_sync(self.store.current)
            except Exception as exc:  # the first read of the tables failed: say so, try again next time
                log.exception("reading the recommendation tables failed")
                raise HTTPError(503, f"recommendations are not available yet: {exc}", {"Retry-After": "5"}) from None
            body = recommend(index, site_id, product=params.get("product"), user=params.get("user"), k=k)
        except HTTPError as exc:
            return error(exc.status, exc.message, exc.headers)
        except ClicklakeError as exc:
            return error(400, str(exc))
        self.served.add(site_id)
        return answer(body, headers=headers)

    async def preflight(self, request: Request) -> Response:
        """`OPTIONS /api/recommendations?site=S`: admitted for the site's allowed origins."""
        origin = request.headers.get("origin")
        site_id = request.query_params.get("site", "")
        headers = {"Access-Control-Allow-Methods": "GET, OPTIONS", "Access-Control-Max-Age": "600", "Vary": "Origin"}
        if origin is None:
            return Response(status_code=204, headers=headers)
        _, origins = await anyio.to_thread.run_sync(self.access.get, site_id)
        if origins is None or origin not in origins:
            return error(403, f"origin {origin} is not allowed for site {site_id!r}", {"Vary": "Origin"})
        requested = request.headers.get("access-control-request-headers", "")
        refused = [h.strip() for h in requested.split(",") if h.strip() and h.strip().lower() != _READ_KEY_HEADER]
        if refused:
            return error(403, f"request header(s) {', '.join(refused)} not allowed", {"Vary": "Origin"})
        headers["Access-Control-Allow-Origin"] = origin
        if requested:
            headers["Access-Control-Allow-Headers"] = requested
        return Response(status_code=204, headers=headers)

    async def clicks(self, request: Request, principal: Principal) -> Response:
        """`GET /api/recommendations/clicks?site=S&days=N` (or `&from=D&to=D`): answers served and clicked
        per day (scope `stats`)."""
        site_id = request.query_params.get("site", "")
        if not site_id:
            raise HTTPError(400, "name the site: ?site=SITE_ID")
        _may_read(principal, [site_id])
        params = request.query_params
        first, last = clicks.parse_range(params.get("days"), params.get("from"), params.get("to"))
        await anyio.to_thread.run_sync(self.served.flush)
        web = self.web
        report = await anyio.to_thread.run_sync(clicks.report, web.metadata.engine, web.sandbox, site_id, first, last)
        return answer(report)


def recommend_routes(web: Web) -> list[BaseRoute]:
    """The recommendation routes of `web` (added by `clicklake.web.app.Web.routes`)."""
    rec = Recommendations(web)
    return [
        Route("/api/recommendations/clicks", web.guarded(rec.clicks, "stats"), methods=["GET"]),
        Route("/api/recommendations", rec.get, methods=["GET"]),
        Route("/api/recommendations", rec.preflight, methods=["OPTIONS"]),
    ]
