"""`POST /api/sites/{site_id}/test-event`: the empty state's "send a test event" button.

One page view of `https://<the site's domain>/clicklake-test-event`, from the browser that
asked (its address and user agent, so enrichment sees a real browser), goes through the
collector's own `admit` (privacy, enrichment, validation, the durable append to the stream)
exactly as an event posted to `/v1/events` with the site's write key does. It is done on the
server, not by the dashboard posting to `/v1/events` itself, because a browser's POST carries
an `Origin` header, and the collector rightly refuses the dashboard's origin unless the site
lists it among its allowed origins: the button must work before anything is configured.

Only the collector of this process can take it: under `clicklake up` the collector and the
web stage share one app; `clicklake web` alone answers 503 with the `curl` to run instead.
The answer is the collector's (`accepted`, `consent_denied`, `rejected`) and the page's path,
which the dashboard then watches for in `/api/live`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from clicklake.collect.ingest import admit, client_of
from clicklake.stream import StreamFullError, StreamUnavailableError
from clicklake.web.accounts import Principal

if TYPE_CHECKING:
    from clicklake.web.app import Web

#: The test event's page, so that it can be told apart (and found in the live figures).
PATH: Final = "/clicklake-test-event"


def routes(web: Web) -> list[BaseRoute]:
    from clicklake.web import access  # (it imports web.app, which imports this module)
    from clicklake.web.app import HTTPError, answer

    async def send(request: Request, principal: Principal) -> Response:
        site_id = request.path_params["site_id"]
        access.manageable(principal, site_id)  # it writes to the site's data, as its write key would
        state = request.app.state
        site = await anyio.to_thread.run_sync(web.metadata.site, site_id)
        if site is None:
            raise HTTPError(404, f"no site {site_id!r}")
        if not hasattr(state, "stream"):
            raise HTTPError(
                503,
                "no collector runs in this process (`clicklake web` alone): send a test event to the collector with "
                "curl -X POST <collector>/v1/events -H 'X-Write-Key: <the write key>' -d '<an event>' (docs/sdk.md)",
            )
        event = {
            "event_type": "page_view",
            "event_id": str(uuid.uuid4()),
            "ts": datetime.now(UTC).isoformat(),
            "user": {"consent": {"analytics": True}, "anonymous_id": "test-" + uuid.uuid4().hex[:12]},
            "ctx": {"page_url": f"https://{site.domain}{PATH}", "title": "clicklake test event"},
        }
        client = client_of(request.headers, request.client.host if request.client else None, state.proxies)
        try:
            outcome = await admit(state, site, client, [msgspec.json.encode(event)])
        except (StreamFullError, StreamUnavailableError) as exc:
            raise HTTPError(503, f"the stream refused the event, try again later: {exc}") from None
        return answer(
            {
                "accepted": outcome.accepted,
                "consent_denied": outcome.consent_denied,
                "rejected": [r.error for r in outcome.rejected],
                "page": PATH,
            }
        )

    return [Route("/api/sites/{site_id}/test-event", web.guarded(send, "admin"), methods=["POST"])]
