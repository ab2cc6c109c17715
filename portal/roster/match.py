"""Matching the file to what the school has: its pupils by MIS id, its links, and the people
the file names, by email (one guardian with children in two classes or two schools is one
person) or, for a contact without an email, by name among the pupil's contacts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Guardian, GuardianLink, Pupil
from ..types import utcnow
from .validate import Row


@dataclass
class Known:
    """What the school has that the file may name, read once before the rows are applied;
    the rows add what they create."""

    pupils: dict[str, Pupil]  # by MIS id
    links: dict[tuple[int, int], GuardianLink]  # by (pupil id, guardian id)
    guardians: dict[str, Guardian]  # by email, those the file names


def known(school_id: int, rows: list[Row]) -> Known:
    pupils = {
        p.mis_id: p for p in db.session.scalars(select(Pupil).where(Pupil.school_id == school_id))
    }
    links = {
        (link.pupil_id, link.guardian_id): link
        for link in db.session.scalars(
            select(GuardianLink).where(GuardianLink.school_id == school_id)
        )
    }
    guardians = _guardians_by_email({row.contact_email for row in rows if row.contact_email})
    return Known(pupils, links, guardians)


def _guardians_by_email(addresses: Iterable[str]) -> dict[str, Guardian]:
    found: dict[str, Guardian] = {}
    batch = sorted(addresses)
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        for guardian in db.session.scalars(select(Guardian).where(Guardian.email.in_(chunk))):
            if guardian.email:
                found[guardian.email] = guardian
    return found


def guardian_for(row: Row, pupil: Pupil, known: Known) -> tuple[Guardian, bool]:
    """The guardian a row names (by email, or by name for a paper-only contact), added when
    there is none yet; and whether it was added."""
    if row.contact_email:
        guardian = known.guardians.get(row.contact_email)
        if guardian is not None:
            return guardian, False
    else:
        # A contact without an email is known only through this pupil: match by name.
        for link in pupil.links:
            other = link.guardian
            if (
                other.email is None
                and other.forename.casefold() == row.contact_forename.casefold()
                and other.surname.casefold() == row.contact_surname.casefold()
            ):
                return other, False
    guardian = Guardian(
        email=row.contact_email,
        forename=row.contact_forename,
        surname=row.contact_surname,
        created_at=utcnow(),
    )
    db.session.add(guardian)
    db.session.flush()
    if row.contact_email:
        known.guardians[row.contact_email] = guardian
    return guardian, True
