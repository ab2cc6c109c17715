"""The family's file: everything the portal holds about one family at one school, built by an
admin for an access request (`build`). One school only: another school's links, decisions,
emails and requests are never read.

It holds the guardian's email address and the name this school holds for them; their children
at the school (every link the roster made, current or ended); every decision in the school's
ledger made by the guardian or about those children, with the purpose's wording at the version
decided on and the notice version (a decision by another person with parental responsibility
is shown without naming them: "another parent or carer"); the emails the portal sent or will
send them from this school; and their rights requests here with every change. The page is
printable; the same content downloads as JSON. Each build is written to the audit log and to
the request's history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from .. import audit_log
from ..database import writing
from ..errors import NotFound
from ..extensions import db
from ..models import (
    ActorType,
    ConsentEvent,
    Guardian,
    GuardianLink,
    NoticeVersion,
    OutboxMessage,
    Pupil,
    Purpose,
    PurposeVersion,
    RightsKind,
    RightsRequest,
    School,
    SchoolContact,
)
from ..queries import wording_at_event
from ..types import LONDON, utcnow
from .core import (
    CHANNEL_WORDS,
    KIND_WORDS,
    STATUS_WORDS,
    RightsRequestError,
    active_admin,
    day_words,
    record_change,
    reference,
)
from .reading import ACTION_WORDS, changes_of

FORMATS = ("page", "json")
EMAIL_WORDS = {
    "sign_in": "Sign-in link",
    "receipt": "Receipt of your choices",
    "invitation": "Invitation to the portal",
    "rights_request_family": "About your rights request",
}
DECISION_WORDS = {
    "grant": "Yes (agreed)",
    "withdraw": "No (said no, or withdrew agreement)",
    "object": "Objected",
    "lift_objection": "Withdrew the objection",
    "upheld": "The school upheld the objection",
    "not_upheld": "The school did not uphold the objection",
}


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{local.day} {local:%B %Y} {local:%H:%M}"


@dataclass(frozen=True)
class Child:
    name: str
    class_name: str
    year_group: str
    relationship: str
    parental_responsibility: bool
    on_roll: bool
    left_on: str
    link_ended: str


@dataclass(frozen=True)
class DecisionLine:
    seq: int
    occurred: str
    child: str
    purpose: str
    wording: str
    purpose_version: int
    notice_version: int | None
    notice_title: str
    decision: str
    channel: str
    by: str
    note: str
    hash: str


@dataclass(frozen=True)
class EmailLine:
    what: str
    to: str
    queued: str
    sent: str


@dataclass(frozen=True)
class RequestLine:
    reference: str
    kind: str
    received: str
    due: str
    status: str
    channel: str
    details: str
    outcome: str
    history: list[dict[str, str]]


@dataclass(frozen=True)
class FamilyFile:
    school: str
    built_at: str
    for_request: str
    email: str
    name: str
    children: list[Child]
    decisions: list[DecisionLine]
    emails: list[EmailLine]
    requests: list[RequestLine]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _children(school_id: int, guardian_id: int) -> tuple[list[int], list[Child]]:
    rows = db.session.execute(
        select(GuardianLink, Pupil)
        .join(Pupil, and_(Pupil.id == GuardianLink.pupil_id, Pupil.school_id == school_id))
        .where(GuardianLink.guardian_id == guardian_id, GuardianLink.school_id == school_id)
        .order_by(Pupil.forename, Pupil.surname, Pupil.id)
    ).all()
    ids = [pupil.id for _link, pupil in rows]
    return ids, [
        Child(
            name="(erased)" if pupil.erased_at else pupil.full_name,
            class_name=pupil.class_name,
            year_group=pupil.year_group,
            relationship=link.relationship_label,
            parental_responsibility=link.parental_responsibility,
            on_roll=pupil.on_roll,
            left_on=day_words(pupil.left_on),
            link_ended=_when(link.ended_at),
        )
        for link, pupil in rows
    ]


def _decisions(school_id: int, guardian_id: int, pupil_ids: list[int]) -> list[DecisionLine]:
    about = ConsentEvent.guardian_id == guardian_id
    if pupil_ids:
        about = or_(about, ConsentEvent.pupil_id.in_(pupil_ids))
    rows = db.session.execute(
        select(
            ConsentEvent,
            Pupil.forename,
            Pupil.surname,
            func.coalesce(PurposeVersion.title, Purpose.title).label("title"),
            PurposeVersion.description,
            NoticeVersion.title.label("notice_title"),
        )
        .join(Purpose, and_(Purpose.id == ConsentEvent.purpose_id, Purpose.school_id == school_id))
        .outerjoin(PurposeVersion, wording_at_event())
        .outerjoin(Pupil, Pupil.id == ConsentEvent.pupil_id)
        .outerjoin(
            NoticeVersion,
            and_(
                NoticeVersion.school_id == ConsentEvent.school_id,
                NoticeVersion.version == ConsentEvent.notice_version,
            ),
        )
        .where(ConsentEvent.school_id == school_id, about)
        .order_by(ConsentEvent.seq)
    ).all()
    lines = []
    for event, forename, surname, title, description, notice_title in rows:
        if event.guardian_id != guardian_id:
            by = "another parent or carer"
        elif event.actor_type == ActorType.STAFF:
            by = f"school staff, for you ({event.channel})"
        elif event.actor_type == ActorType.SYSTEM:
            by = "the portal"
        else:
            by = "you"
        lines.append(
            DecisionLine(
                seq=event.seq,
                occurred=_when(event.occurred_at),
                child=f"{forename} {surname}" if forename else "",
                purpose=title,
                wording=description or "",
                purpose_version=event.purpose_version,
                notice_version=event.notice_version,
                notice_title=notice_title or "",
                decision=DECISION_WORDS.get(event.decision, event.decision),
                channel=event.channel,
                by=by,
                note=(event.note or "") if event.guardian_id == guardian_id else "",
                hash=event.hash,
            )
        )
    return lines


def _emails(school_id: int, email: str | None) -> list[EmailLine]:
    if not email:
        return []
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.school_id == school_id, OutboxMessage.to_address == email)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).all()
    return [
        EmailLine(
            what=EMAIL_WORDS.get(row.template, row.template),
            to=row.to_address,
            queued=_when(row.created_at),
            sent=_when(row.sent_at) or "not sent",
        )
        for row in rows
    ]


def _requests(school_id: int, guardian_id: int) -> list[RequestLine]:
    rows = db.session.scalars(
        select(RightsRequest)
        .where(RightsRequest.school_id == school_id, RightsRequest.guardian_id == guardian_id)
        .order_by(RightsRequest.received_on, RightsRequest.id)
    ).all()
    return [
        RequestLine(
            reference=reference(row.id),
            kind=str(KIND_WORDS[row.kind]),
            received=day_words(row.received_on),
            due=day_words(row.due_on),
            status=str(STATUS_WORDS[row.status]),
            channel=str(CHANNEL_WORDS.get(row.channel, row.channel)),
            details=row.details,
            outcome=row.outcome or "",
            history=[
                {
                    "when": _when(change.occurred_at),
                    "what": str(ACTION_WORDS.get(change.action, change.action)),
                    "detail": change.summary,
                }
                for change in changes_of(row.id, school_id, for_family=True)
            ],
        )
        for row in rows
    ]


def read(school_id: int, guardian_id: int, request_id: int, now: datetime) -> FamilyFile:
    """The file's content (no writing: `build` records it)."""
    school = db.session.get(School, school_id)
    guardian = db.session.get(Guardian, guardian_id)
    if school is None or guardian is None:
        raise NotFound("no such family")
    contact = db.session.scalars(
        select(SchoolContact).where(
            SchoolContact.school_id == school_id, SchoolContact.guardian_id == guardian_id
        )
    ).first()
    pupil_ids, children = _children(school_id, guardian_id)
    return FamilyFile(
        school=school.name,
        built_at=_when(now),
        for_request=reference(request_id),
        email=guardian.email or "",
        name=contact.full_name if contact is not None and contact.erased_at is None else "",
        children=children,
        decisions=_decisions(school_id, guardian_id, pupil_ids),
        emails=_emails(school_id, guardian.email),
        requests=_requests(school_id, guardian_id),
    )


def build(
    staff_user_id: int, request_id: int, *, as_format: str = "page", now: datetime | None = None
) -> FamilyFile:
    """Build the family's file for an access request of the admin's school, recording who
    built it, when and in which format (audit log and the request's history)."""
    now = now or utcnow()
    if as_format not in FORMATS:
        raise ValueError(f"unknown format {as_format}")
    with writing() as session:
        staff = active_admin(session, staff_user_id)
        request = session.scalars(
            select(RightsRequest).where(
                RightsRequest.id == request_id, RightsRequest.school_id == staff.school_id
            )
        ).first()
        if request is None:
            raise NotFound("no such rights request")
        if request.kind != RightsKind.ACCESS:
            raise RightsRequestError("The family's file is for access requests.")
        if request.guardian_id is None:
            raise RightsRequestError(
                "This request names no family in the portal, so there is no file to build."
                " Find what the school holds about the requester in its other systems."
            )
        guardian_id, school_id = request.guardian_id, request.school_id
        record_change(
            session, request, "file_built", at=now, staff_user_id=staff.id,
            detail={"format": as_format},
        )  # fmt: skip
        audit_log.record(
            staff,
            "rights_request.family_file",
            detail={"request_id": request_id, "guardian_id": guardian_id, "format": as_format},
            now=now,
        )
    return read(school_id, guardian_id, request_id, now)
