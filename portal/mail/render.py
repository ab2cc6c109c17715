"""Turn an outbox row into an email: each template has a function that builds its context.

A context function may decline (return None with a reason): a sign-in email whose link has
expired or been replaced before it could be sent is not worth sending. A template whose
messages may be coalesced has a merge function in MERGERS: it makes one payload of several.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from .. import receipts
from ..extensions import db
from ..models import Guardian, GuardianLink, School, SignInRequest, StaffUser
from ..types import utcnow


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    log_line: str | None = None  # said in the log when mail goes to the folder


ContextBuilder = Callable[[dict[str, Any], datetime], tuple[dict[str, Any] | None, str]]
PayloadMerger = Callable[[Sequence[dict[str, Any]]], dict[str, Any]]


def _schools_of(email: str) -> list[str]:
    guardian_schools = select(School.name).where(
        School.id.in_(
            select(GuardianLink.school_id)
            .join(Guardian, Guardian.id == GuardianLink.guardian_id)
            .where(Guardian.email == email, GuardianLink.ended_at.is_(None))
        )
    )
    staff_schools = select(School.name).where(
        School.id.in_(select(StaffUser.school_id).where(StaffUser.email == email, StaffUser.active))
    )
    names = set(db.session.scalars(guardian_schools)) | set(db.session.scalars(staff_schools))
    return sorted(names)


def _sign_in(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    from .. import signin

    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == payload["request"])
    ).first()
    if row is None:
        return None, "the sign-in request no longer exists"
    state = signin._state(row, now)
    if state != signin.LinkState.VALID:
        return None, f"not sent: the link was {state.value} before it could be sent"
    token = signin.derive_token(row.nonce)
    schools = _schools_of(row.email)
    return {
        "link": f"{current_app.config['BASE_URL']}/sign-in/link/{token}",
        "code": signin.derive_code(row.nonce),
        # To the nearest minute: sent a second after it was asked for, a 15-minute link
        # "works for the next 15 minutes" (not 14), as the check-your-email page says.
        "minutes": max(1, round((row.expires_at - now).total_seconds() / 60)),
        "school_names": schools,
        "schools_text": " and ".join(schools) if len(schools) < 3 else "your schools",
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""


def _receipt(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """A guardian's own decisions at one school: nothing about anyone else."""
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    found = receipts.lines(payload["guardian_id"], school.id, payload["events"])
    if not found:
        return None, "none of the receipt's decisions were found"
    base = current_app.config["BASE_URL"]
    return {
        "school_name": school.name,
        "contact_email": school.contact_email,
        "lines": found,
        "history_url": f"{base}/family/history",
        "sign_in_url": f"{base}/sign-in",
    }, ""


SUBJECTS = {
    "sign_in": "Your sign-in link for {schools_text}",
    "receipt": "Your choices at {school_name}: a record of what you changed",
}
BUILDERS: dict[str, ContextBuilder] = {"sign_in": _sign_in, "receipt": _receipt}
MERGERS: dict[str, PayloadMerger] = {"receipt": receipts.merge}


def register(
    template: str, *, subject: str, builder: ContextBuilder, merger: PayloadMerger | None = None
) -> None:
    """Add an email template (templates/emails/TEMPLATE.txt and .html) from the module that
    sends it: `subject` is formatted with the builder's context."""
    SUBJECTS[template] = subject
    BUILDERS[template] = builder
    if merger is not None:
        MERGERS[template] = merger


def render(
    template: str, payload: dict[str, Any], *, now: datetime | None = None
) -> Rendered | str:
    """The email for an outbox row, or a reason not to send it."""
    builder = BUILDERS.get(template)
    if builder is None:
        return f"unknown email template {template!r}"
    context, reason = builder(payload, now or utcnow())
    if context is None:
        return reason
    subject = SUBJECTS[template].format(**context)
    text = render_template(f"emails/{template}.txt", **context)
    html = render_template(f"emails/{template}.html", subject=subject, **context)
    log_line = (
        f"sign-in link: {context['link']} (code {context['code']})"
        if template == "sign_in"
        else None
    )
    return Rendered(subject, text, html, log_line)


def to_email(rendered: Rendered, *, to_address: str, message_id: int) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to_address
    message["Date"] = formatdate(localtime=False)
    domain = str(current_app.config["MAIL_DEFAULT_SENDER"]).rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"outbox-{message_id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
