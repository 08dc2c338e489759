"""The scale-out mode on this machine: 1 and 2 collectors, 1 and 2 loaders on NATS + PostgreSQL + SeaweedFS,
beside the embedded mode (`clicklake up`) in the same run.

    .venv/bin/python bench/scale_out.py [--seconds 30] [--connections 16]

It starts its own nats-server (`.venv/bin/nats-server`), SeaweedFS (`weed mini`, as the tests
do, through tests/seaweedfs.py) and a fresh database on the local PostgreSQL
(127.0.0.1:5432, user postgres), dropped at the end. Each case gets a new stream, a new
PostgreSQL schema (catalog and metadata) and a new warehouse prefix, and runs:

- `clicklake collect --port P` once per collector (one worker each) and
  `clicklake load --partitions ...` once per loader (the 4 partitions split between them);
- the same sender for `--seconds`: `--connections` asyncio tasks in one process, each posting
  batches of 20 events of bench/_events.py to the collectors in turn, the next one as soon as
  the last is answered (a 503 is counted and retried).

Printed per case: acknowledged events/s, the p50 and p99 of acknowledged requests, the
stream's lag (records the loaders have not committed) when the sender stops, and the time
from then until that lag is 0 (every acknowledged event in bronze.events). The embedded case
is `clicklake up` with its local stream, catalog and warehouse, measured the same way.

The sender is Python and shares the two cores with everything it measures: the figures are
the whole machine's, not the collectors' ceiling (bench/collector.py measures that with wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

try:  # run as a script, bench/ is on sys.path; imported as `bench.scale_out`, it is a package
    import _events as events_gen
except ImportError:
    from bench import _events as events_gen  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLICKLAKE = str(BIN / "clicklake")
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
BATCH = 20
PARTITIONS = 4
SPLITS = {1: ["0-3"], 2: ["0-1", "2-3"]}


@dataclass
class Result:
    name: str
    seconds: float
    acked: int = 0
    retried: int = 0
    latencies: list[float] = field(default_factory=list)
    lag_at_end: int = 0
    to_bronze_s: float = float("nan")

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKLAKE_")}
    env.update(
        CLICKLAKE_DATA=str(data),
        CLICKLAKE_LOG_LEVEL="warning",
        CLICKLAKE_COLLECT__RATE_PER_IP="0",
        CLICKLAKE_COLLECT__RATE_PER_SITE="0",
        CLICKLAKE_LOAD__FLUSH_INTERVAL_S="1",
    )
    return env


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started in the block get SIGTERM (then SIGKILL) at its end, each in its own group."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def spawn(procs: list[subprocess.Popen[bytes]], args: list[str], env: dict[str, str], log: Path) -> Any:
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            args, env=env, cwd=log.parent, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    procs.append(proc)
    return proc


def create_site(env: dict[str, str], cwd: Path) -> str:
    made = subprocess.run(
        [CLICKLAKE, "sites", "create", "Bench", "--domain", "compare.example.com", "--format", "json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(made.stdout)["write_key"])


async def send(urls: list[str], key: str, seconds: float, connections: int, result: Result) -> None:
    """Post batches at full speed for `seconds` from `connections` tasks; record acknowledged requests."""
    seed = iter(range(10**9))
    stop = time.monotonic() + seconds
    headers = {"X-Write-Key": key, "Content-Type": "application/json"}

    async def worker(n: int) -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            turn = n
            while time.monotonic() < stop:
                body = json.dumps(events_gen.make_batch(BATCH, seed=next(seed))).encode()
                while time.monotonic() < stop:
                    url = urls[turn % len(urls)]
                    turn += 1
                    began = time.monotonic()
                    try:
                        r = await client.post(f"{url}/v1/events", content=body, headers=headers)
                    except httpx.TransportError:
                        result.retried += 1
                        continue
                    if r.status_code == 503:
                        result.retried += 1
                        await asyncio.sleep(0.05)
                        continue
                    r.raise_for_status()
                    result.latencies.append(time.monotonic() - began)
                    result.acked += BATCH
                    break

    await asyncio.gather(*(worker(n) for n in range(connections)))


def drain(stream: Any, result: Result, timeout: float = 180) -> None:
    """Lag when the sender stopped, and the time until the loaders committed all of it."""
    ended = time.monotonic()
    result.lag_at_end = sum(entry.records for entry in stream.lag("loader"))
    while sum(entry.records for entry in stream.lag("loader")) > 0:
        if time.monotonic() - ended > timeout:
            return
        time.sleep(0.1)
    result.to_bronze_s = time.monotonic() - ended


def scale_out_case(
    collectors: int, loaders: int, engines: dict[str, Any], tmp: Path, seconds: float, connections: int
) -> Result:
    from clicklake.stream import open_stream

    name = f"{collectors} collector{'s' * (collectors > 1)}, {loaders} loader{'s' * (loaders > 1)}"
    case = tmp / f"c{collectors}l{loaders}"
    case.mkdir()
    schema = f"b_{uuid.uuid4().hex[:10]}"
    engines["pg_schemas"].append(schema)
    catalog = f"{engines['pg']}?options=-csearch_path%3D{schema}"
    uri = f"{engines['nats']}/bench-{uuid.uuid4().hex[:8]}"
    weed = engines["weed"]
    env = base_env(case / "data") | weed.env(weed.warehouse())
    env |= {
        "CLICKLAKE_STREAM__URI": uri,
        "CLICKLAKE_LAKE__CATALOG_URI": catalog,
        "CLICKLAKE_COLLECT__METADATA_URI": catalog,
    }
    import sqlalchemy as sa

    admin = sa.create_engine(engines["pg"], isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    stream = open_stream(uri, partitions=PARTITIONS)
    key = create_site(env, case)
    result = Result(name, seconds)
    try:
        with processes() as procs:
            ports = [free_port() for _ in range(collectors)]
            started = [
                (spawn(procs, [CLICKLAKE, "collect", "--port", str(p)], env, case / f"collect-{p}.log"), p)
                for p in ports
            ]
            loading = [
                (spawn(procs, [CLICKLAKE, "load", "--partitions", s], env, case / f"load-{s}.log"), s)
                for s in SPLITS[loaders]
            ]
            for proc, port in started:
                wait_http(f"http://127.0.0.1:{port}/healthz", proc, case / f"collect-{port}.log")
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            asyncio.run(send(urls, key, seconds, connections, result))
            drain(stream, result)
            for proc, spec in loading:
                if proc.poll() is not None:
                    raise RuntimeError(f"loader {spec} died:\n{(case / f'load-{spec}.log').read_text()[-2000:]}")
    finally:
        stream.close()
    return result


def embedded_case(tmp: Path, seconds: float, connections: int) -> Result:
    from clicklake.stream import open_stream

    case = tmp / "embedded"
    case.mkdir()
    env = base_env(case / "data")
    key = create_site(env, case)
    result = Result("embedded (clicklake up)", seconds)
    port = free_port()
    with processes() as procs:
        proc = spawn(procs, [CLICKLAKE, "up", "--port", str(port)], env, case / "up.log")
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, case / "up.log")
        asyncio.run(send([f"http://127.0.0.1:{port}"], key, seconds, connections, result))
        stream = open_stream(case / "data" / "stream")
        try:
            drain(stream, result)
        finally:
            stream.close()
    return result


@contextlib.contextmanager
def engines(tmp: Path) -> Iterator[dict[str, Any]]:
    """nats-server, SeaweedFS and a fresh PostgreSQL database for the run."""
    import sqlalchemy as sa

    sys.path.insert(0, str(ROOT / "tests"))
    from nats_server import NatsServer
    from seaweedfs import seaweedfs

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    db = f"clicklake_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{db}"'))
    nats = NatsServer(tmp / "nats").start()
    try:
        with seaweedfs(tmp / "weed") as weed:
            yield {
                "nats": nats.url,
                "weed": weed,
                "pg": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}",
                "pg_schemas": [],
            }
    finally:
        nats.stop()
        with admin.connect() as con:
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def report(results: list[Result], load: tuple[float, float, float]) -> None:
    print(
        f"\nmachine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"load average at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f}"
    )
    heads = ("acked ev/s", 10), ("p50 ms", 7), ("p99 ms", 7), ("503/retry", 9), ("lag at end", 10), ("to bronze s", 11)
    print(f"{'case':<26} " + " ".join(f"{head:>{width}}" for head, width in heads))
    for r in results:
        print(
            f"{r.name:<26} {r.acked / r.seconds:>10.0f} {r.quantile(0.5):>7.1f} {r.quantile(0.99):>7.1f} "
            f"{r.retried:>9} {r.lag_at_end:>10} {r.to_bronze_s:>11.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="sending time per case (default 30)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent requests of the sender")
    parser.add_argument(
        "--cases", default="1x1,1x2,2x1,2x2,embedded", help="collectors x loaders, and 'embedded' (default: all)"
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="clicklake-scale-") as name:
        tmp = Path(name)
        cases = args.cases.split(",")
        with engines(tmp) as running:
            for case in cases:
                if case == "embedded":
                    continue
                collectors, loaders = (int(n) for n in case.split("x"))
                results.append(scale_out_case(collectors, loaders, running, tmp, args.seconds, args.connections))
                print(f"done: {results[-1].name}", flush=True)
        if "embedded" in cases:
            results.append(embedded_case(tmp, args.seconds, args.connections))
    report(results, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
