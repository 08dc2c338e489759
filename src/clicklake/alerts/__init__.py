"""Alerts: rules in the metadata database, measured every minute, sent by webhook, Slack or e-mail.

`rules.py` stores rules and their state, `measure.py` says what each kind measures,
`evaluator.py` turns state changes into notices, `channels.py` delivers them, and `cli.py`
is `clicklake alerts list|create|delete|test|run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clicklake._lazy import exports

if TYPE_CHECKING:
    from clicklake.alerts.channels import DeliveryError, Notice, deliver
    from clicklake.alerts.evaluator import Evaluator
    from clicklake.alerts.measure import Reading, Sources
    from clicklake.alerts.rules import CHANNELS, KINDS, Rule, Rules

__getattr__ = exports(
    __name__,
    {
        "DeliveryError": "channels",
        "Notice": "channels",
        "deliver": "channels",
        "Evaluator": "evaluator",
        "Reading": "measure",
        "Sources": "measure",
        "CHANNELS": "rules",
        "KINDS": "rules",
        "Rule": "rules",
        "Rules": "rules",
    },
)


__all__ = [
    "CHANNELS",
    "KINDS",
    "DeliveryError",
    "Evaluator",
    "Notice",
    "Reading",
    "Rule",
    "Rules",
    "Sources",
    "deliver",
]
