"""The stream payload: tagged JSON that round-trips, and a record version that cannot drift silently."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from clicklake.schema.arrow import arrow_schema
from clicklake.schema.envelope import RECORD_PREFIX, Rejected, decode_payload, encode_payload
from clicklake.schema.record import RECORD_KIND, Record
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
