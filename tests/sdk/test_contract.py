"""The events the SDK builds (run in Node) against the ingest contract: every one valid, as sent."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from clicklake.schema import decode_batch, json_schema_bytes

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def sdk_events() -> list[dict[str, Any]]:
    """The events of tests/sdk/emit.mjs: every helper and event type, sent by the SDK in Node."""
    node = shutil.which("node")
    assert node is not None, "node is not installed: run 'make test' (it installs nodejs with apt-get)"
    done = subprocess.run([node, str(HERE / "emit.mjs")], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    events: list[dict[str, Any]] = json.loads(done.stdout)
    return events


def test_every_event_the_sdk_sends_is_valid_against_the_contract(sdk_events: list[dict[str, Any]]) -> None:
    events = sdk_events

    assert [e["event_type"] for e in events] == [
        "page_view",
        "chart_interaction",
        "affiliate_click",
        "product_view",
        "add_to_cart",
        "purchase",
        "search",
        "qr_scan",
        "custom",
        "custom",
        "custom",
        "page_view",
    ]
    batch = decode_batch(json.dumps(events).encode(), now_ms=None)
    assert batch.rejected == [], batch.rejected
    assert len(batch.events) == len(events)
    schema = json.loads(json_schema_bytes())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for event in events:
        errors = [e.message for e in validator.iter_errors(event)]
        assert errors == [], (event["event_type"], errors)


def test_the_sdk_maps_names_and_helpers_onto_the_contract_fields(sdk_events: list[dict[str, Any]]) -> None:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in sdk_events:
        by_type.setdefault(str(event["event_type"]), []).append(event)

    customs = [c["custom"] for c in by_type["custom"]]
    assert customs == [
        {"name": "signup", "properties": {"plan": "pro", "seats": 3, "trial": True}},
        {"name": "newsletter_signup", "properties": {"list": "weekly"}},
        {"name": "no_properties"},
    ]
    assert by_type["purchase"][0]["order"]["revenue_minor"] == 9998
    assert by_type["search"][0]["search"] == {"query": "blue shoes", "results_count": 12}
    first, second = by_type["page_view"]
    assert first["ctx"]["referrer"] == "https://search.example/"
    assert second["ctx"]["page_url"] == "https://shop.example/p/2"
    assert second["ctx"]["referrer"] == "https://shop.example/p/1?utm_source=news&utm_medium=email"
    user = by_type["search"][0]["user"]
    assert user["user_id_hash"].startswith("sha256:") and "example.com" not in json.dumps(user)
    assert user["consent"] == {"analytics": True, "ads": False}
    assert by_type["search"][0]["session"]["utm"] == {"source": "news", "medium": "email"}
