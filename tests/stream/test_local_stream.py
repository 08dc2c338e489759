"""What only the SQLite backend promises: URIs, its tables, settings, errors, and a property test."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clicklake.errors import ConfigError
from clicklake.stream import StreamUnavailableError, open_stream, partition_for
from clicklake.stream.local import DB_NAME, LocalStream


def test_open_stream_picks_the_backend_from_the_uri(tmp_path: Path) -> None:
    for uri in (f"local://{tmp_path}/a", str(tmp_path / "b"), tmp_path / "c"):
        stream = open_stream(uri)
        assert isinstance(stream, LocalStream)
        stream.close()
    assert (tmp_path / "a" / DB_NAME).exists()
    with pytest.raises(ConfigError, match="stream name"):  # the NATS backend, refused before it connects
        open_stream("nats://127.0.0.1:1/not.a.name")
    with pytest.raises(ConfigError, match="three slashes"):
        open_stream("local://relative/path")
    with pytest.raises(ConfigError, match="unknown scheme"):
        open_stream("kafka://broker:9092")


def test_tables_are_plain_sqlite(tmp_path: Path) -> None:
    with LocalStream(tmp_path, partitions=2) as stream:
        acks = stream.append([("a", b"1"), ("b", b"2"), ("a", b"3")])
        stream.commit("loader", acks[0][0], 1)
    con = sqlite3.connect(tmp_path / DB_NAME)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert con.execute("SELECT SUM(count) FROM chunks").fetchone() == (3,)
        assert con.execute("SELECT SUM(next_offset) FROM partitions").fetchone() == (3,)
        assert con.execute("SELECT consumer_group, next_offset FROM cursors").fetchall() == [("loader", 1)]
    finally:
        con.close()


def test_fsync_setting_and_uncompressed_chunks(tmp_path: Path) -> None:
    with LocalStream(tmp_path / "f", fsync=True, compression="none") as stream:
        assert stream._conn().execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        stream.append([("k", b"x" * 5000)])
        assert stream.read(partition_for("k", 4), 0, 1)[0].payload == b"x" * 5000
    with LocalStream(tmp_path / "n") as stream:
        assert stream._conn().execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        stream.append([("k", b"x" * 5000)])
        assert stream._conn().execute("SELECT codec FROM chunks").fetchone() == ("lz4",)
        assert stream.read(partition_for("k", 4), 0, 1)[0].payload == b"x" * 5000


def test_a_closed_or_locked_stream_is_unavailable(tmp_path: Path) -> None:
    stream = LocalStream(tmp_path, busy_timeout=0.1)
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock past our busy timeout
        with pytest.raises(StreamUnavailableError, match="unavailable"):
            stream.append([("k", b"v")])
        other.execute("ROLLBACK")
        assert stream.append([("k", b"v")]) == [(partition_for("k", 4), 0)]
    finally:
        other.close()
        stream.close()
    with pytest.raises(StreamUnavailableError, match="closed"):
        stream.append([("k", b"v")])
    stream.close()  # idempotent


def test_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="partitions"):
        LocalStream(tmp_path, partitions=0)
    with pytest.raises(ConfigError, match="compression"):
        LocalStream(tmp_path, compression="zip")  # type: ignore[arg-type]


def test_read_inside_a_chunk_and_across_chunks(tmp_path: Path) -> None:
    with LocalStream(tmp_path, partitions=1) as stream:
        for batch in range(5):
            stream.append([("k", f"{batch}.{i}".encode()) for i in range(10)])
        records = stream.read(0, 7, 25)
        assert [r.offset for r in records] == list(range(7, 32))
        assert records[0].payload == b"0.7"
        assert records[-1].payload == b"3.1"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(st.tuples(st.text(max_size=8), st.binary(max_size=700)), max_size=30), min_size=1, max_size=6
    ),
    partitions=st.integers(1, 5),
)
def test_any_batches_read_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[tuple[str, bytes]]], partitions: int
) -> None:
    stream = open_stream(tmp_path_factory.mktemp("prop"), partitions=partitions, max_bytes=None, max_lag_records=None)
    try:
        model: dict[int, list[tuple[str, bytes]]] = defaultdict(list)
        for batch in batches:
            for (key, payload), (p, o) in zip(batch, stream.append(batch), strict=True):
                assert (p, o) == (partition_for(key, partitions), len(model[p]))
                model[p].append((key, payload))
        for p in range(partitions):
            got = stream.read(p, 0, 10_000)
            assert [r.offset for r in got] == list(range(len(model[p])))
            assert [(r.key, r.payload) for r in got] == model[p]
    finally:
        stream.close()
