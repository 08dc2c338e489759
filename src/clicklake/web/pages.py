"""The dashboard's pages: the single-page application's shell at each page's path, and its built assets.

The front end (`dashboard/` at the repository's root, Preact and ECharts) is built by
`make` with esbuild into `assets/`: the entry script, its stylesheet and the chunks it
imports (the chart library is one, loaded when the first chart is drawn), each named by
a hash of its content, and `manifest.json` naming them. The shell is the same small
HTML page at every path of the application (the page is chosen in the browser), never
cached, with a Content-Security-Policy that admits no inline script and no other
origin; the hashed assets are cached for a year, as a new build has new names.
"""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

ASSETS: Final = Path(__file__).parent / "assets"
#: The paths the application answers with its shell; a new page adds its path here.
PAGE_PATHS: Final = (
    "/",
    "/login",
    "/funnels",
    "/experiments",
    "/events",
    "/retention",
    "/paths",
    "/revenue",
    "/menus",
    "/sql",
    "/live",
    "/settings",
)
#: Inline styles are admitted because the chart library positions its tooltips with them; scripts never.
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
IMMUTABLE: Final = "public, max-age=31536000, immutable"
_TYPES: Final = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_NOT_BUILT: Final = "the dashboard is not built ({} is missing): run 'make up' or 'make dashboard'"


@lru_cache(maxsize=1)
def _manifest() -> dict[str, Any] | None:
    """The built files' names (`js`, `css`, `chunks`), read once per process; None when not built."""
    try:
        data: dict[str, Any] = json.loads((ASSETS / "manifest.json").read_text())
    except FileNotFoundError:
        return None
    return data


def _html(title: str = "clicklake", data: str = "") -> str | None:
    """The shell; `data` (HTML the caller has escaped) goes before the application's element."""
    manifest = _manifest()
    if manifest is None:
        return None
    js, css = escape(str(manifest["js"])), escape(str(manifest["css"]))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="color-scheme" content="light dark">\n<title>{escape(title)}</title>\n'
        '<link rel="icon" href="data:,">\n'
        f'<link rel="stylesheet" href="/assets/{css}">\n<script type="module" src="/assets/{js}"></script>\n'
        f'</head>\n<body>\n{data}<div id="app"><noscript>The clicklake dashboard needs JavaScript.</noscript></div>\n'
        "</body>\n</html>\n"
    )


@lru_cache(maxsize=1)
def _shell() -> bytes | None:
    page = _html()
    return None if page is None else page.encode()


def shared_shell(title: str, data: str, frame_ancestors: str | None) -> Response | None:
    """A shared link's page: the shell in its read-only mode, with the share session in `data`
    (a `<script type="application/json">` block: data, not a script, so the policy admits it).

    `frame_ancestors` is the embeddable link's policy (`shares` decides it); None keeps
    `'none'` and `X-Frame-Options: DENY`. None when the dashboard is not built.
    """
    page = _html(title, data)
    if page is None:
        return None
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if frame_ancestors is not None:
        headers["Content-Security-Policy"] = CSP.replace("frame-ancestors 'none'", frame_ancestors)
        del headers["X-Frame-Options"]
    return Response(page.encode(), media_type="text/html; charset=utf-8", headers=headers)


@lru_cache(maxsize=8)
def _asset(name: str) -> bytes | None:
    manifest = _manifest()
    if manifest is None or name not in {manifest["js"], manifest["css"], *manifest["chunks"]}:
        return None
    return (ASSETS / name).read_bytes()


async def shell(request: Request) -> Response:
    """`GET /`, `/login`, `/funnels`, ...: the application's HTML shell."""
    body = _shell()
    if body is None:
        return PlainTextResponse(_NOT_BUILT.format(ASSETS / "manifest.json"), status_code=503)
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


async def asset(request: Request) -> Response:
    """`GET /assets/NAME`: a built, hashed file, cached for a year."""
    name = request.path_params["name"]
    body = _asset(name)
    if body is None:
        return PlainTextResponse(f"no asset {name!r}", status_code=404, headers={"X-Content-Type-Options": "nosniff"})
    headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=_TYPES.get(Path(name).suffix, "application/octet-stream"), headers=headers)


def routes() -> list[BaseRoute]:
    """The pages' routes (GET only: `POST /login` stays the API's)."""
    pages: list[BaseRoute] = [Route(path, shell, methods=["GET", "HEAD"]) for path in PAGE_PATHS]
    return [*pages, Route("/assets/{name}", asset, methods=["GET", "HEAD"])]
