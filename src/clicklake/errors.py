"""The exceptions clicklake raises, one root for all of them.

    ClicklakeError
     ├── ConfigError       a setting is missing or bad; fix the config and start again
     ├── ContractError     an event (or a request body) breaks the event contract
     ├── InputError        a value given to a command or API call is bad (an unknown site, a bad URL)
     ├── TransientError    a backend is busy or down; the same call may pass later
     └── TerminalError     a backend refused for good; retrying will not help

A message names the bad value and says what to do next.
"""

from __future__ import annotations


class ClicklakeError(Exception):
    """Root of every error clicklake raises on purpose."""


class ConfigError(ClicklakeError):
    """A setting is missing or has a bad value; raised at start-up."""


class ContractError(ClicklakeError, ValueError):
    """An event breaks the contract; the message starts with the JSON path."""


class InputError(ClicklakeError, ValueError):
    """A value a user gave (a site id, a URL, an amount) is bad; the message names it."""


class TransientError(ClicklakeError):
    """A backend is temporarily unable to serve; retry after a pause."""


class TerminalError(ClicklakeError):
    """A backend failed in a way retrying will not fix."""
