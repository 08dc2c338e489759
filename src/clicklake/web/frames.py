"""Who may frame a page: nobody, unless a response says otherwise (an embeddable shared link).

Every HTTP response gets `X-Frame-Options: DENY` and `Content-Security-Policy:
frame-ancestors 'none'`, so no foreign page can overlay the dashboard in an iframe
(clickjacking). A response that sets its own `Content-Security-Policy` (the page of a
shared link made with `embed`, whose `frame-ancestors` lists the site's origins) is left
as it is.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_DENY: Final = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'")]


class FrameGuard:
    """ASGI middleware: forbid framing of every response that does not set its own policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers += _DENY
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, guarded_send)
