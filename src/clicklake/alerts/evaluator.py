"""The alert evaluator: measures every rule, and sends a notice only when a rule's state changes.

Per rule and subject the stored state (`alert_state`) is firing or not. A reading that
agrees with it sends nothing, so a condition that lasts sends one notice when it starts
and one when it ends, never one a minute. A subject seen for the first time that is not
firing is stored silently; one that fires is announced. An unknown reading (its source
is not in this process, or could not be read) changes nothing. When a notice cannot be
delivered the state is not changed, so the next evaluation tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from clicklake.alerts.channels import DeliveryError, Notice, deliver
from clicklake.alerts.measure import Reading, Sources, measure
from clicklake.alerts.rules import Rule, Rules, State
from clicklake.config import AlertSettings

log = logging.getLogger(__name__)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


class Evaluator:
    def __init__(self, rules: Rules, sources: Sources, settings: AlertSettings) -> None:
        self.rules = rules
        self.sources = sources
        self.settings = settings

    def evaluate(self, now_ms: int | None = None) -> list[Notice]:
        """One pass over every rule; the notices it delivered."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        sent: list[Notice] = []
        for rule in self.rules.list():
            try:
                readings = measure(rule, self.sources, now_ms)
            except Exception:
                log.exception("alert rule %s (%s) could not be measured", rule.rule_id, rule.kind)
                continue
            states = self.rules.states(rule.rule_id)
            for reading in readings:
                notice = self._step(rule, reading, states.get(reading.subject), now_ms)
                if notice is not None:
                    sent.append(notice)
        return sent

    def _step(self, rule: Rule, reading: Reading, before: State | None, now_ms: int) -> Notice | None:
        if reading.firing is None:
            return None
        was = before.firing if before is not None else False
        if before is not None and reading.firing == was:
            return None
        new = State(reading.firing, now_ms, reading.summary)
        if before is None and not reading.firing:
            self.rules.set_state(rule.rule_id, reading.subject, new)
            return None
        notice = notice_of(rule, reading, now_ms)
        try:
            deliver(rule.channel, rule.target, notice, self.settings)
        except DeliveryError as exc:
            log.warning("alert %s %s: %s; the next evaluation tries again", rule.rule_id, notice.state, exc)
            return None
        log.info("alert %s %s: %s", rule.rule_id, notice.state, reading.summary)
        self.rules.set_state(rule.rule_id, reading.subject, new)
        return notice

    async def run(self, interval_s: float, after: Callable[[], object] | None = None) -> None:
        """Every `interval_s` seconds until cancelled: evaluate, then call `after` (in a thread; the e-mail reports)."""
        while True:
            await asyncio.sleep(interval_s)  # the stages start first
            for step in (self.evaluate, after):
                if step is None:
                    continue
                try:
                    await asyncio.to_thread(step)
                except Exception:
                    log.exception("%s failed; it runs again in %.0f s", getattr(step, "__name__", step), interval_s)


def notice_of(rule: Rule, reading: Reading, now_ms: int, *, test: bool = False) -> Notice:
    state = "test" if test else ("firing" if reading.firing else "resolved")
    return Notice(
        rule_id=rule.rule_id,
        kind=rule.kind,
        state=state,
        site_id=reading.subject or None,
        rule=rule.describe(),
        summary=reading.summary,
        value=reading.value,
        at=_iso(now_ms),
    )
