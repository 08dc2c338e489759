"""Decode and validate events against the contract, one batch at a time.

Structure and types are checked by msgspec in one pass over the bytes; a
short Python pass then applies the rules JSON Schema cannot express:

- `ts` is normalised to UTC epoch milliseconds; a time before 2000-01-01 or
  more than 24 h ahead of the server clock is rejected with the reason.
- A JSON number standing for an integer (`payout_cents`, the `*_minor`
  amounts, quantities, counts) must be integral: `5.0` passes as 5, `5.5` not
  (JSON Schema counts 5.0 as an integer too); and it must fit in 64 bits.
- A `custom` event's properties encode to at most 8 KB of JSON.
- Strings are UTF-8: an event with other bytes in a string is rejected alone.

Every error names the field by its JSON path and says what was expected:
`$.chart.action: expected one of toggle, sort, filter, compare_expand,
compare_collapse; got "zoom"`.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

import msgspec
from msgspec import UNSET

from clicklake.errors import ContractError
from clicklake.schema import events as ev

MIN_TS_MS: Final = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_FUTURE_MS: Final = 24 * 3600 * 1000

_event_decoder = msgspec.json.Decoder(ev.Event)
_batch_decoder = msgspec.json.Decoder(list[ev.Event])
_raw_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_encoder = msgspec.json.Encoder()


class Rejection(msgspec.Struct, frozen=True):
    """An event that failed validation: its position in the batch and why."""

    index: int
    error: str


class Batch(msgspec.Struct):
    """A decoded batch: accepted events (with `ts` in UTC ms) and rejections.

    `raw` holds the undecoded bytes of each rejected event, by index, so the
    caller can keep it in quarantine with its reason.
    """

    events: list[ev.Event]
    ts_ms: list[int]
    indexes: list[int]
    rejected: list[Rejection]
    raw: dict[int, bytes]

    @property
    def sent(self) -> int:
        return len(self.events) + len(self.rejected)


# -- error messages -------------------------------------------------------------

_TYPE_NAMES: Final = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "null": "null",
    "object": "object",
    "array": "array",
}
# msgspec quotes the pattern with repr(), so the keys are repr()'d too.
_PATTERN_NAMES: Final = {
    repr(pattern)[1:-1]: name
    for pattern, name in {
        ev.RFC3339_PATTERN: "an RFC 3339 date-time with an offset, like 2025-08-20T20:20:20.123Z",
        ev.UUID_PATTERN: "a UUID like 0b9f6c1e-2a7d-4d3b-9c1e-5f2a7d4d3b9c",
        r"^1\.\d+\.\d+$": "a version 1.MINOR.PATCH, like 1.0.0",
        r"^[A-Z]{3}$": "an ISO 4217 currency code, like USD",
        r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$": (
            "a name of letters, digits and _ . : - (at most 64, starting with a letter)"
        ),
    }.items()
}
_AT: Final = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
_INDEX: Final = re.compile(r"\[\d+\]")


def _enum_fields() -> dict[str, tuple[str, ...]]:
    """JSON path (without list indexes) of every enum field, with its values."""
    found: dict[str, tuple[str, ...]] = {"$.event_type": ev.EVENT_TYPES}

    def walk(tp: Any, path: str, seen: frozenset[type]) -> None:
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            if tp in seen:
                return
            for field in msgspec.structs.fields(tp):
                walk(field.type, f"{path}.{field.encode_name}", seen | {tp})
            return
        origin = getattr(tp, "__origin__", None)
        if origin is Literal:
            found[path] = tuple(str(v) for v in get_args(tp))
            return
        for arg in get_args(tp):
            walk(arg, path + ("[]" if origin is list else ""), seen)

    for cls in ev.EVENT_CLASSES:
        walk(cls, "$", frozenset())
    return found


_ENUMS: Final = _enum_fields()


def _types(text: str) -> str:
    return " or ".join(_TYPE_NAMES.get(t.strip(), t.strip()) for t in text.split("|"))


def explain(message: str) -> str:
    """Turn a msgspec error message into `$.path: expected ...; got ...`."""
    m = _AT.match(message)
    assert m is not None  # the pattern matches any string
    msg, path = m["msg"], m["path"] or "$"
    if found := re.match(r"Object missing required field `(.+)`", msg):
        return f"{path}.{found[1]}: required, but missing"
    if found := re.match(r"Object contains unknown field `(.+)`", msg):
        return f"{path}.{found[1]}: unknown field, not allowed here"
    if found := re.match(r"Invalid (?:enum )?value (.+)", msg):
        values = _ENUMS.get(_INDEX.sub("[]", path))
        got = found[1]
        if got.startswith("'") and got.endswith("'"):
            got = msgspec.json.encode(got[1:-1]).decode()
        if values:
            return f"{path}: expected one of {', '.join(values)}; got {got}"
        return f"{path}: invalid value {got}"
    if found := re.match(r"Expected `([^`]+)` matching regex '(.*)'$", msg, re.S):
        want = _PATTERN_NAMES.get(found[2], f"a string matching {found[2]}")
        return f"{path}: expected {want}"
    if found := re.match(r"Expected `([^`]+)`, got `([^`]+)`", msg):
        return f"{path}: expected {_types(found[1])}; got {_types(found[2])}"
    if found := re.match(r"Expected `([^`]+)`(.*)", msg, re.S):
        return f"{path}: expected {_types(found[1])}{found[2]}"
    if msg.startswith("JSON is malformed"):
        return f"{path}: malformed JSON ({msg.removeprefix('JSON is malformed: ')})"
    return f"{path}: {msg[:1].lower()}{msg[1:]}"


# -- the rules beyond the schema ------------------------------------------------


def _integral(value: Any, path: str) -> Any:
    """Return an integral float as int; reject a fractional one (the range is the schema's)."""
    if type(value) is not float:
        return value
    if not value.is_integer():
        raise ContractError(f"{path}: expected integer; got {value!r}")
    return int(value)


def _integrals(obj: msgspec.Struct, names: tuple[str, ...], path: str) -> None:
    for name in names:
        setattr(obj, name, _integral(getattr(obj, name), f"{path}.{name}"))


def _normalise(event: ev.Event) -> None:
    """Integral floats become ints; custom properties are held to their byte limit."""
    if isinstance(event, (ev.PageView, ev.ChartInteraction, ev.AffiliateClick)):
        if event.affiliate is not UNSET:
            _integrals(event.affiliate, ("payout_cents",), "$.affiliate")
    elif isinstance(event, (ev.ProductView, ev.AddToCart)):
        _integrals(event.product, ("price_minor", "quantity", "position"), "$.product")
    elif isinstance(event, ev.Purchase):
        order = event.order
        _integrals(order, ("revenue_minor", "tax_minor", "shipping_minor", "discount_minor"), "$.order")
        if order.items is not UNSET:
            for i, item in enumerate(order.items):
                _integrals(item, ("quantity", "price_minor"), f"$.order.items[{i}]")
    elif isinstance(event, ev.SearchEvent):
        _integrals(event.search, ("results_count",), "$.search")
    elif isinstance(event, ev.CustomEvent):
        props = event.custom.properties
        if props is not UNSET:
            size = len(_encoder.encode(props))
            if size > ev.MAX_CUSTOM_BYTES:
                raise ContractError(f"$.custom.properties: at most {ev.MAX_CUSTOM_BYTES} bytes of JSON; got {size}")


def parse_ts(ts: str) -> int:
    """UTC epoch milliseconds of a `ts` that matched the RFC 3339 pattern."""
    # The pattern allows lower-case t/z and, as JSON Schema's does, a trailing
    # newline; fromisoformat wants neither.
    try:
        parsed = datetime.fromisoformat(ts.rstrip("\n").upper())
    except ValueError:
        raise ContractError(f"$.ts: not a real date-time; got {msgspec.json.encode(ts).decode()}") from None
    delta = parsed - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def check(event: ev.Event, now_ms: int) -> int:
    """Apply the semantic rules; return `ts` in UTC epoch ms or raise ContractError."""
    ts_ms = parse_ts(event.ts)
    if ts_ms < MIN_TS_MS:
        raise ContractError(f"$.ts: before 2000-01-01 is not accepted; got {event.ts!r}")
    if ts_ms > now_ms + MAX_FUTURE_MS:
        raise ContractError(f"$.ts: more than 24 h in the future of the server clock; got {event.ts!r}")
    _normalise(event)
    return ts_ms


# -- entry points -------------------------------------------------------------


def decode_event(data: bytes | str, now_ms: int | None = None) -> tuple[ev.Event, int]:
    """Decode one event; return it with `ts` in UTC ms, or raise ContractError."""
    try:
        event = _event_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ContractError(explain(str(exc))) from None
    except UnicodeDecodeError as exc:
        raise ContractError(f"$: a string is not valid UTF-8 ({exc.reason} at its byte {exc.start})") from None
    return event, check(event, _now_ms() if now_ms is None else now_ms)


def decode_batch(body: bytes, now_ms: int | None = None) -> Batch:
    """Decode a JSON array of events, keeping the valid ones and the reasons for the rest.

    Raises ContractError only when the body as a whole is not a JSON array.
    """
    now = _now_ms() if now_ms is None else now_ms
    try:
        events = _batch_decoder.decode(body)
    except (msgspec.ValidationError, UnicodeDecodeError):
        return _decode_each(body, now)
    except msgspec.DecodeError as exc:
        raise ContractError(explain(str(exc))) from None
    ts_ms: list[int] = []
    try:
        for event in events:
            ts_ms.append(check(event, now))
    except ContractError:
        return _decode_each(body, now)
    return Batch(events, ts_ms, list(range(len(events))), [], {})


def _decode_each(body: bytes, now: int) -> Batch:
    try:
        raws = _raw_list_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ContractError(explain(str(exc))) from None
    batch = Batch([], [], [], [], {})
    for i, raw in enumerate(raws):
        try:
            event, ts = decode_event(raw, now)
        except ContractError as exc:
            batch.rejected.append(Rejection(i, str(exc)))
            batch.raw[i] = bytes(raw)
            continue
        batch.events.append(event)
        batch.ts_ms.append(ts)
        batch.indexes.append(i)
    return batch


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
