"""Destinations: the accepted events forwarded to other systems (a webhook, Google Analytics 4).

It reads the stream, so it sits right of `stream` (it imports `stream`, `schema`, `config`
and the metadata database of `collect`). `clicklake destinations run` runs `run_forever`
alone; `clicklake up` runs it beside the other stages.
"""

from __future__ import annotations

from clicklake.destinations.forward import Forwarder, replay, run_forever, start_group
from clicklake.destinations.store import KINDS, Destination, Store

__all__ = ["KINDS", "Destination", "Forwarder", "Store", "replay", "run_forever", "start_group"]
