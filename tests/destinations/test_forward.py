"""Destinations end to end: events posted to a real `clicklake up`, forwarded from its stream to real
HTTP receivers on loopback by the forwarder, with its retries, dead letters and replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest

from clicklake.cli import main
from clicklake.config import DestinationSettings, Settings
from clicklake.destinations import Forwarder, Store
from clicklake.stream import stream_from_settings

FAST = DestinationSettings(batch_size=10, max_attempts=3, backoff_s=0.05, max_backoff_s=0.2, timeout_s=2, poll_s=0.05)


#: How long a hanging answer waits for the test's release: longer than the sending phase takes on a busy
#: machine, so that the first request is still in flight when the test checks that nothing else was tried.
HANG_S = 180


class Receiver:
    """An HTTP server on loopback that keeps every POST and answers as told: a status, or "hang"."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.plan: list[int | str] = []
        self.default: int | str = 200
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.posts.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    answer = receiver.plan.pop(0) if receiver.plan else receiver.default
                if answer == "hang":  # until the test releases it (bounded, so that a failed test ends)
                    receiver.release.wait(HANG_S)
                    answer = 503
                self.send_response(int(answer))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for p in self.posts if p["body"] for e in json.loads(p["body"]).get("events", [])]

    def wait(self, test: Callable[[Receiver], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not test(self):
            assert time.monotonic() < deadline, f"timed out; {len(self.posts)} posts"
            time.sleep(0.05)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Forwarding:
    """A forwarder thread for one destination over the collector's data directory."""

    def __init__(self, data: Path, settings: DestinationSettings = FAST) -> None:
        self.settings = Settings(data=str(data), destinations=settings)
        self.stream = stream_from_settings(self.settings)
        self.store = Store.open(self.settings)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, name: str, kind: str, url: str, **kw: Any) -> Forwarder:
        destination = self.store.add(name, kind, url, **kw)
        forwarder = Forwarder(self.stream, self.store, destination, self.settings.destinations, self.stop)
        thread = threading.Thread(target=forwarder.run, daemon=True)
        thread.start()
        self.threads.append(thread)
        return forwarder

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)
        self.store.close()
        self.stream.close()


@pytest.fixture
def forwarding(server: tuple[str, str, str, Path]) -> Iterator[Callable[..., Forwarding]]:
    made: list[Forwarding] = []

    def make(settings: DestinationSettings = FAST) -> Forwarding:
        made.append(Forwarding(server[3], settings))
        return made[-1]

    yield make
    for f in made:
        f.close()


@pytest.fixture
def cli(
    server: tuple[str, str, str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., str]:
    """Run a `clicklake` command in this process (on the collector's data directory); its stdout."""
    monkeypatch.setenv("CLICKLAKE_DATA", str(server[3]))
    monkeypatch.chdir(server[3].parent)

    def run(*args: str) -> str:
        capsys.readouterr()
        assert main(list(args)) == 0
        return capsys.readouterr().out

    return run


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def page_view(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "page_view",
        "ts": now_iso(),
        "user": {"consent": {"analytics": True}},
        "ctx": {"page_url": f"https://shop.example/p/{n}", "title": f"Page {n}"},
        **extra,
    }


def post(base: str, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = httpx.post(f"{base}/v1/events", json=events, headers={"X-Write-Key": key}, trust_env=False)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_webhook_gets_the_accepted_events_in_batches_after_privacy(
    server: tuple[str, str, str, Path], receiver: Receiver, forwarding: Callable[..., Forwarding]
) -> None:
    base, key, site, data = server
    f = forwarding()
    forwarder = f.start("hook", "webhook", receiver.url + "/in", site_id=site, options={"secret": "k"})
    events = [page_view(n) for n in range(24)]
    events.append(page_view(99, ctx={"page_url": "https://shop.example/?email=jane@example.com"}))
    events.append({**page_view(98), "user": {"consent": {"analytics": False}}})  # dropped at the door
    events.append({"event_type": "page_view"})  # invalid: rejected, to quarantine
    assert post(base, key, events)["accepted"] == 26  # the one without consent is acknowledged, not kept
    # another site's events are not this destination's
    from clicklake.collect.metadata import Metadata

    with Metadata.open(Settings(data=str(data))) as md:
        other = md.create_site("Other", "other.example")
    post(base, other.write_key, [page_view(1)])

    receiver.wait(lambda r: len(r.events()) >= 25)
    time.sleep(0.3)
    got = receiver.events()
    assert len(got) == 25 and forwarder.delivered == 25
    assert {e["site_id"] for e in got} == {site}
    assert {e["kind"] for e in got} == {"event/1"} and len({e["event_id"] for e in got}) == 25
    assert b"jane@example.com" not in b"".join(p["body"] for p in receiver.posts)
    assert all(e["privacy"]["source_ip_anonymized"] in (None, "127.0.0.0") for e in got)
    assert all(len(json.loads(p["body"])["events"]) <= 10 for p in receiver.posts)
    first = receiver.posts[0]
    signature = "sha256=" + hmac.new(b"k", first["body"], hashlib.sha256).hexdigest()
    assert (first["path"], first["headers"]["x-clicklake-signature"]) == ("/in", signature)
    assert f.store.get("hook").delivered == 25


def test_a_500_is_retried_with_the_same_batch_id(
    server: tuple[str, str, str, Path], receiver: Receiver, forwarding: Callable[..., Forwarding]
) -> None:
    base, key, site, _ = server
    receiver.plan = [500, 502]
    f = forwarding()
    forwarder = f.start("retry", "webhook", receiver.url, site_id=site)
    post(base, key, [page_view(n) for n in range(3)])
    receiver.wait(lambda r: len(r.posts) >= 3)
    time.sleep(0.3)
    assert len(receiver.posts) == 3 and len({p["headers"]["x-clicklake-batch"] for p in receiver.posts}) == 1
    assert len(receiver.events()) == 9  # the same 3 events, sent three times
    assert forwarder.delivered == 3 and forwarder.dead_lettered == 0
    assert f.store.dead_letters("retry") == []


def test_dead_letters_after_max_attempts_and_replay(
    server: tuple[str, str, str, Path],
    receiver: Receiver,
    forwarding: Callable[..., Forwarding],
    cli: Callable[..., str],
) -> None:
    base, key, site, _ = server
    receiver.default = 500
    f = forwarding()
    forwarder = f.start("down", "webhook", receiver.url, site_id=site)
    post(base, key, [page_view(n) for n in range(5)])
    receiver.wait(lambda r: forwarder.dead_lettered == 5)
    assert len(receiver.posts) == 3  # max_attempts
    [letter] = msgspec.json.decode(cli("destinations", "dead-letters", "down", "--format", "json"))
    assert (letter["events"], letter["attempts"], letter["error"]) == (5, 3, "HTTP 500")
    # the forwarder moved on: the next events are tried (and dead-lettered) too
    receiver.default = 400  # refused for good: dead-lettered after one attempt
    post(base, key, [page_view(9)])
    receiver.wait(lambda r: forwarder.dead_lettered == 6)
    assert len(receiver.posts) == 4

    receiver.default = 200
    replayed = msgspec.json.decode(cli("destinations", "replay", "down", "--format", "json"))
    assert replayed == {"letters": 2, "delivered": 6, "failed_letters": 0, "errors": []}
    delivered = receiver.events()[-6:]
    assert sorted(e["ctx"]["page_url"] for e in delivered) == sorted(
        [f"https://shop.example/p/{n}" for n in range(5)] + ["https://shop.example/p/9"]
    )
    assert f.store.dead_letters("down") == []
    [d] = [d for d in msgspec.json.decode(cli("destinations", "list", "--format", "json")) if d["name"] == "down"]
    assert (d["delivered"], d["dead_lettered"], d["dead_letter_events"]) == (6, 6, 0)


def test_ga4_measurement_protocol_payload(
    server: tuple[str, str, str, Path], receiver: Receiver, forwarding: Callable[..., Forwarding]
) -> None:
    base, key, site, _ = server
    f = forwarding()
    options = {"measurement_id": "G-TEST123", "api_secret": "s3cret"}
    f.start("ga", "ga4", receiver.url + "/mp/collect", site_id=site, options=options)
    user = {"consent": {"analytics": True, "ads": False}, "user_id_hash": "u42"}
    order = {
        "order_id": "o-77",
        "revenue_minor": 2498,
        "currency": "USD",
        "tax_minor": 200,
        "items": [{"product_id": "p1", "quantity": 2, "price_minor": 999, "name": "Lamp"}, {"product_id": "p2"}],
    }
    post(
        base,
        key,
        [
            {**page_view(1), "user": user, "session": {"session_id": "s1", "utm": {"source": "news"}}},
            {"event_type": "purchase", "ts": now_iso(), "user": user, "order": order},
            {"event_type": "search", "ts": now_iso(), "user": user, "search": {"query": "lamps"}},
        ],
    )
    # one request per visitor and stream partition read (the events may lie in different partitions)
    receiver.wait(lambda r: sum(len(json.loads(p["body"])["events"]) for p in r.posts) >= 3)
    events = {}
    for request in receiver.posts:
        url = urlsplit(request["path"])
        assert url.path == "/mp/collect"
        assert parse_qs(url.query) == {"measurement_id": ["G-TEST123"], "api_secret": ["s3cret"]}
        body = json.loads(request["body"])
        assert (body["client_id"], body["user_id"]) == ("u42", "u42")
        assert body["consent"] == {"ad_user_data": "DENIED", "ad_personalization": "DENIED"}
        assert isinstance(body["timestamp_micros"], int) and 1 <= len(body["events"]) <= 25
        events.update({e["name"]: e for e in body["events"]})
    assert sorted(events) == ["page_view", "purchase", "search"]
    view, purchase, search = (events[name]["params"] for name in ("page_view", "purchase", "search"))
    assert all(isinstance(e["timestamp_micros"], int) for e in events.values())
    assert view["page_location"] == "https://shop.example/p/1" and view["page_title"] == "Page 1"
    assert (view["session_id"], view["source"], view["engagement_time_msec"]) == ("s1", "news", 100)
    assert (purchase["transaction_id"], purchase["value"], purchase["currency"], purchase["tax"]) == (
        "o-77",
        24.98,
        "USD",
        2.0,
    )
    assert purchase["items"] == [
        {"item_id": "p1", "item_name": "Lamp", "price": 9.99, "quantity": 2},
        {"item_id": "p2", "quantity": 1},
    ]
    assert search["search_term"] == "lamps"


def lag_of(base: str, group: str) -> float:
    text = httpx.get(f"{base}/metrics", trust_env=False).text
    match = re.search(rf'^clicklake_stream_lag_records{{group="{re.escape(group)}"}} (\S+)$', text, re.M)
    assert match, text
    return float(match.group(1))


def test_a_stuck_destination_does_not_slow_the_collector_and_its_lag_is_on_metrics(
    server: tuple[str, str, str, Path], receiver: Receiver, forwarding: Callable[..., Forwarding]
) -> None:
    base, key, site, _ = server
    receiver.default = "hang"  # until released, then 503
    settings = DestinationSettings(
        batch_size=100, max_attempts=2, backoff_s=0.05, timeout_s=HANG_S + 10, poll_s=0.05, max_lag_records=1000
    )
    f = forwarding(settings)
    forwarder = f.start("stuck", "webhook", receiver.url, site_id=site)
    post(base, key, [page_view(0)])
    receiver.wait(lambda r: len(r.posts) >= 1)  # the forwarder now waits for an answer that does not come
    slowest = 0.0
    for i in range(12):
        started = time.monotonic()
        assert post(base, key, [page_view(i * 100 + n) for n in range(100)])["accepted"] == 100
        slowest = max(slowest, time.monotonic() - started)
    # each answer came while the destination still hung: nothing in the collector waits for it
    assert slowest < 10 and not receiver.release.is_set(), slowest
    assert lag_of(base, "destination:stuck") == 1201 and forwarder.delivered == 0

    # it answers 503 from now on: past max_lag_records the forwarder dead-letters without trying,
    # so it catches up with the stream instead of holding it back
    receiver.default = 503
    receiver.release.set()
    deadline = time.monotonic() + 30
    while lag_of(base, "destination:stuck") > 0:
        assert time.monotonic() < deadline, forwarder.dead_lettered
        time.sleep(0.2)
    assert (forwarder.delivered, forwarder.dead_lettered) == (0, 1201)
    tried = {e["event_id"] for e in receiver.events()}
    assert len(tried) <= 1 + settings.max_lag_records  # at least 200 went to the dead letters untried
