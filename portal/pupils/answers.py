"""Recording an answer a guardian gave on paper, by phone or by email, as a ledger event
whose actor is the staff user who took it down; or one guardian's whole slip (every choice
at once) through `portal.paper`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from .. import ledger, paper
from ..errors import NotFound, PortalError
from ..extensions import db
from ..ledger import Actor
from ..models import Channel, Choice, ConsentEvent, GuardianLink, Purpose, Scope, StaffUser
from .record import get_pupil

MAX_NOTE = 1000
# Staff take down what was said on paper, by phone or by email; the web is the guardian's own.
STAFF_CHANNELS = (Channel.PAPER.value, Channel.PHONE.value, Channel.EMAIL.value)


class AnswerProblem(PortalError):
    """An answer that cannot be recorded as given: `problems` maps each form field (guardian,
    purpose, decision, channel, note) to what is wrong. Nothing was written."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


DECISION_HINTS = {
    Choice.CONSENT.value: "For a choice that needs consent, record yes or no",
    Choice.OBJECTION.value: "For a choice the school makes unless someone objects, record an "
    "objection or the withdrawal of one",
}


def record_answer(
    staff_user_id: int,
    pupil_id: int,
    guardian_id: int,
    purpose_id: int,
    decision: str,
    channel: str,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> ConsentEvent:
    """Record a decision a guardian gave on paper, by phone or by email, as a ledger event whose
    actor is the staff user, at the staff user's school.

    NotFound (nothing written) for a pupil, purpose or guardian that is not of the staff
    user's school; AnswerProblem for what the form got wrong (a contact without parental
    responsibility, a purpose without a choice, a decision that does not fit, a channel other
    than paper, phone or email, a note over MAX_NOTE characters); LedgerError for anything
    else the ledger refuses.
    """
    staff = db.session.get(StaffUser, staff_user_id)
    if staff is None or not staff.active:
        raise NotFound("no such staff user")
    school_id = staff.school_id
    pupil = get_pupil(school_id, pupil_id)
    purpose = db.session.scalars(
        select(Purpose).where(Purpose.id == purpose_id, Purpose.school_id == school_id)
    ).first()
    if purpose is None:
        raise NotFound("no such purpose")
    links = {
        link.pupil_id: link
        for link in db.session.scalars(
            select(GuardianLink).where(
                GuardianLink.school_id == school_id, GuardianLink.guardian_id == guardian_id
            )
        )
    }
    if not links:
        raise NotFound("no such guardian")

    problems: dict[str, str] = {}
    link = links.get(pupil.id)
    if link is None or link.ended_at is not None:
        problems["guardian"] = f"That person is not a contact of {pupil.forename}"
    elif not link.parental_responsibility:
        problems["guardian"] = (
            f"That person does not have parental responsibility for {pupil.forename}, "
            "so cannot decide"
        )
    allowed = ledger.allowed_decisions(purpose) - ledger.OUTCOMES  # outcomes: an admin, online
    if not purpose.active:
        problems["purpose"] = f"{purpose.title} is no longer in use at the school"
    elif purpose.scope != Scope.PUPIL or purpose.choice == Choice.NONE:
        problems["purpose"] = f"{purpose.title} is not a choice made for each child"
    elif decision not in allowed:
        problems["decision"] = DECISION_HINTS.get(purpose.choice, "Choose an answer")
    if channel not in STAFF_CHANNELS:
        problems["channel"] = "Choose how the answer was given: paper, phone or email"
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        problems["note"] = f"The note must be {MAX_NOTE} characters or fewer"
    if problems:
        raise AnswerProblem(problems)

    return ledger.record(
        actor=Actor.staff(staff.id),
        guardian=guardian_id,
        pupil=pupil.id,
        purpose=purpose.id,
        decision=decision,
        channel=channel,
        note=note,
        now=now,
    )


def record_slip(
    staff_user_id: int,
    pupil_id: int,
    guardian_id: int,
    answers: Mapping[str, str],
    *,
    as_of: int,
    channel: str,
    note: str | None = None,
    now: datetime | None = None,
) -> paper.Recorded:
    """Record one guardian's whole slip for one pupil: every choice at once, each changed
    answer one ledger event by the staff user (`paper.record_answers`, whose rules apply).
    NotFound for a pupil of another school, and for a cell that is not this guardian's about
    this pupil (or about themself): a slip is one person's answers for one child."""
    staff = db.session.get(StaffUser, staff_user_id)
    if staff is None or not staff.active:
        raise NotFound("no such staff user")
    pupil = get_pupil(staff.school_id, pupil_id)
    mine = (f"c-{pupil.id}-{guardian_id}-", f"p-{guardian_id}-")
    for key in answers:
        if not key.startswith(mine) or key.count("-") != (3 if key.startswith("c-") else 2):
            raise NotFound("not a cell of this slip")
    return paper.record_answers(
        staff_user_id, answers, as_of=as_of, channel=channel, note=note, now=now
    )
