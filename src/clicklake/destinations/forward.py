"""The forwarder: each destination reads the stream with its own consumer group and posts what it reads.

A destination's group is `destination:<name>`; it starts at the stream's end when the
destination is added (`--from-start`: at the oldest record the stream still holds). Its
offsets move only after a batch was delivered or dead-lettered, so delivery is at least once:
a forwarder killed mid-batch sends that batch again. The group's lag is on `/metrics`
(`clicklake_stream_lag_records{group="destination:<name>"}`) like every group's.

What is forwarded: the accepted events, as the collector appended them after privacy at the
door (consent, IP truncation, PII scrubbing); rejected events are not, and a destination tied
to a site gets that site's events only.

A slow or failing destination never slows ingestion: it runs in its own thread, and the
collector only appends to the stream. A batch that fails `destinations.max_attempts` times
(or is refused for good, e.g. 400 or 401) goes to the dead-letter list and the forwarder
moves on. Should a destination still fall more than `destinations.max_lag_records` behind
(the stream refuses appends once its slowest group is `stream.max_lag_records` behind), its
batches go straight to the dead-letter list, to be replayed later, until it has caught up.
Records the stream's retention dropped before they were read are counted and logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import httpx
import msgspec

from clicklake.destinations.delivery import Delivery, DeliveryFailed, send
from clicklake.destinations.ga4 import ga4_deliveries
from clicklake.destinations.store import Destination, Store
from clicklake.destinations.webhook import webhook_deliveries

if TYPE_CHECKING:
    from clicklake.config import DestinationSettings, Settings
    from clicklake.stream import Stream

log = logging.getLogger(__name__)

#: How often `run_forever` looks for destinations added, changed, disabled or removed.
RELOAD_S: Final = 5.0
_EVENT_PREFIX: Final = b'{"kind":"event/'

Builder = Callable[[Destination, str, list[bytes]], list[Delivery]]
BUILDERS: Final[dict[str, Builder]] = {"webhook": webhook_deliveries, "ga4": ga4_deliveries}


class _Head(msgspec.Struct):
    site_id: str | None = None


_head = msgspec.json.Decoder(_Head)


def start_group(stream: Stream, group: str, from_start: bool = False) -> None:
    """Create `group` at the stream's end (or its oldest record) unless it exists already."""
    stats = stream.stats()
    if any(g.group == group for g in stats.groups):
        return
    for p in stats.partitions:
        stream.commit(group, p.partition, p.first_offset if from_start else p.next_offset)


class Outcome(msgspec.Struct):
    """What sending some payloads did: events delivered, and the error that stopped the rest (if any)."""

    delivered: int = 0
    error: str | None = None
    attempts: int = 0
    stopped: bool = False
    remaining: list[bytes] = msgspec.field(default_factory=list)


def deliver(
    client: httpx.Client,
    deliveries: list[Delivery],
    settings: DestinationSettings,
    stop: threading.Event,
) -> Outcome:
    """Send `deliveries` in order, each up to `max_attempts` times with doubling pauses."""
    out = Outcome()
    for i, delivery in enumerate(deliveries):
        attempt = 0
        while True:
            attempt += 1
            out.attempts = max(out.attempts, attempt)
            try:
                send(client, delivery)
                out.delivered += len(delivery.payloads)
                break
            except DeliveryFailed as exc:
                if not exc.transient or attempt >= settings.max_attempts:
                    out.error = str(exc)
                    out.remaining = [p for d in deliveries[i:] for p in d.payloads]
                    return out
                pause = min(settings.backoff_s * 2 ** (attempt - 1), settings.max_backoff_s)
                # the URL is not logged: a GA4 one holds the API secret
                log.info("a delivery failed (%s); attempt %d in %.1f s", exc, attempt + 1, pause)
                if stop.wait(pause):
                    out.stopped = True
                    out.remaining = [p for d in deliveries[i:] for p in d.payloads]
                    return out
    return out


class Forwarder:
    """Forwards one destination's events until `stop` is set."""

    def __init__(
        self,
        stream: Stream,
        store: Store,
        destination: Destination,
        settings: DestinationSettings,
        stop: threading.Event,
    ) -> None:
        self.stream = stream
        self.store = store
        self.destination = destination
        self.settings = settings
        self.stop = stop
        self.build = BUILDERS[destination.kind]
        self.client = httpx.Client(timeout=settings.timeout_s, trust_env=False)
        self.delivered = 0
        self.dead_lettered = 0
        self.trimmed = 0
        start_group(stream, destination.group)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    moved = self.step()
                except Exception:
                    log.exception("forwarding to destination %s failed; trying again", self.destination.name)
                    moved = 0
                if not moved:
                    self.stop.wait(self.settings.poll_s)
        finally:
            self.client.close()

    def step(self) -> int:
        """One pass over every partition; returns the records it moved past."""
        behind = sum(lag.records for lag in self.stream.lag(self.destination.group))
        return sum(self._partition(p, behind) for p in range(self.stream.partitions))

    def _partition(self, partition: int, behind: int) -> int:
        group = self.destination.group
        offset = self.stream.committed(group, partition)
        records = self.stream.read(partition, offset, self.settings.batch_size)
        if not records:
            return 0
        if records[0].offset > offset:
            gap = records[0].offset - offset
            self.trimmed += gap
            log.warning(
                "destination %s: %d records of partition %d were dropped by the stream's retention before it read them",
                self.destination.name,
                gap,
                partition,
            )
        payloads = [r.payload for r in records if self._wanted(r.payload)]
        batch_id = f"{partition}-{records[0].offset}-{records[-1].offset}"
        if payloads and behind > self.settings.max_lag_records:
            error = f"not sent: the destination was {behind} records behind (destinations.max_lag_records)"
            self._dead_letter(payloads, 0, error)
        elif payloads:
            outcome = deliver(self.client, self.build(self.destination, batch_id, payloads), self.settings, self.stop)
            if outcome.delivered:
                self.delivered += outcome.delivered
                self.store.count_delivered(self.destination.name, outcome.delivered)
            if outcome.stopped:
                return 0  # not committed: sent again after a restart
            if outcome.error is not None:
                self._dead_letter(outcome.remaining, outcome.attempts, outcome.error)
        self.stream.commit(group, partition, records[-1].offset + 1)
        return len(records)

    def _wanted(self, payload: bytes) -> bool:
        if not payload.startswith(_EVENT_PREFIX):
            return False  # a rejected event: it goes to quarantine, not to destinations
        site = self.destination.site_id
        return site is None or _head.decode(payload).site_id == site

    def _dead_letter(self, payloads: list[bytes], attempts: int, error: str) -> None:
        letter = self.store.dead_letter(self.destination.name, payloads, attempts, error)
        self.dead_lettered += len(payloads)
        log.warning(
            "destination %s: %d events went to dead letter %d after %d attempts: %s",
            self.destination.name,
            len(payloads),
            letter,
            attempts,
            error,
        )


class ReplayResult(msgspec.Struct):
    letters: int = 0
    delivered: int = 0
    failed_letters: int = 0
    errors: list[str] = msgspec.field(default_factory=list)


def replay(
    store: Store, destination: Destination, settings: DestinationSettings, letter_id: int | None = None
) -> ReplayResult:
    """Deliver the destination's dead letters (or one) again; a letter delivered whole is deleted.

    A letter that fails again stays, holding only the events not yet delivered.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request log would show a GA4 API secret
    out = ReplayResult()
    build = BUILDERS[destination.kind]
    never = threading.Event()
    with httpx.Client(timeout=settings.timeout_s, trust_env=False) as client:
        for letter in store.dead_letters(destination.name):
            if letter_id is not None and letter.letter_id != letter_id:
                continue
            payloads = store.letter_payloads(letter.letter_id)
            outcome = deliver(client, build(destination, f"dead-letter-{letter.letter_id}", payloads), settings, never)
            out.letters += 1
            out.delivered += outcome.delivered
            if outcome.delivered:
                store.count_delivered(destination.name, outcome.delivered)
            if outcome.error is None:
                store.delete_letter(letter.letter_id)
                continue
            out.failed_letters += 1
            out.errors.append(f"dead letter {letter.letter_id}: {outcome.error}")
            if outcome.delivered:  # keep only what is still undelivered
                store.replace_letter(
                    letter.letter_id, outcome.remaining, letter.attempts + outcome.attempts, outcome.error
                )
    return out


def _config(destination: Destination) -> tuple[object, ...]:
    return (destination.kind, destination.url, destination.site_id, tuple(sorted(destination.options.items())))


def run_forever(settings: Settings, stop: threading.Event) -> None:
    """Forward to every enabled destination until `stop` is set, one thread each.

    Destinations added, changed, disabled or removed (`clicklake destinations ...`) are picked
    up within `RELOAD_S` seconds.
    """
    from clicklake.stream import stream_from_settings

    # httpx logs every request's URL at INFO, and a GA4 URL holds the API secret
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stream = stream_from_settings(settings)
    store = Store.open(settings)
    running: dict[str, tuple[threading.Thread, threading.Event, tuple[object, ...]]] = {}

    def halt(name: str) -> None:
        thread, event, _config_key = running.pop(name)
        event.set()
        thread.join()

    try:
        while not stop.is_set():
            try:
                wanted = {d.name: d for d in store.all() if d.enabled}
            except Exception:
                log.exception("reading the destinations failed; trying again in %.0f s", RELOAD_S)
                stop.wait(RELOAD_S)
                continue
            for name in list(running):
                if name not in wanted or _config(wanted[name]) != running[name][2]:
                    halt(name)
            for name, d in wanted.items():
                if name in running:
                    continue
                event = threading.Event()
                try:
                    forwarder = Forwarder(stream, store, d, settings.destinations, event)
                except Exception:
                    log.exception("starting destination %s failed; trying again in %.0f s", name, RELOAD_S)
                    continue
                thread = threading.Thread(target=forwarder.run, name=f"destination-{name}", daemon=True)
                thread.start()
                running[name] = (thread, event, _config(d))
                log.info("forwarding to destination %s (%s)", name, d.kind)
            stop.wait(RELOAD_S)
    finally:
        for name in list(running):
            halt(name)
        store.close()
        stream.close()
