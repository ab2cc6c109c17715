"""The emails of rights requests, enqueued in the transaction of what caused them and written
when the mail worker sends them:

- `rights_request` to each active admin of the school: a new request made online, and the
  reminders (due in a week, overdue);
- `rights_request_family` to the family when they are in the portal: the receipt with the due
  date, an extension with its reason, and the request closed (answered, refused with the
  right to complain to the ICO, or withdrawn).

Each has a dedupe key, so a retry or a second run never sends one twice. The family's email
is in the language they read (`family_language`); the admins' is English.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import languages
from ..extensions import db
from ..mail import outbox
from ..models import Guardian, OutboxMessage, RightsRequest, School
from .core import (
    KIND_NAMES,
    KIND_WORDS,
    OPEN_STATUSES,
    STATUS_WORDS,
    admins_of,
    day_words,
    reference,
    today_in_london,
)

ADMIN_TEMPLATE = "rights_request"
ADMIN_SUBJECT = "{headline} ({school_name})"
FAMILY_TEMPLATE = "rights_request_family"
FAMILY_SUBJECT = "{headline}"

# What a family email is about (`event` in its payload).
FAMILY_EVENTS = ("received", "extended-1", "extended-2", "answered", "refused", "withdrawn")
ADMIN_EVENTS = ("new", "soon", "overdue")


def _not_sent_yet(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None


def tell_admins(session: Session, request: RightsRequest, event: str, *, now: datetime) -> int:
    """One email per active admin of the request's school, once per (request, event, due
    date, admin). Returns how many were enqueued."""
    count = 0
    for admin in admins_of(session, request.school_id):
        key = f"rights:{event}:{request.id}:{request.due_on.isoformat()}:{admin.id}"
        if not _not_sent_yet(session, key):
            continue
        outbox.enqueue(
            to_address=admin.email,
            template=ADMIN_TEMPLATE,
            payload={"request_id": request.id, "event": event},
            school_id=request.school_id,
            dedupe_key=key,
            now=now,
        )
        count += 1
    return count


def tell_family(session: Session, request: RightsRequest, event: str, *, now: datetime) -> bool:
    """One email to the family, when the request is theirs in the portal and they have an
    email address."""
    if request.guardian_id is None:
        return False
    email = session.scalar(select(Guardian.email).where(Guardian.id == request.guardian_id))
    if not email:
        return False
    key = f"rights-family:{event}:{request.id}"
    if not _not_sent_yet(session, key):
        return False
    outbox.enqueue(
        to_address=email,
        template=FAMILY_TEMPLATE,
        payload={"request_id": request.id, "event": event},
        school_id=request.school_id,
        dedupe_key=key,
        now=now,
    )
    return True


def _found(payload: dict[str, Any]) -> tuple[RightsRequest, School] | None:
    request = db.session.get(RightsRequest, int(payload["request_id"]))
    if request is None:
        return None
    school = db.session.get(School, request.school_id)
    return (request, school) if school is not None else None


def admin_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """A new request or a reminder; not sent when the request was closed in the meantime."""
    found = _found(payload)
    if found is None:
        return None, "the request no longer exists"
    request, school = found
    if request.status not in OPEN_STATUSES:
        return None, "not sent: the request was closed before it could be sent"
    event = payload["event"]
    days = (request.due_on - today_in_london(now)).days
    kind = KIND_NAMES[request.kind]
    if event == "new":
        headline = f"New rights request: {kind}, due {day_words(request.due_on)}"
    elif event == "soon":
        headline = f"Rights request due in {days} day{'s' if days != 1 else ''}: {kind}"
    else:
        headline = f"Rights request overdue: {kind}, was due {day_words(request.due_on)}"
    base = current_app.config["BASE_URL"]
    return {
        "school_name": school.name,
        "headline": headline,
        "event": event,
        "reference": reference(request.id),
        "kind": kind,
        "received": day_words(request.received_on),
        "due": day_words(request.due_on),
        "paused": request.status == "paused",
        "request_url": f"{base}/staff/rights-requests/{request.id}",
        "sign_in_url": f"{base}/sign-in",
    }, ""


def family_language(payload: dict[str, Any]) -> str | None:
    """The language of the parent or carer whose request it is (None: English)."""
    guardian_id = db.session.scalar(
        select(RightsRequest.guardian_id).where(RightsRequest.id == int(payload["request_id"]))
    )
    return languages.of_guardian(guardian_id)


def _family_headline(event: str, school: str, ref: str) -> str | None:
    """The family email's subject and heading, for what happened (None for no such event)."""
    names = {"school": school, "reference": ref}
    if event == "received":
        return _("Your request to %(school)s (%(reference)s): received", **names)
    if event in ("extended-1", "extended-2"):
        return _("Your request to %(school)s (%(reference)s): the school needs longer", **names)
    if event == "answered":
        return _("Your request to %(school)s (%(reference)s): answered", **names)
    if event == "refused":
        return _("Your request to %(school)s (%(reference)s): refused", **names)
    if event == "withdrawn":
        return _("Your request to %(school)s (%(reference)s): withdrawn", **names)
    return None


def family_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """What the family is told: about their own request only."""
    found = _found(payload)
    if found is None:
        return None, "the request no longer exists"
    request, school = found
    event = payload["event"]
    ref = reference(request.id)
    headline = _family_headline(event, school.name, ref)
    if headline is None:
        return None, f"unknown event {event}"
    base = current_app.config["BASE_URL"]
    return {
        "school_name": school.name,
        "contact_email": school.contact_email,
        "headline": headline,
        "event": event,
        "reference": ref,
        "kind": KIND_WORDS[request.kind],
        # Dates: the templates write them in the family's language (`uk_date`).
        "received": request.received_on,
        "due": request.due_on,
        "status": STATUS_WORDS[request.status],
        "extension_reason": request.extension_reason or "",
        "outcome": request.outcome or "",
        "requests_url": f"{base}/family/rights-requests/{request.id}",
        "sign_in_url": f"{base}/sign-in",
    }, ""
