"""Matching the file to what the school has: its pupils by MIS id, its links, the names it
holds for its contacts, and the people the file names, by email (one guardian with children
in two classes or two schools is one person) or, for a contact without an email, by name
among the pupil's contacts.

What the school has is read in a few queries, before any row is applied, into plain records
(not ORM objects): the rows are then applied to the records in memory (`apply`), and what
changed is written in bulk (`write`). A record without an id is one the import adds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Guardian, GuardianLink, Pupil, School, SchoolContact
from .validate import Row

# Addresses looked up per query: one query of 10,000 takes a tenth of the time of twenty of
# 500 (within SQLite's and PostgreSQL's limits on parameters, 32,766 and 65,535).
BATCH = 10_000


@dataclass(slots=True, eq=False)
class PupilRecord:
    id: int | None
    mis_id: str
    forename: str
    surname: str
    year_group: str
    class_name: str
    on_roll: bool
    left_on: date | None
    changed: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"


@dataclass(slots=True, eq=False)
class GuardianRecord:
    id: int | None
    email: str | None


@dataclass(slots=True, eq=False)
class ContactRecord:
    """The name this school holds for a guardian."""

    id: int | None
    guardian: GuardianRecord
    forename: str
    surname: str
    changed: bool = False


@dataclass(slots=True, eq=False)
class LinkRecord:
    id: int | None
    pupil: PupilRecord
    guardian: GuardianRecord
    relationship_label: str
    parental_responsibility: bool
    ended_at: datetime | None
    changed: bool = False


@dataclass
class Known:
    """What the school has that the file may name, read once before the rows are applied;
    the rows add what they create. Records are compared by identity."""

    pupils: dict[str, PupilRecord]  # by MIS id
    links: dict[tuple[PupilRecord, GuardianRecord], LinkRecord]
    contacts: dict[GuardianRecord, ContactRecord]  # the school's names for its contacts
    guardians: dict[str, GuardianRecord]  # by email: those the file names
    # Each pupil's links to contacts without an email (matched by name).
    paper: dict[PupilRecord, list[LinkRecord]] = field(default_factory=lambda: defaultdict(list))
    added: list[GuardianRecord] = field(default_factory=list)  # people the import adds
    # The language the file gives each person (the last row that names one wins).
    languages: dict[GuardianRecord, str] = field(default_factory=dict)


def lock(school_id: int) -> None:
    """Serialise roster imports of one school (PostgreSQL: the school's row FOR NO KEY UPDATE,
    which does not hold up rows that refer to the school; SQLite has one writer anyway), so
    that two imports never both add the same pupil."""
    db.session.execute(
        select(School.id).where(School.id == school_id).with_for_update(key_share=True)
    )


def known(school_id: int, rows: list[Row]) -> Known:
    """What the school has, in three queries (and one per BATCH addresses of the file that
    the school does not know yet)."""
    people = _People()
    pupils = _pupils(school_id)
    result = Known(pupils, {}, _contacts(school_id, people), {})
    by_id = {pupil.id: pupil for pupil in pupils.values()}
    for link in _links(school_id, by_id, people):
        result.links[(link.pupil, link.guardian)] = link
        if link.guardian.email is None:
            result.paper[link.pupil].append(link)
    result.guardians = {g.email: g for g in people.values() if g.email is not None}
    wanted = {row.contact_email for row in rows if row.contact_email}
    for guardian_id, email in _guardians_by_email(wanted - result.guardians.keys()):
        result.guardians[email] = people.record(guardian_id, email)
    return result


class _People(dict[int, GuardianRecord]):
    """One record per guardian id, however many queries name the guardian."""

    def record(self, guardian_id: int, email: str | None) -> GuardianRecord:
        found = self.get(guardian_id)
        if found is None:
            found = self[guardian_id] = GuardianRecord(guardian_id, email)
        return found


def _pupils(school_id: int) -> dict[str, PupilRecord]:
    columns = (Pupil.id, Pupil.mis_id, Pupil.forename, Pupil.surname, Pupil.year_group,
               Pupil.class_name, Pupil.on_roll, Pupil.left_on)  # fmt: skip
    found = db.session.execute(select(*columns).where(Pupil.school_id == school_id))
    return {pupil.mis_id: PupilRecord(*pupil) for pupil in found}


def _contacts(school_id: int, people: _People) -> dict[GuardianRecord, ContactRecord]:
    found = db.session.execute(
        select(SchoolContact.id, SchoolContact.guardian_id, Guardian.email,
               SchoolContact.forename, SchoolContact.surname)
        .join(Guardian, Guardian.id == SchoolContact.guardian_id)
        .where(SchoolContact.school_id == school_id)
    )  # fmt: skip
    contacts = {}
    for contact in found:
        guardian = people.record(contact.guardian_id, contact.email)
        contacts[guardian] = ContactRecord(contact.id, guardian, contact.forename, contact.surname)
    return contacts


def _links(
    school_id: int, pupils: dict[int | None, PupilRecord], people: _People
) -> list[LinkRecord]:
    found = db.session.execute(
        select(GuardianLink.id, GuardianLink.pupil_id, GuardianLink.guardian_id, Guardian.email,
               GuardianLink.relationship_label, GuardianLink.parental_responsibility,
               GuardianLink.ended_at)
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .where(GuardianLink.school_id == school_id)
    )  # fmt: skip
    return [
        LinkRecord(link.id, pupils[link.pupil_id], people.record(link.guardian_id, link.email),
                   link.relationship_label, link.parental_responsibility, link.ended_at)
        for link in found
    ]  # fmt: skip


def _guardians_by_email(addresses: Iterable[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    batch = sorted(addresses)
    for start in range(0, len(batch), BATCH):
        chunk = batch[start : start + BATCH]
        for guardian_id, email in db.session.execute(
            select(Guardian.id, Guardian.email).where(Guardian.email.in_(chunk))
        ):
            found.append((guardian_id, email or ""))
    return found


def guardian_for(row: Row, pupil: PupilRecord, known: Known) -> tuple[GuardianRecord, bool]:
    """The guardian a row names (by email, or by the school's name for a paper-only contact
    of this pupil), added when there is none yet; and whether it was added."""
    if row.contact_email:
        guardian = known.guardians.get(row.contact_email)
        if guardian is not None:
            return guardian, False
    else:
        # A contact without an email is known only through this pupil: match by name.
        forename, surname = row.contact_forename.casefold(), row.contact_surname.casefold()
        for link in known.paper.get(pupil, ()):
            contact = known.contacts.get(link.guardian)
            if (
                contact is not None
                and contact.forename.casefold() == forename
                and contact.surname.casefold() == surname
            ):
                return link.guardian, False
    guardian = GuardianRecord(None, row.contact_email)
    known.added.append(guardian)
    if row.contact_email:
        known.guardians[row.contact_email] = guardian
    return guardian, True
