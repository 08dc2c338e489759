"""RudderStack's `rudder-sdk-python`, unchanged, pointed at clicklake: every call lands once, errors are readable."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

import httpx
from rudderstack.analytics.client import Client
from rudderstack.analytics.request import APIError

from samples import wait_rows

Site = tuple[str, str, str, Path]


def _requests(base: str, route: str, status: int) -> float:
    """How many requests the collector answered on `route` with `status`, from /metrics."""
    text = httpx.get(f"{base}/metrics", trust_env=False).text
    pattern = rf'^clicklake_http_requests_total\{{(?=[^}}]*route="{re.escape(route)}")(?=[^}}]*status="{status}")'
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if re.match(pattern, line))


def test_track_page_identify_group_alias_each_land_once(server: Site) -> None:
    base, key, site, data = server
    errors: list[object] = []
    client = Client(key, host=base, sync_mode=True, on_error=lambda e, batch: errors.append(e), max_retries=0)
    ids = {name: str(uuid.uuid4()) for name in ("track", "page", "identify", "group", "alias")}
    client.track(
        user_id="user-7",
        event="Product Added",
        properties={"product_id": "sku-1", "price": 5.5, "currency": "EUR", "quantity": 2},
        message_id=ids["track"],
    )
    client.page(
        anonymous_id="anon-7",
        name="Docs",
        properties={"url": "https://shop.example/docs", "title": "Docs"},
        message_id=ids["page"],
    )
    client.identify(
        anonymous_id="anon-7", traits={"plan": "team", "email": "kim@example.com"}, message_id=ids["identify"]
    )
    client.group(
        user_id="user-7",
        group_id="acme",
        traits={"employees": 40, "phone": "+49 30 1234567", "plan": "team"},
        message_id=ids["group"],
    )
    client.alias(previous_id="anon-7", user_id="user-7", message_id=ids["alias"])
    client.flush()
    assert errors == []

    rows = wait_rows(data, f"select * from bronze.events where site_id = '{site}'", 5)
    by_id = {r["event_id"]: r for r in rows}
    assert set(by_id) == set(ids.values()) and len(rows) == 5
    hashed = hashlib.sha256(b"user-7").hexdigest()

    track = by_id[ids["track"]]
    assert track["event_type"] == "add_to_cart"
    assert track["product"]["price_minor"] == 550 and track["product"]["quantity"] == 2
    assert track["user"]["user_id_hash"] == hashed
    assert track["metadata"]["sdk_version"].startswith("analytics-python/")

    page = by_id[ids["page"]]
    assert page["event_type"] == "page_view" and page["ctx"]["page_url"] == "https://shop.example/docs"

    identify = by_id[ids["identify"]]  # only an anonymous id: taken, as Segment takes it
    assert identify["custom"]["name"] == "identify" and identify["user"]["anonymous_id"] == "anon-7"
    assert dict(identify["custom"]["properties"]) == {"plan": "team"}

    group = by_id[ids["group"]]
    assert group["event_type"] == "custom" and group["custom"]["name"] == "group"
    assert dict(group["custom"]["properties"]) == {"group_id": "acme", "employees": "40", "plan": "team"}
    assert group["user"]["user_id_hash"] == hashed

    alias = by_id[ids["alias"]]
    assert alias["custom"]["name"] == "alias" and alias["user"]["user_id_hash"] == hashed
    previous = hashlib.sha256(b"anon-7").hexdigest()
    assert dict(alias["custom"]["properties"]) == {"previous_id_hash": previous}

    dumped = json.dumps(rows, default=str)
    assert "user-7" not in dumped and "kim@example.com" not in dumped and "1234567" not in dumped
    kept = wait_rows(data, f"select * from bronze.quarantine where site_id = '{site}'", 0, timeout=0)
    assert kept == []


def test_an_unknown_key_is_a_readable_401_not_retried(server: Site) -> None:
    base, _, _, _ = server
    before = _requests(base, "/v1/batch", 401)
    errors: list[Exception] = []
    client = Client("wk_unknown", host=base, on_error=lambda e, batch: errors.append(e), max_retries=3)
    client.track(user_id="u", event="Clicked")
    client.flush()
    client.join()
    assert len(errors) == 1 and isinstance(errors[0], APIError), errors
    assert errors[0].status == 401 and errors[0].code == "unknown_write_key"
    assert "write key" in errors[0].message
    assert _requests(base, "/v1/batch", 401) - before == 1  # a client error is not retried
