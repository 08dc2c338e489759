"""What a sender sees from the contract: accepted events, and reasons for the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clicklake.errors import ContractError
from clicklake.schema import decode_batch, decode_event

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def event(event_type: str = "page_view", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event_type": event_type,
        "ts": "2026-11-22T11:59:00.250Z",
        "user": {"consent": {"analytics": True}},
    }
    out.update(fields)
    return out


def error_of(payload: Any) -> str:
    with pytest.raises(ContractError) as info:
        decode_event(json.dumps(payload).encode(), now_ms=NOW_MS)
    return str(info.value)


def test_enum_error_names_the_field_the_choices_and_the_value() -> None:
    bad = event("chart_interaction", chart={"action": "zoom"})
    assert error_of(bad) == (
        '$.chart.action: expected one of toggle, sort, filter, compare_expand, compare_collapse; got "zoom"'
    )


def test_unknown_event_type_lists_every_type() -> None:
    message = error_of(event("zoom"))
    assert message.startswith("$.event_type: expected one of page_view, chart_interaction, affiliate_click,")
    assert message.endswith('; got "zoom"')


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"event_type": "page_view", "ts": "2026-11-22T11:59:00Z"}, "$.user: required, but missing"),
        (event("chart_interaction"), "$.chart: required, but missing"),
        (event("affiliate_click"), "$.affiliate: required, but missing"),
        (event(user={"consent": {}}), "$.user.consent.analytics: required, but missing"),
        (event(colour="red"), "$.colour: unknown field, not allowed here"),
        (event(ts=1234), "$.ts: expected string; got integer"),
        (event(ts="2026-11-22 11:59:00Z"), "$.ts: expected an RFC 3339 date-time with an offset"),
        (event(event_id="not-a-uuid"), "$.event_id: expected a UUID"),
        (event(schema_version="2.0.0"), "$.schema_version: expected a version 1.MINOR.PATCH"),
        (event("affiliate_click", affiliate={"payout_cents": -5}), "$.affiliate.payout_cents: expected"),
        (event("affiliate_click", affiliate={"payout_cents": 2.5}), "$.affiliate.payout_cents: expected integer"),
        (event("purchase", order={"order_id": "o1", "revenue_minor": 100, "currency": "usd"}), "$.order.currency"),
        ([1, 2], "$: expected object; got array"),
    ],
)
def test_errors_point_at_the_field(payload: Any, message: str) -> None:
    assert error_of(payload).startswith(message)


def test_ts_is_normalised_to_utc_milliseconds() -> None:
    _, ts = decode_event(json.dumps(event(ts="2026-11-22T13:30:00.1239+01:30")).encode(), now_ms=NOW_MS)
    assert ts == int(datetime(2026, 11, 22, 12, 0, 0, 123_000, tzinfo=UTC).timestamp() * 1000)


def test_ts_more_than_a_day_ahead_is_rejected_with_the_reason() -> None:
    ahead = (NOW + timedelta(hours=24, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "more than 24 h in the future" in error_of(event(ts=ahead))
    almost = (NOW + timedelta(hours=23, minutes=59)).strftime("%Y-%m-%dT%H:%M:%SZ")
    decode_event(json.dumps(event(ts=almost)).encode(), now_ms=NOW_MS)


def test_ts_before_2000_is_rejected_and_a_nonexistent_day_too() -> None:
    assert "before 2000-01-01" in error_of(event(ts="1999-12-31T23:59:59Z"))
    assert "not a real date-time" in error_of(event(ts="2026-02-30T10:00:00Z"))


def test_integral_float_is_taken_as_an_integer() -> None:
    parsed, _ = decode_event(
        json.dumps(event("affiliate_click", affiliate={"payout_cents": 250.0})).encode(), now_ms=NOW_MS
    )
    assert parsed.affiliate.payout_cents == 250 and type(parsed.affiliate.payout_cents) is int  # type: ignore[union-attr]


def test_every_extension_event_is_accepted() -> None:
    extensions = [
        event("product_view", product={"product_id": "p1", "price_minor": 1999, "currency": "EUR"}),
        event("add_to_cart", product={"product_id": "p1", "quantity": 2}),
        event(
            "purchase",
            order={
                "order_id": "o-77",
                "revenue_minor": 4598,
                "currency": "EUR",
                "items": [{"product_id": "p1", "quantity": 2, "price_minor": 2299}],
            },
        ),
        event("search", search={"query": "espresso machine", "results_count": 12}),
        event("qr_scan", qr={"link_id": "tbl-12", "placement": "table-12"}),
        event("custom", custom={"name": "newsletter_signup", "properties": {"plan": "pro", "seats": 3}}),
    ]
    batch = decode_batch(json.dumps(extensions).encode(), now_ms=NOW_MS)
    assert batch.rejected == []
    assert [type(e).__name__ for e in batch.events] == [
        "ProductView",
        "AddToCart",
        "Purchase",
        "SearchEvent",
        "QrScan",
        "CustomEvent",
    ]


def test_extension_objects_are_closed_against_typos() -> None:
    bad = event("purchase", order={"order_id": "o1", "revenue_cents": 100, "currency": "USD"})
    assert error_of(bad) == "$.order.revenue_cents: unknown field, not allowed here"


def test_custom_properties_are_bounded() -> None:
    too_many = event("custom", custom={"name": "x", "properties": {f"k{i}": i for i in range(51)}})
    assert error_of(too_many).startswith("$.custom.properties: expected object of length <= 50")
    too_big = event("custom", custom={"name": "x", "properties": {f"k{i}": "v" * 1000 for i in range(9)}})
    assert error_of(too_big).startswith("$.custom.properties: at most 8192 bytes of JSON")
    nested = event("custom", custom={"name": "x", "properties": {"a": {"b": 1}}})
    assert error_of(nested).startswith("$.custom.properties[...]: expected boolean or integer or number or string")


def test_batch_keeps_valid_events_and_explains_the_rest_by_index() -> None:
    body = json.dumps([event(), event("chart_interaction", chart={"action": "zoom"}), event(), "junk"]).encode()
    batch = decode_batch(body, now_ms=NOW_MS)
    assert batch.indexes == [0, 2]
    assert [r.index for r in batch.rejected] == [1, 3]
    assert batch.sent == 4
    assert json.loads(batch.raw[1])["chart"] == {"action": "zoom"}


def test_semantic_failure_in_an_otherwise_valid_batch_is_per_event() -> None:
    body = json.dumps([event(), event(ts="1999-01-01T00:00:00Z")]).encode()
    batch = decode_batch(body, now_ms=NOW_MS)
    assert batch.indexes == [0] and batch.rejected[0].index == 1


@pytest.mark.parametrize("body", [b"{not json", b'{"events": []}', b"", b"\xff\xfe"])
def test_a_body_that_is_not_an_array_is_one_contract_error(body: bytes) -> None:
    with pytest.raises(ContractError):
        decode_batch(body, now_ms=NOW_MS)


@pytest.mark.parametrize("value", [2**63, 2.0**63, 1e19])
def test_integers_must_fit_in_64_bits(value: float) -> None:
    assert error_of(event("affiliate_click", affiliate={"payout_cents": value})).startswith(
        "$.affiliate.payout_cents: expected"
    )
