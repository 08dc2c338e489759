"""The whole platform's sustained rate: events/s that `clicklake up` acknowledges AND lands in bronze.

    .venv/bin/python bench/platform_rate.py                  # 60 s per phase, about five minutes in all
    .venv/bin/python bench/platform_rate.py --seconds 20     # shorter

(Not `bench/platform.py`: run as a script, that name would hide the standard library's
`platform` from every script in bench/, which import it.)

Two servers in the same run, one after the other, each started fresh:

1. clicklake: `clicklake up --workers N` (default: one per core), rate limits off: collector,
   loader, realtime, transform and the rest, as a user runs it;
2. baseline: a naive FastAPI + pydantic v2 endpoint with 2 uvicorn workers that inserts every
   event into SQLite (`bench/_servers.py baseline`, the same contract as ours).

The load comes from separate processes (`--clients`, default 4) that share 32 keep-alive
connections, each posting batches of 20 realistic events (`bench/_events.py`) with fresh
event ids (the loader drops repeated ids, so a replayed body would not reach bronze), written
over asyncio streams: httpx would cost the generator more CPU than the server it measures.

Each server: a warm-up, then the peak phase (every connection as fast as it gets answers) for
`--seconds`, then a phase paced at half the peak's request rate (each connection sends on a
fixed schedule; latency counts from the scheduled moment, so a stall is not hidden). Only 2xx
answers count as acknowledged. For clicklake, during the peak the loader's lag (`/metrics`,
`clicklake_stream_lag_records{group="loader"}`) is sampled every second, and after it ends,
bronze must hold every acknowledged event within 5 s (counted by the loader's
`clicklake_stage_records_total{stage="loader"}`, which counts rows committed to bronze).
The sustained rate is the peak's acknowledged events/s when both hold; when they do not,
the phase is run again paced at 70 % of that rate, up to three times. For the baseline, its
SQLite rows are counted. Targets: clicklake's sustained events/s >= 1.5x the baseline's, and
p99 <= 50 ms at half that rate. It exits 0 unless it cannot measure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Final

import httpx
import msgspec

try:  # run as a script, bench/ is on sys.path; imported as `bench.platform_rate`, it is a package
    import _events as events_gen
    import _servers
    from collector import CLICKLAKE, clicklake_env, cpu_seconds, create_site, free_port, metric, running, tree
except ModuleNotFoundError:  # pragma: no cover
    from bench import _events as events_gen  # type: ignore[no-redef]
    from bench import _servers  # type: ignore[no-redef]
    from bench.collector import CLICKLAKE, clicklake_env, cpu_seconds, create_site, free_port, metric, running, tree

BENCH: Final = Path(__file__).resolve().parent
CONNECTIONS: Final = 32
BATCH: Final = 20
ORIGIN: Final = "https://compare.example.com"
LANDED_WITHIN_S: Final = 5.0
TARGET_RATIO: Final = 1.5
TARGET_P99_MS: Final = 50.0
WARMUP_S: Final = 3.0


# -- the load generator --------------------------------------------------------------------


class Template:
    """A request of 20 events whose event ids are filled in per request (36 bytes each, in place)."""

    def __init__(self, port: int, key: str, seed: int) -> None:
        events = events_gen.make_batch(BATCH, seed=seed)
        marks = []
        for i, e in enumerate(events):
            e["event_id"] = f"{i:02d}" + "x" * 34
            marks.append(e["event_id"].encode())
        body = msgspec.json.encode(events)
        self.parts: list[bytes] = []
        rest = body
        for mark in marks:
            head, rest = rest.split(mark, 1)
            self.parts.append(head)
        self.parts.append(rest)
        self.head = (
            f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Write-Key: {key}\r\n"
            f"Origin: {ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()

    def request(self) -> bytes:
        out = [self.head]
        for part in self.parts[:-1]:
            out += [part, str(uuid.uuid4()).encode()]
        out.append(self.parts[-1])
        return b"".join(out)


class Result(msgspec.Struct):
    acked_requests: int = 0
    failed_requests: int = 0
    latencies_us: list[int] = msgspec.field(default_factory=list)


async def _connection(port: int, template: Template, until: float, interval: float, start: float, out: Result) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    n = 0
    try:
        while True:
            scheduled = start + n * interval if interval else loop.time()
            if scheduled >= until:
                break
            if interval and scheduled > loop.time():
                await asyncio.sleep(scheduled - loop.time())
            n += 1
            writer.write(template.request())
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latency = loop.time() - scheduled
            if status_line[9:10] == b"2":
                out.acked_requests += 1
                out.latencies_us.append(int(latency * 1e6))
            else:
                out.failed_requests += 1
    except (ConnectionError, asyncio.IncompleteReadError):
        out.failed_requests += 1
    finally:
        writer.close()


def _client(port: int, key: str, connections: int, seconds: float, rate: float, seed: int, queue: Queue[bytes]) -> None:
    """One load-generating process: `connections` connections for `seconds`; `rate` requests/s (0: flat out)."""

    async def main() -> Result:
        template = Template(port, key, seed)
        out = Result()
        loop = asyncio.get_running_loop()
        start = loop.time()
        interval = connections / rate if rate else 0.0
        await asyncio.gather(
            *(
                _connection(port, template, start + seconds, interval, start + i * interval / connections, out)
                for i in range(connections)
            )
        )
        return out

    queue.put(msgspec.msgpack.encode(asyncio.run(main())))


@dataclass
class Phase:
    seconds: float
    acked_requests: int
    failed_requests: int
    p50_ms: float
    p99_ms: float
    lag: list[float] = field(default_factory=list)
    landed_after_s: float | None = None
    #: CPU (user + system) the server's processes used during the phase, per acknowledged event
    server_cpu_us: float = float("nan")

    @property
    def events_per_s(self) -> float:
        return self.acked_requests * BATCH / self.seconds

    @property
    def requests_per_s(self) -> float:
        return self.acked_requests / self.seconds


def load(port: int, key: str, seconds: float, clients: int, rate: float = 0.0, seed: int = 4) -> Phase:
    """Run the generator processes; `rate`: requests/s in all (0: as fast as answered)."""
    ctx = multiprocessing.get_context("spawn")
    queue: Queue[bytes] = ctx.Queue()
    per = [CONNECTIONS // clients + (1 if i < CONNECTIONS % clients else 0) for i in range(clients)]
    procs = [
        ctx.Process(target=_client, args=(port, key, n, seconds, rate * n / CONNECTIONS, seed + i, queue))
        for i, n in enumerate(per)
    ]
    for p in procs:
        p.start()
    results = [msgspec.msgpack.decode(queue.get(timeout=seconds + 120), type=Result) for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for r in results for x in r.latencies_us)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000 if latencies else float("nan")

    return Phase(
        seconds=seconds,
        acked_requests=sum(r.acked_requests for r in results),
        failed_requests=sum(r.failed_requests for r in results),
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
    )


# -- the servers ----------------------------------------------------------------------------


def _metric(url: str, name: str, *labels: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10, trust_env=False).text
    return metric(text, name, *labels) or 0.0


@dataclass
class Run:
    name: str
    peak: Phase
    half: Phase
    sustained: Phase
    stored: int


def measure_clicklake(tmp: Path, seconds: float, clients: int, workers: int | None) -> Run:
    data = tmp / "clicklake"
    env = clicklake_env(data)
    env["CLICKLAKE_LOG_LEVEL"] = "warning"
    data.mkdir()
    key = create_site(env, data)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [CLICKLAKE, "up", "--port", str(port), *(["--workers", str(workers)] if workers else [])]
    with running(cmd, env, data / "up.log", port) as proc:
        load(port, key, WARMUP_S, clients)
        acked_before = _acked_events(url)
        rate = 0.0
        peak: Phase | None = None
        sustained: Phase | None = None
        for _attempt in range(4):
            phase = _with_cpu(proc.pid, lambda r=rate: _with_lag(url, lambda: load(port, key, seconds, clients, r)))
            peak = peak or phase
            acked_before += phase.acked_requests * BATCH
            phase.landed_after_s = _landed(url, acked_before)
            # bounded: the lag does not grow (the last third of the phase peaks no higher than twice the
            # first third, plus a second's worth: the loader commits in cycles, so the lag saw-tooths)
            third = max(1, len(phase.lag) // 3)
            bounded = max(phase.lag[-third:]) <= 2 * max(phase.lag[:third]) + phase.events_per_s
            landed = phase.landed_after_s
            print(
                f"clicklake at {'full speed' if not rate else f'{rate * BATCH:,.0f} events/s'}: "
                f"{phase.events_per_s:,.0f} acknowledged events/s, p99 {phase.p99_ms:.1f} ms, loader lag "
                f"{min(phase.lag):,.0f}..{max(phase.lag):,.0f} (last {phase.lag[-1]:,.0f}), in bronze "
                + (f"after {landed:.1f} s" if landed is not None else "NOT within 5 s"),
                file=sys.stderr,
                flush=True,
            )
            if phase.landed_after_s is not None and bounded:
                sustained = phase
                break
            rate = 0.7 * phase.requests_per_s
        if sustained is None:
            raise RuntimeError("no sustained rate found: the loader's lag grew at every rate tried")
        half = load(port, key, seconds, clients, rate=sustained.requests_per_s / 2)
        assert peak is not None
        stored = int(_metric(url, "clicklake_stage_records_total", 'stage="loader"'))
        proc.send_signal(signal.SIGTERM)  # the loader commits what the stream holds: more than `running` waits
        proc.wait(600)
    return Run("clicklake up", peak, half, sustained, stored)


def _with_cpu(root: int, run: Callable[[], Phase]) -> Phase:
    """Run the phase and note the CPU the server's process tree (`root` and its descendants) used per event.

    Less at the mercy of a noisy machine than events/s: what the other processes take slows the
    server down, but does not add to its own CPU time."""
    pids = tree(root)
    before = cpu_seconds(pids)
    phase = run()
    events = phase.acked_requests * BATCH
    if events:
        phase.server_cpu_us = (cpu_seconds(pids) - before) / events * 1e6
    return phase


def _acked_events(url: str) -> int:
    return int(_metric(url, "clicklake_events_total", 'outcome="accepted"'))


def _with_lag(url: str, run: Callable[[], Phase]) -> Phase:
    """Run the phase while sampling the loader's lag once a second."""
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(httpx.HTTPError):
                samples.append(_metric(url, "clicklake_stream_lag_records", 'group="loader"'))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        phase = run()
    finally:
        stop.set()
        thread.join()
    phase.lag = samples or [0.0]
    return phase


def _landed(url: str, acked: int) -> float | None:
    """Seconds until bronze holds `acked` events (the loader's count), or None if not within 5 s."""
    started = time.monotonic()
    while time.monotonic() - started <= LANDED_WITHIN_S:
        if _metric(url, "clicklake_stage_records_total", 'stage="loader"') >= acked:
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def measure_baseline(tmp: Path, seconds: float, clients: int) -> Run:
    where = tmp / "baseline"
    where.mkdir()
    key = "wk_bench_baseline"
    env = {**os.environ, "BENCH_DB": str(where / "baseline.sqlite3"), "BENCH_WRITE_KEY": key, "BENCH_ORIGIN": ORIGIN}
    _servers.create_db(env["BENCH_DB"])
    port = free_port()
    cmd = [sys.executable, str(BENCH / "_servers.py"), "baseline", "--port", str(port), "--workers", "2"]
    with running(cmd, env, where / "server.log", port) as proc:
        warm = load(port, key, WARMUP_S, clients)
        peak = _with_cpu(proc.pid, lambda: load(port, key, seconds, clients))
        half = load(port, key, seconds, clients, rate=peak.requests_per_s / 2)
    stored = _servers.count_rows(env["BENCH_DB"]) - warm.acked_requests * BATCH
    return Run("baseline (FastAPI+pydantic+SQLite, 2 workers)", peak, half, peak, stored)


def report(runs: list[Run], seconds: float) -> None:
    print(
        f"\n{seconds:g} s per phase, {CONNECTIONS} connections, {BATCH} events per request, on {os.cpu_count()} cores"
    )
    head = f"{'server':<48} {'sustained ev/s':>15} {'peak p99 ms':>12} {'half rate ev/s':>15} {'half p99 ms':>12}"
    print(head)
    print("-" * len(head))
    for r in runs:
        print(
            f"{r.name:<48} {r.sustained.events_per_s:>15,.0f} {r.peak.p99_ms:>12.1f} "
            f"{r.half.events_per_s:>15,.0f} {r.half.p99_ms:>12.1f}"
        )
    ours, base = runs
    s = ours.sustained
    print(
        f"\nclicklake: loader lag during the sustained phase {min(s.lag):,.0f}..{max(s.lag):,.0f} records "
        f"(last {s.lag[-1]:,.0f}); every acknowledged event in bronze {s.landed_after_s:.1f} s after the end; "
        f"{ours.stored:,} events in bronze in all; failed requests {s.failed_requests}"
    )
    if ours.peak is not s:
        print(f"  (the flat-out peak, {ours.peak.events_per_s:,.0f} events/s, was not sustained: lag grew)")
    acked = (base.peak.acked_requests + base.half.acked_requests) * BATCH
    print(f"baseline: {base.stored:,} rows in SQLite for {acked:,} acknowledged")
    print(
        f"CPU of the server's processes per acknowledged event: clicklake {s.server_cpu_us:.1f} µs (sustained phase; "
        f"the loader's work on events still in the stream at its end is not counted), "
        f"baseline {base.sustained.server_cpu_us:.1f} µs"
    )
    ratio = s.events_per_s / base.sustained.events_per_s
    print(f"\nratio {ratio:.2f}x (target >= {TARGET_RATIO}x): {'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    ok = ours.half.p99_ms <= TARGET_P99_MS
    print(f"p99 at half rate {ours.half.p99_ms:.1f} ms (target <= {TARGET_P99_MS:g} ms): {'met' if ok else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase (default 60)")
    parser.add_argument("--clients", type=int, default=4, help="load-generating processes (default 4)")
    parser.add_argument("--workers", type=int, help="clicklake's HTTP workers (default: one per core)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clicklake-bench-") as tmp:
        ours = measure_clicklake(Path(tmp), args.seconds, args.clients, args.workers)
        base = measure_baseline(Path(tmp), args.seconds, args.clients)
    report([ours, base], args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
