"""The published JSON Schema (Draft 2020-12) of one ingest event, made from `events`.

Served at `GET /schema/v1.json` and kept in `docs/schema/v1.json`
(`make docs` rewrites it; a test fails when it is stale).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import msgspec

from clicklake.schema import events as ev

SCHEMA_ID: Final = "urn:clicklake:schema:event:v1"


@cache
def json_schema() -> dict[str, Any]:
    """The event schema as a dict."""
    body = msgspec.json.schema(ev.Event)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "clicklake event",
        "description": (
            "One behavioural event as a client sends it to POST /v1/events. The three "
            "event types of seed 004 (page_view, chart_interaction, affiliate_click) "
            "accept what its ingest schema accepts; the others extend it. Beyond this "
            "schema: ts is at most 24 h ahead of the server and not before 2000, and "
            "custom.properties encode to at most 8 KB of JSON."
        ),
        **body,
    }


@cache
def json_schema_bytes() -> bytes:
    """The schema as the exact bytes that are served and published (2-space indent)."""
    return msgspec.json.format(msgspec.json.encode(json_schema()), indent=2) + b"\n"
