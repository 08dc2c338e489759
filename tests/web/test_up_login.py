"""`clicklake up` serves the web stage on its port and creates a first admin on a new data dir, printing it once."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx

from conftest import stop_server


def test_up_prints_a_first_login_once_and_it_works(tmp_path: Path, clicklake_up: Callable[..., object]) -> None:
    proc, base = clicklake_up()  # type: ignore[misc]
    code, out, err = stop_server(proc)
    assert code == 0, err
    found = re.search(r"First login: (\S+) / (\S+)", out)
    assert found is not None, out
    email, password = found.groups()
    proc, base = clicklake_up()  # type: ignore[misc]
    try:
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as client:
            r = client.post("/login", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
            me = client.get("/api/me").json()
            assert me["email"] == email and me["is_admin"]
            assert client.post("/login", json={"email": email, "password": password + "x"}).status_code == 401
    finally:
        code, out, err = stop_server(proc)
    assert code == 0, err
    assert "First login" not in out  # the second start of the same data dir prints none
