"""Sending a notice: a JSON webhook, a Slack-compatible webhook, or an e-mail over SMTP.

- `webhook`: `POST target` with the notice as JSON (`Notice`'s fields).
- `slack`: `POST target` with `{"text": ...}`, what Slack's (and Mattermost's, Rocket.Chat's)
  incoming webhooks read.
- `email`: one message to `target` through `alerts.smtp_host:smtp_port`, from
  `alerts.smtp_from`, with STARTTLS and a login when the settings ask for them.

A failed delivery raises `DeliveryError` (a transient error): the evaluator keeps the old
state, so the next evaluation tries the same notice again.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx
import msgspec

from clicklake.config import AlertSettings
from clicklake.errors import TransientError

TIMEOUT_S = 10.0


class DeliveryError(TransientError):
    """A notice could not be delivered; the next evaluation tries again."""


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """What a channel sends when a rule starts firing (`state` "firing") or recovers ("resolved")."""

    rule_id: str
    kind: str
    state: str
    #: the site the notice is about, or None for the whole platform
    site_id: str | None
    #: the rule in words
    rule: str
    #: what was measured, in words
    summary: str
    value: float | None
    at: str

    def title(self) -> str:
        where = f" on site {self.site_id}" if self.site_id else ""
        return f"[clicklake] {self.state.upper()}: {self.kind}{where}"

    def text(self) -> str:
        return f"{self.title()}\nRule: {self.rule}\nNow: {self.summary}\nAt: {self.at} (rule {self.rule_id})"


def deliver(channel: str, target: str, notice: Notice, settings: AlertSettings) -> None:
    """Send `notice` to `target` by `channel`; raises `DeliveryError` when that fails."""
    try:
        if channel == "email":
            send_email(target, notice.title(), notice.text(), settings)
            return
        body = msgspec.to_builtins(notice) if channel == "webhook" else {"text": notice.text()}
        r = httpx.post(target, json=body, timeout=TIMEOUT_S, trust_env=False)
        if r.status_code >= 300:
            raise DeliveryError(f"{channel} {target} answered {r.status_code}: {r.text[:200]}")
    except (httpx.HTTPError, OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"could not send the {channel} notice to {target}: {exc}") from exc


def send_email(to: str, subject: str, text: str, settings: AlertSettings) -> None:
    """One plain-text message through the SMTP server of the `alerts.smtp_*` settings."""
    if not settings.smtp_host:
        raise DeliveryError("e-mail needs the setting alerts.smtp_host (CLICKLAKE_ALERTS__SMTP_HOST)")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = to
    message.set_content(text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"could not send e-mail to {to} through {settings.smtp_host}: {exc}") from exc
