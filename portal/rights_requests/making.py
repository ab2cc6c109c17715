"""A new rights request: made by a parent on the portal (`make`), or logged by an admin when it
came another way, by letter, phone, email or in person (`log`). Either way the due date is
worked out at once (`portal.deadlines`), the first entry of its history is written, and the
emails go in the same transaction: the school's admins hear of a request made online, and a
family in the portal gets a receipt with the due date."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ..choices.family import responsible_for
from ..database import writing
from ..emails import InvalidEmail, normalise
from ..errors import NotFound
from ..models import (
    Guardian,
    GuardianLink,
    Pupil,
    RequestChannel,
    RequestStatus,
    RightsKind,
    RightsRequest,
    SchoolContact,
)
from ..types import utcnow
from . import emails
from .core import (
    MAX_CONTACT,
    MAX_DETAILS,
    MAX_NAME,
    OLDEST_RECEIVED_DAYS,
    RightsRequestError,
    active_admin,
    check_line,
    check_text,
    compute_due,
    record_change,
    today_in_london,
)

KINDS = tuple(kind.value for kind in RightsKind)
LOGGED_CHANNELS = tuple(c.value for c in RequestChannel if c is not RequestChannel.WEB)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise RightsRequestError(_("Choose what you are asking for"), "kind")
    return kind


def _family_details(details: str) -> str:
    """What a parent typed about their request, by `check_text`'s rule, refused in whole
    sentences that can be translated (check_text builds its messages around a label)."""
    try:
        return check_text(
            details, field="details", label="the details", limit=MAX_DETAILS, required=False
        )
    except RightsRequestError:
        value = (details or "").strip()
        if len(value) > MAX_DETAILS:
            message = _("The details must be %(num)d characters or fewer", num=MAX_DETAILS)
        elif "\x00" in value:
            message = _("The details have a character that cannot be stored (NUL)")
        else:
            message = _("The details have a control character that is not a line break or a tab")
        raise RightsRequestError(message, "details") from None


def _is_contact(session: Session, guardian_id: int, school_id: int) -> bool:
    """A guardian the school's roster lists now (a current link to one of its pupils)."""
    return (
        session.scalar(
            select(GuardianLink.id)
            .where(
                GuardianLink.guardian_id == guardian_id,
                GuardianLink.school_id == school_id,
                GuardianLink.ended_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _name_held(session: Session, guardian_id: int, school_id: int) -> str:
    contact = session.scalars(
        select(SchoolContact).where(
            SchoolContact.school_id == school_id, SchoolContact.guardian_id == guardian_id
        )
    ).first()
    return contact.full_name if contact is not None and contact.erased_at is None else ""


def _new(
    session: Session,
    *,
    school_id: int,
    guardian_id: int | None,
    requester_name: str,
    requester_contact: str,
    kind: str,
    details: str,
    channel: str,
    received_on: date,
    now: datetime,
    created_by_id: int | None,
) -> RightsRequest:
    request = RightsRequest(
        school_id=school_id,
        guardian_id=guardian_id,
        requester_name=requester_name,
        requester_contact=requester_contact,
        kind=kind,
        details=details,
        channel=channel,
        received_on=received_on,
        status=RequestStatus.OPEN.value,
        paused_days=0,
        extension_months=0,
        created_at=now,
        created_by_id=created_by_id,
    )
    request.due_on = compute_due(request)
    session.add(request)
    session.flush()
    return request


def make(
    guardian_id: int,
    school_id: int,
    *,
    kind: str,
    details: str,
    pupil_id: int | None = None,
    now: datetime | None = None,
) -> RightsRequest:
    """A parent's request to one of their schools, received today (London). `pupil_id`, when
    given, names which of their children at that school it is about. NotFound unless the
    guardian is a current contact of the school."""
    now = now or utcnow()
    kind = _kind(kind)
    details = _family_details(details)
    with writing() as session:
        guardian = session.get(Guardian, guardian_id)
        if guardian is None or not _is_contact(session, guardian_id, school_id):
            raise NotFound("no such school for this family")
        child = None
        if pupil_id is not None:
            child = session.scalars(
                select(Pupil)
                .join(GuardianLink, responsible_for(guardian_id))
                .where(Pupil.id == pupil_id, Pupil.school_id == school_id)
            ).first()
            if child is None:
                raise RightsRequestError(_("Choose one of your children shown"), "pupil")
        request = _new(
            session,
            school_id=school_id,
            guardian_id=guardian_id,
            requester_name=_name_held(session, guardian_id, school_id),
            requester_contact=guardian.email or "",
            kind=kind,
            details=details,
            channel=RequestChannel.WEB.value,
            received_on=today_in_london(now),
            now=now,
            created_by_id=None,
        )
        record_change(
            session,
            request,
            "made",
            at=now,
            guardian_id=guardian_id,
            detail={
                "kind": kind,
                "channel": request.channel,
                "due_on": request.due_on.isoformat(),
                "pupil_id": child.id if child else None,
                "child": child.full_name if child else None,
            },
        )
        emails.tell_admins(session, request, "new", now=now)
        emails.tell_family(session, request, "received", now=now)
    return request


def guardian_by_email(session: Session, school_id: int, address: str) -> Guardian:
    """A parent or carer the school links to (now or before), found by email address."""
    try:
        email = normalise(address)
    except InvalidEmail as exc:
        raise RightsRequestError(
            "Enter the family's email address in the correct format, like name@example.org",
            "guardian_email",
        ) from exc
    guardian = session.scalars(
        select(Guardian)
        .join(
            GuardianLink,
            and_(GuardianLink.guardian_id == Guardian.id, GuardianLink.school_id == school_id),
        )
        .where(Guardian.email == email)
        .limit(1)
    ).first()
    if guardian is None:
        raise RightsRequestError(
            "No parent or carer of this school has that email address. Leave it empty if the"
            " family is not in the portal.",
            "guardian_email",
        )
    return guardian


def log(
    staff_user_id: int,
    *,
    received_on: date | None,
    channel: str,
    requester_name: str,
    requester_contact: str,
    kind: str,
    details: str,
    guardian_email: str = "",
    now: datetime | None = None,
) -> RightsRequest:
    """A request that came to the school another way, logged by an admin with the day it was
    received: not in the future, not more than a year ago. The family, when it is in the
    portal, is found by email address among the school's contacts and gets a receipt."""
    now = now or utcnow()
    today = today_in_london(now)
    if received_on is None:
        raise RightsRequestError("Enter the date the school received the request", "received_on")
    if received_on > today:
        raise RightsRequestError("The date received cannot be in the future", "received_on")
    if received_on < today - timedelta(days=OLDEST_RECEIVED_DAYS):
        raise RightsRequestError(
            "The date received must be within the last year: check the year", "received_on"
        )
    if channel not in LOGGED_CHANNELS:
        raise RightsRequestError("Choose how the request came", "channel")
    kind = _kind(kind)
    name = check_line(
        requester_name, field="requester_name", label="the name of the person asking",
        limit=MAX_NAME, required=True,
    )  # fmt: skip
    contact = check_line(
        requester_contact, field="requester_contact", label="how to reach them",
        limit=MAX_CONTACT, required=True,
    )  # fmt: skip
    details = check_text(
        details, field="details", label="what they asked for", limit=MAX_DETAILS, required=True
    )
    with writing() as session:
        staff = active_admin(session, staff_user_id)
        guardian = (
            guardian_by_email(session, staff.school_id, guardian_email)
            if guardian_email.strip()
            else None
        )
        request = _new(
            session,
            school_id=staff.school_id,
            guardian_id=guardian.id if guardian else None,
            requester_name=name,
            requester_contact=contact,
            kind=kind,
            details=details,
            channel=channel,
            received_on=received_on,
            now=now,
            created_by_id=staff.id,
        )
        record_change(
            session,
            request,
            "logged",
            at=now,
            staff_user_id=staff.id,
            detail={
                "kind": kind,
                "channel": channel,
                "received_on": received_on.isoformat(),
                "due_on": request.due_on.isoformat(),
                "guardian_id": request.guardian_id,
            },
        )
        emails.tell_family(session, request, "received", now=now)
    return request
