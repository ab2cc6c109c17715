"""The sign-in email (registered by portal.wiring): the link and the code are derived when
the email is written, never stored (docs/security.md, promise 4), and a link that stopped
working before the email could be sent is not sent at all. Writing the email erases the
request's nonce (promise 3): nothing in the database, with the key or without it, rebuilds a
link that was sent.

Here, after the answer to the sign-in page has gone, is where the portal first looks the
address up (promise 5): an address that is no one's gets no email, and its request and
outbox rows are deleted, so that the portal keeps nothing of a stranger's address.

The email is in the language the parent or carer whose address it is chose, if they chose
one; else in the language of the page it was asked from (`language` in the payload)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from ..database import writing
from ..extensions import db
from ..models import Guardian, GuardianLink, OutboxMessage, School, SignInRequest, StaffUser
from .links import LinkState, outbox_key, principals_for, state_of
from .tokens import derive_code, derive_token, digests, new_nonce

TEMPLATE = "sign_in"
SUBJECT = "{subject}"


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


def email_language(payload: dict[str, Any]) -> str | None:
    """The email's language: the one chosen by the parent or carer whose address it is, if
    they chose one; else the one of the page it was asked from (a request queued before
    emails had a language has none: English)."""
    email = db.session.scalar(
        select(SignInRequest.email).where(SignInRequest.public_id == payload["request"])
    )
    chosen = None
    if email is not None:
        chosen = db.session.scalar(
            select(Guardian.language).where(
                Guardian.email == email, Guardian.language_chosen.is_(True)
            )
        )
    language = chosen or payload.get("language")
    return str(language) if language else None


def _schools_words(schools: list[str]) -> tuple[str, str | None]:
    """The subject, and the schools as the heading names them (None: "your schools")."""
    if not schools:
        return _("Your sign-in link"), ""
    if len(schools) > 2:
        return _("Your sign-in link for your schools"), None
    named = (
        schools[0]
        if len(schools) == 1
        else _("%(first)s and %(second)s", first=schools[0], second=schools[1])
    )
    return _("Your sign-in link for %(schools)s", schools=named), named


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == payload["request"])
    ).first()
    if row is None:
        return None, "the sign-in request no longer exists"
    if not principals_for(row.email):
        _forget(row)
        return None, "no account for this address"
    state = state_of(row, now)
    if state != LinkState.VALID:
        if row.nonce is not None:
            _erase_nonce(row.id)
        return None, f"not sent: the link was {state.value} before it could be sent"
    # No nonce: this email was written before and its send failed (or the worker stopped
    # before it heard): this one gets a new link and code, and the first email's stop working.
    nonce = row.nonce or new_nonce()
    schools = _schools_of(row.email)
    if not _written(row, nonce):
        return None, "not sent: the request changed while its email was written"
    subject, schools_text = _schools_words(schools)
    return {
        "link": f"{current_app.config['BASE_URL']}/sign-in/link/{derive_token(nonce)}",
        "code": derive_code(nonce),
        # To the nearest minute: sent a second after it was asked for, a 15-minute link
        # "works for the next 15 minutes" (not 14), as the check-your-email page says.
        "minutes": max(1, round((row.expires_at - now).total_seconds() / 60)),
        "school_names": schools,
        # One or two schools by name, "" for none, None for more (the heading's words).
        "schools_text": schools_text,
        "subject": subject,
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""


def _written(row: SignInRequest, nonce: str) -> bool:
    """Erase the request's nonce now that its email is written, storing the digests of the
    link and code derived from `nonce` (the same ones, unless the nonce is new). False if the
    request changed since it was read."""
    token_hash, code_hash = digests(nonce, row.public_id)
    with writing() as session:
        result = session.execute(
            update(SignInRequest)
            .where(SignInRequest.id == row.id, SignInRequest.token_hash == row.token_hash)
            .values(nonce=None, token_hash=token_hash, code_hash=code_hash)
            .returning(SignInRequest.id)
        )
        written = result.scalar_one_or_none() is not None
    return written


def _erase_nonce(request_id: int) -> None:
    """A request whose email will never be sent needs no nonce."""
    with writing() as session:
        session.execute(
            update(SignInRequest).where(SignInRequest.id == request_id).values(nonce=None)
        )


def _forget(row: SignInRequest) -> None:
    """Delete a request for an address that is no one's, and its outbox row (the worker's
    later report on that row then finds nothing to mark)."""
    with writing() as session:
        session.execute(
            delete(OutboxMessage).where(OutboxMessage.dedupe_key == outbox_key(row.public_id))
        )
        session.execute(delete(SignInRequest).where(SignInRequest.id == row.id))


def log_line(context: dict[str, Any]) -> str:
    """What the log says when mail goes to the outbox folder (development): the link."""
    return f"sign-in link: {context['link']} (code {context['code']})"
