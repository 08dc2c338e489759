"""Two loaders split a NATS stream's partitions and commit to one table in a PostgreSQL catalog, exactly once.

Both start at the same moment on a fresh catalog (both create the namespaces and tables),
load while records keep arriving, one is SIGKILLed midway and restarted; in the end every
appended event is in bronze.events once.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from clicklake.lake.catalog import open_catalog
from clicklake.lake.position import committed_position
from clicklake.query.engine import query
from clicklake.schema.envelope import encode_payload
from clicklake.stream import Stream, open_stream
from conftest import clean_env, clicklake_exe
from samples import records

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


def _append(stream: Stream, start: int, n: int) -> set[str]:
    recs = records(n, prefix=f"m{start}-")
    stream.append([(r.event_id, encode_payload(r)) for r in recs])
    return {r.event_id for r in recs}


def _loader(tmp_path: Path, env: dict[str, str], spec: str, log: Path) -> subprocess.Popen[str]:
    with log.open("a") as sink:
        return subprocess.Popen(
            [clicklake_exe(), "load", "--partitions", spec],
            cwd=tmp_path,
            env=clean_env(tmp_path, env),
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
        )


def _started(proc: subprocess.Popen[str]) -> None:
    """Wait for the line a continuous loader prints once it loads."""
    assert proc.stderr is not None
    seen = []
    while line := proc.stderr.readline():
        if "loading continuously" in line:
            return
        seen.append(line)
    proc.wait(timeout=30)
    raise AssertionError(f"the loader exited with {proc.returncode} before it loaded:\n{''.join(seen)}")


def test_two_loaders_split_the_partitions_one_killed_and_restarted(
    tmp_path: Path, nats_url: str, postgres_uri: str
) -> None:
    uri = f"{nats_url}/many"
    env = {
        "CLICKLAKE_STREAM__URI": uri,
        "CLICKLAKE_LAKE__CATALOG_URI": postgres_uri,
        "CLICKLAKE_LOAD__FLUSH_RECORDS": "100",
        "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2",
    }
    stream = open_stream(uri, partitions=4)
    expected = _append(stream, 0, 200)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs: list[subprocess.Popen[str]] = []
    try:
        procs = [_loader(tmp_path, env, spec, log) for spec, log in zip(("0-1", "2-3"), logs, strict=True)]
        for proc in procs:  # both started at once, on a fresh catalog
            _started(proc)
        for round_ in range(1, 5):
            expected |= _append(stream, round_ * 1000, 100)
            time.sleep(0.3)
            if round_ == 2:
                procs[0].kill()  # SIGKILL midway: no flush, no goodbye
                procs[0].communicate(timeout=30)
                procs[0] = _loader(tmp_path, env, "0-1", logs[0])
                _started(procs[0])
        for proc in procs:
            proc.send_signal(signal.SIGTERM)  # commits what it holds, then exits 0
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        lag = stream.lag("loader")
        ends = {s.partition: s.next_offset for s in stream.stats().partitions}
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        stream.close()
    catalog = open_catalog(tmp_path / "data", postgres_uri)
    got = Counter(query(catalog, "select event_id from bronze.events").column("event_id").to_pylist())
    assert set(got) == expected, f"{len(expected - set(got))} missing, {len(set(got) - expected)} unexpected"
    assert max(got.values()) == 1, f"repeated: {[k for k, v in got.items() if v > 1][:5]}"
    assert all(entry.records == 0 for entry in lag)  # the stream group shows both loaders caught up
    table = catalog.load_table("bronze.events")
    position = committed_position(table)
    assert position is not None and position.offsets == ends  # the last commit carries every partition
    summaries = [s.summary for s in table.snapshots() if s.summary is not None]
    assert len(summaries) >= 4  # many commits from both loaders, each carrying the whole position
    assert all("clicklake.stream-offsets" in s.additional_properties for s in summaries)
    catalog.engine.dispose()  # type: ignore[attr-defined]
