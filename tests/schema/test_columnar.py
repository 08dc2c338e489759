"""Records to Arrow column by column: the same table as the slow row-by-row way, for every kind of record."""

from __future__ import annotations

import msgspec
import pyarrow as pa

from clicklake.lake.tables import EVENTS_SCHEMA
from clicklake.schema.columnar import records_to_table
from clicklake.schema.record import Device, Traffic
from samples import records


def row_by_row(recs: list) -> pa.Table:  # type: ignore[type-arg]
    return pa.Table.from_pylist(msgspec.to_builtins(recs), schema=EVENTS_SCHEMA)


def test_every_event_type_converts_as_from_pylist_would() -> None:
    recs = records(50, sites=3)
    recs[3].device = Device(browser="Firefox", os="Linux", device_type="desktop", is_bot=True)
    recs[4].traffic = Traffic(referrer_host="news.example", referrer_class="other")
    table = records_to_table(recs)
    assert table.schema.equals(EVENTS_SCHEMA)
    assert table.equals(row_by_row(recs))
    # the per-type parts are null exactly where the event has none
    assert table["order"].null_count == sum(r.order is None for r in recs) < len(recs)
    assert table.column("custom").to_pylist()[recs.index(next(r for r in recs if r.custom))]["properties"] == [
        ("plan", "pro"),
        ("seats", "3"),
    ]


def test_a_part_present_in_every_row_or_in_none_and_a_single_record() -> None:
    purchases = [r for r in records(90) if r.order is not None]
    assert len(purchases) > 1
    assert records_to_table(purchases).equals(row_by_row(purchases))
    one = records(1)
    assert records_to_table(one).equals(row_by_row(one))
    assert records_to_table([]).num_rows == 0
