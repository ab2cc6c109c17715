"""Whose children: the scoping rule of the family's choices, and what a guardian's current
links say (their schools, their children and the schools' current notices)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select
from sqlalchemy.orm import aliased

from .. import school_cache
from ..database import read
from ..errors import NotFound
from ..extensions import db
from ..models import GuardianLink, NoticeVersion, Pupil, Purpose, School
from ..queries import deciding_link


def responsible_for(guardian_id: int) -> ColumnElement[bool]:
    """The join condition (GuardianLink to Pupil) for a child this guardian may see and decide
    for: a current link with parental responsibility, to a pupil on roll."""
    return and_(
        GuardianLink.guardian_id == guardian_id,
        GuardianLink.pupil_id == Pupil.id,
        GuardianLink.school_id == Pupil.school_id,
        deciding_link(),
        Pupil.on_roll.is_(True),
    )


def children_query(guardian_id: int) -> Select[int]:
    """The ids of the children this guardian may see and decide for (a subquery)."""
    return select(Pupil.id).join(GuardianLink, responsible_for(guardian_id))


def seen_children_query(guardian_id: int) -> Select[int]:
    """The ids of the children whose history this guardian may see (a subquery): those they
    decide for, and those who have left the school (still linked, not yet erased), whose
    past decisions and outcomes the family keeps seeing, read-only."""
    return select(Pupil.id).join(
        GuardianLink,
        and_(
            GuardianLink.guardian_id == guardian_id,
            GuardianLink.pupil_id == Pupil.id,
            GuardianLink.school_id == Pupil.school_id,
            deciding_link(),
            Pupil.erased_at.is_(None),
        ),
    )


def schools_of(guardian_id: int) -> list[School]:
    """The schools where this guardian is a current contact of a pupil, by name."""
    return list(
        db.session.scalars(
            select(School)
            .where(
                School.id.in_(
                    select(GuardianLink.school_id).where(
                        GuardianLink.guardian_id == guardian_id, GuardianLink.ended_at.is_(None)
                    )
                )
            )
            .order_by(School.name)
        )
    )


@dataclass(frozen=True, slots=True)
class FamilySchool:
    """A school as the family's pages show it, read with the family (plain values, not an
    ORM object: nothing about it is loaded later, and it is in no session)."""

    id: int
    slug: str
    name: str
    contact_email: str | None
    contact_phone: str | None
    address: str | None
    dpo_name: str | None
    dpo_email: str | None


@dataclass(frozen=True, slots=True)
class FamilyPupil:
    """A child as the family's pages show it, read with the family (plain values)."""

    id: int
    school_id: int
    forename: str
    surname: str
    year_group: str
    class_name: str
    on_roll: bool
    left_on: date | None
    erased_at: datetime | None

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"


@dataclass(frozen=True, slots=True)
class FamilyNotice:
    """A school's current notice, as the family's pages name it (not its text)."""

    school_id: int
    version: int
    title: str
    published_at: datetime
    summary: str | None


@dataclass(frozen=True)
class SchoolChildren:
    school: FamilySchool
    pupils: list[FamilyPupil]


@dataclass(frozen=True)
class Family:
    """What a guardian's current links say, from one query: the schools where they are a
    current contact of a pupil (by name, as `schools_of`), the children they have parental
    responsibility for, on roll, grouped by school (schools by name, children by name), and
    each of those schools' current notice (version, title, date and summary); and the
    children who have left, the same way (`left`), whom the family sees read-only. Plain
    values, read as columns (the ORM's objects cost twice as much to make, on every page of
    the family's)."""

    schools: list[FamilySchool]
    children: list[SchoolChildren]
    notices: dict[int, FamilyNotice]
    # Children who have left (not erased), grouped the same way: shown read-only.
    left: list[SchoolChildren] = field(default_factory=list)
    # Each school's generation, as the family's query read it (portal.school_cache).
    generations: dict[int, int] = field(default_factory=dict)

    def purposes(self, school_id: int) -> Sequence[Purpose]:
        """The school's active purposes, in page order (kept for its generation)."""
        return school_cache.active_purposes(school_id, self.generations.get(school_id, -1))

    def child(self, pupil_id: int) -> tuple[FamilyPupil, FamilySchool]:
        """One of their children, with the school; NotFound for any other pupil."""
        for group in self.children:
            for pupil in group.pupils:
                if pupil.id == pupil_id:
                    return pupil, group.school
        raise NotFound("no such child")

    def siblings(self, pupil: FamilyPupil) -> list[FamilyPupil]:
        """Their other children at the same school, by name."""
        for group in self.children:
            if group.school.id == pupil.school_id:
                return [p for p in group.pupils if p.id != pupil.id]
        return []


_SCHOOL = (
    School.id, School.slug, School.name, School.contact_email, School.contact_phone,
    School.address, School.dpo_name, School.dpo_email,
)  # fmt: skip
_PUPIL = (
    Pupil.id, Pupil.school_id, Pupil.forename, Pupil.surname, Pupil.year_group,
    Pupil.class_name, Pupil.on_roll, Pupil.left_on, Pupil.erased_at,
)  # fmt: skip
_NOTICE = (
    NoticeVersion.school_id, NoticeVersion.version, NoticeVersion.title,
    NoticeVersion.published_at, NoticeVersion.summary,
)  # fmt: skip


def _family_query() -> Any:
    newest = aliased(NoticeVersion)
    latest = (
        select(func.max(newest.version))
        .where(newest.school_id == School.id)
        .correlate(School)
        .scalar_subquery()
    )
    return (
        select(
            GuardianLink.parental_responsibility,
            # Fresh from the database (portal.school_cache).
            School.generation,
            *_SCHOOL,
            *_PUPIL,
            *_NOTICE,
        )
        .select_from(GuardianLink)
        .join(School, School.id == GuardianLink.school_id)
        .join(Pupil, Pupil.id == GuardianLink.pupil_id)
        .outerjoin(
            NoticeVersion,
            and_(NoticeVersion.school_id == School.id, NoticeVersion.version == latest),
        )
        .where(
            GuardianLink.guardian_id == bindparam("guardian_id"),
            GuardianLink.ended_at.is_(None),
        )
        .order_by(School.name, School.id, Pupil.forename, Pupil.surname, Pupil.id)
    )


# Built once with a bound parameter, so SQLAlchemy compiles it once per process.
_FAMILY = _family_query()
# Where each part of a row of _FAMILY is: after parental_responsibility and the generation.
_S = 2
_P = _S + len(_SCHOOL)
_N = _P + len(_PUPIL)


def family_of(guardian_id: int) -> Family:
    """This guardian's schools, children and the schools' current notices. One query, its
    rows read as columns (`database.read`)."""
    schools: dict[int, FamilySchool] = {}
    children: dict[int, SchoolChildren] = {}
    left: dict[int, SchoolChildren] = {}
    notices_by_school: dict[int, FamilyNotice] = {}
    generations: dict[int, int] = {}
    for row in read(_FAMILY, {"guardian_id": guardian_id}):
        responsible, generation = row[0], row[1]
        school = schools.get(row[_S])
        if school is None:
            school = schools[row[_S]] = FamilySchool(*row[_S:_P])
            generations[school.id] = generation
            if row[_N] is not None:
                notices_by_school[school.id] = FamilyNotice(*row[_N:])
        pupil = FamilyPupil(*row[_P:_N])
        if not responsible or pupil.school_id != school.id:
            continue
        if pupil.on_roll:
            children.setdefault(school.id, SchoolChildren(school, [])).pupils.append(pupil)
        elif pupil.erased_at is None:
            left.setdefault(school.id, SchoolChildren(school, [])).pupils.append(pupil)
    return Family(
        list(schools.values()),
        list(children.values()),
        notices_by_school,
        list(left.values()),
        generations,
    )
