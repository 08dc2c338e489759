"""Loaders that own some partitions: the split, and commits of two loaders to one table in turn."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog

from clicklake.errors import ConfigError
from clicklake.lake.position import committed_position
from clicklake.load import Loader, parse_partitions
from clicklake.query.engine import query
from clicklake.schema.envelope import encode_payload
from clicklake.stream import Stream
from samples import records


def test_parse_partitions() -> None:
    assert parse_partitions("", 4) is None
    assert parse_partitions("0-1", 4) == [0, 1]
    assert parse_partitions("3, 0-1", 4) == [0, 1, 3]
    assert parse_partitions("2", 4) == [2]
    for bad in ("4", "x", "1-", "-1", "2-1"):
        with pytest.raises(ConfigError, match="load partitions"):
            parse_partitions(bad, 4)


def test_a_loader_refuses_partitions_the_stream_lacks(stream: Stream, catalog: Catalog, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="do not fit"):
        Loader(stream, catalog, tmp_path / "work", partitions=[3])


def test_two_loaders_commit_in_turn_and_each_keeps_the_others_position(
    stream: Stream, catalog: Catalog, tmp_path: Path
) -> None:
    expected: set[str] = set()

    def append(start: int) -> None:
        recs = records(60, prefix=f"p{start}-")
        stream.append([(r.event_id, encode_payload(r)) for r in recs])
        expected.update(r.event_id for r in recs)

    append(0)
    a = Loader(stream, catalog, tmp_path / "a", partitions=[0])
    b = Loader(stream, catalog, tmp_path / "b", partitions=[1, 2])
    a.drain()
    append(100)
    b.drain()  # b's table object is older than a's commit: the commit races, is retried, and keeps a's offsets
    a.drain()
    append(200)
    b.drain()
    a.drain()
    table = catalog.load_table("bronze.events")
    position = committed_position(table)
    assert position is not None
    assert position.offsets == {s.partition: s.next_offset for s in stream.stats().partitions}
    got = Counter(query(catalog, "select event_id from bronze.events").column("event_id").to_pylist())
    assert set(got) == expected and max(got.values()) == 1
    # a third loader of partition 0 resumes where a stopped: nothing left to load
    assert Loader(stream, catalog, tmp_path / "c", partitions=[0]).drain().events == 0
