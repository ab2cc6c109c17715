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
from typing import Any

from flask import Flask, current_app
from werkzeug.wrappers import Response

from . import outbox
from .outbox import Claimed
from .render import Rendered, merger, render, to_email

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


class Unreachable(Exception):
    """The mail server cannot be reached, or dropped the connection twice: no use trying
    the pass's other emails now."""


class _Transport:
    """One pass's way out: by SMTP, one connection opened at the first email and used for
    every other (a connection per email limits a worker to a few dozen a second), or to the
    outbox folder without MAIL_SERVER.

    A connection that was used before and fails (the server timed it out, or closed it with
    a 421) is opened again once and the email sent again; a fresh one that fails raises
    `Unreachable`. A refusal of one email (its recipient, its sender, its content) is that
    email's failure alone: the connection goes on."""

    def __init__(self, config: Any) -> None:
        self._config = config
        self._smtp: smtplib.SMTP | None = None
        self._sent_on_it = 0

    def __enter__(self) -> _Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        try:
            smtp = smtplib.SMTP(
                config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=SMTP_TIMEOUT
            )
        except (OSError, smtplib.SMTPException) as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        try:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except (OSError, smtplib.SMTPException) as exc:
            smtp.close()
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        self._sent_on_it = 0
        return smtp

    def send(self, message: EmailMessage, *, message_id: int, rendered: Rendered) -> None:
        """Send one email. Raises Unreachable, or the SMTP error that refused this email."""
        config = self._config
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
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            reused = self._sent_on_it > 0
            try:
                self._smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused:
                raise  # this email alone (smtplib has reset the session)
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code != 421:
                    raise  # refused, this email alone (smtplib has reset the session)
                self._drop()
                if not reused or attempt == 2:
                    raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
            except OSError as exc:  # the connection: every SMTPException is an OSError too
                self._drop()
                if not reused or attempt == 2:
                    raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
            else:
                self._sent_on_it += 1
                return

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _emails(claimed: Sequence[Claimed]) -> list[list[Claimed]]:
    """Claimed messages as emails, in id order: those with the same coalesce key, template and
    address make one email when the template can be merged; every other message is its own."""
    emails: list[list[Claimed]] = []
    together: dict[tuple[str, str, str], list[Claimed]] = {}
    for message in sorted(claimed, key=lambda m: m.id):
        if message.coalesce_key is None or merger(message.template) is None:
            emails.append([message])
            continue
        key = (message.coalesce_key, message.template, message.to_address)
        if key not in together:
            together[key] = []
            emails.append(together[key])
        together[key].append(message)
    return emails


# Sent emails are marked in the outbox this many at a time (one transaction), and at the end
# of the pass, before a failure is marked, and when the pass stops on an error. A worker that
# dies in between leaves at most these claimed: after the lease they are sent again.
MARK_EVERY = 20
Done = list[tuple[list[Claimed], str | None]]


def _send(
    group: list[Claimed],
    result: Delivery,
    transport: _Transport,
    done: Done,
    *,
    now: datetime | None,
) -> None:
    """Render and send one email for a group of claimed messages; add it to `done` (to be
    marked sent, or skipped with the reason), or mark the failure on every message of the
    group (a failed group is retried together), after marking what is done. An email that
    cannot be built (a template error, a header that refuses its value) fails alone, with the
    reason recorded on its messages: one bad message never stops the rest. Raises
    Unreachable (after marking) when the mail server cannot be reached."""
    first = group[0]
    if len(group) == 1:
        payload = first.payload
    else:
        merge = merger(first.template)
        if merge is None:  # grouped only when the template can be merged
            raise RuntimeError(f"{first.template!r} emails cannot be merged")
        payload = merge([message.payload for message in group])
    names = ", ".join(str(message.id) for message in group)
    try:
        rendered = render(first.template, payload, now=now)
        if isinstance(rendered, str):
            done.append((group, rendered))
            result.skipped += 1
            log.info("outbox %s not sent: %s", names, rendered)
            return
        message = to_email(rendered, to_address=first.to_address, message_id=first.id)
    except Exception as exc:  # this message alone cannot be built: record it, go on
        _mark_done(done, now=now)
        outbox.mark_failed(
            group, f"could not build the email: {type(exc).__name__}: {exc}", now=now
        )
        result.failed += 1
        log.exception("outbox %s: the email could not be built; the others go on", names)
        return
    try:
        transport.send(message, message_id=first.id, rendered=rendered)
    except (Unreachable, OSError, smtplib.SMTPException) as exc:
        _mark_done(done, now=now)
        error = str(exc) if isinstance(exc, Unreachable) else f"{type(exc).__name__}: {exc}"
        outbox.mark_failed(group, error, now=now)
        result.failed += 1
        log.warning("outbox %s: delivery failed, will retry: %s", names, exc)
        if isinstance(exc, Unreachable):
            raise
        return
    done.append((group, None))
    result.sent += 1


def _mark_done(done: Done, *, now: datetime | None) -> None:
    if done:
        outbox.mark_sent_groups(done, now=now)
        done.clear()


def send_pending(
    *, limit: int = 100, ids: Sequence[int] | None = None, now: datetime | None = None
) -> Delivery:
    """Claim due messages (or the given ones), render and send each email over one SMTP
    connection, and record the outcomes (sent ones MARK_EVERY at a time). Messages claimed
    together under one coalesce key go as one email. When the mail server cannot be
    reached, the email that found out and every email after it in the pass are marked
    failed (to be retried after the backoff) without trying them."""
    claimed = outbox.claim(limit=limit, ids=ids, now=now)
    result = Delivery(claimed=len(claimed))
    emails = _emails(claimed)
    done: Done = []
    with _Transport(current_app.config) as transport:
        try:
            for n, group in enumerate(emails):
                try:
                    _send(group, result, transport, done, now=now)
                except Unreachable as exc:
                    rest = emails[n + 1 :]
                    if rest:
                        outbox.mark_failed_groups(rest, f"not tried: {exc}", now=now)
                        result.failed += len(rest)
                    break
                if len(done) >= MARK_EVERY:
                    _mark_done(done, now=now)
        finally:
            _mark_done(done, now=now)
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
