"""Sending what the outbox holds: by SMTP when MAIL_SERVER is set, else to a folder."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from flask import Flask, current_app
from werkzeug.wrappers import Response

from . import outbox
from .outbox import Claimed
from .render import MERGERS, Rendered, render, to_email

log = logging.getLogger("portal.mail")
SMTP_TIMEOUT = 10


@dataclass
class Delivery:
    """What one pass did: emails sent, failed and skipped, and outbox rows claimed (several
    rows that share a coalesce key make one email)."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    claimed: int = 0


def _transport(message: EmailMessage, *, message_id: int, rendered: Rendered) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        folder = Path(config["MAIL_OUTBOX_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{message_id:08d}.eml"
        path.write_bytes(bytes(message))
        # Development only (no MAIL_SERVER): say where the mail went, and the link in it.
        log.info("email to %s written to %s", message["To"], path)
        if rendered.log_line:
            log.info("%s", rendered.log_line)
        return
    with smtplib.SMTP(
        config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=SMTP_TIMEOUT
    ) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def _emails(claimed: Sequence[Claimed]) -> list[list[Claimed]]:
    """Claimed messages as emails, in id order: those with the same coalesce key, template and
    address make one email when the template can be merged; every other message is its own."""
    emails: list[list[Claimed]] = []
    together: dict[tuple[str, str, str], list[Claimed]] = {}
    for message in sorted(claimed, key=lambda m: m.id):
        if message.coalesce_key is None or message.template not in MERGERS:
            emails.append([message])
            continue
        key = (message.coalesce_key, message.template, message.to_address)
        if key not in together:
            together[key] = []
            emails.append(together[key])
        together[key].append(message)
    return emails


def _send(group: list[Claimed], result: Delivery, *, now: datetime | None) -> None:
    """Render and send one email for a group of claimed messages; record the outcome on every
    message of the group (a failed group is retried together)."""
    first = group[0]
    if len(group) == 1:
        payload = first.payload
    else:
        payload = MERGERS[first.template]([message.payload for message in group])
    names = ", ".join(str(message.id) for message in group)
    rendered = render(first.template, payload, now=now)
    if isinstance(rendered, str):
        outbox.mark_sent(group, note=rendered, now=now)
        result.skipped += 1
        log.info("outbox %s not sent: %s", names, rendered)
        return
    message = to_email(rendered, to_address=first.to_address, message_id=first.id)
    try:
        _transport(message, message_id=first.id, rendered=rendered)
    except (OSError, smtplib.SMTPException) as exc:
        outbox.mark_failed(group, f"{type(exc).__name__}: {exc}", now=now)
        result.failed += 1
        log.warning("outbox %s: delivery failed, will retry: %s", names, exc)
        return
    outbox.mark_sent(group, now=now)
    result.sent += 1


def send_pending(
    *, limit: int = 100, ids: Sequence[int] | None = None, now: datetime | None = None
) -> Delivery:
    """Claim due messages (or the given ones), render and send each email; record the outcome.
    Messages claimed together under one coalesce key go as one email."""
    claimed = outbox.claim(limit=limit, ids=ids, now=now)
    result = Delivery(claimed=len(claimed))
    for group in _emails(claimed):
        _send(group, result, now=now)
    return result


def deliver_after_response(response: Response, ids: Sequence[int]) -> Response:
    """Try to send these messages once the response has gone: the person does not wait for
    the mail server, and a known address answers as fast as an unknown one."""
    if not ids:
        return response
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    wanted = list(ids)

    def deliver() -> None:
        with app.app_context():
            try:
                send_pending(ids=wanted)
            except Exception:  # the worker retries; this attempt must not break the server
                log.exception(
                    "immediate delivery of outbox %s failed; the worker will retry", wanted
                )

    response.call_on_close(deliver)
    return response
