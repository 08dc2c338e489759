"""The destinations' store in the metadata database: names, masked secrets, dead letters and erasure."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from clicklake.config import Settings
from clicklake.destinations import Store
from clicklake.destinations.metrics import DestinationsCollector
from clicklake.errors import InputError
from clicklake.schema.envelope import encode_payload
from samples import records


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(Settings(data=str(tmp_path / "data")))


def test_names_kinds_and_urls_are_checked_and_secrets_masked(store: Store) -> None:
    d = store.add("ga", "ga4", "https://example.test/mp", options={"measurement_id": "G-1", "api_secret": "s"})
    assert d.public()["options"] == {"measurement_id": "G-1", "api_secret": "***"}
    assert d.public()["group"] == "destination:ga"
    for name, kind, url in (("Bad Name", "webhook", "https://x"), ("ok", "kafka", "https://x"), ("ok", "webhook", "x")):
        with pytest.raises(InputError):
            store.add(name, kind, url)
    with pytest.raises(InputError, match="exists already"):
        store.add("ga", "webhook", "https://x")
    assert store.set_enabled("ga", False).enabled is False
    assert [x.name for x in store.all()] == ["ga"]


def test_dead_letters_keep_the_payloads_and_an_erasure_removes_one_persons(store: Store) -> None:
    store.add("hook", "webhook", "https://example.test/")
    mine = records(3, site_id="s1", prefix="m")  # the samples' events carry user_id_hash "u1"
    theirs = records(2, site_id="s2", prefix="t")
    payloads = [encode_payload(r) for r in [*mine, *theirs]]
    first = store.dead_letter("hook", payloads[:4], 3, "HTTP 500")
    second = store.dead_letter("hook", payloads[:2], 5, "HTTP 503")
    assert store.letter_payloads(first) == payloads[:4]
    assert [(x.letter_id, x.events, x.attempts) for x in store.dead_letters("hook")] == [(first, 4, 3), (second, 2, 5)]
    assert store.get("hook").dead_lettered == 6

    assert store.erase("s1", {"u1"}) == 5  # 3 in the first letter, 2 in the second
    assert [x.letter_id for x in store.dead_letters()] == [first]
    [kept] = store.letter_payloads(first)
    assert msgspec.json.decode(kept)["site_id"] == "s2"
    assert store.erase("s1", {"u1"}) == 0
    destination, letters = store.remove("hook")
    assert (destination.name, letters) == ("hook", 1)
    assert store.dead_letters() == []


def test_an_erasure_also_finds_the_events_sent_under_an_anonymous_id_of_theirs(store: Store) -> None:
    """Before they logged in, a person's events carry only their anonymous id (the erasure finds it with their
    user id in bronze); those go too, and another visitor's events of the same site stay."""
    store.add("hook", "webhook", "https://example.test/")
    anonymous, logged_in, stranger = records(3, site_id="s1", prefix="a")
    for record, user_id_hash, anonymous_id in (
        (anonymous, None, "anon-1"),
        (logged_in, "u1", "anon-1"),
        (stranger, None, "anon-2"),
    ):
        record.user.user_id_hash, record.user.anonymous_id = user_id_hash, anonymous_id
        record.user.visitor_id = user_id_hash or anonymous_id
    letter = store.dead_letter("hook", [encode_payload(r) for r in (anonymous, logged_in, stranger)], 3, "HTTP 500")
    assert store.erase("s1", {"u1", "anon-1"}) == 2
    [kept] = store.letter_payloads(letter)
    assert msgspec.json.decode(kept)["user"]["anonymous_id"] == "anon-2"
    assert store.erase("s2", {"anon-2"}) == 0  # the id on another site is somebody else


def test_metrics_show_each_destinations_totals_and_pending_dead_letters(store: Store) -> None:
    store.add("hook", "webhook", "https://example.test/")
    store.add("idle", "webhook", "https://example.test/")
    store.count_delivered("hook", 7)
    store.dead_letter("hook", [encode_payload(r) for r in records(2)], 3, "HTTP 500")
    registry = CollectorRegistry()
    registry.register(DestinationsCollector(store))
    text = generate_latest(registry).decode()
    assert 'clicklake_destination_events_total{destination="hook",outcome="delivered"} 7.0' in text
    assert 'clicklake_destination_events_total{destination="hook",outcome="dead_lettered"} 2.0' in text
    assert 'clicklake_destination_dead_letter_events{destination="hook"} 2.0' in text
    assert 'clicklake_destination_dead_letter_events{destination="idle"} 0.0' in text
