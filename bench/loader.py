"""How fast is the loader? Events/s from the stream into `bronze.events`, beside a bare Parquet write.

    .venv/bin/python bench/loader.py            # the full run, about a minute
    .venv/bin/python bench/loader.py --quick    # a few seconds, for a smoke test

1. Throughput: realistic enriched records (`bench/_events.py` through the contract's
   `to_record`, as the collector makes them) are appended to a fresh local stream in
   batches of 100; then `Loader.drain()` loads them all into a fresh Iceberg catalog (read,
   parse, de-duplicate, sort, write Parquet, commit). Its events/s is printed beside the
   ceiling, `pyarrow.parquet.write_table` of the very rows the loader wrote, with the
   table's codec (zstd), from memory to a file. Target: loader >= 0.5x the bare write.
   For context, also the plain way to do the loader's conversion: msgspec decodes each
   payload into a `Record`, `pyarrow.Table.from_pylist` builds the table, `write_table`
   writes it (on a tenth of the records, to keep the run short).
2. Latency: with `Loader.run` going (default settings: flush every 1 s), a batch of 100
   events is appended every 0.1 s; a watcher polls the catalog and notes when each
   commit lands. An event's latency is from its append returning to the first commit
   whose snapshot position covers it: from then on `clicklake query` sees it.
   Target: p50 <= 2 s.

Each throughput figure is the best of a few repetitions. The script reports; it exits 0.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from clicklake.lake.catalog import open_catalog
from clicklake.lake.position import committed_position
from clicklake.lake.tables import EVENTS_SCHEMA
from clicklake.load import Loader
from clicklake.query.engine import query
from clicklake.schema import SCHEMA_HASH, decode_batch, to_record
from clicklake.schema.envelope import encode_payload
from clicklake.schema.record import Record
from clicklake.stream import Stream, open_stream

try:  # run as a script, bench/ is on sys.path; imported as `bench.loader`, it is a package
    import _events as events_gen
except ImportError:
    from bench import _events as events_gen  # type: ignore[no-redef]

BATCH = 100
TARGET_RATIO = 0.5
TARGET_P50 = 2.0


def make_payloads(n: int) -> list[tuple[str, bytes]]:
    """`n` (session id, stream payload) pairs of realistic enriched records with unique event ids."""
    sample = events_gen.make_batch(2000)
    batch = decode_batch(msgspec.json.encode(sample))
    assert not batch.rejected, batch.rejected[:3]
    ingest = int(time.time() * 1000)
    out = []
    for i in range(n):
        k = i % len(batch.events)
        event = batch.events[k]
        record = to_record(
            event,
            batch.ts_ms[k],
            site_id=f"site-{i % 7}",
            ingest_ts=ingest,
            event_id=str(uuid.UUID(int=i + 1)),
            schema_hash=SCHEMA_HASH,
            source_ip_anonymized="203.0.113.0",
        )
        out.append((record.session.session_id or record.event_id, encode_payload(record)))
    return out


def fill(stream: Stream, payloads: list[tuple[str, bytes]]) -> None:
    for i in range(0, len(payloads), BATCH):
        stream.append(payloads[i : i + BATCH])


def throughput(payloads: list[tuple[str, bytes]], root: Path) -> tuple[float, float, float, int]:
    """(loader events/s, bare write_table rows/s, bare write MB, loader commits) of one repetition."""
    stream = open_stream(root / "stream", partitions=4, max_bytes=None, max_lag_records=None)
    fill(stream, payloads)
    catalog = open_catalog(root)
    loader = Loader(stream, catalog, root / "work", flush_records=len(payloads), flush_bytes=1 << 40)
    started = time.perf_counter()
    stats = loader.drain()
    loaded = time.perf_counter() - started
    loader.close()
    stream.close()
    assert stats.events == len(payloads), stats
    rows = query(catalog, "select * from bronze.events").combine_chunks()
    out = root / "bare.parquet"
    started = time.perf_counter()
    pq.write_table(rows, out, compression="zstd")
    bare = time.perf_counter() - started
    return len(payloads) / loaded, rows.num_rows / bare, out.stat().st_size / 1e6, stats.commits


def plain_way(payloads: list[tuple[str, bytes]], root: Path) -> float:
    """Events/s of decoding each payload with msgspec, `from_pylist`, and `write_table` (no stream, no Iceberg)."""
    decode = msgspec.json.Decoder(Record).decode
    started = time.perf_counter()
    rows = pa.Table.from_pylist(msgspec.to_builtins([decode(p) for _, p in payloads]), schema=EVENTS_SCHEMA)
    pq.write_table(rows, root / "plain.parquet", compression="zstd")
    return len(payloads) / (time.perf_counter() - started)


def latency(root: Path, seconds: float) -> list[float]:
    """Append-to-queryable seconds of every appended event, with the loader's default settings.

    The table first gets as many snapshots as the loader keeps (60), as after a minute of
    steady traffic: commit time grows with the snapshot count, so a fresh table would flatter.
    """
    stream = open_stream(root / "stream", partitions=4)
    catalog = open_catalog(root)
    loader = Loader(stream, catalog, root / "work")
    warm = make_payloads(loader.keep_snapshots)
    for payload in warm:
        stream.append([payload])
        loader.poll()
        loader.flush()
    stop = threading.Event()
    worker = threading.Thread(target=loader.run, args=(stop,))
    watcher_catalog = open_catalog(root)
    appended: list[tuple[float, list[tuple[int, int]]]] = []
    landed: list[tuple[float, dict[int, int]]] = []

    def watch() -> None:
        table = watcher_catalog.load_table("bronze.events")
        while not stop.is_set():
            table.refresh()
            position = committed_position(table)
            if position is not None and (not landed or landed[-1][1] != position.offsets):
                landed.append((time.monotonic(), position.offsets))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    payloads = make_payloads(int(seconds * 10 * BATCH) + len(warm))[len(warm) :]
    worker.start()
    watcher.start()
    try:
        for i in range(0, len(payloads), BATCH):
            acks = stream.append(payloads[i : i + BATCH])
            appended.append((time.monotonic(), acks))
            time.sleep(0.1)
        time.sleep(3.0)
    finally:
        stop.set()
        worker.join()
        watcher.join()
        loader.close()
        stream.close()
    out = []
    for at, acks in appended:
        for partition, offset in acks:
            seen = next((t for t, pos in landed if pos.get(partition, 0) > offset), None)
            if seen is not None:
                out.append(seen - at)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (figures are rough)")
    args = parser.parse_args()
    n = 20_000 if args.quick else 200_000
    reps = 1 if args.quick else 3
    print(f"clicklake bench/loader.py on {platform.python_implementation()} {platform.python_version()}")
    payloads = make_payloads(n)
    size = sum(len(p) for _, p in payloads) / n
    print(f"{n:,} enriched records, {size:,.0f} bytes each as JSON on the stream")
    started = time.perf_counter()
    runs = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(prefix="clicklake-bench-") as tmp:
            runs.append(throughput(payloads, Path(tmp)))
    load_rate = max(r[0] for r in runs)
    bare_rate = max(r[1] for r in runs)
    with tempfile.TemporaryDirectory(prefix="clicklake-bench-") as tmp:
        plain_rate = max(plain_way(payloads[: n // 10], Path(tmp)) for _ in range(reps))
    head = f"{'run':<52} {'events/s':>12}"
    print()
    print(head)
    print("-" * len(head))
    print(f"{'loader: stream -> bronze.events (drain, 1 commit)':<52} {load_rate:>12,.0f}")
    print(f"{'pyarrow.parquet.write_table, same rows, zstd':<52} {bare_rate:>12,.0f}")
    print(f"{'plain: msgspec Records + from_pylist + write_table':<52} {plain_rate:>12,.0f}")
    ratio = load_rate / bare_rate
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"target: loader >= {TARGET_RATIO}x the bare write: {ratio:.2f}x  {verdict}")
    print()
    with tempfile.TemporaryDirectory(prefix="clicklake-bench-") as tmp:
        lat = latency(Path(tmp), 5.0 if args.quick else 20.0)
    if lat:
        lat.sort()
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"append-to-queryable latency, {len(lat):,} events, flush every 1 s: p50 {p50:.2f} s, p99 {p99:.2f} s")
        verdict = "PASS" if p50 <= TARGET_P50 else "FAIL"
        print(f"target: p50 <= {TARGET_P50} s: {p50:.2f} s  {verdict}")
    else:
        print("append-to-queryable latency: no event became queryable  FAIL")
    print(f"(total {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
