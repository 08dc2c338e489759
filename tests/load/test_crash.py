"""Crash the loader (SIGKILL) at each step of its commit, restart it, and find every event exactly once.

`CLICKLAKE_FAILPOINT=name[@n]` makes the real `clicklake load` process kill itself at the
n-th pass through that point (`clicklake._failpoint`); each test first checks that it
really died there, so a failpoint that is no longer reached fails the test.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from clicklake.lake.catalog import open_catalog
from clicklake.query.engine import query
from clicklake.schema.envelope import Rejected, encode_payload
from clicklake.stream import Stream, open_stream
from conftest import clean_env, clicklake_exe
from samples import NOW_MS, records

FLUSH = {"CLICKLAKE_LOAD__FLUSH_RECORDS": "20"}


def fill(stream: Stream, start: int, n: int) -> tuple[set[str], set[tuple[int, int]]]:
    """Append n events, two retries, three rejections and one unreadable record.

    Returns the event ids, and the (partition, offset) of the four records bound for quarantine.
    """
    recs = records(n, prefix=f"r{start}-")
    payloads = [(r.event_id, encode_payload(r)) for r in recs]
    payloads += payloads[:2]  # two client retries
    bad = Rejected(site_id="s1", received_ts=NOW_MS, source="http", reason="bad", raw=b"{}")
    payloads += [(f"bad{start}-{i}", encode_payload(bad)) for i in range(3)]
    payloads.append(("odd", b'{"kind":"event/0"}'))
    acks = stream.append(payloads)
    return {r.event_id for r in recs}, set(acks[n + 2 :])


def contents(data: Path) -> tuple[Counter[str], Counter[tuple[int, int]]]:
    catalog = open_catalog(data)
    events = query(catalog, "select event_id from bronze.events").column("event_id").to_pylist()
    q = query(catalog, "select stream_partition p, stream_offset o from bronze.quarantine").to_pylist()
    return Counter(events), Counter((r["p"], r["o"]) for r in q)


POINTS = [
    "load.before_write",
    "catalog.before_commit@1",  # data files written, quarantine commit not yet swapped in
    "catalog.after_commit@1",  # quarantine committed, events not
    "load.after_quarantine_commit",
    "catalog.before_commit@2",  # events' data files and manifests written, pointer not swapped
    "catalog.after_commit@2",  # events committed, stream group not
    "load.after_events_commit",
    "load.after_stream_commit",
    "load.after_events_commit@3",  # a later commit of the same run
]


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_each_commit_step_loses_and_repeats_nothing(
    point: str, tmp_path: Path, clicklake: Callable[..., CompletedProcess[str]]
) -> None:
    data = tmp_path / "data"
    stream = open_stream(data / "stream", partitions=2)
    try:
        events, rejected = fill(stream, 0, 60)
    finally:
        stream.close()
    crashed = clicklake("load", "--once", env={**FLUSH, "CLICKLAKE_FAILPOINT": point})
    assert crashed.returncode == -signal.SIGKILL, f"did not die at {point}: {crashed.stderr}"
    resumed = clicklake("load", "--once", env=FLUSH)
    assert resumed.returncode == 0, resumed.stderr
    got_events, got_quarantine = contents(data)
    assert set(got_events) == events and max(got_events.values()) == 1
    assert set(got_quarantine) == rejected and max(got_quarantine.values()) == 1


def test_kill_9_at_random_moments_while_records_arrive(tmp_path: Path) -> None:
    """Rounds of: append, start `clicklake load`, SIGKILL it at a random moment; then drain and count."""
    rng = random.Random(7)
    data = tmp_path / "data"
    stream = open_stream(data / "stream", partitions=2)
    expected: set[str] = set()
    rejected: set[tuple[int, int]] = set()
    env = clean_env(tmp_path, {**FLUSH, "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.05"})
    try:
        for round_ in range(4):
            got, bad = fill(stream, round_ * 1000, 80)
            expected |= got
            rejected |= bad
            proc = subprocess.Popen([clicklake_exe(), "load"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
            assert proc.stderr is not None
            proc.stderr.readline()  # started: it prints once it loads continuously
            more, bad = fill(stream, round_ * 1000 + 500, 40)
            expected |= more
            rejected |= bad
            time.sleep(rng.uniform(0.0, 0.6))
            proc.kill()
            proc.communicate(timeout=30)
    finally:
        stream.close()
    result = subprocess.run(
        [clicklake_exe(), "load", "--once"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    got_events, got_quarantine = contents(data)
    assert set(got_events) == expected and max(got_events.values()) == 1
    assert set(got_quarantine) == rejected and max(got_quarantine.values()) == 1
