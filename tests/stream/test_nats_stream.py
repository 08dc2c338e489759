"""What only the NATS backend does: deduplication by event id, JetStream's own limits, a server that is down."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from clicklake.errors import ConfigError
from clicklake.stream import StreamFullError, StreamUnavailableError, open_stream
from clicklake.stream.nats import NatsStream

pytestmark = pytest.mark.nats


def _uri(nats_url: str) -> str:
    return f"{nats_url}/t{uuid.uuid4().hex[:16]}"


def _event(event_id: str, n: int) -> bytes:
    return f'{{"kind":"event/1","site_id":"s1","event_id":"{event_id}","n":{n}}}'.encode()


def test_a_retried_event_is_stored_once(nats_url: str) -> None:
    with open_stream(_uri(nats_url), partitions=2, max_bytes=None, max_lag_records=None) as stream:
        first = stream.append([("k", _event("e1", 1)), ("k", _event("e2", 2))])
        again = stream.append([("k", _event("e2", 2)), ("k", _event("e3", 3)), ("k", b'{"no":"id"}')])
        assert first == [(first[0][0], 0), (first[0][0], 1)]
        assert again == [(first[0][0], 1), (first[0][0], 2), (first[0][0], 3)]  # the copy names the first offset
        assert [r.payload for r in stream.read(first[0][0], 0, 10)] == [
            _event("e1", 1),
            _event("e2", 2),
            _event("e3", 3),
            b'{"no":"id"}',
        ]


def test_keys_of_any_characters_come_back(nats_url: str) -> None:
    keys = ["plain", "with space", "new\nline", "per%cent", "ünïcode", ""]
    with open_stream(_uri(nats_url), partitions=1, max_bytes=None, max_lag_records=None) as stream:
        stream.append([(k, b"x") for k in keys])
        assert [r.key for r in stream.read(0, 0, 10)] == keys


def test_jetstream_limits_refuse_with_stream_full(nats_url: str) -> None:
    stream = NatsStream(
        nats_url, f"t{uuid.uuid4().hex[:16]}", 1, max_bytes=None, max_lag_records=None, retain_records=3
    )
    with stream:
        stream.append([("k", b"a"), ("k", b"b"), ("k", b"c")])
        stream.commit("loader", 0, 3)
        with pytest.raises(StreamFullError, match="maximum messages"):
            stream.append([("k", b"d")])
        assert stream.trim(max_age_s=0).records == 3
        assert stream.append([("k", b"d")]) == [(0, 3)]
        assert stream.stats().partitions[0].first_offset == 3


def test_a_server_that_is_down_is_unavailable() -> None:
    from nats_server import _free_port

    with pytest.raises(StreamUnavailableError):
        open_stream(f"nats://127.0.0.1:{_free_port()}/down", timeout=1.0)


def test_uri_and_group_names_are_checked(nats_url: str) -> None:
    with pytest.raises(ConfigError, match="letters, digits"):
        open_stream(f"{nats_url}/bad.name")
    with open_stream(_uri(nats_url), partitions=1) as stream, pytest.raises(ValueError, match="consumer group"):
        stream.commit("a.b", 0, 0)


def test_a_server_that_goes_away_is_unavailable_at_once_and_used_again_when_back(tmp_path: Path) -> None:
    from nats_server import NatsServer

    server = NatsServer(tmp_path / "store").start()
    try:
        with open_stream(f"{server.url}/back", partitions=1, max_bytes=None, max_lag_records=None) as stream:
            assert stream.append([("k", b"1")]) == [(0, 0)]
            server.kill()
            time.sleep(0.3)  # the client notices the closed connection
            started = time.monotonic()
            with pytest.raises(StreamUnavailableError):
                stream.append([("k", b"2")])
            assert time.monotonic() - started < 2
            server.start()
            deadline = time.monotonic() + 10
            while True:
                try:
                    assert stream.append([("k", b"3")]) == [(0, 1)]
                    break
                except StreamUnavailableError:
                    assert time.monotonic() < deadline, "the stream did not reconnect"
                    time.sleep(0.1)
            assert [r.payload for r in stream.read(0, 0, 10)] == [b"1", b"3"]
    finally:
        server.stop()


def test_trim_by_age_finds_the_first_young_record(nats_url: str) -> None:
    with open_stream(_uri(nats_url), partitions=1, max_bytes=None, max_lag_records=None) as stream:
        for batch in range(3):
            stream.append([("k", f"{batch}-{i}".encode()) for i in range(7)])
            time.sleep(0.3)
        time.sleep(1.2)  # the old records are 1.5 s older than the young one, which a busy machine may keep ~1 s
        stream.append([("k", b"young")])
        stream.commit("loader", 0, 22)
        assert stream.trim(max_age_s=1.0).records == 21  # the three old batches, not the young record
        assert [r.payload for r in stream.read(0, 0, 10)] == [b"young"]


def test_a_deleted_group_holds_nothing_back(nats_url: str) -> None:
    """The same as the behaviour suite's test on main, where `delete_group` joined the contract."""
    with NatsStream(nats_url, f"t{uuid.uuid4().hex[:16]}", 1, max_lag_records=10, max_bytes=None) as stream:
        stream.append([("k", b"x")] * 8)
        stream.commit("loader", 0, 8)
        stream.commit("destination:gone", 0, 0)
        with pytest.raises(StreamFullError):
            stream.append([("k", b"y")] * 5)
        stream.delete_group("destination:gone")
        stream.delete_group("never-was")
        assert [g.group for g in stream.stats().groups] == ["loader"]
        assert len(stream.append([("k", b"y")] * 5)) == 5


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*")) if p.is_file() and needle in p.read_bytes()]


def _wait_files(root: Path, needle: bytes, *, present: bool, timeout: float = 10.0) -> list[str]:
    """The files holding `needle` once that is `present` or not (JetStream writes a block soon after a publish)."""
    deadline = time.monotonic() + timeout
    while True:
        found = _files_holding(root, needle)
        if bool(found) == present or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_an_erased_record_is_gone_from_the_servers_files_and_its_api(tmp_path: Path) -> None:
    """`redact` is JetStream's secure erase: no file of the store keeps the record's bytes, and no API returns it."""
    import asyncio

    import nats
    import nats.js.errors

    from nats_server import NatsServer

    marker = uuid.uuid4().hex.encode()
    store = tmp_path / "store"
    server = NatsServer(store).start()
    try:
        with open_stream(f"{server.url}/gone", partitions=1, max_bytes=None, max_lag_records=None) as stream:
            stream.append([("k", b'{"site_id":"s1","n":1}'), ("k-" + marker.decode(), b'{"x":"' + marker + b'"}')])
            stream.append([("k", b'{"site_id":"s1","n":2}')])
            assert _wait_files(store, marker, present=True), "the scan must find the record before the erasure"
            assert stream.redact("s1", lambda key, payload: marker in payload) == 1
            assert _wait_files(store, marker, present=False) == []
            assert [r.offset for r in stream.read(0, 0, 10)] == [0, 1, 2]

            async def get(seq: int) -> bytes:
                nc = await nats.connect(server.url)
                try:
                    msg = await nc.jetstream().get_msg("gone_p0", seq)
                    return bytes(msg.data or b"")
                finally:
                    await nc.close()

            assert asyncio.run(get(1)) == b'{"site_id":"s1","n":1}'
            with pytest.raises(nats.js.errors.NotFoundError):
                asyncio.run(get(2))  # what `nats stream get gone_p0 2` asks
    finally:
        server.stop()
