"""The installed `clicklake` command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from clicklake import __version__
from clicklake.schema import json_schema

SUBCOMMANDS = (
    "up",
    "collect",
    "config",
    "schema",
    "query",
    "maintain",
    "transform",
    "load",
    "stream",
    "quarantine",
    "sites",
    "links",
    "demo",
)

Run = Callable[..., subprocess.CompletedProcess[str]]
Up = Callable[..., tuple[subprocess.Popen[str], str]]
Stop = Callable[..., tuple[int, str, str]]


def test_version(clicklake: Run) -> None:
    result = clicklake("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"clicklake {__version__}"


def test_help_lists_subcommands(clicklake: Run) -> None:
    result = clicklake("--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: clicklake")
    for name in SUBCOMMANDS:
        assert name in result.stdout.split(), f"{name!r} missing from --help"


def test_no_command_prints_help_and_exits_2(clicklake: Run) -> None:
    result = clicklake()

    assert result.returncode == 2
    assert "usage: clicklake" in result.stdout + result.stderr
    for name in SUBCOMMANDS:
        assert name in (result.stdout + result.stderr).split()


def test_config_json_reflects_env_override(clicklake: Run, tmp_path: Path) -> None:
    result = clicklake("config", "--format", "json", env={"CLICKLAKE_SERVER__PORT": "9123"})

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["server.port"] == 9123
    assert shown["server.host"] == "127.0.0.1"
    assert shown["log_level"] == "info"
    assert shown["data"] == str(tmp_path / "data")


def test_config_table_reads_clicklake_toml_in_working_directory(clicklake: Run, tmp_path: Path) -> None:
    (tmp_path / "clicklake.toml").write_text('log_level = "warning"\n', encoding="utf-8")

    result = clicklake("config")

    assert result.returncode == 0, result.stderr
    assert re.search(r'^log_level +"warning"$', result.stdout, re.MULTILINE), result.stdout


def test_schema_prints_the_published_schema(clicklake: Run) -> None:
    result = clicklake("schema")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json_schema()


def test_bad_setting_exits_2_with_message_on_stderr(clicklake: Run) -> None:
    result = clicklake("config", env={"CLICKLAKE_SERVER__PORT": "eighty"})

    assert result.returncode == 2
    assert result.stdout == ""
    assert "CLICKLAKE_SERVER__PORT" in result.stderr
    assert "eighty" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_setting_exits_2_with_message_on_stderr(clicklake: Run) -> None:
    result = clicklake("config", env={"CLICKLAKE_SERVER__WORKERS": "4"})

    assert result.returncode == 2
    assert "server.workers" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_2(clicklake: Run, tmp_path: Path) -> None:
    result = clicklake("--config", str(tmp_path / "nope.toml"), "config")

    assert result.returncode == 2
    assert str(tmp_path / "nope.toml") in result.stderr
    assert "Traceback" not in result.stderr


# -- clicklake up ---------------------------------------------------------------------


def test_up_serves_then_stops_on_sigterm(clicklake_up: Up, stop_server: Stop, tmp_path: Path) -> None:
    proc, base_url = clicklake_up()

    with httpx.Client(base_url=base_url, trust_env=False, timeout=5.0) as client:
        health = client.get("/healthz")
        schema = client.get("/schema/v1.json")

    assert health.status_code == 200
    assert health.json() == {"status": "ok", "version": __version__}
    assert schema.status_code == 200
    assert schema.headers["content-type"] == "application/schema+json"
    assert schema.json() == json_schema()
    assert (tmp_path / "data").is_dir()  # CLICKLAKE_DATA is created at start-up

    code, out, err = stop_server(proc, signal.SIGTERM, timeout=15)

    assert code == 0, err
    assert f"is up at {base_url}" in out
    assert "Traceback" not in err


def test_up_stops_on_sigint(clicklake_up: Up, stop_server: Stop) -> None:
    proc, _ = clicklake_up()

    code, _, err = stop_server(proc, signal.SIGINT, timeout=15)

    assert code == 0, err
    assert "Traceback" not in err


def test_up_port_flag_overrides_settings(clicklake_up: Up, stop_server: Stop) -> None:
    # the env asks for port 1 (not bindable by a normal user); --port from start_server wins
    proc, base_url = clicklake_up(env={"CLICKLAKE_SERVER__PORT": "1"})

    assert httpx.get(f"{base_url}/healthz", trust_env=False, timeout=5.0).status_code == 200
    assert stop_server(proc)[0] == 0


def _run_up_on_taken_port(clicklake: Run) -> tuple[int, subprocess.CompletedProcess[str]]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        result = clicklake("up", "--port", str(port), timeout=20)
    return port, result


def test_up_on_taken_port_fails(clicklake: Run) -> None:
    port, result = _run_up_on_taken_port(clicklake)

    assert result.returncode != 0
    assert str(port) in result.stderr
    assert "address already in use" in result.stderr.lower()


def test_up_on_taken_port_fails_without_traceback(clicklake: Run) -> None:
    _, result = _run_up_on_taken_port(clicklake)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
