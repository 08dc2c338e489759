"""The Segment HTTP Tracking API: the official `segment-analytics-python` library pointed at clicklake."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from segment.analytics import Client

from clicklake.collect import segment
from samples import wait_rows

Site = tuple[str, str, str, Path]


def _client(base: str, key: str) -> Client:
    errors: list[object] = []
    client = Client(key, host=base, sync_mode=True, on_error=lambda e, batch: errors.append(e), max_retries=0)
    client.errors = errors  # type: ignore[attr-defined]
    return client


def test_the_official_library_sends_track_page_identify_group_alias(server: Site) -> None:
    base, key, site, data = server
    client = _client(base, key)
    names = ("page", "product", "order", "signup", "identify", "group", "alias")
    ids = {name: str(uuid.uuid4()) for name in names}
    campaign = {"source": "newsletter", "medium": "email", "name": "winter"}
    client.page(
        anonymous_id="anon-1",
        name="Pricing",
        properties={"url": "https://shop.example/pricing?email=a@b.example", "referrer": "https://www.google.com/"},
        context={"campaign": campaign, "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0"},
        message_id=ids["page"],
    )
    client.track(
        anonymous_id="anon-1",
        event="Product Viewed",
        properties={"product_id": "sku-9", "name": "Kettle", "price": 19.99, "currency": "eur"},
        message_id=ids["product"],
    )
    client.track(
        user_id="user-42",
        event="Order Completed",
        properties={
            "order_id": "o-1",
            "total": 45.5,
            "currency": "USD",
            "products": [{"product_id": "sku-9", "price": 19.99, "quantity": 2}],
        },
        message_id=ids["order"],
    )
    client.track(user_id="user-42", event="Signed Up", properties={"plan": "pro", "seats": 3}, message_id=ids["signup"])
    client.identify(
        user_id="user-42",
        anonymous_id="anon-1",
        traits={"email": "jane@example.com", "name": "Jane Doe", "plan": "pro"},
        message_id=ids["identify"],
    )
    client.group(user_id="user-42", group_id="acme", traits={"plan": "team"}, message_id=ids["group"])
    client.alias(previous_id="anon-1", user_id="user-42", message_id=ids["alias"])
    client.flush()
    assert client.errors == []  # type: ignore[attr-defined]

    rows = wait_rows(data, f"select * from bronze.events where site_id = '{site}'", 7)
    by_id = {r["event_id"]: r for r in rows}
    assert set(by_id) == set(ids.values())  # messageId became event_id

    page = by_id[ids["page"]]
    assert page["event_type"] == "page_view"
    assert page["ctx"]["title"] == "Pricing"
    assert page["ctx"]["page_url"].startswith("https://shop.example/pricing")
    assert "a@b.example" not in json.dumps(page, default=str)
    assert page["session"]["utm"]["source"] == "newsletter" and page["session"]["utm"]["campaign"] == "winter"
    assert page["traffic"]["referrer_class"] == "campaign" or page["traffic"]["referrer_class"] == "email"
    assert page["device"]["browser"] == "Chrome"
    assert page["user"]["anonymous_id"] == "anon-1"

    product = by_id[ids["product"]]
    assert product["event_type"] == "product_view"
    assert product["product"]["price_minor"] == 1999 and product["product"]["currency"] == "EUR"

    order = by_id[ids["order"]]
    assert order["event_type"] == "purchase"
    assert order["order"]["revenue_minor"] == 4550 and order["order"]["items"][0]["quantity"] == 2
    hashed = hashlib.sha256(b"user-42").hexdigest()
    assert order["user"]["user_id_hash"] == hashed  # the user id is never stored as sent
    assert "user-42" not in json.dumps(rows, default=str)

    signup = by_id[ids["signup"]]
    assert signup["event_type"] == "custom" and signup["custom"]["name"] == "Signed_Up"

    identify = by_id[ids["identify"]]
    assert identify["event_type"] == "custom" and identify["custom"]["name"] == "identify"
    assert identify["user"]["anonymous_id"] == "anon-1" and identify["user"]["user_id_hash"] == hashed
    dumped = json.dumps(identify, default=str)
    assert "plan" in dumped and "jane@example.com" not in dumped and "Jane Doe" not in dumped

    group = by_id[ids["group"]]
    assert group["custom"]["name"] == "group" and group["user"]["user_id_hash"] == hashed
    assert dict(group["custom"]["properties"]) == {"group_id": "acme", "plan": "team"}
    alias = by_id[ids["alias"]]
    assert alias["custom"]["name"] == "alias" and alias["user"]["user_id_hash"] == hashed
    assert dict(alias["custom"]["properties"]) == {"previous_id_hash": hashlib.sha256(b"anon-1").hexdigest()}


def _post(base: str, path: str, body: object, key: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    return httpx.post(f"{base}{path}", json=body, headers=headers, timeout=10, trust_env=False)


def test_single_message_routes_and_refusals(server: Site) -> None:
    base, key, site, data = server
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    track = {"userId": "u", "event": "Products Searched", "properties": {"query": "kettle"}, "timestamp": now}
    answer = _post(base, "/v1/track", track, key)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1, "rejected": [], "consent_denied": 0, "success": True}

    assert _post(base, "/v1/page", {"anonymousId": "a", "timestamp": now}, None).status_code == 401
    unknown = _post(base, "/v1/page", {"anonymousId": "a", "timestamp": now}, "wk_nope")
    # Segment-style clients read `code` and `message` from an error body
    assert unknown.status_code == 401 and unknown.json()["code"] == "unknown_write_key"
    assert unknown.json()["message"] == "unknown write key"
    # the key in the body (as the libraries also send it) is enough
    answer = _post(base, "/v1/page", {"anonymousId": "a", "timestamp": now, "writeKey": key}, None)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    # a track message sent to /v1/page, and a body that is not an object
    answer = _post(base, "/v1/page", {"type": "track", "event": "x", "timestamp": now}, key)
    assert answer.status_code == 400 and answer.json()["rejected"][0]["error"].startswith("segment:")
    assert answer.json()["success"] is False
    assert _post(base, "/v1/batch", [1, 2], key).status_code == 400
    bad = httpx.post(f"{base}/v1/batch", content=b"{nope", headers={"x-write-key": key}, trust_env=False)
    assert bad.status_code == 400

    batch = {
        "batch": [
            {"type": "bogus", "userId": "u", "timestamp": now},
            {"type": "track", "userId": "u", "timestamp": now},  # no event name
            {"type": "track", "userId": "u", "event": "Clicked", "timestamp": "yesterday-ish"},
            "not an object",
            {"type": "track", "anonymousId": "a", "event": "Clicked", "timestamp": now},
        ],
        "sentAt": now,
    }
    answer = _post(base, "/v1/batch", batch, key)
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [0, 1, 3]
    assert "bogus" in body["rejected"][0]["error"] and "event" in body["rejected"][1]["error"]
    # every refusal is kept in quarantine with its reason
    # a batch whose every message is rejected is not a success, though each is kept too
    refused = _post(base, "/v1/batch", {"batch": [{"type": "track", "userId": "u"}, {"type": "nope"}]}, key)
    assert refused.status_code == 400 and refused.json()["success"] is False
    assert refused.json()["accepted"] == 0 and refused.json()["code"] == "invalid_messages"
    assert "2 messages" in refused.json()["message"]
    kept = wait_rows(data, f"select reason from bronze.quarantine where site_id = '{site}'", 6)
    assert sum("segment:" in r["reason"] for r in kept) == 6
    wait_rows(data, f"select * from bronze.events where site_id = '{site}'", 4)


def test_a_message_without_any_time_takes_the_time_it_was_received() -> None:
    body = b'{"batch": [{"type": "page", "anonymousId": "a"}]}'
    got = segment.translate(body, None, received="2026-03-04T05:06:07.890Z")
    assert got.refused == {} and json.loads(got.raws[0])["ts"] == "2026-03-04T05:06:07.890Z"
    before = time.time()
    now = json.loads(segment.translate(body, None).raws[0])["ts"]  # no `received`: the clock, now
    stamp = datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()
    assert before - 1 <= stamp <= time.time() + 1


def test_group_and_alias_are_events_without_personal_traits() -> None:
    group = b'{"type": "group", "groupId": 7, "anonymousId": "a", "traits": {"email": "x@y.example", "size": 3}}'
    event = json.loads(segment.translate(group, "group", received="2026-01-02T03:04:05Z").raws[0])
    assert event["custom"] == {"name": "group", "properties": {"group_id": "7", "size": 3}}
    alias = b'{"type": "alias", "previousId": "anon-1", "userId": "user-1", "timestamp": "2026-01-02T03:04:05Z"}'
    event = json.loads(segment.translate(alias, "alias").raws[0])
    assert event["user"]["user_id_hash"] == hashlib.sha256(b"user-1").hexdigest()
    assert event["custom"]["properties"] == {"previous_id_hash": hashlib.sha256(b"anon-1").hexdigest()}
    both = b'{"batch": [{"type": "alias", "userId": "u"}, {"type": "group", "userId": "u"}]}'
    refused = segment.translate(both, None)
    assert refused.refused == {
        0: 'segment: an alias message needs a "previousId"',
        1: 'segment: a group message needs a "groupId"',
    }


def test_message_ids_that_are_not_uuids_still_deduplicate() -> None:
    one = segment.translate(b'{"batch": [{"type": "page", "messageId": "ajs-next-1", "anonymousId": "a"}]}', None)
    two = segment.translate(b'{"batch": [{"type": "page", "messageId": "ajs-next-1", "anonymousId": "a"}]}', None)
    assert json.loads(one.raws[0])["event_id"] == json.loads(two.raws[0])["event_id"]
    with_time = b'{"type": "page", "messageId": "ajs-next-1", "anonymousId": "a", "timestamp": "2026-01-02T03:04:05Z"}'
    first = json.loads(segment.translate(with_time, "page").raws[0])
    again = json.loads(segment.translate(with_time, "page").raws[0])
    assert first["event_id"] == again["event_id"] and uuid.UUID(first["event_id"])
    assert first["ts"] == "2026-01-02T03:04:05.000Z"


def test_amounts_become_minor_units_of_their_currency() -> None:
    body = json.dumps(
        {
            "type": "track",
            "event": "Order Completed",
            "anonymousId": "a",
            "timestamp": "2026-01-02T03:04:05+09:00",
            "properties": {"order_id": "1", "total": 1200, "currency": "JPY", "tax": 0.0},
        }
    ).encode()
    event = json.loads(segment.translate(body, "track").raws[0])
    assert event["order"] == {"order_id": "1", "revenue_minor": 1200, "currency": "JPY", "tax_minor": 0}
    assert event["ts"] == "2026-01-01T18:04:05.000Z"
