"""The stream payload: tagged JSON and Arrow chunks that round-trip, and a record version that cannot drift silently."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import pytest

from clicklake.schema.arrow import arrow_schema
from clicklake.schema.columnar import records_to_table
from clicklake.schema.envelope import (
    CHUNK_MIN_RECORDS,
    CHUNK_PREFIX,
    RECORD_PREFIX,
    Rejected,
    decode_chunk,
    decode_payload,
    encode_chunk,
    encode_payload,
    pack,
)
from clicklake.schema.record import RECORD_KIND, Record
from clicklake.stream.base import partition_for
from samples import records

#: The shape of each record version. A change to a record Struct changes the fingerprint:
#: bump RECORD_KIND and add the new version here (the loader quarantines versions it does not know).
SHAPES = {"event/1": "3a7d52247fafa96c"}


def test_record_shape_matches_its_version() -> None:
    shape = hashlib.sha256(str(arrow_schema(Record)).encode()).hexdigest()[:16]
    assert SHAPES.get(RECORD_KIND) == shape, f"Record changed: bump RECORD_KIND (now {RECORD_KIND}) and pin {shape}"


def test_records_round_trip_and_start_with_the_prefix() -> None:
    for record in records():
        data = encode_payload(record)
        assert data.startswith(RECORD_PREFIX)
        assert decode_payload(data) == record


def test_rejections_keep_bytes_that_are_not_utf8() -> None:
    rejected = Rejected(site_id="s1", received_ts=1, source="http", reason="$.ts: expected a string", raw=b"\xff{")
    assert decode_payload(encode_payload(rejected)) == rejected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"kind":"event/9","site_id":"s"}', "Invalid value 'event/9'"),
        (b'{"kind":"rejected","site_id":null}', "missing required field"),
        (b"not json", "malformed"),
    ],
)
def test_other_payloads_are_refused_with_a_reason(payload: bytes, message: str) -> None:
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError), match=message):
        decode_payload(payload)


# -- chunks ----------------------------------------------------------------------------


def test_a_chunk_round_trips_the_rows_of_its_records() -> None:
    recs = records(40, sites=2)
    rows = records_to_table(recs)
    data = encode_chunk(rows)
    assert data.startswith(CHUNK_PREFIX) and CHUNK_PREFIX.startswith(b"arrow:" + RECORD_KIND.encode() + b":")
    assert decode_chunk(data).equals(rows)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: d.replace(CHUNK_PREFIX, b"arrow:event/1:0000000000000000\n", 1), "not a chunk of event/1"),
        (lambda d: d[: len(CHUNK_PREFIX) + 40], "unreadable"),
        (lambda d: CHUNK_PREFIX + b"\x00" * 64, "unreadable"),
    ],
)
def test_a_chunk_of_other_columns_or_cut_short_is_refused_with_a_reason(mangle: Any, message: str) -> None:
    data = encode_chunk(records_to_table(records(5)))
    with pytest.raises(ValueError, match=message):
        decode_chunk(mangle(data))


def test_pack_sends_few_records_as_json_and_many_as_one_chunk_per_partition() -> None:
    few = [(r.session.session_id or r.event_id, r) for r in records(CHUNK_MIN_RECORDS - 1)]
    rejection = (
        "rejected:s1",
        encode_payload(Rejected(site_id="s1", received_ts=1, source="http", reason="r", raw=b"x")),
    )
    packed = pack([*few, rejection], 4)
    assert [p for _, p in packed] == [encode_payload(r) for _, r in few] + [rejection[1]]
    many = [(f"session-{i % 7}", r) for i, r in enumerate(records(CHUNK_MIN_RECORDS * 3))]
    packed = pack([rejection, *many], 4)
    assert packed[0] == rejection
    chunks = packed[1:]
    assert all(p.startswith(CHUNK_PREFIX) for _, p in chunks)
    by_partition = {partition_for(k, 4) for k, _ in many}
    assert sorted(partition_for(k, 4) for k, _ in chunks) == sorted(by_partition)
    for key, payload in chunks:
        mine = [r.event_id for k, r in many if partition_for(k, 4) == partition_for(key, 4)]
        assert decode_chunk(payload)["event_id"].to_pylist() == mine  # every record once, in order
