"""Crash and concurrency: acknowledged records survive kill -9; two writers never share or skip an offset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from clicklake.stream.local import LocalStream

HELPER = Path(__file__).with_name("stream_appender.py")
BATCH = 100


def _payload(writer: str, batch: int, j: int) -> bytes:
    # Same as stream_appender.payload; repeated so this test module imports nothing by path.
    return f'{{"writer":"{writer}","batch":{batch},"j":{j},"pad":"{"x" * (j % 50) * 8}"}}'.encode()


def _start(path: Path, writer: str, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:
        return subprocess.Popen([sys.executable, str(HELPER), str(path), writer, str(seconds)], stdout=sink)


def _wait_ready(out: Path, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not out.read_bytes().startswith(b"ready\n"):
        assert proc.poll() is None, "the appender exited before it was ready"
        assert time.monotonic() < deadline, "the appender did not start"
        time.sleep(0.02)


def _acknowledged(out: Path) -> dict[tuple[int, int], tuple[str, bytes]]:
    """(partition, offset) -> (key, payload) of every complete acknowledgement line."""
    acked: dict[tuple[int, int], tuple[str, bytes]] = {}
    for line in out.read_text().splitlines(keepends=True)[1:]:
        if not line.endswith("\n"):
            continue  # killed while writing the line: not acknowledged
        writer, batch, *pairs = line.split()
        assert len(pairs) == BATCH
        for j, pair in enumerate(pairs):
            p, o = pair.split(":")
            position = (int(p), int(o))
            assert position not in acked, f"offset {position} acknowledged twice"
            acked[position] = (f"k{(int(batch) * BATCH + j) % 37}", _payload(writer, int(batch), j))
    return acked


def _stored(path: Path) -> dict[tuple[int, int], tuple[str, bytes]]:
    with LocalStream(path) as stream:
        stored: dict[tuple[int, int], tuple[str, bytes]] = {}
        for p in range(stream.partitions):
            records = stream.read(p, 0, 10_000_000)
            assert [r.offset for r in records] == list(range(len(records))), f"gap or duplicate in partition {p}"
            stored.update(((p, r.offset), (r.key, r.payload)) for r in records)
    return stored


def test_acknowledged_records_survive_kill_9(tmp_path: Path) -> None:
    path, out = tmp_path / "stream", tmp_path / "acks.txt"
    proc = _start(path, "w", 60, out)
    try:
        _wait_ready(out, proc)
        time.sleep(1.0)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    acked = _acknowledged(out)
    assert len(acked) >= 10 * BATCH, "the appender acknowledged too little to prove anything"
    stored = _stored(path)
    missing = [pos for pos, record in acked.items() if stored.get(pos) != record]
    assert not missing, f"{len(missing)} acknowledged records lost or changed, e.g. {missing[:3]}"
    # A batch may have been committed but not yet acknowledged when the kill came; never more than one.
    assert len(stored) - len(acked) in (0, BATCH)


def test_two_processes_append_at_once(tmp_path: Path) -> None:
    """Both writers also create the stream at the same moment."""
    path = tmp_path / "stream"
    outs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    procs = [_start(path, name, 1.0, out) for name, out in zip("ab", outs, strict=True)]
    try:
        for proc in procs:
            assert proc.wait(timeout=60) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    acked_a, acked_b = _acknowledged(outs[0]), _acknowledged(outs[1])
    assert acked_a and acked_b
    assert not acked_a.keys() & acked_b.keys(), "both writers were given the same offset"
    stored = _stored(path)
    assert stored == acked_a | acked_b
