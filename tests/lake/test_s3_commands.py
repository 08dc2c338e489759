"""The commands a user runs, on a warehouse in S3-compatible object storage (a real SeaweedFS).

`clicklake up` loads into the bucket; `transform --once`, `query` and `maintain` work on it;
and no output of any of them, at log level debug, holds the S3 secret key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess, Popen
from typing import Any

import pytest

from clicklake import cli
from clicklake.lake.catalog import open_catalog
from clicklake.query.engine import query
from clicklake.schema.envelope import encode_payload
from clicklake.stream import open_stream
from samples import records
from seaweedfs import SeaweedFS, free_port

pytestmark = pytest.mark.s3

N = 60


def test_up_transform_query_and_maintain_on_s3_never_print_the_secret(
    weed: SeaweedFS,
    tmp_path: Path,
    clicklake_up: Callable[..., tuple[Popen[str], str]],
    clicklake: Callable[..., CompletedProcess[str]],
    stop_server: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = weed.warehouse()
    env = {
        **weed.env(warehouse),
        "CLICKLAKE_LOG_LEVEL": "debug",
        "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2",
        "CLICKLAKE_TRANSFORM__INTERVAL_S": "0",
    }
    outputs: list[str] = []
    proc, _ = clicklake_up(env=env)
    stream = open_stream(tmp_path / "data" / "stream")
    try:
        stream.append([(r.event_id, encode_payload(r)) for r in records(N, prefix="a")])
    finally:
        stream.close()
    catalog = open_catalog(tmp_path / "data", warehouse=warehouse)
    deadline = time.monotonic() + 15
    while query(catalog, "select count(*) as n from bronze.events").to_pylist() != [{"n": N}]:
        assert time.monotonic() < deadline, "the loader did not commit the records to the bucket in time"
        time.sleep(0.2)
    code, out, err = stop_server(proc)
    assert code == 0, err
    outputs += [out, err]

    def run(*args: str, **extra: str) -> CompletedProcess[str]:
        result = clicklake(*args, env={**env, **extra}, timeout=60)
        outputs.extend([result.stdout, result.stderr])
        return result

    assert run("transform", "--once").returncode == 0
    maintained = run("maintain", "--format", "json")
    assert maintained.returncode == 0, maintained.stderr
    assert "bronze.events" in maintained.stdout
    # in this process (a command's start costs seconds here): query, config, and a store out of reach
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLICKLAKE_DATA", str(tmp_path / "data"))
    assert cli.main(["query", "select count(*) as n from silver.events", "--format", "json"]) == 0
    counted = capsys.readouterr()
    outputs.extend([counted.out, counted.err])
    assert json.loads(counted.out) == query(catalog, "select count(*) as n from bronze.events").to_pylist()
    assert cli.main(["config"]) == 0
    shown = capsys.readouterr()
    assert '"********"' in shown.out
    outputs.extend([shown.out, shown.err])
    monkeypatch.setenv("CLICKLAKE_LAKE__S3_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    assert cli.main(["query", "select count(*) from bronze.events"]) == 1
    down = capsys.readouterr()
    outputs.extend([down.out, down.err])
    # the error names the object and the cause, not the secret
    assert down.err.startswith("clicklake: error: ") and "Could not connect" in down.err

    keys = weed.keys(warehouse.location)
    assert any("/silver/events/data/" in k for k in keys) and any("/bronze/events/data/" in k for k in keys)
    assert not (tmp_path / "data" / "warehouse").exists()
    assert sum(len(o) for o in outputs) > 1000  # debug logging did speak
    assert not [o for o in outputs if weed.secret_key in o]
