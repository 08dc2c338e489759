"""The generic webhook: one JSON POST per batch, the events as they are on the stream.

The body is `{"destination": NAME, "batch": ID, "events": [...]}`, each event the enriched
record of the event contract after privacy at the door (`"kind": "event/1"`, `site_id`,
`event_id`, `ts` in epoch ms, `user`, `ctx`, ...). The stream's bytes are spliced into the
body as they are, without decoding an event. `batch` is `<partition>-<first offset>-<last offset>`
and is sent again with a retried batch, so a receiver can drop a batch it already has (delivery
is at least once). With the option `secret`, the header `X-Clicklake-Signature` is
`sha256=` and the HMAC-SHA256 of the body under that secret.
"""

from __future__ import annotations

import hashlib
import hmac

from clicklake import __version__
from clicklake.destinations.delivery import Delivery
from clicklake.destinations.store import Destination


def webhook_deliveries(destination: Destination, batch_id: str, payloads: list[bytes]) -> list[Delivery]:
    """One POST of every payload."""
    body = b"".join(
        (
            b'{"destination":"',
            destination.name.encode(),
            b'","batch":"',
            batch_id.encode(),
            b'","events":[',
            b",".join(payloads),
            b"]}",
        )
    )
    headers = {
        "content-type": "application/json",
        "user-agent": f"clicklake/{__version__}",
        "x-clicklake-destination": destination.name,
        "x-clicklake-batch": batch_id,
    }
    secret = destination.options.get("secret")
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["x-clicklake-signature"] = "sha256=" + digest
    return [Delivery(url=destination.url, body=body, headers=headers, payloads=payloads)]
