"""Whose children: the scoping rule of the family's choices, and what a guardian's current
links say (their schools, their children and the schools' current notices)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select
from sqlalchemy.orm import aliased, load_only

from .. import school_cache
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


@dataclass(frozen=True)
class SchoolChildren:
    school: School
    pupils: list[Pupil]


@dataclass(frozen=True)
class Family:
    """What a guardian's current links say, from one query: the schools where they are a
    current contact of a pupil (by name, as `schools_of`), the children they have parental
    responsibility for, on roll, grouped by school (schools by name, children by name), and
    each of those schools' current notice (version, title, date and summary); and the
    children who have left, the same way (`left`), whom the family sees read-only."""

    schools: list[School]
    children: list[SchoolChildren]
    notices: dict[int, NoticeVersion]
    # Children who have left (not erased), grouped the same way: shown read-only.
    left: list[SchoolChildren] = field(default_factory=list)
    # Each school's generation, as the family's query read it (portal.school_cache).
    generations: dict[int, int] = field(default_factory=dict)

    def purposes(self, school_id: int) -> Sequence[Purpose]:
        """The school's active purposes, in page order (kept for its generation)."""
        return school_cache.active_purposes(school_id, self.generations.get(school_id, -1))

    def child(self, pupil_id: int) -> tuple[Pupil, School]:
        """One of their children, with the school; NotFound for any other pupil."""
        for group in self.children:
            for pupil in group.pupils:
                if pupil.id == pupil_id:
                    return pupil, group.school
        raise NotFound("no such child")

    def siblings(self, pupil: Pupil) -> list[Pupil]:
        """Their other children at the same school, by name."""
        for group in self.children:
            if group.school.id == pupil.school_id:
                return [p for p in group.pupils if p.id != pupil.id]
        return []


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
            School,
            Pupil,
            NoticeVersion,
            # Fresh from the database, whatever the School object holds (portal.school_cache).
            School.generation.label("generation"),
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
        .options(
            load_only(
                NoticeVersion.school_id,
                NoticeVersion.version,
                NoticeVersion.title,
                NoticeVersion.published_at,
                NoticeVersion.summary,
            )
        )
        .order_by(School.name, School.id, Pupil.forename, Pupil.surname, Pupil.id)
    )


# Built once with a bound parameter, so SQLAlchemy compiles it once per process.
_FAMILY = _family_query()


def family_of(guardian_id: int) -> Family:
    """This guardian's schools, children and the schools' current notices. One query."""
    schools: dict[int, School] = {}
    children: dict[int, SchoolChildren] = {}
    left: dict[int, SchoolChildren] = {}
    notices_by_school: dict[int, NoticeVersion] = {}
    generations: dict[int, int] = {}
    for responsible, school, pupil, notice, generation in db.session.execute(
        _FAMILY, {"guardian_id": guardian_id}
    ):
        schools.setdefault(school.id, school)
        generations[school.id] = generation
        if notice is not None:
            notices_by_school[school.id] = notice
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
