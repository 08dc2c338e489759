"""The GA4 mapping of every event type, and how a batch is split into Measurement Protocol requests."""

from __future__ import annotations

import msgspec

from clicklake.destinations import Destination
from clicklake.destinations.ga4 import ga4_deliveries, ga4_event
from clicklake.schema.envelope import encode_payload
from samples import records

GA = Destination(
    name="ga",
    kind="ga4",
    url="http://127.0.0.1:9/mp/collect",
    site_id=None,
    options={"measurement_id": "G-1", "api_secret": "s"},
    enabled=True,
    created_ms=0,
)


def test_every_event_type_has_a_ga4_name_and_its_params() -> None:
    events = {r.event_type: ga4_event(msgspec.to_builtins(r)) for r in records()}
    assert {k: e["name"] for k, e in events.items()} == {
        "page_view": "page_view",
        "chart_interaction": "chart_interaction",
        "affiliate_click": "affiliate_click",
        "product_view": "view_item",
        "add_to_cart": "add_to_cart",
        "purchase": "purchase",
        "search": "search",
        "qr_scan": "qr_scan",
        "custom": "signup",
    }
    assert events["product_view"]["params"]["items"] == [{"item_id": "p1", "price": 9.99, "quantity": 1}]
    assert events["product_view"]["params"]["value"] == 9.99
    assert events["add_to_cart"]["params"]["items"] == [{"item_id": "p1", "quantity": 2}]
    assert events["purchase"]["params"]["value"] == 19.98
    assert events["chart_interaction"]["params"]["control_value"] == "12.5"
    assert events["qr_scan"]["params"]["placement"] == "table-12"
    assert events["custom"]["params"]["plan"] == "pro" and events["custom"]["params"]["seats"] == "3"
    assert events["affiliate_click"]["params"]["payout_cents"] == 250
    assert all(e["params"]["engagement_time_msec"] == 100 for e in events.values())


def test_names_amounts_and_lengths_follow_ga4s_rules() -> None:
    record = msgspec.to_builtins(records(9)[8])  # the custom event
    record["custom"] = {"name": "9 lives!", "properties": {"a-b": "x" * 300}}
    event = ga4_event(record)
    assert event["name"] == "e_9_lives_" and event["params"]["a_b"] == "x" * 100
    purchase = msgspec.to_builtins(records(6)[5])
    purchase["order"]["currency"] = "JPY"
    assert ga4_event(purchase)["params"]["value"] == 1998  # yen have no minor unit


def test_a_batch_is_one_request_per_visitor_and_25_events() -> None:
    batch = records(60)
    for i, r in enumerate(batch):
        r.user.visitor_id = f"v{i % 2}"
        r.user.user_id_hash = None
    deliveries = ga4_deliveries(GA, "0-0-59", [encode_payload(r) for r in batch])
    bodies = [msgspec.json.decode(d.body) for d in deliveries]
    assert [(b["client_id"], len(b["events"])) for b in bodies] == [("v0", 25), ("v0", 5), ("v1", 25), ("v1", 5)]
    assert all("user_id" not in b for b in bodies)
    assert sum(len(d.payloads) for d in deliveries) == 60
    assert deliveries[0].url == "http://127.0.0.1:9/mp/collect?measurement_id=G-1&api_secret=s"
