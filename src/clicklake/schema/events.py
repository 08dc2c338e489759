"""The ingest contract: what a client may send, one msgspec Struct per event type.

This module is the single definition that validation, the published JSON
Schema (`clicklake.schema.jsonschema`), the enriched record and its Arrow
schema (`clicklake.schema.record`) are derived from.

For the three event types of seed 004 (`page_view`, `chart_interaction`,
`affiliate_click`) the structs accept exactly what the seed's ingest JSON
Schema accepts: the top level is closed (unknown properties rejected), nested
objects of the seed are open (unknown properties are accepted and dropped, as
the seed's schema does not close them). The extension types added for the
other seeds are closed at every level, because their fields become Iceberg
columns and a typo (`revenue_cents` for `revenue_minor`) must not vanish.

Money is always an integer amount in the currency's minor unit (cents for
USD, yen for JPY) with an ISO 4217 code beside it, never a float.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

# -- reusable field types -----------------------------------------------------

#: RFC 3339 date-time, the grammar of JSON Schema's `date-time` format
#: (letters case-insensitive, any number of fraction digits, an offset required).
RFC3339_PATTERN: Final = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
#: RFC 4122 textual form, the shape JSON Schema's `uuid` format checks.
UUID_PATTERN: Final = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

Timestamp = Annotated[str, Meta(pattern=RFC3339_PATTERN, extra_json_schema={"format": "date-time"})]
EventId = Annotated[str, Meta(pattern=UUID_PATTERN, extra_json_schema={"format": "uuid"})]
SchemaVersion = Annotated[str, Meta(pattern=r"^1\.\d+\.\d+$")]

#: A JSON Schema `integer` with `minimum: 0`. JSON Schema counts 5.0 as an
#: integer, so a float is let through here and `validate` rejects it unless it
#: is integral; the record then carries it as an int.
#: Integers are bounded to 64 bits because they become `bigint` columns; the
#: float bound is exclusive because float(MAX_INT) rounds up to 2.0**63.
MAX_INT: Final = 2**63 - 1
Count = Annotated[
    Annotated[int, Meta(ge=0, le=MAX_INT)] | Annotated[float, Meta(ge=0, lt=2**63)],
    Meta(extra_json_schema={"type": "integer", "minimum": 0, "maximum": MAX_INT}),
]
Quantity = Annotated[
    Annotated[int, Meta(ge=1, le=MAX_INT)] | Annotated[float, Meta(ge=1, lt=2**63)],
    Meta(extra_json_schema={"type": "integer", "minimum": 1, "maximum": MAX_INT}),
]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")]
ShortText = Annotated[str, Meta(max_length=1024)]
Name = Annotated[str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")]
Scalar = Annotated[str, Meta(max_length=1024)] | int | float | bool | None

ChartAction = Literal["toggle", "sort", "filter", "compare_expand", "compare_collapse"]

#: The seed's three event types; `validate` agrees with seed 004's schema on these.
SEED_EVENT_TYPES: Final = ("page_view", "chart_interaction", "affiliate_click")
EXTENSION_EVENT_TYPES: Final = (
    "product_view",
    "add_to_cart",
    "purchase",
    "search",
    "qr_scan",
    "custom",
)
EVENT_TYPES: Final = SEED_EVENT_TYPES + EXTENSION_EVENT_TYPES

MAX_CUSTOM_PROPERTIES: Final = 50
MAX_CUSTOM_BYTES: Final = 8 * 1024
MAX_ORDER_ITEMS: Final = 200


# -- nested objects of seed 004 (open: unknown nested keys are dropped) ------


class Consent(Struct, gc=False):
    analytics: bool
    ads: bool | UnsetType = UNSET


class User(Struct, gc=False):
    consent: Consent
    user_id_hash: str | UnsetType = UNSET
    #: Set by the SDK when consent allows first-party storage; clicklake's own
    #: addition (the seed leaves nested objects open).
    anonymous_id: str | UnsetType = UNSET


class Utm(Struct, gc=False):
    source: str | UnsetType = UNSET
    medium: str | UnsetType = UNSET
    campaign: str | UnsetType = UNSET
    term: str | UnsetType = UNSET
    content: str | UnsetType = UNSET


class Session(Struct, gc=False):
    session_id: str | UnsetType = UNSET
    utm: Utm | UnsetType = UNSET


class Ctx(Struct, gc=False):
    page_url: str | UnsetType = UNSET
    referrer: str | UnsetType = UNSET
    locale: str | UnsetType = UNSET
    user_agent: str | UnsetType = UNSET
    ab_variant: str | UnsetType = UNSET
    #: Page title; clicklake's own addition.
    title: str | UnsetType = UNSET


class Chart(Struct, gc=False):
    product_ids: list[str] | UnsetType = UNSET
    action: ChartAction | UnsetType = UNSET
    control_id: str | UnsetType = UNSET
    control_value: str | int | float | bool | UnsetType | None = UNSET


class Affiliate(Struct, gc=False):
    link_id: str | UnsetType = UNSET
    target: str | UnsetType = UNSET
    payout_cents: Count | UnsetType = UNSET


class Metadata(Struct, gc=False):
    sdk_version: str | UnsetType = UNSET
    experiment_keys: list[str] | UnsetType = UNSET


# -- nested objects of the extensions (closed) --------------------------------


class Product(Struct, forbid_unknown_fields=True, gc=False):
    """A product seen or put in a cart."""

    product_id: ShortText
    name: ShortText | UnsetType = UNSET
    category: ShortText | UnsetType = UNSET
    brand: ShortText | UnsetType = UNSET
    variant: ShortText | UnsetType = UNSET
    price_minor: Count | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    quantity: Quantity | UnsetType = UNSET
    #: The list or page module it was shown in ("search results", "related").
    list_name: ShortText | UnsetType = UNSET
    position: Count | UnsetType = UNSET


class LineItem(Struct, forbid_unknown_fields=True, gc=False):
    product_id: ShortText
    quantity: Quantity = 1
    price_minor: Count | UnsetType = UNSET
    name: ShortText | UnsetType = UNSET
    category: ShortText | UnsetType = UNSET
    brand: ShortText | UnsetType = UNSET
    variant: ShortText | UnsetType = UNSET


class Order(Struct, forbid_unknown_fields=True, gc=False):
    """A completed purchase; amounts in minor units of `currency`."""

    order_id: ShortText
    revenue_minor: Count
    currency: Currency
    tax_minor: Count | UnsetType = UNSET
    shipping_minor: Count | UnsetType = UNSET
    discount_minor: Count | UnsetType = UNSET
    coupon: ShortText | UnsetType = UNSET
    items: Annotated[list[LineItem], Meta(max_length=MAX_ORDER_ITEMS)] | UnsetType = UNSET


class Search(Struct, forbid_unknown_fields=True, gc=False):
    query: Annotated[str, Meta(max_length=1024)]
    results_count: Count | UnsetType = UNSET
    category: ShortText | UnsetType = UNSET


class Qr(Struct, forbid_unknown_fields=True, gc=False):
    """A scan of a printed QR code (seed 000: restaurant tables)."""

    link_id: ShortText
    #: Where the code hangs: "table-12", "window", "flyer".
    placement: ShortText | UnsetType = UNSET
    target: ShortText | UnsetType = UNSET


class Custom(Struct, forbid_unknown_fields=True, gc=False):
    name: Name
    properties: (
        Annotated[dict[Annotated[str, Meta(max_length=64)], Scalar], Meta(max_length=MAX_CUSTOM_PROPERTIES)] | UnsetType
    ) = UNSET


# -- the events ---------------------------------------------------------------


class _Base(Struct, gc=False, forbid_unknown_fields=True, tag_field="event_type"):
    ts: Timestamp
    user: User
    schema_version: SchemaVersion = "1.0.0"
    event_id: EventId | UnsetType = UNSET
    session: Session | UnsetType = UNSET
    ctx: Ctx | UnsetType = UNSET
    metadata: Metadata | UnsetType = UNSET


class PageView(_Base, tag="page_view", kw_only=True):
    chart: Chart | UnsetType = UNSET
    affiliate: Affiliate | UnsetType = UNSET


class ChartInteraction(_Base, tag="chart_interaction", kw_only=True):
    chart: Chart
    affiliate: Affiliate | UnsetType = UNSET


class AffiliateClick(_Base, tag="affiliate_click", kw_only=True):
    affiliate: Affiliate
    chart: Chart | UnsetType = UNSET


class ProductView(_Base, tag="product_view", kw_only=True):
    product: Product


class AddToCart(_Base, tag="add_to_cart", kw_only=True):
    product: Product


class Purchase(_Base, tag="purchase", kw_only=True):
    order: Order


class SearchEvent(_Base, tag="search", kw_only=True):
    search: Search


class QrScan(_Base, tag="qr_scan", kw_only=True):
    qr: Qr


class CustomEvent(_Base, tag="custom", kw_only=True):
    custom: Custom


Event = (
    PageView
    | ChartInteraction
    | AffiliateClick
    | ProductView
    | AddToCart
    | Purchase
    | SearchEvent
    | QrScan
    | CustomEvent
)
EVENT_CLASSES: Final[tuple[type[_Base], ...]] = (
    PageView,
    ChartInteraction,
    AffiliateClick,
    ProductView,
    AddToCart,
    Purchase,
    SearchEvent,
    QrScan,
    CustomEvent,
)
#: The `event_type` of each event class.
EVENT_TYPE_OF: Final[dict[type[_Base], str]] = {cls: str(cls.__struct_config__.tag) for cls in EVENT_CLASSES}
