"""Local receivers for alert notices: an HTTP server that keeps the JSON bodies POSTed to it, and an SMTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from conftest import free_port


class Received:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.lock = threading.Lock()

    def add(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)

    def snapshot(self) -> list[Any]:
        with self.lock:
            return list(self.items)

    def wait(self, test: Callable[[list[Any]], bool], timeout: float = 20) -> list[Any]:
        """The items once `test` holds for them; fails after `timeout` seconds with what came."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.snapshot()
            if test(items):
                return items
            assert time.monotonic() < deadline, f"timed out; received: {items}"
            time.sleep(0.1)


@contextmanager
def http_receiver() -> Iterator[tuple[str, Received]]:
    """An HTTP server on loopback: (its URL, the JSON bodies POSTed to it)."""
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            got.add({"path": self.path, "json": json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, Received]]:
    """An SMTP server on loopback (aiosmtpd): (its port, the messages it received)."""
    got = Received()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            message: Message = message_from_bytes(envelope.content)
            got.add({"to": envelope.rcpt_tos, "subject": message["Subject"], "body": message.get_payload()})
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, got
    finally:
        controller.stop()
