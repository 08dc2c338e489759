"""`clicklake erase` and `export-user` against a real `clicklake up` that keeps receiving events.

One person (identified by an e-mail address through the SDK's hashing, and an anonymous id
before that) sends page views, a purchase, an affiliate click and an invalid event; others
send events before and during the erasure. Afterwards no byte of the person's ids is left
in any file under the data directory, every event acknowledged meanwhile is in bronze, and
gold's figures are those without the person.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from clicklake import cli
from clicklake.config import Settings
from clicklake.destinations import Store
from clicklake.lake.catalog import open_catalog
from clicklake.lake.erase import email_hash
from clicklake.query.engine import query
from clicklake.schema.envelope import encode_payload
from conftest import run_clicklake, serving
from samples import records

EMAIL = "  Jane.Doe+Erase@Example.COM "
ANON = "anon-" + uuid.uuid4().hex
ORDER = "order-" + uuid.uuid4().hex[:12]
REVENUE = 12_345
#: a browser's user agent: sessions of a bot (httpx's own agent) are left out of gold.kpi_daily
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _event(event_type: str, ts: datetime, user: dict[str, Any], session: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "event_id": str(uuid.uuid4()),
        "ts": ts.isoformat().replace("+00:00", "Z"),
        "user": {"consent": {"analytics": True}, **user},
        "session": {"session_id": session},
        "ctx": {"page_url": "https://shop.example/p/" + event_type},
        **fields,
    }


def _person_events(now: datetime, user_hash: str) -> list[dict[str, Any]]:
    before = {"anonymous_id": ANON}
    after = {"anonymous_id": ANON, "user_id_hash": user_hash}
    s1, s2 = "s-" + uuid.uuid4().hex, "s-" + uuid.uuid4().hex
    return [
        _event("page_view", now - timedelta(minutes=50), before, s1),
        _event("page_view", now - timedelta(minutes=49), before, s1),
        _event("page_view", now - timedelta(minutes=20), after, s2),
        _event(
            "affiliate_click",
            now - timedelta(minutes=19),
            after,
            s2,
            affiliate={"link_id": "l1", "target": "https://partner.example/", "payout_cents": 77},
        ),
        _event(
            "purchase",
            now - timedelta(minutes=18),
            after,
            s2,
            order={"order_id": ORDER, "revenue_minor": REVENUE, "currency": "EUR"},
        ),
    ]


def _others(now: datetime, n: int, tag: str) -> list[dict[str, Any]]:
    return [
        _event(
            "page_view" if i % 5 else "purchase",
            now - timedelta(minutes=30 - i % 20),
            {"user_id_hash": f"other-{tag}-{i % 7}"},
            f"s-{tag}-{i % 7}",
            **({} if i % 5 else {"order": {"order_id": f"o-{tag}-{i}", "revenue_minor": 100, "currency": "EUR"}}),
        )
        for i in range(n)
    ]


def _send(base: str, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    headers = {"X-Write-Key": key, "User-Agent": BROWSER}
    r = httpx.post(f"{base}/v1/events", json=events, headers=headers, timeout=10, trust_env=False)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _cli(root: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    try:
        done = run_clicklake(root, *args, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"clicklake {args} timed out: {exc.stderr!r}") from None
    assert done.returncode == 0, done.stderr
    return done


def _here(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`clicklake *args` run in this process (no interpreter start-up); its standard output."""
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _query(root: Path, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = query(open_catalog(root / "data"), sql).to_pylist()
    return rows


def _wait_rows(root: Path, sql: str, want: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        n = _query(root, sql)[0]["n"]
        if n >= want or time.monotonic() > deadline:
            assert n == want, f"{sql}: {n} rows, wanted {want}"
            return
        time.sleep(0.2)


def _scan(data: Path, needles: list[bytes]) -> list[str]:
    """Every file under `data` holding one of `needles`, as `path: needle`."""
    found = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        content = path.read_bytes()
        found += [f"{path.relative_to(data)}: {n.decode()}" for n in needles if n in content]
    return found


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str, str]]:
    """A `clicklake up` (loader every 0.2 s, no scheduled transform) with a site: (root, base URL, site, key)."""
    root = tmp_path_factory.mktemp("erase")
    env = {"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2", "CLICKLAKE_TRANSFORM__INTERVAL_S": "0"}
    site = json.loads(
        run_clicklake(root, "sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout
    )
    with serving(root, env=env) as base:
        yield root, base, site["site_id"], site["write_key"]


def test_email_hash_is_the_sdks(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed: run 'make test' (it installs nodejs with apt-get)"
    sdk = Path(__file__).resolve().parents[2] / "src/clicklake/sdk/src/client.js"
    env_mjs = Path(__file__).resolve().parents[1] / "sdk/env.mjs"
    addresses = [EMAIL, "a@b.c", "\ufeff\u00a0ÄÖÜ@Straße.de\u2003", "\u0130stanbul@ΟΔΟΣ.gr", "\x1cx@y.z\t\n"]
    script = tmp_path / "hash.mjs"
    script.write_text(
        f"import {{ createClient }} from {json.dumps(str(sdk))};\n"
        f"import {{ browser }} from {json.dumps(str(env_mjs))};\n"
        "browser();\n"
        'const c = createClient({ key: "wk_x", host: "https://c.example" });\n'
        "const out = [];\n"
        f"for (const a of {json.dumps(addresses)}) out.push(await c.identifyEmail(a));\n"
        "process.stdout.write(JSON.stringify(out));\nprocess.exit(0);\n"
    )
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [email_hash(a) for a in addresses]


def test_erase_while_ingesting(
    lake: tuple[Path, str, str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, base, site, key = lake
    monkeypatch.setenv("CLICKLAKE_DATA", str(root / "data"))
    monkeypatch.chdir(root)
    data = root / "data"
    now = datetime.now(UTC)
    user_hash = email_hash(EMAIL)
    person = _person_events(now, user_hash)
    assert _send(base, key, person)["accepted"] == len(person)
    # an invalid event of theirs goes to quarantine with its bytes
    bad = {**person[0], "event_id": str(uuid.uuid4()), "event_type": "page_view", "chart": 5}
    bad["user"] = {"consent": {"analytics": True}, "user_id_hash": user_hash, "anonymous_id": ANON}
    assert len(_send(base, key, [bad])["rejected"]) == 1
    others = _others(now, 60, "before")
    assert _send(base, key, others)["accepted"] == 60
    _wait_rows(root, "select count(*) as n from bronze.events", 65)
    _wait_rows(root, "select count(*) as n from bronze.quarantine", 1)
    _here(capsys, "transform", "--once")

    exported = root / "export.json"
    _here(capsys, "export-user", "--site", site, "--email", EMAIL, "--out", str(exported))
    document = json.loads(exported.read_text())
    assert document["user_id_hash"] == user_hash
    assert document["anonymous_ids"] == [ANON]
    assert document["rows"]["bronze.events"] == 5
    assert document["rows"]["silver.events"] == 5
    assert document["rows"]["bronze.quarantine"] == 1
    assert document["rows"]["gold.fact_orders"] == 1
    assert document["rows"]["gold.fact_affiliate_clicks"] == 1
    assert {r["event_id"] for r in document["tables"]["silver.events"]} == {e["event_id"] for e in person}
    assert document["tables"]["gold.fact_orders"][0]["revenue_minor"] == REVENUE
    assert user_hash in document["tables"]["bronze.quarantine"][0]["raw_text"]
    exported.unlink()

    # a destination that was down kept dead letters: the person's events from before and after they logged
    # in (only the anonymous id, then both), and another visitor's
    store = Store.open(Settings(data=str(data)))
    store.add("down", "webhook", "http://127.0.0.1:9/", site_id="no-such-site")  # forwards nothing meanwhile
    letter_records = records(3, site_id=site, prefix="dl-")
    for record, ids in zip(letter_records, ((None, ANON), (user_hash, ANON), ("other-x", None)), strict=True):
        record.user.user_id_hash, record.user.anonymous_id = ids
        record.user.visitor_id = ids[0] or ids[1]
    letter = store.dead_letter("down", [encode_payload(r) for r in letter_records], 5, "HTTP 503")

    kpi = (
        "select sum(revenue_minor) as revenue, sum(conversions) as conversions "
        "from gold.kpi_daily where dimension = 'all'"
    )
    before = _query(root, kpi)[0]
    assert _scan(data, [user_hash.encode(), ANON.encode()])  # the scan finds them before

    # others keep sending while the erasure runs; every acknowledged event must be kept
    acked = 0
    stop = threading.Event()

    def keep_sending() -> None:
        nonlocal acked
        i = 0
        while not stop.is_set():
            batch = [
                _event("page_view", datetime.now(UTC), {"user_id_hash": f"during-{i}"}, f"s-during-{i}")
                for _ in range(5)
            ]
            acked += _send(base, key, batch)["accepted"]
            i += 1
            time.sleep(0.25)

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        done = _cli(root, "erase", "--site", site, "--email", EMAIL, "--format", "json")
    finally:
        stop.set()
        sender.join()
    receipt = json.loads(done.stdout)
    print("erase receipt:", receipt, done.stderr)
    assert receipt["rows"]["bronze.events"] == 5
    assert receipt["rows"]["bronze.quarantine"] == 1
    assert receipt["rows"]["silver.events"] == 5
    assert receipt["rows"]["gold.fact_orders"] == 1
    assert receipt["rows"]["stream"] >= 6
    assert receipt["rows"]["destinations.dead_letters"] == 2
    [kept] = store.letter_payloads(letter)
    assert json.loads(kept)["user"]["user_id_hash"] == "other-x"
    store.close()
    assert receipt["files_deleted"] > 0
    assert acked > 0
    _wait_rows(root, "select count(*) as n from bronze.events where \"user\".user_id_hash like 'during-%'", acked)
    assert (
        _query(root, "select count(*) as n from bronze.events where \"user\".user_id_hash like 'other-%'")[0]["n"] == 60
    )

    # gold's aggregates were rebuilt without the person
    after = _query(root, kpi)[0]
    assert after["revenue"] == before["revenue"] - REVENUE
    assert after["conversions"] == before["conversions"] - 1
    assert _query(root, f"select count(*) as n from gold.fact_orders where order_id = '{ORDER}'")[0]["n"] == 0

    listed = json.loads(_here(capsys, "erase", "--list", "--format", "json"))
    assert [r["erasure_id"] for r in listed] == [receipt["erasure_id"]]

    empty = json.loads(_here(capsys, "export-user", "--site", site, "--user", user_hash))
    assert empty["tables"] == {} and empty["anonymous_ids"] == []

    needles = [user_hash.encode(), ANON.encode(), user_hash.split(":", 1)[1].encode(), ORDER.encode()]
    assert _scan(data, needles) == []


def test_erasure_export_retention_and_usage_api(
    lake: tuple[Path, str, str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, base, site, key = lake
    monkeypatch.setenv("CLICKLAKE_DATA", str(root / "data"))
    monkeypatch.chdir(root)
    admin = json.loads(_here(capsys, "users", "create", "ops@example.com", "--admin", "--format", "json"))
    assert admin
    token = json.loads(
        _here(capsys, "tokens", "create", "--user", "ops@example.com", "--scope", "admin", "--format", "json")
    )["token"]
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=120, trust_env=False) as api:
        _api_checks(api, capsys, root, base, site, key)
    stranger = httpx.get(f"{base}/api/sites/{site}/erasures", timeout=10, trust_env=False)
    assert stranger.status_code == 401


def _api_checks(
    api: httpx.Client, capsys: pytest.CaptureFixture[str], root: Path, base: str, site: str, key: str
) -> None:
    now = datetime.now(UTC)
    other_hash = "other-" + uuid.uuid4().hex
    mine = [_event("page_view", now - timedelta(minutes=5), {"user_id_hash": other_hash}, "s-api") for _ in range(3)]
    _send(base, key, mine)
    _wait_rows(root, f"select count(*) as n from bronze.events where \"user\".user_id_hash = '{other_hash}'", 3)

    exported = api.get(f"/api/sites/{site}/users/{other_hash}/export")
    assert exported.status_code == 200, exported.text
    assert exported.json()["rows"] == {"bronze.events": 3}

    usage = api.get(f"/api/sites/{site}/usage")
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["site_id"] == site and body["bytes"] > 0 and body["files"] > 0
    assert (
        sum(d["events"] for d in body["events_per_day"])
        == _query(root, "select count(*) as n from bronze.events")[0]["n"]
    )
    cli_usage = json.loads(_here(capsys, "usage", "--site", site, "--format", "json"))
    assert cli_usage[0]["rows"] == body["rows"]

    retention = api.patch(f"/api/sites/{site}/retention", json={"bronze_days": 400, "silver_days": 0})
    assert retention.status_code == 200, retention.text
    assert retention.json()["bronze_days"] == 400
    assert api.get(f"/api/sites/{site}/retention").json()["own"] == ["bronze", "silver"]
    assert api.patch(f"/api/sites/{site}/retention", json={"bronze_days": -1}).status_code == 400

    erased = api.post(f"/api/sites/{site}/erasures", json={"user_id_hash": other_hash})
    assert erased.status_code == 201, erased.text
    print("API erasure receipt:", erased.json())
    assert erased.json()["rows"]["bronze.events"] == 3
    listed = api.get(f"/api/sites/{site}/erasures").json()["erasures"]
    assert listed[0]["erasure_id"] == erased.json()["erasure_id"]
    assert other_hash not in json.dumps(listed)
    assert (
        _query(root, f"select count(*) as n from bronze.events where \"user\".user_id_hash = '{other_hash}'")[0]["n"]
        == 0
    )
