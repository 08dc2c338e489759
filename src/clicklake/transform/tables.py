"""The silver and gold tables: columns, partitioning and sort (seed 004 sections 4 and 5, extended).

Every column is optional in Iceberg: the keys are guaranteed by the data-quality
checks (`clicklake.transform.checks`), which say what is wrong, rather than by a
writer that refuses a whole run without naming the row. The SQL models in
`models/` produce these columns by name; the runner casts each one to the type
declared here, so a model and its table cannot drift apart silently.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
from pyiceberg.transforms import IdentityTransform

from clicklake.lake.tables import Partition, TableDef

SILVER_EVENTS: Final = "silver.events"
SILVER_SESSIONS: Final = "silver.sessions"
SILVER_USER_SEGMENTS: Final = "silver.user_segments"
GOLD_FACT_FUNNEL: Final = "gold.fact_funnel"
GOLD_FACT_AFFILIATE_CLICKS: Final = "gold.fact_affiliate_clicks"
GOLD_FACT_ORDERS: Final = "gold.fact_orders"
GOLD_KPI_DAILY: Final = "gold.kpi_daily"
GOLD_DQ_RESULTS: Final = "gold.dq_results"
GOLD_ITEM_NEIGHBOURS: Final = "gold.item_neighbours"
GOLD_ITEM_POPULARITY: Final = "gold.item_popularity"
GOLD_USER_ITEMS: Final = "gold.user_items"

_S = pa.string()
_I = pa.int64()
_B = pa.bool_()
_TS = pa.timestamp("us", tz="UTC")
_DATE = pa.date32()


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, kind, nullable=True) for name, kind in fields])


def _strings(*names: str) -> list[tuple[str, pa.DataType]]:
    return [(n, _S) for n in names]


ORDER_ITEM: Final = pa.struct(
    [
        pa.field("product_id", _S),
        pa.field("quantity", _I),
        pa.field("price_minor", _I),
        pa.field("name", _S),
        pa.field("category", _S),
        pa.field("brand", _S),
        pa.field("variant", _S),
    ]
)

#: seed 004 section 4.1, plus site, visitor, device, traffic, UTM, e-commerce and custom fields.
SILVER_EVENTS_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("event_id", _S),
    ("event_type", _S),
    ("ts", _TS),
    ("ingest_ts", _I),
    # the SDK's session id as sent; the session an event belongs to is in gold facts and silver.sessions
    ("session_id", _S),
    *_strings("visitor_id", "user_id_hash", "anonymous_id", "geo_country"),
    *_strings("page_url", "page_path", "page_title", "referrer", "referrer_host", "referrer_class"),
    *_strings("locale", "user_agent", "ab_variant"),
    *_strings("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"),
    *_strings("device_type", "browser", "browser_version", "os", "os_version"),
    ("is_bot", _B),
    *_strings("chart_action", "chart_control_id", "chart_control_value"),
    ("product_ids", pa.list_(_S)),
    *_strings("affiliate_link_id", "affiliate_target"),
    ("payout_cents", _I),
    *_strings("product_id", "product_name", "product_category", "product_brand", "product_variant"),
    ("product_price_minor", _I),
    ("product_currency", _S),
    ("product_quantity", _I),
    ("product_list_name", _S),
    ("product_position", _I),
    ("order_id", _S),
    ("revenue_minor", _I),
    ("currency", _S),
    ("tax_minor", _I),
    ("shipping_minor", _I),
    ("discount_minor", _I),
    ("coupon", _S),
    ("order_items", pa.list_(ORDER_ITEM)),
    # a purchase whose order id the site already sent earlier the same day (a reloaded thank-you page)
    ("is_duplicate_order", _B),
    ("search_query", _S),
    ("search_results_count", _I),
    ("search_category", _S),
    *_strings("qr_link_id", "qr_placement", "qr_target"),
    ("custom_name", _S),
    ("custom_properties", pa.map_(_S, _S)),
    # a page view of a comparison page (transform.comparison_pattern, or the site's own)
    ("is_comparison", _B),
    ("sdk_version", _S),
    ("experiment_keys", pa.list_(_S)),
    *_strings("schema_hash", "schema_version", "source"),
    ("consent_ads", _B),
    ("source_ip_anonymized", _S),
    ("event_dt", _DATE),
    ("event_hour", _S),
)

#: seed 004 section 4.3, plus duration, bounce, entry traffic, device, commerce and bot flag.
SILVER_SESSIONS_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("session_id", _S),
    # sdk: the SDK's session id; visitor: derived from the visitor and a 30-minute gap; event: a lone event
    ("session_source", _S),
    *_strings("sdk_session_id", "visitor_id", "user_id_hash"),
    ("session_start_ts", _TS),
    ("session_end_ts", _TS),
    ("duration_ms", _I),
    ("events", _I),
    ("pageviews", _I),
    ("chart_interactions", _I),
    ("affiliate_clicks", _I),
    ("payout_cents", _I),
    ("affiliate_target", _S),
    ("comparison_pages", _I),
    ("product_views", _I),
    ("add_to_carts", _I),
    ("orders", _I),
    ("revenue_minor", _I),
    ("currency", _S),
    ("is_bounce", _B),
    *_strings("first_page_url", "last_page_url", "entry_page", "entry_referrer", "referrer_host", "channel"),
    *_strings("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"),
    *_strings("device_type", "browser", "os", "geo_country", "locale", "ab_variant"),
    ("is_bot", _B),
    ("event_dt", _DATE),
)

#: seed 004 section 4.2 (SCD2), keyed by site and visitor.
SILVER_USER_SEGMENTS_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("visitor_id", _S),
    ("segment_key", _S),
    # the latest evidence (a qualifying session's end) that the interval rests on
    ("as_of_ts", _TS),
    ("valid_from", _TS),
    # null while the visitor is still in the segment at the latest event the lake holds
    ("valid_to", _TS),
)

#: seed 004 section 5.1, plus site, visitor, channel, device, purchase and bot flag.
GOLD_FACT_FUNNEL_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("session_id", _S),
    *_strings("visitor_id", "user_id_hash"),
    ("session_start_ts", _TS),
    ("saw_comparison", _B),
    ("interacted_chart", _B),
    ("clicked_affiliate", _B),
    ("purchased", _B),
    ("affiliate_target", _S),
    ("payout_cents", _I),
    ("revenue_minor", _I),
    # the segments the visitor was in when the session began, sorted
    ("segments", pa.list_(_S)),
    *_strings("ab_variant", "geo_country", "channel", "device_type"),
    ("is_bot", _B),
    ("event_dt", _DATE),
)

#: seed 004 section 5.2, plus site, visitor, page and the session's traffic.
GOLD_FACT_AFFILIATE_CLICKS_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("event_id", _S),
    ("ts", _TS),
    # the session the click belongs to (silver.sessions.session_id)
    *_strings("session_id", "visitor_id", "user_id_hash"),
    *_strings("affiliate_link_id", "affiliate_target"),
    ("payout_cents", _I),
    *_strings("page_url", "ab_variant", "geo_country", "channel", "utm_source", "utm_medium", "utm_campaign"),
    ("is_bot", _B),
    ("event_dt", _DATE),
)

#: purchases with their items, attributed to the session's entry channel and campaign.
GOLD_FACT_ORDERS_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("order_id", _S),
    ("event_id", _S),
    ("ts", _TS),
    *_strings("session_id", "visitor_id", "user_id_hash"),
    ("revenue_minor", _I),
    ("currency", _S),
    ("tax_minor", _I),
    ("shipping_minor", _I),
    ("discount_minor", _I),
    ("coupon", _S),
    ("items", pa.list_(ORDER_ITEM)),
    ("item_quantity", _I),
    *_strings("channel", "referrer_host", "entry_page", "utm_source", "utm_medium", "utm_campaign"),
    *_strings("ab_variant", "geo_country", "device_type"),
    ("is_bot", _B),
    ("event_dt", _DATE),
)

#: small pre-aggregated rows for the dashboard: per site, day, dimension and value (bots excluded).
GOLD_KPI_DAILY_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("event_dt", _DATE),
    ("dimension", _S),
    ("value", _S),
    ("visitors", _I),
    ("sessions", _I),
    ("pageviews", _I),
    ("bounces", _I),
    ("duration_ms", _I),
    ("conversions", _I),
    ("revenue_minor", _I),
    ("affiliate_clicks", _I),
    ("payout_cents", _I),
)

#: one row per data-quality check per run.
GOLD_DQ_RESULTS_SCHEMA: Final = _schema(
    ("run_id", _S),
    ("run_ts", _TS),
    ("stage", _S),
    ("check_name", _S),
    ("table_name", _S),
    # block: a failure stops the run before it publishes; warn: reported only
    ("severity", _S),
    ("passed", _B),
    ("failing_rows", _I),
    ("detail", _S),
    ("run_dt", _DATE),
)

#: recommendations: each product's neighbours, best first (rebuilt whole by every run).
GOLD_ITEM_NEIGHBOURS_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("product_id", _S),
    ("neighbour_id", _S),
    ("score", pa.float64()),
    ("rank", _I),
    # the newest product event the model saw: ages are counted back from it
    ("as_of_ts", _TS),
)

#: recommendations: each site's products by decayed interest, the fallback.
GOLD_ITEM_POPULARITY_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("product_id", _S),
    ("score", pa.float64()),
    ("rank", _I),
    ("as_of_ts", _TS),
)

#: recommendations: each visitor's recent products and the ones they bought.
GOLD_USER_ITEMS_SCHEMA: Final = _schema(
    ("site_id", _S),
    ("visitor_id", _S),
    ("product_id", _S),
    ("weight", pa.float64()),
    ("purchased", _B),
    ("last_ts", _TS),
    ("as_of_ts", _TS),
)

_BY_DAY: Final = (Partition("event_dt", IdentityTransform(), "event_dt"),)
_BY_SITE: Final = (Partition("site_id", IdentityTransform(), "site_id"),)

TABLES: Final = (
    TableDef(
        SILVER_EVENTS,
        SILVER_EVENTS_SCHEMA,
        # seed 004 partitions by event_dt and event_type; by day alone, a day is a few large
        # files instead of one small file per event type (a full refresh wrote 270 partitions
        # for 30 days, and every reader opened them all). Its write order (session_id, ts) is
        # left out too: sorting every rebuilt day cost more than it saved any reader.
        partitions=_BY_DAY,
    ),
    TableDef(SILVER_SESSIONS, SILVER_SESSIONS_SCHEMA, partitions=_BY_DAY, sort=("site_id", "session_start_ts")),
    TableDef(
        SILVER_USER_SEGMENTS,
        SILVER_USER_SEGMENTS_SCHEMA,
        partitions=(Partition("segment_key", IdentityTransform(), "segment_key"),),
        sort=("site_id", "visitor_id", "valid_from"),
    ),
    TableDef(GOLD_FACT_FUNNEL, GOLD_FACT_FUNNEL_SCHEMA, partitions=_BY_DAY, sort=("site_id", "session_start_ts")),
    TableDef(GOLD_FACT_AFFILIATE_CLICKS, GOLD_FACT_AFFILIATE_CLICKS_SCHEMA, partitions=_BY_DAY, sort=("site_id", "ts")),
    TableDef(GOLD_FACT_ORDERS, GOLD_FACT_ORDERS_SCHEMA, partitions=_BY_DAY, sort=("site_id", "ts")),
    TableDef(GOLD_KPI_DAILY, GOLD_KPI_DAILY_SCHEMA, partitions=_BY_DAY, sort=("site_id", "dimension", "value")),
    TableDef(
        GOLD_DQ_RESULTS,
        GOLD_DQ_RESULTS_SCHEMA,
        partitions=(Partition("run_dt", IdentityTransform(), "run_dt"),),
        sort=("run_ts",),
    ),
    # rebuilt whole by every run; by site, so that a reader of one site opens its files only
    TableDef(GOLD_ITEM_NEIGHBOURS, GOLD_ITEM_NEIGHBOURS_SCHEMA, partitions=_BY_SITE, sort=("product_id", "rank")),
    TableDef(GOLD_ITEM_POPULARITY, GOLD_ITEM_POPULARITY_SCHEMA, partitions=_BY_SITE, sort=("rank",)),
    TableDef(GOLD_USER_ITEMS, GOLD_USER_ITEMS_SCHEMA, partitions=_BY_SITE, sort=("visitor_id",)),
)

#: The tables a run rebuilds, by the stage that writes them.
SILVER: Final = (SILVER_EVENTS, SILVER_SESSIONS, SILVER_USER_SEGMENTS)
GOLD: Final = (GOLD_FACT_FUNNEL, GOLD_FACT_AFFILIATE_CLICKS, GOLD_FACT_ORDERS, GOLD_KPI_DAILY)
RECOMMEND: Final = (GOLD_ITEM_NEIGHBOURS, GOLD_ITEM_POPULARITY, GOLD_USER_ITEMS)
