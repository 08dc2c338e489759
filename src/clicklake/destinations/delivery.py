"""One HTTP request to a destination, and how its answer is judged.

- a 2xx answer: delivered;
- 408, 425, 429, any 5xx, a timeout or a refused connection: a transient failure, tried again
  after a pause that doubles (`destinations.backoff_s` up to `destinations.max_backoff_s`);
- any other answer (400, 401, 403, 404, 413, ...): a terminal failure; trying again cannot
  help, so the batch goes to the dead-letter list at once.
"""

from __future__ import annotations

from typing import Final

import httpx
import msgspec

_RETRY_STATUS: Final = frozenset({408, 425, 429})


class Delivery(msgspec.Struct, frozen=True):
    """A request, and the stream payloads whose events it carries."""

    url: str
    body: bytes
    headers: dict[str, str]
    payloads: list[bytes]


class DeliveryFailed(Exception):
    """A request failed; `transient` says whether sending it again may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def send(client: httpx.Client, delivery: Delivery) -> None:
    """POST one delivery; raises `DeliveryFailed` unless the answer is 2xx."""
    try:
        response = client.post(delivery.url, content=delivery.body, headers=delivery.headers)
    except httpx.TransportError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}", transient=True) from None
    if 200 <= response.status_code < 300:
        return
    transient = response.status_code >= 500 or response.status_code in _RETRY_STATUS
    text = " ".join(response.text[:200].split())
    raise DeliveryFailed(f"HTTP {response.status_code} {text}".rstrip(), transient=transient)
