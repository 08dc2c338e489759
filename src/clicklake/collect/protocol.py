"""The HTTP protocol the collector is served with: uvicorn's httptools one, with a header deadline.

uvicorn bounds the wait between requests on a kept-alive connection, but not the time a
client may take to send the headers of a request, so a client trickling header bytes
(slowloris) holds a connection open for as long as it likes. Here the headers of every
request must be complete within `collect.header_timeout_s` of its first byte (or of the
connection's opening); otherwise the server answers 408 and closes the connection. The
body has its own deadline, `collect.body_timeout_s`, kept by the route that reads it.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from clicklake.config import Settings
from clicklake.errors import ConfigError

_TIMEOUT_408: Final = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 33\r\n\r\nthe request headers came too slow"
)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """httptools HTTP/1.1 with a deadline on each request's headers."""

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT_408)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `uvicorn.Config` that every clicklake server uses.

    The header deadline is set on `HeaderDeadlineProtocol` itself (one server per process),
    so the class travels by pickle to `clicklake collect`'s worker processes, which set it
    again from their own settings.
    """
    HeaderDeadlineProtocol.header_timeout_s = settings.collect.header_timeout_s
    return {
        "http": HeaderDeadlineProtocol,
        "log_level": settings.log_level,
        "access_log": settings.log_level == "debug",
        "lifespan": "off",
        # the collector reads X-Forwarded-For itself, by `collect.trusted_proxies`
        "proxy_headers": False,
        "server_header": False,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 10,
    }


def listen(host: str, port: int) -> socket.socket:
    """Bind before serving, so that a taken port is one clear error, not a traceback.

    The socket is made with its protocol named (IPPROTO_TCP, where `socket.create_server` leaves 0):
    asyncio sets TCP_NODELAY only on connections of such a socket. Without it, each answer on a
    kept-alive connection waited about 40 ms for the client's delayed ACK (Nagle's algorithm).
    """
    return _bind(host, port, reuse_port=False)


def listen_each(host: str, port: int, workers: int) -> list[socket.socket]:
    """One listening socket per HTTP worker, all on one port (SO_REUSEPORT, Linux).

    The kernel spreads new connections over the sockets by their addresses. On one shared socket,
    the worker that woke first took every connection waiting (asyncio accepts a whole backlog at a
    time): measured, 25 of 32 kept-alive connections on one of two workers, which then answered for
    both while the other idled. A port anyone holds is refused first, as `listen` refuses it, so
    the sharing is only among these sockets. Without SO_REUSEPORT, the workers share one socket.
    """
    first = listen(host, port)
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        return [first] * workers
    port = first.getsockname()[1]
    first.close()
    out: list[socket.socket] = []
    try:
        for _ in range(workers):
            out.append(_bind(host, port, reuse_port=True))
    except BaseException:
        for sock in out:
            sock.close()
        raise
    return out


def _bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
        return sock
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror}. "
            "Stop whatever uses it, or choose another port with --port or CLICKLAKE_SERVER__PORT."
        ) from None
