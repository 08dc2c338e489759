"""Payloads to Arrow: DuckDB's fast path gives exactly the rows msgspec + pyarrow give, and bad payloads get reasons."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pyarrow as pa

from clicklake.lake.tables import EVENTS_SCHEMA
from clicklake.load.convert import Converter
from clicklake.schema.envelope import Rejected, encode_payload
from samples import records


def reference(recs: list[object]) -> list[dict[str, object]]:
    """The rows of the slow, exact conversion: Python objects through pyarrow."""
    rows: list[dict[str, object]] = pa.Table.from_pylist(msgspec.to_builtins(recs), schema=EVENTS_SCHEMA).to_pylist()
    return rows


def test_fast_path_equals_the_exact_conversion_for_every_event_type(tmp_path: Path) -> None:
    recs = records(27, sites=3)
    converter = Converter(tmp_path)
    converted = converter.convert([encode_payload(r) for r in recs])
    assert converted.failed == []
    assert converted.table.schema == EVENTS_SCHEMA
    assert converted.table.to_pylist() == reference(list(recs))
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_bad_payloads_are_reported_and_the_rest_converted(tmp_path: Path) -> None:
    recs = records(4)
    good = [encode_payload(r) for r in recs]
    pretty = msgspec.json.format(good[1], indent=2)  # valid, but not one line
    payloads = [
        good[0],
        b'{"kind":"event/2","site_id":"s1"}',
        pretty,
        b"\xff not json",
        encode_payload(Rejected(site_id="s1", received_ts=1, source="http", reason="r", raw=b"x")),
        good[2].replace(b'"ts":', b'"ts":"soon","was":'),
        good[3],
    ]
    converted = Converter(tmp_path).convert(payloads)
    reasons = dict(converted.failed)
    assert sorted(reasons) == [1, 3, 4, 5]
    assert "event/2" in reasons[1]
    assert "malformed" in reasons[3].lower()
    assert "rejection" in reasons[4]
    assert "$.ts" in reasons[5]
    assert converted.table.to_pylist() == reference([recs[0], recs[1], recs[3]])


def test_an_empty_batch_is_an_empty_table(tmp_path: Path) -> None:
    converted = Converter(tmp_path).convert([])
    assert converted.table.num_rows == 0 and converted.table.schema == EVENTS_SCHEMA
