"""`clicklake up --workers 2` as a process tree: it serves, a child killed with SIGKILL is restarted and
nothing acknowledged is lost, and SIGTERM exits 0 after the loader's last commit. One tree for the module."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import READY_TIMEOUT, clean_env, clicklake_exe, free_port, kill_server, run_clicklake
from samples import EVENTS, wait_rows


class Tree:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        made = run_clicklake(tmp, "sites", "create", "Shop", "--domain", "shop.example", "--format", "json")
        assert made.returncode == 0, made.stderr
        self.key = json.loads(made.stdout)["write_key"]
        self.url = f"http://127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen(
            [clicklake_exe(), "up", "--port", self.url.rsplit(":", 1)[1], "--workers", "2"],
            cwd=tmp,
            # no per-IP limit: the senders below post as fast as they are answered, from one address, and
            # would empty its bucket (429s until it refills); the limit has tests of its own
            env=clean_env(tmp, {"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.5", "CLICKLAKE_COLLECT__RATE_PER_IP": "0"}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.err: list[str] = []
        self.out: list[str] = []
        self.readers = [
            threading.Thread(target=lambda s=stream, x=lines: x.extend(iter(s.readline, "")), daemon=True)
            for stream, lines in ((self.proc.stderr, self.err), (self.proc.stdout, self.out))
        ]
        for reader in self.readers:
            reader.start()
        self.acked: set[str] = set()

    def log(self) -> str:
        return "".join(self.err)

    def pids(self, name: str) -> list[int]:
        """The pid of each child called `name` (`http-0`, `loader`, ...) in the order they were started."""
        return [int(p) for p in re.findall(rf"started {re.escape(name)} \(pid (\d+)\)", self.log())]

    def wait_for(self, pattern: str, timeout: float = READY_TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.log())) is None:
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, f"no {pattern!r} in:\n{self.log()}"
            time.sleep(0.1)
        return found

    def post(self, client: httpx.Client, n: int = 20) -> bool:
        """One batch of `n` events with fresh ids; True (and the ids kept) when it was acknowledged."""
        batch = [{**EVENTS[i % len(EVENTS)], "event_id": str(uuid.uuid4())} for i in range(n)]
        try:
            r = client.post(f"{self.url}/v1/events", json=batch, headers={"X-Write-Key": self.key})
        except httpx.TransportError:
            return False
        if r.status_code == 200 and r.json()["accepted"] == n:
            self.acked.update(e["event_id"] for e in batch)
            return True
        return False

    def bronze_ids(self) -> set[str]:
        rows = wait_rows(self.tmp / "data", "select event_id from bronze.events", len(self.acked), timeout=20)
        return {r["event_id"] for r in rows}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    t = Tree(tmp_path_factory.mktemp("tree"))
    try:
        # the last rank starts once the HTTP workers serve; the bound is generous for a machine shared by tests
        t.wait_for(r"started scheduler", timeout=3 * READY_TIMEOUT)
        yield t
    finally:
        if t.proc.poll() is None:
            kill_server(t.proc)
        t.proc.wait()
        for reader in t.readers:
            reader.join(10)  # they end at the pipes' end
        for pipe in (t.proc.stdout, t.proc.stderr):
            if pipe is not None:
                pipe.close()


def test_two_workers_serve_and_the_events_land_in_bronze(tree: Tree) -> None:
    with httpx.Client(trust_env=False, timeout=10) as client:
        assert all(tree.post(client) for _ in range(10))
        assert client.get(f"{tree.url}/healthz").status_code == 200
        assert client.get(f"{tree.url}/login").status_code == 200  # the web's routes on the same port
    assert len(tree.pids("http-0")) == len(tree.pids("http-1")) == 1, tree.log()
    assert tree.bronze_ids() == tree.acked
    with httpx.Client(trust_env=False, timeout=10) as client:  # any worker's /metrics sums every process
        deadline = time.monotonic() + 10
        while f'clicklake_stage_records_total{{stage="loader"}} {len(tree.acked)}.0' not in (
            text := client.get(f"{tree.url}/metrics").text
        ):
            assert time.monotonic() < deadline, text
            time.sleep(0.3)
        assert f'clicklake_events_total{{outcome="accepted"}} {len(tree.acked)}.0' in text


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_background_stages_yield_the_cores_to_the_http_workers(tree: Tree) -> None:
    http = _nice(tree.pids("http-0")[-1])
    assert _nice(tree.pids("loader")[-1]) == http  # the stream's backpressure waits on it
    assert _nice(tree.pids("scheduler")[-1]) == http + 10


@pytest.mark.parametrize("child", ["http-1", "loader"])
def test_a_child_killed_with_sigkill_is_restarted_and_nothing_acknowledged_is_lost(tree: Tree, child: str) -> None:
    victim = tree.pids(child)[-1]
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(trust_env=False, timeout=10) as client:
            while not stop.is_set():
                tree.post(client)

    senders = [threading.Thread(target=send) for _ in range(2)]
    for s in senders:
        s.start()
    try:
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        tree.wait_for(rf"{child} \(pid {victim}\) was killed by SIGKILL")
        tree.wait_for(rf"started {re.escape(child)} \(pid (?!{victim}\))\d+\)")
        time.sleep(1.0)  # the new child serves or loads
    finally:
        stop.set()
        for s in senders:
            s.join()
    with httpx.Client(trust_env=False, timeout=10) as client:
        assert all(tree.post(client) for _ in range(5))
    assert tree.acked <= tree.bronze_ids()


def test_sigterm_exits_0_after_the_loaders_last_commit(tree: Tree) -> None:
    with httpx.Client(trust_env=False, timeout=10) as client:
        assert all(tree.post(client) for _ in range(20))
    tree.proc.send_signal(signal.SIGTERM)
    assert tree.proc.wait(30) == 0, tree.log()
    time.sleep(0.2)
    log = tree.log()
    # the HTTP workers stopped before the loader, which committed last
    assert log.index("stopping http-0") < log.index("stopping loader") < log.index("the last commit done")
    assert "Traceback" not in log
    done = run_clicklake(tree.tmp, "query", "select event_id from bronze.events", "--format", "json")
    assert tree.acked <= {r["event_id"] for r in json.loads(done.stdout)}


def test_the_children_collect_garbage_without_walking_what_the_fork_server_loaded(tmp_path: Path) -> None:
    # Every child is forked from the fork server after `clicklake._preload`: what it loaded (about
    # 135,000 objects) is frozen, so a child's full collection walks only its own objects (a walk of
    # everything took about 80 ms, during which an HTTP worker answered nobody).
    probe = "import gc, clicklake._preload; gc.collect(); print(gc.get_freeze_count(), len(gc.get_objects()))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=clean_env(tmp_path), timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    frozen, walked = map(int, done.stdout.split())
    assert frozen > 50_000 and walked < frozen / 10, (frozen, walked)
