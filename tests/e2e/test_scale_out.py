"""Many writers on the scale-out engines: 2 collectors, 2 loaders and the transform, each its own process.

Everything on loopback: one nats-server stream (4 partitions), a fresh PostgreSQL schema as
the Iceberg catalog and the metadata database, and SeaweedFS's S3 as the warehouse. A bounded
sender posts batches at full speed to both collectors (a 503, or a connection refused by a
killed collector, is retried on the other one); midway one loader and one collector are
SIGKILLed and restarted; after the restart both collectors take more traffic. In the end every
acknowledged event is in bronze.events exactly once, and the transform's silver.events has them.
The same commands as the service files in deploy/ run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from clicklake.stream import open_stream
from conftest import clean_env, clicklake_exe, free_port, run_clicklake

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.s3]

BATCH = 20
BATCHES = 150  # sent at full speed, the kills happen meanwhile
AFTER = 40  # sent once the killed processes are back
SENDERS = 6


def _events(n: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "event_type": "page_view",
            "event_id": str(uuid.uuid4()),
            "ts": now,
            "user": {"consent": {"analytics": True}, "anonymous_id": f"v{i % 50}"},
            "ctx": {"page_url": f"https://shop.example/p{i % 7}"},
        }
        for i in range(n)
    ]


class Sender:
    """Posts batches to the collectors in turn until each is acknowledged (2xx); counts the acknowledged ids."""

    def __init__(self, urls: list[str], write_key: str) -> None:
        self.urls = urls
        self.headers = {"X-Write-Key": write_key}
        self.acked: list[str] = []
        self.acked_by: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.clients: list[httpx.Client] = []

    def _client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(trust_env=False, timeout=10)
            with self.lock:
                self.clients.append(self.local.client)
        return self.local.client  # type: ignore[no-any-return]

    def send(self, turn: int) -> None:
        batch = _events(BATCH)
        deadline = time.monotonic() + 60
        attempt = turn
        while time.monotonic() < deadline:
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                r = self._client().post(f"{url}/v1/events", json=batch, headers=self.headers)
            except httpx.TransportError as exc:  # a killed collector: refused, reset or cut short
                with self.lock:
                    self.retries[type(exc).__name__] += 1
                time.sleep(0.05)
                continue
            if r.status_code == 503:
                with self.lock:
                    self.retries["503"] += 1
                time.sleep(float(r.headers.get("Retry-After", "0.1")) / 10)
                continue
            assert r.is_success, f"{r.status_code}: {r.text}"
            assert r.json()["accepted"] == BATCH, r.text
            with self.lock:
                self.acked.extend(e["event_id"] for e in batch)
                self.acked_by[url] += 1
            return
        raise AssertionError("a batch was not acknowledged within 60 s")

    def run(self, turns: range) -> None:
        try:
            with ThreadPoolExecutor(SENDERS) as pool:
                list(pool.map(self.send, turns))
        finally:
            for client in self.clients:
                client.close()
            self.clients.clear()


def _collector(tmp_path: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[str]:
    """Start `clicklake collect --port PORT` in its own process group (`_ready` waits for it)."""
    with log.open("a") as sink:
        return subprocess.Popen(
            [clicklake_exe(), "collect", "--port", str(port)],
            cwd=tmp_path,
            env=clean_env(tmp_path, env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def _loader(tmp_path: Path, env: dict[str, str], spec: str, log: Path) -> subprocess.Popen[str]:
    """Start `clicklake load --partitions SPEC` (`_ready` waits for it)."""
    with log.open("a") as sink:
        sink.write("--- started\n")
    with log.open("a") as sink:
        return subprocess.Popen(
            [clicklake_exe(), "load", "--partitions", spec],
            cwd=tmp_path,
            env=clean_env(tmp_path, env),
            stdout=sink,
            stderr=sink,
            text=True,
        )


def _ready(procs: dict[str, tuple[subprocess.Popen[str], Path]], ports: dict[str, int], timeout: float = 60) -> None:
    """Wait until each collector's /healthz answers and each loader says it loads continuously."""
    waiting = dict(procs)
    deadline = time.monotonic() + timeout
    while waiting:
        for name, (proc, log) in list(waiting.items()):
            assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            if name in ports:
                with contextlib.suppress(httpx.TransportError):
                    url = f"http://127.0.0.1:{ports[name]}/healthz"
                    if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                        del waiting[name]
            elif "loading continuously" in log.read_text().rsplit("--- started", 1)[-1]:
                del waiting[name]
        assert time.monotonic() < deadline, f"not ready in {timeout} s: {sorted(waiting)}"
        time.sleep(0.1)


def _stop(procs: dict[str, tuple[subprocess.Popen[str], Path]]) -> None:
    """SIGTERM every process at once; each must exit 0 (a loader after its last commit)."""
    for proc, _ in procs.values():
        proc.send_signal(signal.SIGTERM)
    for name, (proc, log) in procs.items():
        proc.wait(timeout=60)
        assert proc.returncode == 0, f"{name}: {log.read_text()[-3000:]}"


def _query(tmp_path: Path, env: dict[str, str], sql: str) -> list[dict[str, Any]]:
    out = run_clicklake(tmp_path, "query", sql, "--format", "json", env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_two_collectors_two_loaders_and_the_transform_on_nats_postgres_and_s3(
    tmp_path: Path, nats_url: str, postgres_schema_uri: str, weed: Any
) -> None:
    uri = f"{nats_url}/scale-{uuid.uuid4().hex[:8]}"
    env = {
        "CLICKLAKE_STREAM__URI": uri,
        "CLICKLAKE_LAKE__CATALOG_URI": postgres_schema_uri,
        "CLICKLAKE_COLLECT__METADATA_URI": postgres_schema_uri,
        "CLICKLAKE_COLLECT__RATE_PER_IP": "0",
        "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.5",
        **weed.env(weed.warehouse()),
    }
    stream = open_stream(uri, partitions=4)
    site = run_clicklake(tmp_path, "sites", "create", "Shop", "--domain", "shop.example", "--format", "json", env=env)
    assert site.returncode == 0, site.stderr
    write_key = json.loads(site.stdout)["write_key"]

    ports = {"c0": free_port(), "c1": free_port()}
    logs = {name: tmp_path / f"{name}.log" for name in ("c0", "c1", "l0", "l1")}
    parts = {"l0": "0-1", "l1": "2-3"}
    procs: dict[str, tuple[subprocess.Popen[str], Path]] = {}

    def start(*names: str) -> None:
        for name in names:
            if name in ports:
                procs[name] = (_collector(tmp_path, env, ports[name], logs[name]), logs[name])
            else:
                procs[name] = (_loader(tmp_path, env, parts[name], logs[name]), logs[name])
        _ready({name: procs[name] for name in names}, ports)

    try:
        start("c0", "c1", "l0", "l1")  # at once, on a fresh catalog
        sender = Sender([f"http://127.0.0.1:{port}" for port in ports.values()], write_key)
        sending = threading.Thread(target=sender.run, args=(range(BATCHES),))
        started = time.monotonic()
        sending.start()
        while len(sender.acked) < BATCHES * BATCH // 3 and sending.is_alive():
            time.sleep(0.02)
        procs["l0"][0].kill()  # SIGKILL midway: no flush, no goodbye
        os.killpg(procs["c1"][0].pid, signal.SIGKILL)  # the collector and its workers
        procs["l0"][0].wait()
        procs["c1"][0].wait()
        killed_at = len(sender.acked)
        start("c1", "l0")
        sending.join()
        before = dict(sender.acked_by)
        sender.run(range(BATCHES, BATCHES + AFTER))  # both collectors again, the restarted one too
        sent_s = time.monotonic() - started
        assert all(sender.acked_by[url] > before.get(url, 0) for url in sender.urls), sender.acked_by

        deadline = time.monotonic() + 60
        while any(entry.records for entry in stream.lag("loader")):
            assert time.monotonic() < deadline, f"the loaders did not catch up: {stream.lag('loader')}"
            time.sleep(0.2)
        caught_up_s = time.monotonic() - started
        _stop(procs)
    finally:
        for name, (proc, _) in procs.items():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL) if name in ports else proc.kill()
                proc.wait()
        stream.close()

    acked = set(sender.acked)
    assert len(acked) == len(sender.acked) == (BATCHES + AFTER) * BATCH
    assert 0 < killed_at < BATCHES * BATCH
    print(f"{len(acked)} events acknowledged in {sent_s:.1f} s, in bronze at {caught_up_s:.1f} s; {sender.retries}")

    rows = _query(tmp_path, env, "select event_id, count(*) as n from bronze.events group by event_id")
    got = {row["event_id"]: row["n"] for row in rows}
    assert set(got) == acked, f"{len(acked - set(got))} missing, {len(set(got) - acked)} unexpected"
    assert max(got.values()) == 1, f"repeated: {[k for k, v in got.items() if v > 1][:5]}"

    t0 = time.monotonic()
    out = run_clicklake(tmp_path, "transform", "--once", "--format", "json", env=env, timeout=180)
    assert out.returncode == 0, out.stderr
    silver = _query(tmp_path, env, "select distinct event_id from silver.events")
    assert {row["event_id"] for row in silver} == acked
    print(f"transform and silver query: {time.monotonic() - t0:.1f} s")
