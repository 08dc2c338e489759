"""Live latency: time from a 200 on `POST /v1/events` to the event counted in `GET /api/live`.

Starts `clicklake up` on loopback in a temporary data directory, creates a site, an admin
and a stats token with the CLI, then sends one event per request at a steady rate for a
bounded count. Events go one after another, so the k-th event is counted once the live
event count reaches k: a poller reads `/api/live` every `--poll` seconds and notes when
each count is first seen. The baseline is the same time to the event's appearance in
`bronze.events` (the loader's commits, every `load.flush_interval_s`, 1 s by default),
read from the table's newest snapshot (`total-records`; the site is the only one).

Targets (issue 16): p50 <= 1 s, p99 <= 3 s to the live count.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

TARGET_P50: Final = 1.0
TARGET_P99: Final = 3.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clicklake(root: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    exe = str(Path(sys.executable).parent / "clicklake")
    out = subprocess.run([exe, *args], cwd=root, env=env, capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _event() -> dict[str, Any]:
    return {
        "event_type": "page_view",
        "event_id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(),
        "user": {"consent": {"analytics": True}, "anonymous_id": uuid.uuid4().hex[:12]},
        "ctx": {"page_url": "https://bench.example/live"},
    }


def _percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))]


class _Watch:
    """Notes the monotonic time each count is first seen by a reader polled in a thread."""

    def __init__(self, read: Any, poll: float) -> None:
        self.read = read
        self.poll = poll
        self.first_seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        seen = 0
        while not self.stop.is_set():
            try:
                count = int(self.read())
            except Exception:  # a read that fails counts as nothing new
                count = seen
            now = time.monotonic()
            for k in range(seen + 1, count + 1):
                self.first_seen[k] = now
            seen = max(seen, count)
            self.stop.wait(self.poll)


def run(events: int, rate: float, poll: float) -> int:
    with tempfile.TemporaryDirectory(prefix="clicklake-bench-live-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKLAKE_")}
        env["CLICKLAKE_DATA"] = str(root / "data")
        env["CLICKLAKE_TRANSFORM__INTERVAL_S"] = "0"  # the transform would only compete for the two cores
        port = _free_port()
        site = _clicklake(root, env, "sites", "create", "Bench", "--domain", "bench.example", "--format", "json")
        _clicklake(root, env, "users", "create", "bench@example.org", "--admin", "--format", "json")
        token = _clicklake(
            root, env, "tokens", "create", "--user", "bench@example.org", "--scope", "stats", "--format", "json"
        )["token"]
        exe = str(Path(sys.executable).parent / "clicklake")
        proc = subprocess.Popen(
            [exe, "up", "--port", str(port)], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        base = f"http://127.0.0.1:{port}"
        try:
            return _measure(base, root, site, token, events, rate, poll)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


def _measure(base: str, root: Path, site: dict[str, Any], token: str, events: int, rate: float, poll: float) -> int:
    from clicklake.lake.catalog import open_catalog

    client = httpx.Client(base_url=base, trust_env=False, timeout=10)
    deadline = time.monotonic() + 30
    while True:
        try:
            if client.get("/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("clicklake up did not answer in 30 s")
        time.sleep(0.1)
    sid = site["site_id"]
    reader = httpx.Client(base_url=base, trust_env=False, timeout=10, headers={"Authorization": f"Bearer {token}"})

    def live_count() -> int:
        return int(reader.get("/api/live", params={"site": sid}).json()["events"])

    table = open_catalog(root / "data").load_table("bronze.events")

    def bronze_count() -> int:
        table.refresh()
        snap = table.current_snapshot()
        return int(snap.summary["total-records"]) if snap is not None and snap.summary is not None else 0

    live, bronze = _Watch(live_count, poll), _Watch(bronze_count, max(poll, 0.05))
    acked: list[float] = []
    interval = 1 / rate
    started = time.monotonic()
    for k in range(events):
        time.sleep(max(0.0, started + k * interval - time.monotonic()))
        r = client.post("/v1/events", json=[_event()], headers={"X-Write-Key": site["write_key"]})
        if r.status_code != 200:
            raise SystemExit(f"event {k}: {r.status_code} {r.text}")
        acked.append(time.monotonic())
    settle = time.monotonic() + 10
    while (len(live.first_seen) < events or len(bronze.first_seen) < events) and time.monotonic() < settle:
        time.sleep(0.05)
    live.stop.set()
    bronze.stop.set()
    print(f"clicklake bench/live.py: {events} events, {rate:g}/s, one per request, polled every {poll} s")
    rows = []
    for name, watch in (("/api/live (realtime stage)", live), ("bronze.events (loader commit)", bronze)):
        lat = [watch.first_seen[k + 1] - acked[k] for k in range(events) if k + 1 in watch.first_seen]
        if not lat:
            print(f"{name}: no event seen")
            continue
        p50, p99 = _percentiles(lat)
        rows.append((name, len(lat), p50, p99))
    head = f"{'200 on /v1/events -> counted in':<34} {'seen':>6} {'p50 s':>8} {'p99 s':>8}"
    print(head)
    print("-" * len(head))
    for name, seen, p50, p99 in rows:
        print(f"{name:<34} {seen:>6} {p50:>8.3f} {p99:>8.3f}")
    if rows and rows[0][0].startswith("/api/live"):
        _, seen, p50, p99 = rows[0]
        ok = seen == events and p50 <= TARGET_P50 and p99 <= TARGET_P99
        print(f"target: p50 <= {TARGET_P50} s, p99 <= {TARGET_P99} s: {'PASS' if ok else 'FAIL'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600, help="events to send (default 600)")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (default 50)")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between reads of /api/live")
    parser.add_argument("--quick", action="store_true", help="150 events")
    args = parser.parse_args()
    return run(150 if args.quick else args.events, args.rate, args.poll)


if __name__ == "__main__":
    sys.exit(main())
