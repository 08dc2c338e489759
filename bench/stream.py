"""How fast is the embedded stream? Appended records/s of `LocalStream`, beside raw SQLite.

    .venv/bin/python bench/stream.py            # the full run, well under a minute
    .venv/bin/python bench/stream.py --quick    # a few seconds, for a smoke test

Every run appends batches of 100 realistic events (`bench/_events.py`, JSON-encoded,
keyed by session id) to a fresh database in a temporary directory, for a fixed time:

1. `LocalStream.append`, one process (the target: >= 300k records/s);
2. `LocalStream.append`, two processes at once on the same stream (records/s of both);
3. `LocalStream.append` with `fsync=True` (`synchronous=FULL`, survives power loss);
4. raw SQLite, one row per record: `executemany` of (id, key, payload, ts) rows in one
   transaction per batch, WAL, synchronous=NORMAL (the ceiling of a row-per-record log);
5. raw SQLite, one LZ4-compressed msgpack chunk per partition per batch (the ceiling of
   the chunk layout `LocalStream` uses);

and reads everything back once (`read`, 1000 records a call). Each figure is the best of
a few repetitions, taken in turns, because a shared machine's disk is noisy. The script
reports; it always exits 0.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pyarrow as pa

from clicklake.stream.base import partition_for
from clicklake.stream.local import LocalStream

try:  # run as a script, bench/ is on sys.path; imported as `bench.stream`, it is a package
    import _events as events_gen
except ImportError:
    from bench import _events as events_gen  # type: ignore[no-redef]

BATCH = 100
TARGET = 300_000
Records = list[tuple[str, bytes]]


def make_batches(n_events: int = 2000) -> list[Records]:
    """Batches of 100 (session id, JSON payload) records cut from one realistic event sample."""
    events = events_gen.make_batch(n_events)
    records = [(e["session"]["session_id"], msgspec.json.encode(e)) for e in events]
    return [records[i : i + BATCH] for i in range(0, len(records), BATCH)]


def _timed(append: Callable[[Records], object], batches: list[Records], seconds: float) -> tuple[int, float]:
    """Append batches round-robin for about `seconds`; (records appended, elapsed seconds)."""
    n = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for batch in batches:
            append(batch)
        n += len(batches) * BATCH
        now = time.perf_counter()
        if now >= deadline:
            return n, now - started


def run_stream(path: Path, batches: list[Records], seconds: float, fsync: bool = False) -> tuple[int, float]:
    stream = LocalStream(path, partitions=4, fsync=fsync, max_bytes=None, max_lag_records=None)
    try:
        return _timed(stream.append, batches, seconds)
    finally:
        stream.close()


def _connect(path: Path) -> sqlite3.Connection:
    path.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path / "raw.sqlite3", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def run_raw_rows(path: Path, batches: list[Records], seconds: float) -> tuple[int, float]:
    con = _connect(path)
    con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, key TEXT, payload BLOB, ts INTEGER)")
    next_id = 0

    def append(batch: Records) -> None:
        nonlocal next_id
        ts = time.time_ns() // 1_000_000
        rows = [(next_id + i, key, payload, ts) for i, (key, payload) in enumerate(batch)]
        next_id += len(rows)
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows)
        con.execute("COMMIT")

    try:
        return _timed(append, batches, seconds)
    finally:
        con.close()


def run_raw_chunks(path: Path, batches: list[Records], seconds: float) -> tuple[int, float]:
    con = _connect(path)
    con.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, part INTEGER, count INTEGER, data BLOB)")
    encode = msgspec.msgpack.Encoder().encode

    def append(batch: Records) -> None:
        groups: list[Records] = [[], [], [], []]
        for record in batch:
            groups[partition_for(record[0], 4)].append(record)
        rows = [(p, len(g), pa.compress(encode(g), codec="lz4", asbytes=True)) for p, g in enumerate(groups) if g]
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO chunks (part, count, data) VALUES (?, ?, ?)", rows)
        con.execute("COMMIT")

    try:
        return _timed(append, batches, seconds)
    finally:
        con.close()


def _worker(path: str, seconds: float, barrier: mp.synchronize.Barrier, out: mp.Queue[tuple[int, float]]) -> None:
    batches = make_batches()
    stream = LocalStream(Path(path), max_bytes=None, max_lag_records=None)
    barrier.wait()
    try:
        out.put(_timed(stream.append, batches, seconds))
    finally:
        stream.close()


def run_two_processes(path: Path, seconds: float) -> tuple[int, float]:
    """Two processes append to one stream at once; records of both over the longer of their times."""
    LocalStream(path, max_bytes=None, max_lag_records=None).close()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    out: mp.Queue[tuple[int, float]] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(path), seconds, barrier, out)) for _ in range(2)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    return sum(n for n, _ in results), max(t for _, t in results)


def run_read(path: Path) -> tuple[int, float]:
    stream = LocalStream(path)
    try:
        n = 0
        started = time.perf_counter()
        for p in range(stream.partitions):
            offset = 0
            while records := stream.read(p, offset, 1000):
                n += len(records)
                offset = records[-1].offset + 1
        return n, time.perf_counter() - started
    finally:
        stream.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test): 0.3 s runs, one repetition")
    args = parser.parse_args(argv)
    seconds, reps = (0.3, 1) if args.quick else (1.5, 3)
    started = time.perf_counter()
    batches = make_batches()
    size = statistics.mean(len(p) for b in batches for _, p in b)
    print(
        f"clicklake stream benchmark: batches of {BATCH} events of {size:.0f} B on average, "
        f"best of {reps} runs of >= {seconds:g} s each"
    )
    print(f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, msgspec {msgspec.__version__}")
    print()

    runs: dict[str, Callable[[Path], tuple[int, float]]] = {
        "LocalStream.append, 1 process": lambda d: run_stream(d, batches, seconds),
        "LocalStream.append, 2 processes at once": lambda d: run_two_processes(d, seconds),
        "LocalStream.append, fsync=True (FULL)": lambda d: run_stream(d, batches, seconds, fsync=True),
        "raw SQLite, row per record (ceiling)": lambda d: run_raw_rows(d, batches, seconds),
        "raw SQLite, LZ4 chunk per partition": lambda d: run_raw_chunks(d, batches, seconds),
    }
    best: dict[str, float] = dict.fromkeys(runs, 0.0)
    read_rate = 0.0
    for rep in range(reps):
        for name, run in runs.items():
            with tempfile.TemporaryDirectory(prefix="clicklake-bench-") as tmp:
                n, elapsed = run(Path(tmp))
                best[name] = max(best[name], n / elapsed)
                if rep == 0 and name.endswith("1 process"):
                    n, elapsed = run_read(Path(tmp))
                    read_rate = n / elapsed

    head = f"{'run':<42} {'records/s':>12} {'MB/s':>8}"
    print(head)
    print("-" * len(head))
    for name, rate in best.items():
        print(f"{name:<42} {rate:>12,.0f} {rate * size / 1e6:>8.1f}")
    print(f"{'LocalStream.read, 1000 a call':<42} {read_rate:>12,.0f} {read_rate * size / 1e6:>8.1f}")
    print()
    one = best["LocalStream.append, 1 process"]
    verdict = "PASS" if one >= TARGET else "FAIL"
    print(f"target: LocalStream.append from one process >= {TARGET:,} records/s: {one:,.0f}  {verdict}")
    print(f"(total {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
