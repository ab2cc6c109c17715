"""Sending what the outbox holds: by SMTP when MAIL_SERVER is set, else to a folder."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from flask import Flask, current_app
from werkzeug.wrappers import Response

from . import outbox
from .render import Rendered, render, to_email

log = logging.getLogger("portal.mail")
SMTP_TIMEOUT = 10


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


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


def send_pending(*, limit: int = 100, ids: Sequence[int] | None = None) -> Delivery:
    """Claim due messages (or the given ones), render and send each; record the outcome."""
    result = Delivery()
    for claimed in outbox.claim(limit=limit, ids=ids):
        rendered = render(claimed.template, claimed.payload)
        if isinstance(rendered, str):
            outbox.mark_sent(claimed, note=rendered)
            result.skipped += 1
            log.info("outbox %s not sent: %s", claimed.id, rendered)
            continue
        message = to_email(rendered, to_address=claimed.to_address, message_id=claimed.id)
        try:
            _transport(message, message_id=claimed.id, rendered=rendered)
        except (OSError, smtplib.SMTPException) as exc:
            outbox.mark_failed(claimed, f"{type(exc).__name__}: {exc}")
            result.failed += 1
            log.warning("outbox %s: delivery failed, will retry: %s", claimed.id, exc)
            continue
        outbox.mark_sent(claimed)
        result.sent += 1
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
