"""The ingest contract of `clicklake.schema.events` written as pydantic v2 models.

A benchmark baseline only: it mirrors the msgspec Structs constraint for
constraint, so that timing it against `clicklake.schema.decode_batch` compares
like with like.

- A discriminated union on `event_type` over the nine event types.
- Everything strict: no `"5"` for an integer, no `1` for a boolean, no `null`
  where a field may only be absent (the `MISSING` sentinel plays msgspec's
  `UNSET`).
- The top level and the extension objects (`product`, `order`, its items,
  `search`, `qr`, `custom`) forbid unknown keys; the seed's nested objects
  (`user`, `session`, `ctx`, `chart`, ...) ignore and drop them, as ours do.
- `ts` must match `RFC3339_PATTERN` and is then parsed to an aware datetime.
- Patterns run on Python's `re`, as msgspec's and jsonschema's do: pydantic's default
  Rust engine differs on `$` (Python's also matches before a final newline, so
  `"...Z\n"` is a valid `ts` here as in ours); timing showed no cost to it.
- Counts and amounts are non-negative integers of at most 64 bits; an integral
  float (`5.0`) passes as an int, a fractional one is rejected, like ours.
- `validate_batch` adds the checks beyond the schema that ours makes in Python:
  `ts` in [2000-01-01, now + 24 h] and custom properties at most 8 KB of JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

import pydantic_core
from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StringConstraints,
    TypeAdapter,
)
from pydantic_core import core_schema

from clicklake.schema import events as ev

MIN_TS: Final = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE: Final = timedelta(hours=24)

#: Seed 004's nested objects: unknown keys are ignored (and dropped).
_OPEN: Final = ConfigDict(strict=True, extra="ignore", regex_engine="python-re")
#: The top level and the extension objects: unknown keys are an error.
_CLOSED: Final = ConfigDict(strict=True, extra="forbid", regex_engine="python-re")


def _to_datetime(ts: str) -> datetime:
    """The aware datetime of a string that matched `RFC3339_PATTERN`."""
    try:
        return datetime.fromisoformat(ts.rstrip("\n").upper())
    except ValueError:
        raise ValueError("not a real date-time") from None


def _integral(value: int | float) -> int:
    """An integral float as int; a fractional one is an error (the range is checked before)."""
    if type(value) is float:
        if not value.is_integer():
            raise ValueError("expected integer")
        return int(value)
    return value  # type: ignore[return-value]  # an int


#: The float branch's bound. Strict floats take JSON integers too, so `le=MAX_INT` on it would
#: let 2**63 in (as the float 2.0**63 == float(MAX_INT)); every float below 2.0**63 fits in 64 bits.
_TWO_63: Final = 2.0**63

# The pattern is checked by pydantic-core, the parse by `_to_datetime`.
Timestamp = Annotated[
    datetime,
    GetPydanticSchema(
        lambda _tp, _handler: core_schema.no_info_after_validator_function(
            _to_datetime, core_schema.str_schema(pattern=ev.RFC3339_PATTERN, regex_engine="python-re")
        )
    ),
]
EventId = Annotated[str, StringConstraints(pattern=ev.UUID_PATTERN)]
SchemaVersion = Annotated[str, StringConstraints(pattern=r"^1\.\d+\.\d+$")]
Count = Annotated[
    Annotated[int, Field(ge=0, le=ev.MAX_INT)] | Annotated[float, Field(ge=0, lt=_TWO_63)],
    AfterValidator(_integral),
]
Quantity = Annotated[
    Annotated[int, Field(ge=1, le=ev.MAX_INT)] | Annotated[float, Field(ge=1, lt=_TWO_63)],
    AfterValidator(_integral),
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ShortText = Annotated[str, StringConstraints(max_length=1024)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")]
Scalar = Annotated[str, StringConstraints(max_length=1024)] | int | float | bool | None
PropertyKey = Annotated[str, StringConstraints(max_length=64)]
ChartAction = Literal["toggle", "sort", "filter", "compare_expand", "compare_collapse"]


# -- nested objects of seed 004 (open) ----------------------------------------


class Consent(BaseModel):
    model_config = _OPEN
    analytics: bool
    ads: bool | MISSING = MISSING


class User(BaseModel):
    model_config = _OPEN
    consent: Consent
    user_id_hash: str | MISSING = MISSING
    anonymous_id: str | MISSING = MISSING


class Utm(BaseModel):
    model_config = _OPEN
    source: str | MISSING = MISSING
    medium: str | MISSING = MISSING
    campaign: str | MISSING = MISSING
    term: str | MISSING = MISSING
    content: str | MISSING = MISSING


class Session(BaseModel):
    model_config = _OPEN
    session_id: str | MISSING = MISSING
    utm: Utm | MISSING = MISSING


class Ctx(BaseModel):
    model_config = _OPEN
    page_url: str | MISSING = MISSING
    referrer: str | MISSING = MISSING
    locale: str | MISSING = MISSING
    user_agent: str | MISSING = MISSING
    ab_variant: str | MISSING = MISSING
    title: str | MISSING = MISSING


class Chart(BaseModel):
    model_config = _OPEN
    product_ids: list[str] | MISSING = MISSING
    action: ChartAction | MISSING = MISSING
    control_id: str | MISSING = MISSING
    control_value: str | int | float | bool | MISSING | None = MISSING


class Affiliate(BaseModel):
    model_config = _OPEN
    link_id: str | MISSING = MISSING
    target: str | MISSING = MISSING
    payout_cents: Count | MISSING = MISSING


class Metadata(BaseModel):
    model_config = _OPEN
    sdk_version: str | MISSING = MISSING
    experiment_keys: list[str] | MISSING = MISSING


# -- nested objects of the extensions (closed) --------------------------------


class Product(BaseModel):
    model_config = _CLOSED
    product_id: ShortText
    name: ShortText | MISSING = MISSING
    category: ShortText | MISSING = MISSING
    brand: ShortText | MISSING = MISSING
    variant: ShortText | MISSING = MISSING
    price_minor: Count | MISSING = MISSING
    currency: Currency | MISSING = MISSING
    quantity: Quantity | MISSING = MISSING
    list_name: ShortText | MISSING = MISSING
    position: Count | MISSING = MISSING


class LineItem(BaseModel):
    model_config = _CLOSED
    product_id: ShortText
    quantity: Quantity = 1
    price_minor: Count | MISSING = MISSING
    name: ShortText | MISSING = MISSING
    category: ShortText | MISSING = MISSING
    brand: ShortText | MISSING = MISSING
    variant: ShortText | MISSING = MISSING


class Order(BaseModel):
    model_config = _CLOSED
    order_id: ShortText
    revenue_minor: Count
    currency: Currency
    tax_minor: Count | MISSING = MISSING
    shipping_minor: Count | MISSING = MISSING
    discount_minor: Count | MISSING = MISSING
    coupon: ShortText | MISSING = MISSING
    items: Annotated[list[LineItem], Field(max_length=ev.MAX_ORDER_ITEMS)] | MISSING = MISSING


class Search(BaseModel):
    model_config = _CLOSED
    query: Annotated[str, StringConstraints(max_length=1024)]
    results_count: Count | MISSING = MISSING
    category: ShortText | MISSING = MISSING


class Qr(BaseModel):
    model_config = _CLOSED
    link_id: ShortText
    placement: ShortText | MISSING = MISSING
    target: ShortText | MISSING = MISSING


class Custom(BaseModel):
    model_config = _CLOSED
    name: Name
    properties: Annotated[dict[PropertyKey, Scalar], Field(max_length=ev.MAX_CUSTOM_PROPERTIES)] | MISSING = MISSING


# -- the events ---------------------------------------------------------------


class _Base(BaseModel):
    model_config = _CLOSED
    ts: Timestamp
    user: User
    schema_version: SchemaVersion = "1.0.0"
    event_id: EventId | MISSING = MISSING
    session: Session | MISSING = MISSING
    ctx: Ctx | MISSING = MISSING
    metadata: Metadata | MISSING = MISSING


class PageView(_Base):
    event_type: Literal["page_view"]
    chart: Chart | MISSING = MISSING
    affiliate: Affiliate | MISSING = MISSING


class ChartInteraction(_Base):
    event_type: Literal["chart_interaction"]
    chart: Chart
    affiliate: Affiliate | MISSING = MISSING


class AffiliateClick(_Base):
    event_type: Literal["affiliate_click"]
    affiliate: Affiliate
    chart: Chart | MISSING = MISSING


class ProductView(_Base):
    event_type: Literal["product_view"]
    product: Product


class AddToCart(_Base):
    event_type: Literal["add_to_cart"]
    product: Product


class Purchase(_Base):
    event_type: Literal["purchase"]
    order: Order


class SearchEvent(_Base):
    event_type: Literal["search"]
    search: Search


class QrScan(_Base):
    event_type: Literal["qr_scan"]
    qr: Qr


class CustomEvent(_Base):
    event_type: Literal["custom"]
    custom: Custom


Event = Annotated[
    PageView
    | ChartInteraction
    | AffiliateClick
    | ProductView
    | AddToCart
    | Purchase
    | SearchEvent
    | QrScan
    | CustomEvent,
    Field(discriminator="event_type"),
]

BATCH: Final[TypeAdapter[list[Any]]] = TypeAdapter(list[Event])


def check(event: Any, now: datetime) -> None:
    """The rules beyond the schema, as `clicklake.schema.validate.check` applies them."""
    if event.ts < MIN_TS:
        raise ValueError(f"$.ts: before 2000-01-01 is not accepted; got {event.ts.isoformat()!r}")
    if event.ts > now + MAX_FUTURE:
        raise ValueError(f"$.ts: more than 24 h in the future of the server clock; got {event.ts.isoformat()!r}")
    if type(event) is CustomEvent and event.custom.properties is not MISSING:
        size = len(pydantic_core.to_json(event.custom.properties))
        if size > ev.MAX_CUSTOM_BYTES:
            raise ValueError(f"$.custom.properties: at most {ev.MAX_CUSTOM_BYTES} bytes of JSON; got {size}")


def validate_batch(body: bytes, now: datetime | None = None) -> list[Any]:
    """Decode and validate a JSON array of events; raise on the first invalid batch."""
    events = BATCH.validate_json(body)
    moment = datetime.now(UTC) if now is None else now
    for event in events:
        check(event, moment)
    return events
