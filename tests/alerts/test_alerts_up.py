"""Alerts of `clicklake up`, driven by real conditions: a site that stops sending, rejected events, a full disk
threshold; notices reach a local webhook, a Slack-compatible receiver and a local SMTP server, once per change."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from alerts.receivers import http_receiver, smtp_receiver
from samples import wait_rows


def _event(ok: bool = True) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_type": "page_view",
        "event_id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(),
        "user": {"consent": {"analytics": True}, "anonymous_id": "v1"},
        "ctx": {"page_url": "https://shop.example/"},
    }
    if not ok:
        event["no_such_field"] = 1
    return event


def _states(items: list[Any], rule_id: str) -> list[str]:
    return [i["json"]["state"] for i in items if i["json"].get("rule_id") == rule_id]


def test_notices_fire_and_recover_once_per_change(
    tmp_path: Path,
    clicklake: Callable[..., Any],
    clicklake_up: Callable[..., tuple[Any, str]],
) -> None:
    with http_receiver() as (hook, hooks), smtp_receiver() as (smtp_port, mails):
        site = json.loads(clicklake("sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout)
        sid = site["site_id"]

        def create(*args: str) -> str:
            out = clicklake("alerts", "create", *args, "--format", "json")
            assert out.returncode == 0, out.stderr
            rule_id: str = json.loads(out.stdout)["rule_id"]
            return rule_id

        quiet = create(
            "--kind",
            "no_events",
            "--site",
            sid,
            "--minutes",
            "0.05",
            "--channel",
            "webhook",
            "--target",
            hook + "/hook",
        )
        rejected = create(
            "--kind",
            "rejected_rate",
            "--threshold",
            "20",
            "--minutes",
            "1",
            "--channel",
            "slack",
            "--target",
            hook + "/slack",
        )
        # the same rule for one site, and for a site that sends only good events
        other = json.loads(
            clicklake("sites", "create", "Other", "--domain", "other.example", "--format", "json").stdout
        )
        per_site = {
            name: create(
                "--kind",
                "rejected_rate",
                "--site",
                site_id,
                "--threshold",
                "20",
                "--minutes",
                "1",
                "--channel",
                "webhook",
                "--target",
                hook + "/" + name,
            )
            for name, site_id in (("shop", sid), ("other", other["site_id"]))
        }
        disk = create("--kind", "disk_free", "--threshold", "100", "--channel", "email", "--target", "ops@example.org")
        env = {
            "CLICKLAKE_ALERTS__INTERVAL_S": "0.5",
            "CLICKLAKE_ALERTS__SMTP_HOST": "127.0.0.1",
            "CLICKLAKE_ALERTS__SMTP_PORT": str(smtp_port),
        }
        _, base = clicklake_up(env=env)

        # the site has sent nothing: the rule fires once
        hooks.wait(lambda items: _states(items, quiet) == ["firing"])
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
            r = client.post("/v1/events", json=[_event()], headers={"X-Write-Key": other["write_key"]})
            assert r.status_code == 200 and r.json()["accepted"] == 1
            r = client.post("/v1/events", json=[_event()], headers={"X-Write-Key": site["write_key"]})
            assert r.status_code == 200
            hooks.wait(lambda items: _states(items, quiet) == ["firing", "resolved"])
            # it stops sending: after 3 s without events, the rule fires again
            hooks.wait(lambda items: _states(items, quiet) == ["firing", "resolved", "firing"])
            # 4 rejected events (a refused event is no sign of life: the site stays quiet)
            r = client.post(
                "/v1/events",
                json=[_event(False) for _ in range(4)],
                headers={"X-Write-Key": site["write_key"]},
            )
            assert r.status_code == 200 and len(r.json()["rejected"]) == 4
        slack = hooks.wait(lambda items: any(i["path"] == "/slack" for i in items))
        text = next(i["json"]["text"] for i in slack if i["path"] == "/slack")
        assert "FIRING: rejected_rate" in text and "66.7 % rejected of 6 events" in text  # and the two accepted
        shop = hooks.wait(lambda items: any(i["path"] == "/shop" for i in items))
        notice = next(i["json"] for i in shop if i["path"] == "/shop")
        assert notice["state"] == "firing" and "80.0 % rejected of 5 events" in json.dumps(notice)  # its own events

        mail = mails.wait(lambda items: len(items) >= 1)
        assert mail[0]["to"] == ["ops@example.org"] and "FIRING: disk_free" in mail[0]["subject"]
        time.sleep(2)  # four more evaluations: no notice repeats
        assert _states(hooks.snapshot(), quiet) == ["firing", "resolved", "firing"]
        assert len([i for i in hooks.snapshot() if i["path"] == "/slack"]) == 1
        assert len(mails.snapshot()) == 1

        listed = json.loads(clicklake("alerts", "list", "--format", "json").stdout)
        firing = {r["rule_id"]: r["firing"] for r in listed}
        assert firing[quiet] == [sid] and firing[disk] == ["(platform)"] and firing[rejected] == ["(platform)"]
        assert firing[per_site["shop"]] == [sid] and firing[per_site["other"]] == []
        assert not any(i["path"] == "/other" for i in hooks.snapshot())

        out = clicklake("alerts", "test", disk, env=env)
        assert out.returncode == 0, out.stderr
        mails.wait(lambda items: len(items) == 2 and "TEST: disk_free" in items[1]["subject"])
        assert clicklake("alerts", "delete", quiet).returncode == 0
        assert quiet not in clicklake("alerts", "list").stdout


def test_a_bad_rule_is_refused_with_a_reason(clicklake: Callable[..., Any]) -> None:
    out = clicklake("alerts", "create", "--kind", "no_events", "--channel", "email", "--target", "not-an-address")
    assert out.returncode == 2 and "needs an address" in out.stderr
    out = clicklake(
        "alerts", "create", "--kind", "no_events", "--site", "nope", "--channel", "webhook", "--target", "http://x"
    )
    assert out.returncode == 2 and "no site 'nope'" in out.stderr


def _purchase(order: str, currency: str) -> dict[str, Any]:
    return {
        "event_type": "purchase",
        "event_id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(),
        "user": {"consent": {"analytics": True}, "anonymous_id": "buyer"},
        "order": {"order_id": order, "revenue_minor": 1000, "currency": currency},
    }


def test_a_failed_data_quality_check_fires_once(
    clicklake: Callable[..., Any], clicklake_up: Callable[..., tuple[Any, str]]
) -> None:
    with http_receiver() as (hook, hooks):
        site = json.loads(clicklake("sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout)
        out = clicklake("alerts", "create", "--kind", "check_failed", "--channel", "webhook", "--target", hook)
        assert out.returncode == 0, out.stderr
        env = {
            "CLICKLAKE_ALERTS__INTERVAL_S": "0.5",
            "CLICKLAKE_TRANSFORM__INTERVAL_S": "1",
            "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2",
        }
        _, base = clicklake_up(env=env)
        headers = {"X-Write-Key": site["write_key"]}
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
            # one order in USD and one in EUR on the same day: the check one_currency_per_site_day fails
            r = client.post("/v1/events", json=[_purchase("o1", "USD"), _purchase("o2", "EUR")], headers=headers)
            assert r.status_code == 200 and r.json()["accepted"] == 2
        got = hooks.wait(lambda items: len(items) >= 1, timeout=60)
        assert got[0]["json"]["state"] == "firing" and "one_currency_per_site_day" in got[0]["json"]["summary"]
        time.sleep(3)  # more transform runs and evaluations, the check still failing: no second notice
        assert len(hooks.snapshot()) == 1


def test_a_full_stream_answers_503_and_the_5xx_rule_fires(
    clicklake: Callable[..., Any], clicklake_up: Callable[..., tuple[Any, str]]
) -> None:
    with http_receiver() as (hook, hooks):
        site = json.loads(clicklake("sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout)
        out = clicklake(
            "alerts", "create", "--kind", "http_5xx_rate", "--threshold", "5", "--channel", "webhook", "--target", hook
        )
        assert out.returncode == 0, out.stderr
        env = {
            "CLICKLAKE_ALERTS__INTERVAL_S": "0.5",
            "CLICKLAKE_STREAM__MAX_LAG_RECORDS": "1000",
            "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "900",  # the loader holds everything: the stream fills up
            "CLICKLAKE_TRANSFORM__INTERVAL_S": "0",
        }
        _, base = clicklake_up(env=env)
        headers = {"X-Write-Key": site["write_key"]}
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
            r = client.post("/v1/events", json=[_event() for _ in range(1000)], headers=headers)
            assert r.status_code == 200, r.text
            statuses = [client.post("/v1/events", json=[_event()], headers=headers).status_code for _ in range(4)]
        assert statuses == [503] * 4
        # (the 503s may all come before the first evaluation: they still count)
        [notice] = hooks.wait(lambda items: len(items) >= 1)
        assert notice["json"]["kind"] == "http_5xx_rate" and notice["json"]["state"] == "firing"
        assert "5xx" in notice["json"]["summary"]


def test_a_loader_that_cannot_write_fires_loader_errors_and_recovers(
    tmp_path: Path, clicklake: Callable[..., Any], clicklake_up: Callable[..., tuple[Any, str]]
) -> None:
    with http_receiver() as (hook, hooks):
        site = json.loads(clicklake("sites", "create", "Shop", "--domain", "shop.example", "--format", "json").stdout)
        out = clicklake(
            "alerts", "create", "--kind", "loader_errors", "--threshold", "1", "--minutes", "0.1",
            "--channel", "webhook", "--target", hook,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        env = {
            "CLICKLAKE_ALERTS__INTERVAL_S": "0.5",
            "CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2",
            "CLICKLAKE_TRANSFORM__INTERVAL_S": "0",
        }
        _, base = clicklake_up(env=env)
        warehouse = tmp_path / "data" / "warehouse"
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
            # the warehouse becomes a file: no Parquet file can be written under it (even by root)
            warehouse.rename(warehouse.with_name("warehouse.moved"))
            warehouse.write_text("not a directory")
            r = client.post("/v1/events", json=[_event()], headers={"X-Write-Key": site["write_key"]})
            assert r.status_code == 200  # the event is safe in the stream
            hooks.wait(lambda items: [i["json"]["state"] for i in items] == ["firing"])
            warehouse.unlink()
            warehouse.with_name("warehouse.moved").rename(warehouse)
            # the loader's next attempt commits, and 6 s later no failure is left in the window
            hooks.wait(lambda items: [i["json"]["state"] for i in items] == ["firing", "resolved"], timeout=40)
        assert len(wait_rows(tmp_path / "data", "select event_id from bronze.events", 1)) == 1  # nothing lost
