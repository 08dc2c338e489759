"""The web tests' world: a lake of three sites, users made with the CLI, and `clicklake web` on loopback."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import httpx
import pytest

from clicklake.collect.metadata import Metadata
from clicklake.schema.record import Record
from conftest import kill_server, run_clicklake, start_server
from transform.lakes import Lake, event


class World:
    def __init__(self, root: Path, base: str, sites: dict[str, str], passwords: dict[str, str]) -> None:
        self.root = root
        self.base = base
        self.sites = sites
        self.passwords = passwords
        self.clients: list[httpx.Client] = []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_clicklake(self.root, *args)

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base, trust_env=False, timeout=30)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close()

    def login(self, email: str) -> tuple[httpx.Client, str]:
        client = self.client()
        r = client.post("/login", json={"email": email, "password": self.passwords[email]})
        assert r.status_code == 200, r.text
        return client, r.json()["csrf_token"]

    def token(self, *args: str) -> str:
        out = self.cli("tokens", "create", *args, "--format", "json")
        assert out.returncode == 0, out.stderr
        secret: str = json.loads(out.stdout)["token"]
        return secret


def serve_world(
    tmp_path_factory: pytest.TempPathFactory,
    extra: Callable[[dict[str, str]], Iterable[Record]] | None = None,
    command: str = "web",
) -> Iterator[World]:
    """The world; `extra(sites)` adds events (given the site ids by name) to the lake; `command="up"` serves
    every stage (the collector's /v1/events and the realtime stage's /api/live too)."""
    root = tmp_path_factory.mktemp("web")
    data = root / "data"
    data.mkdir()
    with Metadata(f"sqlite:///{data / 'metadata.sqlite3'}") as md:
        sites = {name: md.create_site(name, f"{name}.example").site_id for name in ("a", "b", "c")}
    lake = Lake(data)
    lake.add(
        *(
            event("page_view", f"2026-11-2{i}T10:00:00Z", site=sid, visitor=f"{name}{i}", page=f"https://x/{name}")
            for name, sid in sites.items()
            for i in range(3)
        ),
        *(extra(sites) if extra else ()),
    )
    lake.run()
    passwords = {}
    for email, admin in (("root@example.org", True), ("viewer@example.org", False), ("nobody@example.org", False)):
        out = run_clicklake(root, "users", "create", email, *(["--admin"] if admin else []), "--format", "json")
        assert out.returncode == 0, out.stderr
        passwords[email] = json.loads(out.stdout)["password"]
    viewer = ("--user", "viewer@example.org", "--role", "viewer")
    out = run_clicklake(root, "members", "add", "--site", sites["a"], *viewer)
    assert out.returncode == 0, out.stderr
    env = {"CLICKLAKE_COLLECT__TRUSTED_PROXIES": "127.0.0.1", "CLICKLAKE_QUERY__TIMEOUT_S": "2"}
    proc, base = start_server(root, command=command, env=env)
    try:
        yield World(root, base, sites, passwords)
    finally:
        kill_server(proc)
