"""Destination series for `/metrics`, read from the metadata database when Prometheus scrapes.

- `clicklake_destination_events_total{destination,outcome}`: events `delivered` and
  `dead_lettered` (ever) per destination, whichever process forwarded them;
- `clicklake_destination_dead_letter_events{destination}`: events waiting in its dead letters.

A destination's lag is the stream's: `clicklake_stream_lag_records{group="destination:NAME"}`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from clicklake.destinations.store import Store

log = logging.getLogger(__name__)


class DestinationsCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "clicklake_destination_events", "Events per destination and outcome", labels=["destination", "outcome"]
        )
        waiting = GaugeMetricFamily(
            "clicklake_destination_dead_letter_events",
            "Events waiting in a destination's dead letters",
            labels=["destination"],
        )
        try:
            destinations = self.store.all()
            pending = self.store.pending()
        except Exception:
            log.exception("reading the destinations for /metrics failed")
            return
        for d in destinations:
            events.add_metric([d.name, "delivered"], d.delivered)
            events.add_metric([d.name, "dead_lettered"], d.dead_lettered)
            waiting.add_metric([d.name], pending.get(d.name, 0))
        yield events
        yield waiting
