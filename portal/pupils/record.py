"""Pupil records for staff: find a pupil, show every purpose's effective status with *why*
(each guardian's latest decision, when, through which channel, recorded by whom) and the
child's full ledger history, and record an answer a guardian gave on paper, by phone or by
email.

No Flask request state: every function takes the staff user's school (or the staff user's
id) and scopes every query by it. A pupil, guardian or purpose of another school raises
`NotFound`, so that a view answers 404 whether the thing does not exist or is not theirs.
Staff see the names and email addresses of their own school's contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from . import consent, ledger
from .errors import NotFound, PortalError
from .extensions import db
from .ledger import Actor
from .models import (
    ActorType,
    Channel,
    Choice,
    ConsentEvent,
    Guardian,
    GuardianLink,
    Pupil,
    Purpose,
    PurposeVersion,
    Scope,
    StaffUser,
)
from .queries import wording_at_event
from .types import utcnow

MAX_NOTE = 1000
MAX_QUERY = 100
RESULTS_LIMIT = 100
STAFF_CHANNELS = (Channel.PAPER.value, Channel.PHONE.value, Channel.EMAIL.value)


# --- finding a pupil -----------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    query: str
    class_name: str
    pupils: list[Pupil]
    total: int  # how many match; at most RESULTS_LIMIT are in `pupils`

    @property
    def truncated(self) -> bool:
        return self.total > len(self.pupils)


def class_names(school_id: int) -> list[str]:
    """The school's classes (of pupils on roll), in order."""
    return list(
        db.session.scalars(
            select(Pupil.class_name)
            .where(Pupil.school_id == school_id, Pupil.on_roll.is_(True))
            .distinct()
            .order_by(Pupil.class_name)
        )
    )


def find_pupils(
    school_id: int, *, query: str = "", class_name: str = "", limit: int = RESULTS_LIMIT
) -> Search:
    """The school's pupils whose names contain every word of `query` (or whose MIS id is one
    of them), in `class_name` when given; on roll first, then by name. One query (two when
    `limit` is 0 and some match)."""
    query = " ".join((query or "").split())[:MAX_QUERY]
    class_name = (class_name or "").strip()
    where = [Pupil.school_id == school_id]
    for word in query.split(" ") if query else []:
        where.append(
            or_(
                Pupil.forename.icontains(word, autoescape=True),
                Pupil.surname.icontains(word, autoescape=True),
                Pupil.mis_id == word,
            )
        )
    if class_name:
        where.append(Pupil.class_name == class_name)
    # The count of every match comes with the first `limit` of them (a window function is
    # computed before the LIMIT).
    rows = db.session.execute(
        select(Pupil, func.count().over().label("total"))
        .where(*where)
        .order_by(Pupil.on_roll.desc(), Pupil.surname, Pupil.forename, Pupil.id)
        .limit(limit)
    ).all()
    pupils = [row[0] for row in rows]
    if rows:
        total = int(rows[0].total)
    elif limit > 0:
        total = 0  # no row at all: nothing matches
    else:
        total = db.session.scalar(select(func.count()).select_from(Pupil).where(*where)) or 0
    return Search(query, class_name, pupils, total)


# --- a pupil's record ----------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """A current contact of the pupil, as the school's roster records them."""

    guardian_id: int
    name: str
    email: str | None
    relationship: str
    parental_responsibility: bool  # only those with it can decide


@dataclass(frozen=True)
class Why:
    """One guardian with parental responsibility and their latest decision (if any) on the
    axis that matters for a purpose."""

    contact: Contact
    decision: str | None
    decided_at: datetime | None
    channel: str | None
    recorded_by: str | None  # the guardian online, or the staff user who took it down
    seq: int | None
    lapsed: bool  # a "yes" that needs renewing (older wording or past its renewal period)


@dataclass(frozen=True)
class PurposeStatus:
    purpose: Purpose
    status: consent.Status
    conflict: bool  # the guardians' latest decisions differ
    guardians: list[Why]

    @property
    def permits(self) -> bool:
        return self.status in consent.PERMITTING


@dataclass(frozen=True)
class HistoryEntry:
    """One ledger event about the pupil."""

    occurred_at: datetime
    guardian_id: int
    guardian: str
    purpose: str  # the purpose's title in the wording version decided on
    purpose_version: int
    decision: str
    channel: str
    actor_type: str
    actor: str  # who recorded it
    note: str | None
    seq: int
    hash: str

    @property
    def hash_prefix(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True)
class PupilRecord:
    pupil: Pupil
    contacts: list[Contact]
    purposes: list[PurposeStatus]  # active per-child purposes that offer a choice
    information: list[Purpose]  # active per-child purposes for information only
    history: list[HistoryEntry]  # every event about the pupil, newest first

    @property
    def responsible(self) -> list[Contact]:
        return [c for c in self.contacts if c.parental_responsibility]

    @property
    def without_responsibility(self) -> list[Contact]:
        return [c for c in self.contacts if not c.parental_responsibility]

    def contact(self, guardian_id: int) -> Contact | None:
        return next((c for c in self.contacts if c.guardian_id == guardian_id), None)

    def purpose(self, purpose_id: int) -> Purpose | None:
        return next((s.purpose for s in self.purposes if s.purpose.id == purpose_id), None)


def _name(forename: str | None, surname: str | None) -> str:
    return f"{forename or ''} {surname or ''}".strip()


def get_pupil(school_id: int, pupil_id: int) -> Pupil:
    pupil = db.session.scalars(
        select(Pupil).where(Pupil.id == pupil_id, Pupil.school_id == school_id)
    ).first()
    if pupil is None:
        raise NotFound("no such pupil")
    return pupil


def contacts(school_id: int, pupil_id: int) -> list[Contact]:
    """The pupil's current contacts: those with parental responsibility first, then by name."""
    rows = db.session.execute(
        select(GuardianLink, Guardian)
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .where(
            GuardianLink.school_id == school_id,
            GuardianLink.pupil_id == pupil_id,
            GuardianLink.ended_at.is_(None),
        )
        .order_by(
            GuardianLink.parental_responsibility.desc(),
            Guardian.surname,
            Guardian.forename,
            Guardian.id,
        )
    ).all()
    return [
        Contact(
            guardian_id=guardian.id,
            name=guardian.full_name.strip(),
            email=guardian.email,
            relationship=link.relationship_label or "",
            parental_responsibility=link.parental_responsibility,
        )
        for link, guardian in rows
    ]


def _actor(actor_type: str, guardian: str, staff_name: str | None, staff_email: str | None) -> str:
    if actor_type == ActorType.GUARDIAN:
        return f"{guardian}, online"
    if actor_type == ActorType.STAFF:
        return staff_name or staff_email or "a staff user"
    return "the portal"


def history(school_id: int, pupil_id: int) -> list[HistoryEntry]:
    """Every ledger event about this pupil, newest first. One query."""
    rows = db.session.execute(
        select(
            ConsentEvent.occurred_at,
            ConsentEvent.guardian_id,
            ConsentEvent.purpose_version,
            ConsentEvent.decision,
            ConsentEvent.channel,
            ConsentEvent.actor_type,
            ConsentEvent.note,
            ConsentEvent.seq,
            ConsentEvent.hash,
            Guardian.forename,
            Guardian.surname,
            func.coalesce(PurposeVersion.title, Purpose.title).label("purpose"),
            StaffUser.name.label("staff_name"),
            StaffUser.email.label("staff_email"),
        )
        .join(Guardian, Guardian.id == ConsentEvent.guardian_id)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(
            PurposeVersion,
            wording_at_event(),
        )
        .outerjoin(
            StaffUser,
            and_(
                ConsentEvent.actor_type == ActorType.STAFF.value,
                StaffUser.id == ConsentEvent.actor_id,
                StaffUser.school_id == ConsentEvent.school_id,
            ),
        )
        .where(ConsentEvent.school_id == school_id, ConsentEvent.pupil_id == pupil_id)
        .order_by(ConsentEvent.seq.desc())
    ).all()
    entries = []
    for row in rows:
        guardian = _name(row.forename, row.surname)
        entries.append(
            HistoryEntry(
                occurred_at=row.occurred_at,
                guardian_id=row.guardian_id,
                guardian=guardian,
                purpose=row.purpose,
                purpose_version=row.purpose_version,
                decision=row.decision,
                channel=row.channel,
                actor_type=row.actor_type,
                actor=_actor(row.actor_type, guardian, row.staff_name, row.staff_email),
                note=row.note,
                seq=row.seq,
                hash=row.hash,
            )
        )
    return entries


def per_child_purposes(school_id: int) -> list[Purpose]:
    """The school's active per-child purposes, in page order."""
    return list(
        db.session.scalars(
            select(Purpose)
            .where(
                Purpose.school_id == school_id,
                Purpose.active.is_(True),
                Purpose.scope == Scope.PUPIL.value,
            )
            .order_by(Purpose.position, Purpose.id)
        )
    )


def pupil_record(school_id: int, pupil_id: int, *, now: datetime | None = None) -> PupilRecord:
    """A pupil of this school with every purpose's status and why, and their history.
    NotFound for another school's pupil. A fixed number of queries."""
    now = now or utcnow()
    pupil = get_pupil(school_id, pupil_id)
    found_contacts = contacts(school_id, pupil.id)
    by_guardian = {c.guardian_id: c for c in found_contacts}
    events = history(school_id, pupil.id)
    by_seq = {entry.seq: entry for entry in events}
    purposes = per_child_purposes(school_id)
    chosen = [p for p in purposes if p.choice != Choice.NONE]
    found = consent.statuses([pupil.id], chosen, school_id=school_id, now=now)
    statuses = []
    for purpose in chosen:
        status = found[(pupil.id, purpose.id)]
        why = []
        for view in status.guardians:
            contact = by_guardian.get(view.guardian_id) or Contact(
                view.guardian_id, view.name, None, "", True
            )
            entry = by_seq.get(view.seq) if view.seq is not None else None
            why.append(
                Why(
                    contact=contact,
                    decision=view.decision,
                    decided_at=view.decided_at,
                    channel=view.channel,
                    recorded_by=entry.actor if entry else None,
                    seq=view.seq,
                    lapsed=view.lapsed,
                )
            )
        statuses.append(PurposeStatus(purpose, status.status, status.conflict, why))
    return PupilRecord(
        pupil=pupil,
        contacts=found_contacts,
        purposes=statuses,
        information=[p for p in purposes if p.choice == Choice.NONE],
        history=events,
    )


# --- recording an answer given on paper, by phone or by email -------------------------------


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
    allowed = ledger.allowed_decisions(purpose)
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
