"""Shared helpers: run the installed `clicklake` command, start `clicklake up` on a free port.

The plain functions (`free_port`, `start_server`, `stop_server`, `run_clicklake`)
do the work; tests reach them through fixtures (`clicklake`, `clicklake_up`,
`stop_server`), which never leave a server running and need no import of
this module.
Every subprocess gets an environment without the caller's `CLICKLAKE_*`
variables and a working directory in `tmp_path`, so no stray `clicklake.toml`
or setting leaks in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

READY_TIMEOUT = 40.0  # `clicklake up` starts several processes; a machine busy with other tests slows that
STOP_TIMEOUT = 15.0


def clicklake_exe() -> str:
    """The `clicklake` script installed in this virtualenv."""
    beside = Path(sys.executable).parent / "clicklake"
    if beside.exists():
        return str(beside)
    found = shutil.which("clicklake")
    if found is None:
        raise RuntimeError("the clicklake command is not installed in this environment")
    return found


def clean_env(tmp_path: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without CLICKLAKE_*, data in tmp_path/data, then `env` on top."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("CLICKLAKE_")}
    if out.get("PYTHONPATH"):  # absolute, as the child runs in tmp_path (the shifted run's tests/_clock)
        out["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in out["PYTHONPATH"].split(os.pathsep) if p)
    out["CLICKLAKE_DATA"] = str(tmp_path / "data")
    out.update(env or {})
    return out


def run_clicklake(
    tmp_path: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run `clicklake *args` to completion in tmp_path and capture its output."""
    return subprocess.run(
        [clicklake_exe(), *args],
        cwd=tmp_path,
        env=clean_env(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    tmp_path: Path, *extra_args: str, env: Mapping[str, str] | None = None, command: str = "up"
) -> tuple[subprocess.Popen[str], str]:
    """Start `clicklake <command> --port <free port> *extra_args` and wait until /healthz answers 200.

    `command` is `up` (every stage) or `collect` (the collector alone).

    The server binds the default host, 127.0.0.1 (CLICKLAKE_* from the caller's
    environment are dropped), so `base_url` is `http://127.0.0.1:<port>`.
    Output goes to pipes: stop the server with `stop_server` (or `communicate()`)
    to read it. Raises if the process exits or is not ready within READY_TIMEOUT.
    """
    port = free_port()
    if command == "up" and "--workers" not in extra_args:
        extra_args = ("--workers", "1", *extra_args)  # one HTTP worker starts soonest; tests of more say so
    proc = subprocess.Popen(
        [clicklake_exe(), command, "--port", str(port), *extra_args],
        cwd=tmp_path,
        env=clean_env(tmp_path, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # its own process group, so that `kill_server` also reaches the workers it spawns
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise RuntimeError(f"clicklake {command} exited with {proc.returncode} before it was ready:\n{out}\n{err}")
        try:
            # trust_env=False: a proxy from the environment must not intercept 127.0.0.1
            if httpx.get(f"{base_url}/healthz", timeout=1.0, trust_env=False).status_code == 200:
                return proc, base_url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            out, err = kill_server(proc)
            raise RuntimeError(f"clicklake {command} was not ready within {READY_TIMEOUT} s:\n{out}\n{err}")
        time.sleep(0.1)


def stop_server(
    proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT
) -> tuple[int, str, str]:
    """Send `sig`, wait up to `timeout` seconds; return (exit code, stdout, stderr).

    A process that does not stop in time is killed and the TimeoutExpired re-raised.
    """
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_server(proc)
        raise
    return proc.returncode, out, err


def kill_server(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGKILL a server started by `start_server` and every process of its group; its (stdout, stderr).

    Killing the supervisor alone would leave `clicklake collect`'s workers holding its
    output pipes open, and reading them would never end.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    return proc.communicate()


@contextlib.contextmanager
def serving(root: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`clicklake up` in `root` for the `with` block (its base URL); it must then stop cleanly with exit 0."""
    proc, base = start_server(root, env=env)
    try:
        yield base
    finally:
        code, _, err = stop_server(proc)
        assert code == 0, err


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """One `clicklake up` for the test module, committing every 0.2 s: (base URL, data directory)."""
    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with serving(root, env={"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2"}) as base:
        yield base, root / "data"


@pytest.fixture
def server(collector: tuple[str, Path]) -> tuple[str, str, str, Path]:
    """A new site "Shop" (shop.example) on `collector`: (base URL, write key, site id, data directory)."""
    from clicklake.collect.metadata import Metadata
    from clicklake.config import Settings

    base, data = collector
    with Metadata.open(Settings(data=str(data))) as metadata:
        site = metadata.create_site("Shop", "shop.example")
    return base, site.write_key, site.site_id, data


@pytest.fixture
def clicklake_up(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    """`start_server` bound to tmp_path (`command="collect"` for the collector alone); any server still
    running at teardown is killed."""
    started: list[subprocess.Popen[str]] = []

    def start(
        *extra_args: str, env: Mapping[str, str] | None = None, command: str = "up"
    ) -> tuple[subprocess.Popen[str], str]:
        proc, base_url = start_server(tmp_path, *extra_args, env=env, command=command)
        started.append(proc)
        return proc, base_url

    yield start
    for proc in started:
        if proc.poll() is None:
            kill_server(proc)
        else:  # the supervisor exited; a worker may not have
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def clicklake(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_clicklake` bound to tmp_path."""

    def run(
        *args: str, env: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        return run_clicklake(tmp_path, *args, env=env, timeout=timeout)

    return run


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server, dropped afterwards; fails (no skip) if it is down."""
    import sqlalchemy as sa

    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    name = f"clicklake_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(name="stop_server")
def stop_server_fixture() -> Callable[..., tuple[int, str, str]]:
    """`stop_server`, for tests that cannot import conftest."""
    return stop_server


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server with JetStream on a free loopback port for the whole session; fails (no skip) if it cannot start.

    Tests that share it use stream names of their own (`uuid`), so they never see each other's data.
    """
    from nats_server import NatsServer

    server = NatsServer(tmp_path_factory.mktemp("nats") / "store").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running `weed mini` (SeaweedFS: S3 and Iceberg REST) for the session; fails the test, never skips,
    when it cannot start. A `seaweedfs.SeaweedFS` (helpers in tests/seaweedfs.py)."""
    from seaweedfs import seaweedfs

    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_session_db() -> Iterator[str]:
    """One PostgreSQL database for the session (CREATE DATABASE takes seconds on a busy machine)."""
    import sqlalchemy as sa

    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    name = f"clicklake_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_schema_uri(postgres_session_db: str) -> Iterator[str]:
    """A URI whose tables land in a fresh schema of the session's database: as empty as `postgres_uri`, faster."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{postgres_session_db}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
