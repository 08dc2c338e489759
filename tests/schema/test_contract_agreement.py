"""Our validator against the reference `jsonschema` Draft 2020-12 validator.

1. On seed 004's own ingest schema, for the seed's three event types: every
   generated payload, valid or mutated, is accepted by both or rejected by
   both.
2. On our published schema (`/schema/v1.json`), for all event types: the same.

The generator keeps the documented semantic rules out by construction, as
they are not expressible in JSON Schema: timestamps are recent (within the
last 30 days), and numbers fit in 64 bits. It also leaves out quirks of the
reference's `uuid` format check (which lets Python's `UUID()` accept
underscores and extra hyphens); our contract takes the RFC 4122 text form.
And it does not put values of another type into the two nested fields that
clicklake types where the seed leaves its objects open (`user.anonymous_id`,
`ctx.title`): we reject a number there, the seed's schema does not look.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clicklake.errors import ContractError
from clicklake.schema import decode_event, json_schema
from clicklake.schema.events import EXTENSION_EVENT_TYPES, SEED_EVENT_TYPES

SEED_SCHEMA = json.loads((Path(__file__).parent / "seed_004_ingest.json").read_text())
NOW = datetime.now(UTC)
NOW_MS = int(time.time() * 1000)
INT64 = 2**63 - 1


def reference(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


SEED = reference(SEED_SCHEMA)
PUBLISHED = reference(json_schema())


def ours_accepts(payload: bytes) -> bool:
    try:
        decode_event(payload, now_ms=NOW_MS)
    except ContractError:
        return False
    return True


# -- valid payloads -------------------------------------------------------------

text = st.text(max_size=12)
OUR_NESTED = {"anonymous_id", "title"}
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(lambda k: k not in OUR_NESTED)
small_ints = st.integers(min_value=-(2**63), max_value=INT64)
# Numbers within 64 bits: beyond them our contract deliberately parts from the seed's schema
# (its integers have no bound; ours become bigint columns), also for integral floats such as 2.0**63.
small_floats = st.floats(min_value=-(2.0**63), max_value=2.0**63, exclude_min=True, exclude_max=True)
json_scalars = st.one_of(st.none(), st.booleans(), small_ints, small_floats, text)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)),
    max_leaves=6,
)
counts = st.one_of(st.integers(0, INT64), st.integers(0, 2**50).map(float))


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    moment = NOW - timedelta(seconds=draw(st.integers(1, 30 * 86400)), microseconds=draw(st.integers(0, 999_999)))
    offset = draw(st.sampled_from([None, 0, 330, -300, 60 * 14, -60 * 12]))
    if offset is not None:
        moment = moment.astimezone(timezone(timedelta(minutes=offset)))
    digits = draw(st.sampled_from([0, 1, 3, 6, 9]))
    out = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        out += "." + f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    out += "Z" if offset is None else moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
    if draw(st.booleans()):
        out = out.lower()
    return out


def optional(draw: st.DrawFn, obj: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        obj[key] = draw(strategy)


def with_extras(draw: st.DrawFn, obj: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """Unknown keys in a nested seed object: the seed's schema leaves those open."""
    if draw(st.integers(0, 4)) == 0:
        key = draw(names.filter(lambda k: k not in known))
        obj[key] = draw(json_values)
    return obj


@st.composite
def objects(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...] = ()) -> Any:
    out: dict[str, Any] = {}
    for key, strategy in fields.items():
        if key in required:
            out[key] = draw(strategy)
        else:
            optional(draw, out, key, strategy)
    return out


def seed_object(fields: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        return with_extras(draw, draw(objects(fields, required)), set(fields))

    return build()


consent = seed_object({"analytics": st.booleans(), "ads": st.booleans()}, ("analytics",))
user = seed_object({"consent": consent, "user_id_hash": text, "anonymous_id": text}, ("consent",))
utm = seed_object(dict.fromkeys(("source", "medium", "campaign", "term", "content"), text))
session = seed_object({"session_id": text, "utm": utm})
ctx = seed_object(dict.fromkeys(("page_url", "referrer", "locale", "user_agent", "ab_variant", "title"), text))
chart = seed_object(
    {
        "product_ids": st.lists(text, max_size=3),
        "action": st.sampled_from(["toggle", "sort", "filter", "compare_expand", "compare_collapse"]),
        "control_id": text,
        "control_value": st.one_of(st.none(), st.booleans(), text, st.integers(), finite),
    }
)
affiliate = seed_object({"link_id": text, "target": text, "payout_cents": counts})
metadata = seed_object({"sdk_version": text, "experiment_keys": st.lists(text, max_size=3)})
uuids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
versions = st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda t: f"1.{t[0]}.{t[1]}")

currency = st.sampled_from(["USD", "EUR", "JPY", "ILS"])
product = objects(
    {
        "product_id": text,
        "name": text,
        "category": text,
        "brand": text,
        "variant": text,
        "price_minor": counts,
        "currency": currency,
        "quantity": st.integers(1, 10),
        "list_name": text,
        "position": st.integers(0, 50),
    },
    ("product_id",),
)
line_item = objects(
    {"product_id": text, "quantity": st.integers(1, 5), "price_minor": counts, "name": text, "variant": text},
    ("product_id",),
)
order = objects(
    {
        "order_id": text,
        "revenue_minor": counts,
        "currency": currency,
        "tax_minor": counts,
        "shipping_minor": counts,
        "discount_minor": counts,
        "coupon": text,
        "items": st.lists(line_item, max_size=4),
    },
    ("order_id", "revenue_minor", "currency"),
)
search = objects({"query": text, "results_count": counts, "category": text}, ("query",))
qr = objects({"link_id": text, "placement": text, "target": text}, ("link_id",))
custom = objects(
    {
        "name": st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z"),
        "properties": st.dictionaries(
            st.text(max_size=20),
            st.one_of(st.none(), st.booleans(), small_ints, st.floats(allow_nan=False, allow_infinity=False), text),
            max_size=50,
        ),
    },
    ("name",),
)

BODY: dict[str, st.SearchStrategy[Any]] = {
    "chart_interaction": chart,
    "affiliate_click": affiliate,
    "product_view": product,
    "add_to_cart": product,
    "purchase": order,
    "search": search,
    "qr_scan": qr,
    "custom": custom,
}
BODY_KEY = {
    "chart_interaction": "chart",
    "affiliate_click": "affiliate",
    "product_view": "product",
    "add_to_cart": "product",
    "purchase": "order",
    "search": "search",
    "qr_scan": "qr",
    "custom": "custom",
}


@st.composite
def valid_events(draw: st.DrawFn, types: tuple[str, ...]) -> dict[str, Any]:
    event_type = draw(st.sampled_from(types))
    event: dict[str, Any] = {"event_type": event_type, "ts": draw(timestamps()), "user": draw(user)}
    optional(draw, event, "schema_version", versions)
    optional(draw, event, "event_id", uuids)
    optional(draw, event, "session", session)
    optional(draw, event, "ctx", ctx)
    optional(draw, event, "metadata", metadata)
    if event_type in SEED_EVENT_TYPES:
        # Either seed body may ride on any seed event type.
        optional(draw, event, "chart", chart)
        optional(draw, event, "affiliate", affiliate)
    if event_type in BODY:
        event[BODY_KEY[event_type]] = draw(BODY[event_type])
    return event


# -- mutations --------------------------------------------------------------------


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += paths(value, (*prefix, i))
    return out


def parent(obj: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        obj = obj[step]
    return obj


@st.composite
def mutated_events(draw: st.DrawFn, types: tuple[str, ...]) -> Any:
    event = draw(valid_events(types))
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["replace", "delete", "add", "retype", "event_type", "format"]))
        where = [p for p in paths(event) if p[-1] not in OUR_NESTED]
        if kind == "replace" and where:
            path = draw(st.sampled_from(where))
            parent(event, path)[path[-1]] = draw(json_values)
        elif kind == "delete" and where:
            path = draw(st.sampled_from(where))
            container = parent(event, path)
            if isinstance(container, dict):
                del container[path[-1]]
        elif kind == "add":
            dicts = [p for p in where if isinstance(parent(event, (*p, None)), dict)]
            target = parent(event, (*draw(st.sampled_from([(), *dicts])), None))
            target[draw(names)] = draw(json_values)
        elif kind == "retype":
            # the event as a whole not an object
            return draw(st.one_of(st.lists(json_scalars, max_size=2), json_scalars))
        elif kind == "event_type":
            event["event_type"] = draw(st.sampled_from([*types, "zoom", "PAGE_VIEW", ""]))
        elif kind == "format":
            field = draw(st.sampled_from(["ts", "event_id", "schema_version"]))
            event[field] = draw(
                st.sampled_from(
                    [
                        "2025-08-20 20:20:20Z",  # space separator
                        "2025-08-20T20:20:20+0000",  # offset without colon
                        "2025-08-20T20:20Z",  # no seconds
                        "2025-02-30T20:20:20Z",  # no such day
                        "2025-08-20T24:00:00Z",
                        "2025-08-20T20:20:20",  # no offset
                        "12345678123412341234123456789abc",  # uuid without hyphens
                        "{12345678-1234-1234-1234-123456789abc}",
                        "12345678-1234-1234-1234-123456789abz",
                        "2.0.0",
                        "1.0",
                        "1.0.0-beta",
                        "",
                    ]
                )
            )
    return event


def agree(validator: jsonschema.Draft202012Validator, event: Any) -> None:
    payload = json.dumps(event).encode()
    expected = validator.is_valid(json.loads(payload))
    assert ours_accepts(payload) == expected, (
        f"reference says {'valid' if expected else 'invalid'}: "
        f"{[e.message for e in validator.iter_errors(json.loads(payload))][:3]}\n{payload.decode()}"
    )


COMMON = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(valid_events(SEED_EVENT_TYPES))
def test_valid_seed_events_agree_with_seed_schema(event: dict[str, Any]) -> None:
    assert SEED.is_valid(event)
    agree(SEED, event)


@COMMON
@given(mutated_events(SEED_EVENT_TYPES))
def test_mutated_seed_events_agree_with_seed_schema(event: Any) -> None:
    agree(SEED, event)


@COMMON
@given(
    st.one_of(
        valid_events(SEED_EVENT_TYPES + EXTENSION_EVENT_TYPES), mutated_events(SEED_EVENT_TYPES + EXTENSION_EVENT_TYPES)
    )
)
def test_all_events_agree_with_published_schema(event: Any) -> None:
    agree(PUBLISHED, event)


def test_mutations_do_reject_some_and_accept_some() -> None:
    """Guards the generator: a mutation engine that never rejects would prove nothing."""
    outcomes: set[bool] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(mutated_events(SEED_EVENT_TYPES))
    def collect(event: Any) -> None:
        outcomes.add(SEED.is_valid(event))

    collect()
    assert outcomes == {True, False}


@pytest.mark.parametrize("event_type", SEED_EVENT_TYPES)
def test_seed_example_of_section_2_shape_is_accepted(event_type: str) -> None:
    event = {
        "schema_version": "1.1.0",
        "event_type": event_type,
        "event_id": "0b9f6c1e-2a7d-4d3b-9c1e-5f2a7d4d3b9c",
        "ts": NOW.strftime("%Y-%m-%dT%H:%M:%S.123Z"),
        "user": {"user_id_hash": "sha256:abc", "consent": {"analytics": True, "ads": False}},
        "session": {"session_id": "sid_abc", "utm": {"source": "ads", "campaign": "summer"}},
        "ctx": {"page_url": "https://example.com/compare", "locale": "en-US", "ab_variant": "A"},
        "chart": {
            "product_ids": ["basic", "studio"],
            "action": "sort",
            "control_id": "plan-price",
            "control_value": "asc",
        },
        "affiliate": {"link_id": "l1", "target": "https://shop.example/studio", "payout_cents": 250},
        "metadata": {"sdk_version": "0.2.3", "experiment_keys": ["pricing"]},
    }
    assert SEED.is_valid(event)
    agree(SEED, event)
