"""`clicklake up` runs the loader: appended records become queryable, and SIGTERM commits what is left."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess, Popen
from typing import Any

from clicklake.lake.catalog import open_catalog
from clicklake.query.engine import query
from clicklake.schema.envelope import encode_payload
from clicklake.stream import open_stream
from samples import records


def count(data: Path) -> int:
    n: int = query(open_catalog(data), "select count(*) as n from bronze.events").to_pylist()[0]["n"]
    return n


def append(data: Path, prefix: str, n: int) -> None:
    stream = open_stream(data / "stream")
    try:
        stream.append([(r.event_id, encode_payload(r)) for r in records(n, prefix=prefix)])
    finally:
        stream.close()


def test_up_loads_continuously(
    tmp_path: Path, clicklake_up: Callable[..., tuple[Popen[str], str]], stop_server: Callable[..., Any]
) -> None:
    proc, _ = clicklake_up(env={"CLICKLAKE_LAKE__MAINTAIN_INTERVAL_MINUTES": "0.01"})
    data = tmp_path / "data"
    append(data, "a", 50)
    deadline = time.monotonic() + 15
    while count(data) < 50 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert count(data) == 50
    time.sleep(1.5)  # maintenance runs every 0.6 s here
    code, _, err = stop_server(proc)
    assert code == 0, err
    assert "maintenance: 0 slices compacted" in err


def test_sigterm_commits_what_the_stream_holds(
    tmp_path: Path,
    clicklake_up: Callable[..., tuple[Popen[str], str]],
    stop_server: Callable[..., Any],
    clicklake: Callable[..., CompletedProcess[str]],
) -> None:
    # an interval so long that only the stop can commit
    proc, _ = clicklake_up(env={"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "900"})
    data = tmp_path / "data"
    append(data, "b", 70)
    time.sleep(0.5)
    assert count(data) == 0
    code, _, err = stop_server(proc, signal.SIGTERM)
    assert code == 0, err
    assert "70 events loaded" in err
    assert count(data) == 70
    stats = clicklake("stream", "stats", "--format", "json")
    assert stats.returncode == 0, stats.stderr
    report = json.loads(stats.stdout)
    assert sum(p["records"] for p in report["partitions"]) == 70
    groups = {g["group"]: g for g in report["groups"]}
    assert set(groups) == {"loader", "realtime"}  # the live view reads beside the loader
    assert all(lag["records"] == 0 for lag in groups["loader"]["lag"])
