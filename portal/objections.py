"""Objection review: an objection to something the school does as a public task or in its
legitimate interests stops it for that child at once, and the school must look at it and
tell the family the outcome (docs/follow-through.md, "Objection review").

- When a guardian objects (any channel), `on_append` (a ledger subscriber, `portal.wiring`)
  emails the school's admins in the append's transaction, with the date the review is due:
  one calendar month from the objection, by the same rule as a rights request
  (`deadlines.due_date`).
- Meanwhile the consent rules give `under_review`: the child is never publishable for it.
- An admin records the outcome (`record_outcome`): **upheld** (it stays stopped for the child)
  or **not upheld**, with the compelling grounds written for the family. The outcome is a
  ledger event recorded by that staff user, on the objection axis of the guardian who
  objected, naming the objection it answers (`answers_seq`); its note is the reasons, kept
  as a salted commitment in the chain (format 2). In the same transaction the guardian is
  emailed the outcome, the reasons and their right to complain to the ICO, in the language
  they read (the admins' email is English).
- A guardian may object again later: a new objection is a new review.

The objection to direct marketing is absolute and never reviewed: it is not handled here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from . import deadlines, holidays, languages, ledger, todo
from .errors import NotFound, PortalError
from .extensions import db
from .mail import outbox
from .models import (
    Choice,
    ConsentEvent,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    Pupil,
    Purpose,
    Role,
    School,
    SchoolContact,
    StaffUser,
)
from .text import multi_line_problem
from .types import london_date, uk_date

REVIEW_TEMPLATE = "objection_review"
REVIEW_SUBJECT = "An objection to review by {due} ({school_name})"
OUTCOME_TEMPLATE = "objection_outcome"
OUTCOME_SUBJECT = "{subject}"
MAX_REASONS = 2000
ICO_COMPLAINTS = "https://ico.org.uk/make-a-complaint/"


class OutcomeRefused(PortalError):
    """An outcome that cannot be recorded (no reasons, or the objection is no longer open)."""


def reviewed(purpose: Purpose | Any) -> bool:
    """Is an objection to this purpose reviewed by the school? Yes for an objection purpose
    (public task, legitimate interests); never for direct marketing, which is absolute."""
    return purpose.choice == Choice.OBJECTION and not purpose.marketing


def due_on(objected_at: datetime, days_off: frozenset[date] | None = None) -> date:
    """The last day to answer an objection made at `objected_at`: one calendar month, the
    day it was made being day one, moved to the next working day (`deadlines.due_date`)."""
    received = london_date(objected_at)
    return deadlines.due_date(
        received, holidays=holidays.in_force() if days_off is None else days_off
    )


@dataclass(frozen=True)
class Objection:
    """One objection, open or answered."""

    seq: int
    school_id: int
    guardian_id: int
    guardian_name: str
    pupil_id: int | None
    pupil_name: str
    class_name: str
    purpose_id: int
    purpose_title: str
    objected_at: datetime
    channel: str
    reasons: str | None  # what the family wrote, when they did
    due_on: date
    # The outcome, once recorded (from the event that answers it).
    outcome: str | None = None
    outcome_at: datetime | None = None
    outcome_reasons: str | None = None
    outcome_by: str | None = None

    @property
    def open(self) -> bool:
        return self.outcome is None

    @property
    def subject(self) -> str:
        return self.pupil_name or self.guardian_name


def _contact_name(forename: str | None, surname: str | None) -> str:
    return f"{forename or ''} {surname or ''}".strip() or "A parent or carer"


def _objection_query() -> Any:
    outcome = aliased(ConsentEvent)
    return (
        select(
            ConsentEvent,
            Purpose.title,
            Pupil.forename,
            Pupil.surname,
            Pupil.class_name,
            SchoolContact.forename.label("contact_forename"),
            SchoolContact.surname.label("contact_surname"),
            outcome.decision.label("outcome"),
            outcome.occurred_at.label("outcome_at"),
            outcome.note.label("outcome_note"),
            StaffUser.name.label("outcome_by"),
            StaffUser.email.label("outcome_by_email"),
        )
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(Pupil, Pupil.id == ConsentEvent.pupil_id)
        .outerjoin(
            SchoolContact,
            and_(
                SchoolContact.school_id == ConsentEvent.school_id,
                SchoolContact.guardian_id == ConsentEvent.guardian_id,
            ),
        )
        .outerjoin(
            outcome,
            and_(
                outcome.school_id == ConsentEvent.school_id,
                outcome.answers_seq == ConsentEvent.seq,
            ),
        )
        .outerjoin(StaffUser, StaffUser.id == outcome.actor_id)
        .where(
            ConsentEvent.decision == Decision.OBJECT.value,
            Purpose.choice == Choice.OBJECTION.value,
            Purpose.marketing.is_(False),
        )
    )


def _objection(row: Any, days_off: frozenset[date]) -> Objection:
    event: ConsentEvent = row[0]
    return Objection(
        seq=event.seq,
        school_id=event.school_id,
        guardian_id=event.guardian_id,
        guardian_name=_contact_name(row.contact_forename, row.contact_surname),
        pupil_id=event.pupil_id,
        pupil_name=f"{row.forename} {row.surname}" if row.forename is not None else "",
        class_name=row.class_name or "",
        purpose_id=event.purpose_id,
        purpose_title=row.title,
        objected_at=event.occurred_at,
        channel=event.channel,
        reasons=event.note,
        due_on=due_on(event.occurred_at, days_off),
        outcome=row.outcome,
        outcome_at=row.outcome_at,
        outcome_reasons=row.outcome_note,
        outcome_by=(row.outcome_by or row.outcome_by_email) if row.outcome else None,
    )


def open_objections(school_id: int) -> list[Objection]:
    """Objections awaiting the school's outcome, oldest first: each guardian's objection that
    stands (their latest decision on the objection axis for that child and purpose)."""
    standing = (
        select(CurrentDecision.seq)
        .where(
            CurrentDecision.school_id == school_id,
            CurrentDecision.axis == DecisionAxis.OBJECTION.value,
            CurrentDecision.decision == Decision.OBJECT.value,
        )
        .scalar_subquery()
    )
    days_off = holidays.in_force()
    rows = db.session.execute(
        _objection_query()
        .where(ConsentEvent.school_id == school_id, ConsentEvent.seq.in_(standing))
        .order_by(ConsentEvent.seq)
    )
    return [_objection(row, days_off) for row in rows]


def answered_objections(school_id: int, limit: int = 20) -> list[Objection]:
    """The objections most recently answered, newest outcome first."""
    days_off = holidays.in_force()
    outcome = aliased(ConsentEvent)
    answered = (
        select(outcome.answers_seq)
        .where(outcome.school_id == school_id, outcome.answers_seq.is_not(None))
        .order_by(outcome.seq.desc())
        .limit(limit)
        .scalar_subquery()
    )
    rows = db.session.execute(
        _objection_query()
        .where(ConsentEvent.school_id == school_id, ConsentEvent.seq.in_(answered))
        .order_by(ConsentEvent.seq.desc())
    )
    return [_objection(row, days_off) for row in rows]


def get_objection(school_id: int, seq: int) -> Objection:
    """One objection of one school, open or answered; NotFound otherwise."""
    row = db.session.execute(
        _objection_query().where(ConsentEvent.school_id == school_id, ConsentEvent.seq == seq)
    ).first()
    if row is None:
        raise NotFound("no such objection")
    found = _objection(row, holidays.in_force())
    if found.outcome is None:
        # Lifted or made again since: no longer the one to answer.
        standing = db.session.scalar(
            select(CurrentDecision.seq).where(
                CurrentDecision.school_id == school_id,
                CurrentDecision.guardian_id == found.guardian_id,
                CurrentDecision.purpose_id == found.purpose_id,
                CurrentDecision.axis == DecisionAxis.OBJECTION.value,
                CurrentDecision.pupil_id == found.pupil_id
                if found.pupil_id is not None
                else CurrentDecision.pupil_id.is_(None),
            )
        )
        if standing != seq:
            return replace(found, outcome="superseded")
    return found


def reasons_problem(upheld: bool, reasons: str) -> str | None:
    """What is wrong with the reasons, in words for the admin, or None."""
    if not upheld and not reasons:
        return "Write the compelling grounds for going ahead: the family will read them"
    if len(reasons) > MAX_REASONS:
        return f"The reasons must be {MAX_REASONS:,} characters or fewer"
    problem = multi_line_problem(reasons)
    return f"The reasons {problem}" if problem else None


def record_outcome(
    staff_user_id: int, school_id: int, seq: int, *, upheld: bool, reasons: str
) -> ConsentEvent:
    """Record the school's outcome of objection `seq` (an admin's), and email the guardian
    who objected, in one transaction."""
    reasons = reasons.strip()
    problem = reasons_problem(upheld, reasons)
    if problem:
        raise OutcomeRefused(problem)
    objection = get_objection(school_id, seq)
    if not objection.open:
        raise OutcomeRefused("This objection has already been answered, lifted or made again.")
    staff = db.session.get(StaffUser, staff_user_id)
    if staff is None or staff.school_id != school_id or staff.role != Role.ADMIN:
        raise NotFound("only an admin of the school records an outcome")

    def tell_the_family(session: Session, events: list[ConsentEvent]) -> None:
        guardian = session.get(Guardian, objection.guardian_id)
        if guardian is None or not guardian.email:
            return  # paper only: the school tells them another way (the page says so)
        outbox.enqueue(
            to_address=guardian.email,
            template=OUTCOME_TEMPLATE,
            payload={"school_id": school_id, "seq": events[0].seq},
            school_id=school_id,
            dedupe_key=f"objection-outcome:{school_id}:{events[0].seq}",
            now=events[0].occurred_at,
        )

    try:
        return ledger.record(
            actor=ledger.Actor.staff(staff_user_id),
            guardian=objection.guardian_id,
            pupil=objection.pupil_id,
            purpose=objection.purpose_id,
            decision=Decision.UPHELD if upheld else Decision.NOT_UPHELD,
            channel="web",
            note=reasons or None,
            answers_seq=seq,
            before_commit=tell_the_family,
        )
    except ledger.LedgerError as error:
        raise OutcomeRefused(
            "This objection has already been answered, lifted or made again."
            if "no longer open" in str(error)
            else str(error)
        ) from error


# --- the admins' email, when a family objects --------------------------------------------------


def on_append(session: Session, events: list[ConsentEvent]) -> None:
    """Ledger subscriber: each objection that the school must review emails its admins."""
    for event in events:
        if event.decision != Decision.OBJECT:
            continue
        purpose = session.get(Purpose, event.purpose_id)
        if purpose is None or not reviewed(purpose):
            continue
        admins = session.scalars(
            select(StaffUser).where(
                StaffUser.school_id == event.school_id,
                StaffUser.role == Role.ADMIN.value,
                StaffUser.active.is_(True),
            )
        ).all()
        for admin in admins:
            outbox.enqueue(
                to_address=admin.email,
                template=REVIEW_TEMPLATE,
                payload={"school_id": event.school_id, "seq": event.seq},
                school_id=event.school_id,
                dedupe_key=f"objection-review:{event.school_id}:{event.seq}:{admin.id}",
                now=event.occurred_at,
            )


def _base_url() -> str:
    return str(current_app.config["BASE_URL"])


def review_email_context(
    payload: dict[str, Any], now: datetime
) -> tuple[dict[str, Any] | None, str]:
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    try:
        objection = get_objection(school.id, int(payload["seq"]))
    except NotFound:
        return None, "the objection is not found"
    if not objection.open:
        return None, "not sent: the objection was answered or lifted before it could be sent"
    return {
        "school_name": school.name,
        "due": uk_date(objection.due_on),
        "objection": objection,
        "review_url": f"{_base_url()}/staff/objections/{objection.seq}",
        "sign_in_url": f"{_base_url()}/sign-in",
    }, ""


def outcome_email_language(payload: dict[str, Any]) -> str | None:
    """The language of the guardian whose objection the outcome answers (None: English)."""
    guardian_id = db.session.scalar(
        select(ConsentEvent.guardian_id).where(
            ConsentEvent.school_id == int(payload["school_id"]),
            ConsentEvent.seq == int(payload["seq"]),
        )
    )
    return languages.of_guardian(guardian_id)


def outcome_email_context(
    payload: dict[str, Any], now: datetime
) -> tuple[dict[str, Any] | None, str]:
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    event = db.session.scalar(
        select(ConsentEvent).where(
            ConsentEvent.school_id == school.id, ConsentEvent.seq == int(payload["seq"])
        )
    )
    if event is None or event.answers_seq is None:
        return None, "the outcome is not found"
    objection = get_objection(school.id, event.answers_seq)
    child = None
    if objection.pupil_id is not None:
        pupil = db.session.get(Pupil, objection.pupil_id)
        child = pupil.forename if pupil is not None else None
    return {
        "subject": _("The outcome of your objection (%(school)s)", school=school.name),
        "school_name": school.name,
        "school": school,
        "upheld": event.decision == Decision.UPHELD,
        "objection": objection,
        "child": child,
        "reasons": event.note,
        "ico_url": ICO_COMPLAINTS,
        "family_url": f"{_base_url()}/family",
    }, ""


# --- things to do --------------------------------------------------------------------------------


def todo_items(school_id: int, today: date, role: str) -> Sequence[todo.Item]:
    """Objections to review, for admins (who record outcomes)."""
    if role != Role.ADMIN:
        return []
    return [
        todo.Item(
            kind="objection",
            title=f"Review {o.guardian_name}'s objection: {o.purpose_title}",
            opened_on=london_date(o.objected_at),
            endpoint="staff.objection",
            values={"seq": o.seq},
            due_on=o.due_on,
            detail=o.pupil_name + (f" ({o.class_name})" if o.class_name else ""),
        )
        for o in open_objections(school_id)
    ]
