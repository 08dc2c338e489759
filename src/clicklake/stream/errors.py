"""Errors of the event stream; both are transient, so a caller may retry after a pause."""

from __future__ import annotations

from clicklake.errors import TransientError


class StreamFullError(TransientError):
    """The stream refused a batch because its consumers are too far behind; nothing of the batch was stored."""


class StreamUnavailableError(TransientError):
    """The stream backend cannot be reached (locked, missing, down); nothing of the batch was stored."""
