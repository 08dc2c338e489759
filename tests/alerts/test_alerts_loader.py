"""`clicklake alerts run` beside separate stages: killing the loader makes the stream lag rule fire, and a new
loader that catches up makes it recover, one notice each."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from alerts.receivers import http_receiver
from conftest import clean_env, clicklake_exe


def _events(n: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {"event_type": "page_view", "event_id": str(uuid.uuid4()), "ts": now, "user": {"consent": {"analytics": True}}}
        for _ in range(n)
    ]


def _wait_loaded(clicklake: Callable[..., Any], timeout: float = 60) -> None:
    """Until the loader group has committed every record of the stream."""
    deadline = time.monotonic() + timeout
    while True:
        out = clicklake("stream", "stats", "--format", "json")
        assert out.returncode == 0, out.stderr
        groups = {g["group"]: g for g in json.loads(out.stdout)["groups"]}
        if "loader" in groups and sum(lag["records"] for lag in groups["loader"]["lag"]) == 0:
            return
        assert time.monotonic() < deadline, f"the loader did not catch up: {out.stdout}"
        time.sleep(0.3)


def _start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [clicklake_exe(), *args],
        cwd=tmp_path,
        env=clean_env(tmp_path, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killing_the_loader_fires_the_stream_lag_rule_and_a_new_loader_resolves_it(
    tmp_path: Path, clicklake: Callable[..., Any], clicklake_up: Callable[..., tuple[Any, str]]
) -> None:
    site = json.loads(clicklake("sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout)
    headers = {"X-Write-Key": site["write_key"]}
    with http_receiver() as (hook, hooks):
        out = clicklake(
            "alerts", "create", "--kind", "stream_lag", "--threshold", "2", "--channel", "webhook", "--target", hook
        )
        assert out.returncode == 0, out.stderr
        _, base = clicklake_up("--workers", "1", command="collect")
        flush = {"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2"}
        loader = _start(tmp_path, "load", env=flush)
        evaluator = None
        try:
            with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
                assert client.post("/v1/events", json=_events(5), headers=headers).status_code == 200
                _wait_loaded(clicklake)
                evaluator = _start(tmp_path, "alerts", "run", env={"CLICKLAKE_ALERTS__INTERVAL_S": "1"})
                time.sleep(3)  # the evaluator starts and finds the lag small: no notice
                assert hooks.snapshot() == []
                loader.send_signal(signal.SIGKILL)  # the loader dies: nothing reads the stream any more
                loader.communicate(timeout=10)
                assert client.post("/v1/events", json=_events(5), headers=headers).status_code == 200
                hooks.wait(lambda items: [i["json"]["state"] for i in items] == ["firing"], timeout=30)
                notice = hooks.snapshot()[0]["json"]
                assert notice["kind"] == "stream_lag" and notice["site_id"] is None and notice["value"] > 2
                loader = _start(tmp_path, "load", env=flush)
                hooks.wait(lambda items: [i["json"]["state"] for i in items] == ["firing", "resolved"], timeout=30)
        finally:
            for proc in (loader, evaluator):
                if proc is not None:
                    proc.send_signal(signal.SIGTERM)
                    proc.communicate(timeout=20)
        assert evaluator is not None and evaluator.returncode == 0
