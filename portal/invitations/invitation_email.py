"""The invitation itself: the school's name, why this person is invited, and a link that
signs them in (docs/security.md, promise 22). Built by the mail worker when it sends it, so
that someone who is no longer a parent or carer of a pupil on roll by then is not sent it,
and so that the link is made as the email is written (`signin.make_link`: only its digest is
stored); written in the language they read (`email_language`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select

from .. import languages, signin
from ..extensions import db
from ..models import Guardian, GuardianLink, InvitationBatch, Pupil, School
from ..queries import deciding_link
from .audience import Audience

TEMPLATE = "invitation"
SUBJECT = "{headline}"


def _still_invited(guardian_id: Any, school_id: Any) -> Any:
    """The guardian still has parental responsibility for a pupil on roll at the school (an
    EXISTS, for a query to select)."""
    return exists().where(
        GuardianLink.guardian_id == guardian_id,
        GuardianLink.school_id == school_id,
        Pupil.id == GuardianLink.pupil_id,
        Pupil.school_id == school_id,
        deciding_link(),
        Pupil.on_roll.is_(True),
    )


def email_language(payload: dict[str, Any]) -> str | None:
    """The language the invited parent or carer reads (None: English)."""
    return languages.of_guardian(int(payload["guardian_id"]))


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """What the invitation says: the school's name, why this person is invited, the link
    that signs them in, and where else to sign in with which address. Nothing about any
    child, nor any other family.

    One query for all it needs, and one short write for the link (the mail worker renders a
    hundred of these a second)."""
    guardian_id = int(payload["guardian_id"])
    found = db.session.execute(
        select(
            InvitationBatch.audience,
            Guardian.email,
            School.id.label("school_id"),
            School.name,
            School.slug,
            School.contact_email,
            _still_invited(guardian_id, InvitationBatch.school_id).label("invited"),
        )
        .select_from(InvitationBatch)
        .outerjoin(Guardian, Guardian.id == guardian_id)
        .outerjoin(School, School.id == InvitationBatch.school_id)
        .where(InvitationBatch.id == int(payload["batch_id"]))
    ).one_or_none()
    if found is None or not found.email:
        return None, "not sent: the invitation or the person no longer exists"
    if found.school_id is None:
        return None, "not sent: the school no longer exists"
    if not found.invited:
        return None, "not sent: no longer a parent or carer of a pupil on roll at the school"
    base = current_app.config["BASE_URL"]
    reminder = found.audience == Audience.NEEDS_ANSWER
    link = signin.make_link(found.email, now=now)
    return {
        "link": link,
        "link_hours": signin.signs_in_hours(),
        "school_name": found.name,
        "contact_email": found.contact_email,
        "email": found.email,
        "reminder": reminder,
        "headline": (
            _("Reminder: %(school)s is waiting for your choices", school=found.name)
            if reminder
            else _("%(school)s asks for your choices", school=found.name)
        ),
        "sign_in_url": f"{base}/sign-in",
        "notice_url": f"{base}/schools/{found.slug}/privacy-notice",
    }, ""
