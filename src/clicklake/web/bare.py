"""The bare HTML pages of the web stage (shared link, invitation); the dashboard is `pages`.

Their URLs hold a secret, so they are never cached and never sent on as a Referer. A
client that asks for `application/json` gets JSON instead of HTML.
"""

from __future__ import annotations

import html
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from clicklake.web.app import error

#: for a page whose URL holds a secret
PRIVATE: Final = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def foreign_origin(request: Request) -> str | None:
    """The request's `Origin` if it is another than the server's own (a form posted from a foreign page)."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin if origin is not None and origin != own else None


def page(title: str, content: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A minimal HTML page; `content` is HTML the caller has escaped."""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><body>{content}</body></html>"
    )
    return HTMLResponse(body, status, {**PRIVATE, **(headers or {})})


def refusal(status: int, message: str, as_json: bool, headers: dict[str, str] | None = None) -> Response:
    """`{"error": message}`, or a page saying it."""
    if as_json:
        return error(status, message, {**PRIVATE, **(headers or {})})
    return page("clicklake", f"<p>{html.escape(message)}.</p>", status, headers)
