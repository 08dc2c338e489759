"""`clicklake demo` and `clicklake up --demo` against a real server: what lands in the lake, and the figures."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from clicklake.demo import world
from clicklake.schema import EVENT_TYPES
from conftest import clean_env, clicklake_exe, free_port, run_clicklake, start_server, stop_server
from samples import wait_rows

FAST_LOADER = {"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2"}
ROW_SQL = """
    select event_type, user.geo_country as country, device.device_type as device, ctx.ab_variant as variant,
           session.utm.campaign as campaign, traffic.referrer_class as referrer_class,
           affiliate.link_id as link_id, affiliate.payout_cents as payout, qr.placement as placement,
           "order".revenue_minor as revenue
    from bronze.events where site_id = '{site}'
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("demo")
    proc, base = start_server(root, env=FAST_LOADER)
    try:
        yield base, root
    finally:
        code, _, err = stop_server(proc)
        assert code == 0, err


def lake_figures(data: Path, site: str, summary: dict) -> list[dict]:
    """The rows of `site` in bronze.events, after checking that every figure of `summary` is in the lake."""
    rows = wait_rows(data, ROW_SQL.format(site=site), summary["accepted"])
    assert len(rows) == summary["accepted"]
    quarantined = wait_rows(data, f"select reason from bronze.quarantine where site_id = '{site}'", summary["rejected"])
    assert len(quarantined) == summary["rejected"]
    assert Counter(r["reason"] for r in quarantined) == Counter(summary["rejections"])
    with Metadata.open(Settings(data=str(data))) as metadata:
        assert metadata.consent_denied(site) == summary["consent_denied"]
    return rows


def test_demo_lands_every_event_type_from_many_countries_and_devices(running: tuple[str, Path]) -> None:
    base, root = running
    result = run_clicklake(
        root, "demo", "--url", base, "--events", "500", "--rate", "0", "--seed", "12", "--format", "json", timeout=120
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sent"] == 500 == sum(summary["by_type"].values())
    assert summary["failed"] == 0 and summary["error"] is None
    assert summary["accepted"] + summary["consent_denied"] + summary["rejected"] == 500
    # invalid and consent-denied events are there, and a small share
    assert 0 < summary["rejected"] < 25 and 0 < summary["consent_denied"] < 50

    rows = lake_figures(root / "data", summary["site_id"], summary)
    assert {r["event_type"] for r in rows} == set(EVENT_TYPES)
    countries = Counter(r["country"] for r in rows)
    assert len(countries) >= 8 and countries.most_common(1)[0][0] == "US"
    assert {"desktop", "mobile", "tablet", "bot"} <= {r["device"] for r in rows}
    assert {"A", "B"} <= {r["variant"] for r in rows}
    assert {"black_friday", "weekly_digest_47"} <= {r["campaign"] for r in rows}
    assert {"search", "social", "direct", "internal", "campaign", "email"} <= {r["referrer_class"] for r in rows}
    payouts = {p.payout_cents for p in world.PRODUCTS.values()}
    clicks = [r for r in rows if r["event_type"] == "affiliate_click"]
    assert clicks and all(r["payout"] in payouts and r["link_id"] for r in clicks)
    scans = [r for r in rows if r["event_type"] == "qr_scan"]
    assert scans and all(re.fullmatch(r"table-\d+", r["placement"]) for r in scans)
    assert all(r["revenue"] > 0 for r in rows if r["event_type"] == "purchase")


def test_demo_stops_on_ctrl_c_with_figures_that_add_up(running: tuple[str, Path]) -> None:
    base, root = running
    with Metadata.open(Settings(data=str(root / "data"))) as metadata:
        site = metadata.create_site("Staging shop", "staging.example")
    args = ["demo", "--url", base, "--site", site.site_id, "--events", "0", "--rate", "100", "--format", "json"]
    proc = subprocess.Popen(
        [clicklake_exe(), *args],
        cwd=root,
        env=clean_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_rows(root / "data", f"select 1 from bronze.events where site_id = '{site.site_id}'", 50, timeout=30)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["site_id"] == site.site_id and summary["sent"] > 50 and summary["failed"] == 0
    assert summary["accepted"] + summary["consent_denied"] + summary["rejected"] == summary["sent"]
    rows = lake_figures(root / "data", site.site_id, summary)
    assert {r["event_type"] for r in rows} >= {"page_view", "qr_scan"}
    with Metadata.open(Settings(data=str(root / "data"))) as metadata:  # the site got the demo's links
        assert {metadata.link(r["link_id"]).site_id for r in rows if r["link_id"]} <= {site.site_id}


def test_demo_says_when_no_collector_answers(tmp_path: Path) -> None:
    result = run_clicklake(tmp_path, "demo", "--url", f"http://127.0.0.1:{free_port()}", "--events", "10")
    assert result.returncode == 2
    assert "does not answer" in result.stderr and "clicklake up" in result.stderr
    assert "Traceback" not in result.stderr


SUMMARY_LINE = re.compile(
    r"sent (?P<sent>\d+) events .*: (?P<accepted>\d+) accepted \(bronze.events\), "
    r"(?P<denied>\d+) consent-denied \(counted, not stored\), (?P<rejected>\d+) rejected"
)


def test_up_with_demo_shows_data_without_another_step_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc, _ = start_server(tmp_path, "--demo", env=FAST_LOADER)
    try:
        rows = wait_rows(data, "select site_id, user.geo_country as country from bronze.events", 200, timeout=60)
        assert len(rows) >= 200
        assert len({r["country"] for r in rows}) >= 5
    finally:
        code, out, err = stop_server(proc)  # SIGTERM in the middle of the burst
    assert code == 0, err
    assert "Traceback" not in err and " ERROR " not in err
    assert "Demo traffic:" in out and "query 'select event_type" in out
    with Metadata.open(Settings(data=str(data))) as metadata:
        [site] = [s for s in metadata.sites() if s.name == "demo"]
    found = SUMMARY_LINE.search(err)
    assert found, err
    sent, accepted, denied, rejected = (int(found[k]) for k in ("sent", "accepted", "denied", "rejected"))
    assert sent == accepted + denied + rejected  # nothing failed, even though it was stopped mid-way
    assert len(wait_rows(data, f"select 1 from bronze.events where site_id = '{site.site_id}'", accepted)) == accepted
    assert len(wait_rows(data, "select 1 from bronze.quarantine", rejected)) == rejected
