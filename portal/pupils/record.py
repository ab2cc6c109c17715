"""A pupil's record: every purpose's effective status with *why* (each guardian's latest
decision, when, through which channel, recorded by whom), and the child's full ledger
history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select

from .. import consent, paper, references
from ..errors import NotFound
from ..extensions import db
from ..models import (
    ActorType,
    Choice,
    ConsentEvent,
    Guardian,
    GuardianLink,
    Pupil,
    Purpose,
    PurposeVersion,
    School,
    SchoolContact,
    Scope,
    StaffUser,
)
from ..purposes import lookup as purposes_lookup
from ..queries import wording_at_event
from ..types import utcnow


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
    refusal: consent.Refusal | None = None  # the pupil's own, when it stands (biometric)


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
    hash: str  # in full: the record shows it one click away from the reference
    reference: str  # portal/references.py: what a family reads out, like RP-1042-7F3A
    # The language of the wording the guardian read online, when it is not English.
    language: str | None = None


@dataclass(frozen=True)
class PupilRecord:
    pupil: Pupil
    contacts: list[Contact]
    purposes: list[PurposeStatus]  # active per-child purposes that offer a choice
    information: list[Purpose]  # active per-child purposes for information only
    history: list[HistoryEntry]  # every event about the pupil, newest first
    # Each guardian with parental responsibility's slip: their own standing answers.
    slips: paper.Grid | None = None

    @property
    def responsible(self) -> list[Contact]:
        return [c for c in self.contacts if c.parental_responsibility]

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
        select(GuardianLink, Guardian, SchoolContact.forename, SchoolContact.surname)
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .outerjoin(SchoolContact, _school_contact(GuardianLink))
        .where(
            GuardianLink.school_id == school_id,
            GuardianLink.pupil_id == pupil_id,
            GuardianLink.ended_at.is_(None),
        )
        .order_by(
            GuardianLink.parental_responsibility.desc(),
            SchoolContact.surname,
            SchoolContact.forename,
            Guardian.id,
        )
    ).all()
    return [
        Contact(
            guardian_id=guardian.id,
            name=_name(forename, surname),
            email=guardian.email,
            relationship=link.relationship_label or "",
            parental_responsibility=link.parental_responsibility,
        )
        for link, guardian, forename, surname in rows
    ]


def _school_contact(row: type[GuardianLink] | type[ConsentEvent]) -> ColumnElement[bool]:
    """The name the row's school holds for the row's guardian (docs/architecture.md,
    "Contacts and names")."""
    return and_(
        SchoolContact.school_id == row.school_id, SchoolContact.guardian_id == row.guardian_id
    )


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
            ConsentEvent.language,
            SchoolContact.forename,
            SchoolContact.surname,
            func.coalesce(PurposeVersion.title, Purpose.title).label("purpose"),
            StaffUser.name.label("staff_name"),
            StaffUser.email.label("staff_email"),
            School.slug.label("school_slug"),
        )
        .join(School, School.id == ConsentEvent.school_id)
        .outerjoin(SchoolContact, _school_contact(ConsentEvent))
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
                reference=references.reference(row.school_slug, row.seq, row.hash),
                language=row.language if row.language and row.language != "en" else None,
            )
        )
    return entries


def per_child_purposes(school_id: int) -> list[Purpose]:
    """The school's active per-child purposes, in page order."""
    return purposes_lookup.active_where(school_id, Purpose.scope == Scope.PUPIL.value)


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
        statuses.append(PurposeStatus(purpose, status.status, status.conflict, why, status.refusal))
    return PupilRecord(
        pupil=pupil,
        contacts=found_contacts,
        purposes=statuses,
        information=[p for p in purposes if p.choice == Choice.NONE],
        history=events,
        slips=paper.pupil_grid(school_id, pupil.id, now=now),
    )
