"""The recommendation models' step of a run: rec_interactions, then gold.item_neighbours,
gold.item_popularity and gold.user_items, each rebuilt whole from the recent window of silver.events.

The models are in `models/_rec_interactions.sql` and `models/gold_*items*.sql`; the numbers they
read are the DuckDB variables set here. Ages count back from the newest product event in
silver.events (`rec_as_of`), never from the clock, so a rebuild of the same data gives the same
tables on any day. The window is read by partition: only the files of its days are opened.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

from pyiceberg.expressions import AlwaysTrue, GreaterThanOrEqual, Reference
from pyiceberg.expressions.literals import literal

from clicklake.lake.views import register_view
from clicklake.transform.sql import model_sql
from clicklake.transform.tables import GOLD_ITEM_NEIGHBOURS, GOLD_ITEM_POPULARITY, GOLD_USER_ITEMS, SILVER_EVENTS

if TYPE_CHECKING:
    import duckdb
    from pyiceberg.table import Table

    from clicklake.transform.runner import Transformer, TransformReport

#: The models' knobs (DuckDB variables of the same names); docs/recommendations.md explains each.
VARIABLES: Final[dict[str, float]] = {
    "rec_window_days": 90,  # events older than this before the newest one are not read
    "rec_half_life_days": 14,  # an interaction's weight halves every this many days
    "rec_user_items": 30,  # products kept per visitor (and per session) for co-occurrence and ?user=
    "rec_user_factor": 0.5,  # a pair met in a visitor's history counts this much of one met in a session
    "rec_beta": 0.5,  # how much a neighbour's own popularity divides its score
    "rec_neighbours": 50,  # neighbours kept per product
    "rec_popular": 200,  # products kept per site by popularity
}

MODELS: Final = (
    (GOLD_ITEM_NEIGHBOURS, "gold_item_neighbours"),
    (GOLD_ITEM_POPULARITY, "gold_item_popularity"),
    (GOLD_USER_ITEMS, "gold_user_items"),
)


def set_variables(con: duckdb.DuckDBPyConnection) -> None:
    """The models' variables, `rec_as_of` from the `silver.events` view the connection has."""
    for name, value in VARIABLES.items():
        con.execute(f"SET VARIABLE {name} = {value!r}")
    con.execute(
        "SET VARIABLE rec_as_of = (SELECT max(ts) FROM silver.events "
        "WHERE event_type IN ('product_view', 'add_to_cart', 'purchase'))"
    )


def newest_day(events: Table) -> date | None:
    """The latest `event_dt` partition of silver.events, from its manifests alone."""
    days: list[date] = []
    spec = events.spec()
    position = next((i for i, f in enumerate(spec.fields) if f.name == "event_dt"), None)
    if position is None:
        return None
    for task in events.scan().plan_files():
        value = task.file.partition[position]
        if isinstance(value, date):
            days.append(value)
        elif isinstance(value, int):
            days.append(date(1970, 1, 1) + timedelta(days=value))
    return max(days, default=None)


def build(
    transformer: Transformer,
    con: duckdb.DuckDBPyConnection,
    report: TransformReport,
    tables: dict[str, Table],
    props: dict[str, str],
) -> None:
    """Rebuild the recommendation tables from the window of silver.events and publish each."""
    events = tables[SILVER_EVENTS]
    newest = newest_day(events)
    row_filter = (
        GreaterThanOrEqual(
            term=Reference("event_dt"),
            value=literal((newest - timedelta(days=int(VARIABLES["rec_window_days"]) + 1)).isoformat()),
        )
        if newest is not None
        else AlwaysTrue()
    )
    register_view(con, "silver", "events", events, row_filter=row_filter)
    set_variables(con)
    con.execute("CREATE OR REPLACE TEMP TABLE rec_interactions AS " + model_sql("_rec_interactions"))
    for identifier, model in MODELS:
        built = transformer._build(con, report, tables, identifier, model_sql(model), AlwaysTrue(), None)
        transformer._publish(report, built, props)
