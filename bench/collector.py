"""How fast is the collector? Durably acknowledged events/s over HTTP, beside a FastAPI baseline.

    .venv/bin/python bench/collector.py              # the full run, about five minutes
    .venv/bin/python bench/collector.py --quick      # about a minute, for a smoke test

The load comes from a separate process, `wrk` (Debian's package; installed with apt-get
when missing and this runs as root), on loopback, with a Lua script that rotates
through pre-made request bodies of realistic events (`bench/_events.py`):

- batch: 20 events per request, as the SDK sends them (`X-Write-Key`, JSON, `Origin`);
- beacon: one event per request, as `navigator.sendBeacon` sends it (`?key=`, text/plain).

Servers, each started fresh for each case with 1 and then 2 worker processes, all under
the same uvicorn supervisor and options, so that only the app differs (`bench/_servers.py`):

1. ceiling: uvicorn and an ASGI app that does nothing (the most any app can do here);
2. baseline: FastAPI + pydantic v2 (the same contract), one SQLite commit per request;
3. clicklake: `clicklake collect --workers N`, the real collector with its real stream.

Each case: a warm-up (not timed), then the peak phase (32 connections as fast as they
go), then a phase at half the peak request rate (wrk's `delay()` paces each connection;
wrk has no open-loop mode, so a stall delays later sends rather than queueing them, and
the p99 there is optimistic), all of fixed length. Only 2xx answers count as durably
acknowledged events; afterwards the server's store is counted (stream records, SQLite
rows) and must hold at least every acknowledged event. Peak RSS is the sum of VmHWM
over the server's processes (parent, workers; `max` the largest one). In CPU seconds
per second of the peak phase: `CPU` the server's, `wrk` the load generator's, and
`other` everything else on the machine (a busy machine lowers every figure).

Before all that, wrk is run against a bare uvloop + httptools responder: the load
generator's own ceiling on this machine. Targets (per worker): >= 100k events/s in
batches, >= 5k beacon requests/s, >= 3x the baseline's events/s, p99 <= 25 ms at half
the peak rate. On a 2-core machine, 2 workers share the cores with wrk: read the
2-worker rows with that in mind. The script reports; it exits 0 unless it cannot
measure (no wrk, a server that does not start).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Final

import httpx
import msgspec

from clicklake.config import settings_table

try:  # run as a script, bench/ is on sys.path; imported as `bench.collector`, it is a package
    import _events as events_gen
    import _servers
except ModuleNotFoundError:  # pragma: no cover
    from bench import _events as events_gen  # type: ignore[no-redef]
    from bench import _servers  # type: ignore[no-redef]

BENCH: Final = Path(__file__).resolve().parent
CLICKLAKE: Final = str(Path(sys.executable).parent / "clicklake")
BATCH: Final = 20
CONNECTIONS: Final = 32
ORIGIN: Final = "https://compare.example.com"  # the host of `_events`' page URLs
UA: Final = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
TARGET_BATCH_PER_WORKER: Final = 100_000
TARGET_BEACON_PER_WORKER: Final = 5_000
TARGET_RATIO: Final = 3.0
TARGET_P99_MS: Final = 25.0
READY_TIMEOUT: Final = 60.0

LUA: Final = r"""
-- args: bodies file (one body a line), path, mode ("batch" | "beacon"), write key, pause ms (0: none)
local reqs, n, i = {}, 0, 0

function init(args)
  local headers = {["Origin"] = args[6], ["User-Agent"] = args[7]}
  if args[3] == "batch" then
    headers["Content-Type"] = "application/json"
    headers["X-Write-Key"] = args[4]
  else
    headers["Content-Type"] = "text/plain;charset=UTF-8"
  end
  for line in io.lines(args[1]) do
    n = n + 1
    reqs[n] = wrk.format("POST", args[2], headers, line)
  end
  i = math.random(n)
  local pause = tonumber(args[5])
  if pause > 0 then
    -- uniform in [0, 2 * pause): the mean is `pause`, and connections do not march in step
    delay = function() return math.floor(2 * pause * math.random() + 0.5) end
  end
end

function request()
  i = i % n + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


class Wrk(msgspec.Struct):
    """What wrk's `done()` reports for one phase."""

    requests: int
    duration_us: int
    connect: int
    read: int
    write: int
    status: int  # answers with a status >= 400
    timeout: int
    p50_us: int
    p99_us: int
    max_us: int
    cpu_s: float = 0.0

    @property
    def ok(self) -> int:
        """Answers with a 2xx status (the servers here never answer 1xx or 3xx)."""
        return self.requests - self.status

    @property
    def rate(self) -> float:
        return self.ok / (self.duration_us / 1e6)

    @property
    def cpu(self) -> float:
        """wrk's CPU seconds per second of the phase."""
        return self.cpu_s / (self.duration_us / 1e6)


@dataclass
class Shape:
    name: str
    per_request: int
    bodies: Path
    path: str
    mean_bytes: float


@dataclass
class Case:
    """One server under one shape of load."""

    server: str
    workers: int
    shape: Shape
    peak: Wrk | None = None
    half: Wrk | None = None
    acked_events: int = 0
    stored_events: int | None = None
    rss_mb: float = 0.0
    rss_max_mb: float = 0.0
    server_cpu: float = 0.0
    other_cpu: float = 0.0
    failed: str = ""
    rejects: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return self.peak.rate * self.shape.per_request if self.peak else 0.0

    @property
    def events_per_cpu_s(self) -> float:
        """Events per CPU second the server used: less sensitive than events/s to a machine shared with others."""
        return self.events_per_s / self.server_cpu if self.server_cpu else 0.0


# -- processes ------------------------------------------------------------------


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's packages when missing and we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install wrk", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "check": False}
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], **quiet).returncode != 0:  # type: ignore[call-overload]
            subprocess.run(["apt-get", "update", "-q"], **quiet)  # type: ignore[call-overload]
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], **quiet)  # type: ignore[call-overload]
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("bench/collector.py needs wrk: run 'apt-get install wrk' (as root) and try again")


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out.append(p)
        todo.extend(int(c) for c in children)
    return out


def peak_rss_mb(pids: list[int]) -> float:
    """Sum of VmHWM (peak resident set) over `pids`, in MB."""
    total = 0
    for p in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by `pids` (their own, not their children's)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (user, nice, system, irq, softirq, steal), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def running(cmd: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server, wait until it answers HTTP on `port`, SIGTERM it at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:3]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[:3]} did not answer within {READY_TIMEOUT} s") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for p in tree(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
            proc.wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_wrk(wrk: str, script: Path, port: int, shape: Shape, key: str, seconds: float, pause_ms: float = 0.0) -> Wrk:
    url = f"http://127.0.0.1:{port}"
    mode = "batch" if shape.per_request > 1 else "beacon"
    cmd = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(script)]
    cmd += [url, "--", str(shape.bodies), shape.path, mode, key, f"{pause_ms:.3f}", ORIGIN, UA]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = msgspec.json.decode(line.removeprefix("WRK_RESULT "), type=Wrk)
    result.cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result


# -- the cases ------------------------------------------------------------------


def make_shapes(tmp: Path) -> list[Shape]:
    """Request bodies: 200 batches of 20 events, 2000 single-event beacons, one body a line."""
    encode = msgspec.json.encode
    batches = events_gen.make_batch(200 * BATCH, seed=4)
    beacons = events_gen.make_batch(2000, seed=5)
    shapes = []
    for name, per, events, path in (
        ("batch", BATCH, batches, "/v1/events"),
        ("beacon", 1, beacons, "/v1/events"),
    ):
        bodies = [encode(events[i : i + per]) for i in range(0, len(events), per)]
        file = tmp / f"{name}.bodies"
        file.write_bytes(b"\n".join(bodies) + b"\n")
        shapes.append(Shape(name, per, file, path, sum(map(len, bodies)) / len(bodies)))
    return shapes


def clicklake_env(data: Path) -> dict[str, str]:
    """The caller's environment without CLICKLAKE_*, data in `data`, and no limit that a benchmark would hit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKLAKE_")}
    env["CLICKLAKE_DATA"] = str(data)
    env["CLICKLAKE_LOG_LEVEL"] = "warning"
    known = {doc.key for doc in settings_table()}
    unlimited = {
        "stream.max_bytes": str(1 << 40),  # no loader runs: everything stays unread
        "stream.max_lag_records": str(1 << 40),
        "collect.rate_per_site": "0",  # one site and one client IP send everything here
        "collect.rate_per_ip": "0",
    }
    for key, value in unlimited.items():
        if key in known:
            env["CLICKLAKE_" + key.upper().replace(".", "__")] = value
    return env


def create_site(env: dict[str, str], cwd: Path) -> str:
    """A site for the pages of `_events` in the data directory `env` names; its write key."""
    made = subprocess.run(
        [CLICKLAKE, "sites", "create", "Bench", "--domain", "compare.example.com", "--format", "json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    key: str = json.loads(made.stdout)["write_key"]
    return key


def stored_in_stream(data: Path) -> int:
    from clicklake.stream import open_stream

    stream = open_stream(data / "stream")
    try:
        return sum(p.records for p in stream.stats().partitions)
    finally:
        stream.close()


def run_case(case: Case, wrk: str, script: Path, tmp: Path, seconds: float, warmup: float) -> None:
    """Start the server of `case`, load it (warm-up, peak, half the peak), count what it stored."""
    port = free_port()
    where = tmp / f"{case.server}-{case.workers}-{case.shape.name}"
    where.mkdir()
    if case.server == "clicklake":
        env = clicklake_env(where / "data")
        key = create_site(env, where)
        cmd = [CLICKLAKE, "collect", "--port", str(port), "--workers", str(case.workers)]
    else:
        key = "wk_bench_baseline"
        env = {**os.environ, "BENCH_DB": str(where / "baseline.sqlite3"), "BENCH_WRITE_KEY": key}
        env["BENCH_ORIGIN"] = ORIGIN
        _servers.create_db(env["BENCH_DB"])
        cmd = [sys.executable, str(BENCH / "_servers.py"), case.server, "--port", str(port)]
        cmd += ["--workers", str(case.workers)]
    shape = case.shape
    if shape.per_request == 1:  # sendBeacon cannot set headers: the key rides in the URL
        shape = Shape(shape.name, 1, shape.bodies, f"{shape.path}?key={key}", shape.mean_bytes)
    phases: list[Wrk] = []
    with running(cmd, env, where / "server.log", port) as proc:
        phases.append(run_wrk(wrk, script, port, shape, key, warmup))
        pids = tree(proc.pid)
        cpu_before, busy_before = cpu_seconds(pids), machine_busy_seconds()
        case.peak = run_wrk(wrk, script, port, shape, key, seconds)
        server_s = cpu_seconds(pids) - cpu_before
        other_s = machine_busy_seconds() - busy_before - server_s - case.peak.cpu_s
        case.server_cpu = server_s / (case.peak.duration_us / 1e6)
        case.other_cpu = max(0.0, other_s / (case.peak.duration_us / 1e6))
        phases.append(case.peak)
        if case.server != "empty" and case.peak.rate > 0:
            # each connection: pause, then one request that takes about a service time
            # (workers / peak rate) when the server is half idle
            pause_ms = 1000 * (CONNECTIONS / (case.peak.rate / 2) - case.workers / case.peak.rate)
            case.half = run_wrk(wrk, script, port, shape, key, seconds, pause_ms)
            phases.append(case.half)
        rss = [peak_rss_mb([p]) for p in tree(proc.pid)]
        case.rss_mb, case.rss_max_mb = sum(rss), max(rss)
    case.acked_events = sum(p.ok for p in phases) * shape.per_request
    failures = {
        "status>=400": sum(p.status for p in phases),
        "timeout": sum(p.timeout for p in phases),
        "socket": sum(p.connect + p.read + p.write for p in phases),
    }
    case.rejects = {k: v for k, v in failures.items() if v}
    if case.server == "clicklake":
        case.stored_events = stored_in_stream(where / "data")
    elif case.server == "baseline":
        case.stored_events = _servers.count_rows(env["BENCH_DB"])
    # stored may exceed acknowledged by the requests in flight when each phase ended
    in_flight = len(phases) * CONNECTIONS * shape.per_request
    if case.stored_events is not None and case.stored_events < case.acked_events:
        case.failed = f"LOST: {case.acked_events} events acknowledged, {case.stored_events} stored"
    elif case.stored_events is not None and case.stored_events > case.acked_events + in_flight:
        case.failed = f"MISCOUNTED: {case.stored_events} stored, more than {case.acked_events} acknowledged + in flight"


def generator_ceiling(wrk: str, script: Path, tmp: Path, shape: Shape, seconds: float) -> Wrk:
    port = free_port()
    cmd = [sys.executable, str(BENCH / "_servers.py"), "raw", "--port", str(port)]
    with running(cmd, dict(os.environ), tmp / "raw.log", port):
        run_wrk(wrk, script, port, shape, "", 1)
        return run_wrk(wrk, script, port, shape, "", seconds)


# -- the profile ----------------------------------------------------------------


def metric(text: str, name: str, *labels: str) -> float | None:
    """The sum of the samples of `name` whose labels contain every one of `labels`, in Prometheus text."""
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " ") and all(x in line for x in labels)
    ]
    return sum(values) if values else None


def _where(key: tuple[str, int, str]) -> str:
    file, line, func = key
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{file}:{line}({func})" if line else func


def _component(key: tuple[str, int, str]) -> str:
    """The module (ours) or package (others) a function belongs to, for grouping own time."""
    file, _, func = key
    if file == "~":
        return "msgspec (C)" if "msgspec" in func else "builtins and C methods"
    if "/clicklake/" in file:
        return "clicklake/" + file.split("/clicklake/", 1)[1]
    if "/site-packages/" in file:
        return file.split("/site-packages/", 1)[1].split("/", 1)[0]
    if file.endswith("asyncio/runners.py"):
        return "event loop (uvloop's C code, syscalls)"
    return "stdlib " + file.rsplit("/lib/python3.11/", 1)[-1].split("/", 1)[0]


def profile(wrk: str, script: Path, tmp: Path, shapes: list[Shape], seconds: float, top: int) -> None:
    """One worker under cProfile at its peak, per shape: where the event-loop thread spends its time."""
    import pstats

    for shape in shapes:
        where = tmp / f"profile-{shape.name}"
        where.mkdir()
        env = clicklake_env(where / "data")
        key = create_site(env, where)
        if shape.per_request == 1:
            shape = Shape(shape.name, 1, shape.bodies, f"{shape.path}?key={key}", shape.mean_bytes)
        port = free_port()
        out = where / "collector.prof"
        cmd = [sys.executable, str(BENCH / "_servers.py"), "profile", "--port", str(port), "--out", str(out)]
        with running(cmd, env, where / "server.log", port):
            run_wrk(wrk, script, port, shape, key, 2)
            peak = run_wrk(wrk, script, port, shape, key, seconds)
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10, trust_env=False).text
        requests = metric(text, "clicklake_http_requests_total", 'route="/v1/events"', 'status="200"') or 0.0
        append_s = metric(text, "clicklake_stream_append_seconds_sum")
        appends = metric(text, "clicklake_stream_append_seconds_count")
        stats = pstats.Stats(str(out))
        table = stats.stats  # type: ignore[attr-defined]
        loop_s = sum(row[2] for row in table.values())
        per_req = 1e6 / requests if requests else 0.0
        per_event = per_req / shape.per_request
        print(
            f"profile, {shape.name} ({shape.per_request} event(s) per request), 1 worker under cProfile: "
            f"{peak.rate:,.0f} req/s while profiled; {requests:,.0f} requests answered 200 in all"
        )
        print(
            f"  event-loop thread: {loop_s * per_req:,.0f} µs per request, {loop_s * per_event:,.1f} µs per event "
            "(cProfile's overhead included: compare shares, not absolute figures)"
        )
        if append_s is not None and appends:
            print(
                f"  stream append (a worker thread, not in the profile; from /metrics): "
                f"{append_s / appends * 1e6:,.0f} µs per append, {append_s * per_event:,.1f} µs per event"
            )
        groups: dict[str, float] = {}
        for k, row in table.items():
            groups[_component(k)] = groups.get(_component(k), 0.0) + row[2]
        print(f"  own time by module or package:{'µs/request':>41}  {'µs/event':>8}  {'share':>5}")
        for name, t in sorted(groups.items(), key=lambda kv: -kv[1])[:top]:
            print(f"  {name:<60}  {t * per_req:>10,.1f}  {t * per_event:>8,.2f}  {100 * t / loop_s:>4.0f}%")
        print(f"  top {top} functions by own time:  µs/request  µs/event  calls/request  function")
        for k, row in sorted(table.items(), key=lambda kv: -kv[1][2])[:top]:
            print(
                f"  {row[2] * per_req:>31,.1f}  {row[2] * per_event:>8,.2f}  {row[1] / max(requests, 1):>13,.1f}  "
                f"{_where(k)}"
            )
        ours = [(k, row) for k, row in table.items() if "clicklake/" in k[0]]
        print(f"  top {top} of clicklake's functions by time inside (callees included):  µs/request  µs/event")
        for k, row in sorted(ours, key=lambda kv: -kv[1][3])[:top]:
            print(f"  {row[3] * per_req:>69,.1f}  {row[3] * per_event:>8,.2f}  {_where(k)}")
        print()


# -- the report -----------------------------------------------------------------

NAMES: Final = {
    "empty": "uvicorn + empty ASGI app (ceiling)",
    "baseline": "baseline: FastAPI+pydantic+SQLite",
    "clicklake": "clicklake collect",
}


def _ms(us: int) -> str:
    return f"{us / 1000:.1f}"


def report(cases: list[Case]) -> None:
    """Two tables: throughput at the peak; latency at half the peak, memory, CPU and the count check."""
    done = [c for c in cases if c.peak is not None]
    head = (
        f"{'workers':>7}  {'shape':<6}  {'server':<35}  {'req/s':>8}  {'events/s':>9}  {'ev/s/worker':>11}  "
        f"{'p50 ms':>6}  {'p99 ms':>6}  {'events/CPU-s':>12}"
    )
    print("at the peak (32 connections as fast as they go); events/CPU-s: events per CPU second of the server")
    print(head)
    print("-" * len(head))
    for c in done:
        assert c.peak is not None
        p = c.peak
        print(
            f"{c.workers:>7}  {c.shape.name:<6}  {NAMES[c.server]:<35}  {p.rate:>8,.0f}  {c.events_per_s:>9,.0f}  "
            f"{c.events_per_s / c.workers:>11,.0f}  {_ms(p.p50_us):>6}  {_ms(p.p99_us):>6}  "
            f"{c.events_per_cpu_s:>12,.0f}"
        )
    print()
    head = (
        f"{'workers':>7}  {'shape':<6}  {'server':<35}  {'req/s':>7}  {'% peak':>6}  {'p50 ms':>6}  {'p99 ms':>6}  "
        f"{'RSS MB':>6}  {'(max)':>5}  {'CPU':>4}  {'wrk':>4}  {'other':>5}  stored / acknowledged events"
    )
    print("at half the peak request rate; peak RSS of the server's processes; CPU at the peak")
    print(head)
    print("-" * len(head))
    for c in done:
        assert c.peak is not None
        p, h = c.peak, c.half
        half = (
            f"{h.rate:>7,.0f}  {100 * h.rate / p.rate:>6.0f}  {_ms(h.p50_us):>6}  {_ms(h.p99_us):>6}"
            if h
            else (f"{'-':>7}  {'':>6}  {'':>6}  {'':>6}")
        )
        stored = f"{c.stored_events:,} / {c.acked_events:,}" if c.stored_events is not None else "-"
        print(
            f"{c.workers:>7}  {c.shape.name:<6}  {NAMES[c.server]:<35}  {half}  "
            f"{c.rss_mb:>6.0f}  {c.rss_max_mb:>5.0f}  {c.server_cpu:>4.1f}  {p.cpu:>4.1f}  {c.other_cpu:>5.1f}  "
            f"{stored}"
            + (f"  non-2xx or errors: {c.rejects}" if c.rejects else "")
            + (f"  {c.failed}" if c.failed else "")
        )
    for c in cases:
        if c.peak is None:
            print(f"{c.workers:>7}  {c.shape.name:<6}  {NAMES[c.server]:<35}  failed: {c.failed}")
    print()


def verdicts(cases: list[Case]) -> None:
    def find(server: str, workers: int, shape: str) -> Case | None:
        return next(
            (c for c in cases if (c.server, c.workers, c.shape.name) == (server, workers, shape) and c.peak), None
        )

    print("targets (clicklake collect):")
    for workers in sorted({c.workers for c in cases}):
        for shape in ("batch", "beacon"):
            ours, base = find("clicklake", workers, shape), find("baseline", workers, shape)
            if ours is None or ours.peak is None:
                continue
            tag = f"  {workers} worker{'s' if workers > 1 else ' '} {shape:<6}"
            lines = []
            if shape == "batch":
                per = ours.events_per_s / workers
                lines.append(
                    (
                        f"events/s per worker >= {TARGET_BATCH_PER_WORKER:,}",
                        f"{per:,.0f}",
                        per >= TARGET_BATCH_PER_WORKER,
                    )
                )
            else:
                per = ours.peak.rate / workers
                lines.append(
                    (
                        f"requests/s per worker >= {TARGET_BEACON_PER_WORKER:,}",
                        f"{per:,.0f}",
                        per >= TARGET_BEACON_PER_WORKER,
                    )
                )
            if base is not None and base.events_per_s > 0:
                ratio = ours.events_per_s / base.events_per_s
                lines.append((f"events/s >= {TARGET_RATIO:g}x the baseline's", f"{ratio:.2f}x", ratio >= TARGET_RATIO))
                if base.events_per_cpu_s > 0:  # the same, per CPU second: a check on a busy machine's noise
                    ratio = ours.events_per_cpu_s / base.events_per_cpu_s
                    lines.append((f"  (per CPU second: >= {TARGET_RATIO:g}x)", f"{ratio:.2f}x", ratio >= TARGET_RATIO))
            if ours.half is not None:
                p99 = ours.half.p99_us / 1000
                lines.append(
                    (f"p99 at half the peak rate <= {TARGET_P99_MS:g} ms", f"{p99:.1f} ms", p99 <= TARGET_P99_MS)
                )
            for what, got, ok in lines:
                print(f"{tag}  {what:<42} {got:>12}  {'PASS' if ok else 'FAIL'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s phases, 1 worker only: a smoke test")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed phase (default 10)")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated (default 1,2)")
    parser.add_argument(
        "--profile", action="store_true", help="instead: one worker under cProfile at its peak, top costs per request"
    )
    parser.add_argument("--top", type=int, default=25, help="--profile: how many functions to list (default 25)")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds
    warmup = 1.0 if args.quick else 3.0
    worker_counts = [1] if args.quick else [int(w) for w in args.workers.split(",")]
    wrk = ensure_wrk()
    started = time.perf_counter()
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split("[")[0]
    with tempfile.TemporaryDirectory(prefix="clicklake-bench-") as name:
        tmp = Path(name)
        script = tmp / "load.lua"
        script.write_text(LUA)
        shapes = make_shapes(tmp)
        print(
            f"clicklake collector benchmark: {wrk_version.strip()}, 1 thread, {CONNECTIONS} connections, loopback; "
            f"{warmup:g} s warm-up, then {seconds:g} s at peak and {seconds:g} s at half the peak rate"
        )
        print(
            f"python {platform.python_version()}, uvicorn {version('uvicorn')} (httptools, uvloop), "
            f"fastapi {version('fastapi')}, pydantic {version('pydantic')}, {os.cpu_count()} cores"
        )
        for s in shapes:
            kind = "X-Write-Key, application/json" if s.per_request > 1 else "?key=, text/plain"
            print(f"{s.name}: {s.per_request} event(s) per request ({kind}, Origin), {s.mean_bytes:,.0f} B on average")
        print()
        if args.profile:
            profile(wrk, script, tmp, shapes, seconds, args.top)
            return 0
        ceiling = generator_ceiling(wrk, script, tmp, shapes[0], seconds)
        print(
            f"load generator ceiling (wrk against a bare uvloop+httptools responder, batch bodies): "
            f"{ceiling.rate:,.0f} req/s, p50 {_ms(ceiling.p50_us)} ms, "
            f"wrk CPU {ceiling.cpu:.2f}"
        )
        print()
        cases: list[Case] = []
        for workers in worker_counts:
            for shape in shapes:
                for server in ("empty", "baseline", "clicklake"):
                    case = Case(server, workers, shape)
                    try:
                        run_case(case, wrk, script, tmp, seconds, warmup)
                    except RuntimeError as exc:
                        case.peak = None
                        case.failed = str(exc).splitlines()[0]
                        print(f"{server}, {workers} workers, {shape.name}: {exc}", file=sys.stderr)
                    cases.append(case)
                    print(
                        f"  done: {NAMES[server]}, {workers} worker(s), {shape.name}"
                        + (f": {case.events_per_s:,.0f} events/s" if case.peak else ""),
                        flush=True,
                    )
        print()
        report(cases)
        verdicts(cases)
    print(f"(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
