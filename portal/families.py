"""A guardian's view of their family: the children they have parental responsibility for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .extensions import db
from .models import GuardianLink, Pupil, School


@dataclass(frozen=True)
class SchoolChildren:
    school: School
    pupils: list[Pupil]


def children_by_school(guardian_id: int) -> list[SchoolChildren]:
    """Pupils on roll this guardian has parental responsibility for, grouped by school."""
    rows = db.session.execute(
        select(School, Pupil)
        .join(Pupil, Pupil.school_id == School.id)
        .join(GuardianLink, GuardianLink.pupil_id == Pupil.id)
        .where(
            GuardianLink.guardian_id == guardian_id,
            GuardianLink.school_id == Pupil.school_id,
            GuardianLink.parental_responsibility.is_(True),
            GuardianLink.ended_at.is_(None),
            Pupil.on_roll.is_(True),
        )
        .order_by(School.name, Pupil.forename, Pupil.surname)
    ).all()
    groups: dict[int, SchoolChildren] = {}
    for school, pupil in rows:
        groups.setdefault(school.id, SchoolChildren(school, [])).pupils.append(pupil)
    return list(groups.values())
