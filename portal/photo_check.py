"""The photo check: before publishing a photo, which of these pupils may appear in it?

A staff user chooses one or more *publishable* purposes (the website, social media, the local
paper, ...) and who is in the photo: a class, a year group, hand-picked pupils, or any of
them together (the pupils of all of them). The answer is, per pupil and per purpose, **may
appear** or **must not appear** with the reason, from the effective status of
`consent.statuses` (docs/consent-rules.md, "Effective status of one pupil for one
purpose"): a pupil may appear only when every chosen purpose permits it
(`consent.PERMITTING`: granted, or allowed with no objection).

No Flask request state: every function takes the staff user's school id, and every query is
scoped to it. A purpose or a pupil id that is not the school's (or not offered here) raises
`NotFound`, so a view answers 404 whether it does not exist or belongs to another school.
Class and year-group lists hold pupils on roll; a pupil who has left is found by name or id
only, and always *must not appear*: photos of pupils are destroyed when they leave.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, false, func, or_, select

from . import consent, school_cache
from .consent import Status
from .database import read
from .errors import NotFound
from .extensions import db
from .models import Choice, Pupil, Purpose, Scope
from .types import utcnow

MAY_APPEAR = "may appear"
# Why a pupil must not appear, by effective status: the exact words staff see.
REASONS: dict[Status, str] = {
    Status.GRANTED: MAY_APPEAR,
    Status.ALLOWED: MAY_APPEAR,
    Status.NO_RESPONSE: "no response",
    Status.WITHDRAWN: "said no",
    Status.NEEDS_RENEWAL: "needs renewal",
    Status.OBJECTED: "objected",  # an objection the school upheld
    Status.UNDER_REVIEW: "objection under review",
    Status.NOT_ON_ROLL: "left the school",
    # The biometric rule: never publishable, so never offered here; said for completeness.
    Status.PUPIL_REFUSED: "the pupil refused",
    Status.INFORMATION: "no choice recorded",  # never offered here; kept for completeness
}
DISAGREE = "guardians disagree"
SEARCH_LIMIT = 20
MAX_QUERY = 100


def reason_for(status: consent.EffectiveStatus) -> str:
    """The words for one pupil and purpose: "may appear", or why not. When the guardians'
    latest decisions differ and the result does not permit, that is said too ("said no
    (guardians disagree)"); a pupil who has left is simply "left the school"."""
    reason = REASONS[status.status]
    if status.conflict and not status.permits and status.status != Status.NOT_ON_ROLL:
        reason = f"{reason} ({DISAGREE})"
    return reason


def year_label(year_group: str) -> str:
    """ "3" -> "Year 3"; "R" -> "Reception"; "N" -> "Nursery"; anything else as it is."""
    named = {"R": "Reception", "N": "Nursery"}
    if year_group.upper() in named:
        return named[year_group.upper()]
    return f"Year {year_group}" if year_group.isdigit() else year_group


def _year_order(year_group: str) -> tuple[int, int, str]:
    order = {"N": 0, "R": 1}
    if year_group.upper() in order:
        return (0, order[year_group.upper()], year_group)
    if year_group.isdigit():
        return (1, int(year_group), year_group)
    return (2, 0, year_group.casefold())


# --- what can be chosen ----------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the form offers: the school's publishable purposes, its classes and year groups
    (of pupils on roll)."""

    purposes: tuple[Purpose, ...]
    classes: tuple[str, ...]
    year_groups: tuple[str, ...]

    def chosen(self, purpose_ids: Iterable[int]) -> tuple[Purpose, ...]:
        """The purposes with these ids, in the order offered; NotFound for any other id."""
        wanted = set(purpose_ids)
        offered = {p.id for p in self.purposes}
        if not wanted <= offered:
            raise NotFound("no such publishable purpose at this school")
        return tuple(p for p in self.purposes if p.id in wanted)


def _publishable(school_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    return and_(
        Purpose.school_id == school_id,
        Purpose.active.is_(True),
        Purpose.publishable.is_(True),
        Purpose.scope == Scope.PUPIL,
        Purpose.choice.in_([Choice.CONSENT, Choice.OBJECTION]),
    )


_PUBLISHABLE = (
    select(Purpose)
    .where(_publishable(bindparam("school_id", type_=Integer)))
    .order_by(Purpose.position, Purpose.id)
)


def is_publishable(purpose: Purpose) -> bool:
    """`_publishable`, for a purpose already read."""
    return (
        purpose.active
        and purpose.publishable
        and purpose.scope == Scope.PUPIL
        and purpose.choice in (Choice.CONSENT, Choice.OBJECTION)
    )


def options(school_id: int, generation: int) -> Options:
    """No query, once the school's purposes and classes are kept for its `generation` (read
    with the staff user's session: `portal.school_cache`); two when they are read again."""
    groups = school_cache.groups(school_id, generation)
    purposes = school_cache.active_purposes(school_id, generation)
    return Options(
        purposes=tuple(p for p in purposes if is_publishable(p)),
        classes=groups.classes,
        year_groups=tuple(sorted((y for y in groups.years if y), key=_year_order)),
    )


# --- finding pupils --------------------------------------------------------------------------


@dataclass(frozen=True)
class PupilSummary:
    id: int
    forename: str
    surname: str
    class_name: str
    year_group: str
    on_roll: bool
    left_on: date | None

    @property
    def name(self) -> str:
        return f"{self.forename} {self.surname}"


# The columns of a PupilSummary, in its order: read as plain rows, not as Pupil objects.
_SUMMARY_COLUMNS = (
    Pupil.id,
    Pupil.forename,
    Pupil.surname,
    Pupil.class_name,
    Pupil.year_group,
    Pupil.on_roll,
    Pupil.left_on,
)


@functools.cache
def _who(
    by_class: bool, by_year: bool, by_id: bool
) -> Select[int, str, str, str, str, bool, date | None]:
    """The pupils of a check as plain rows of `_SUMMARY_COLUMNS`: those on roll in a class
    (`class_name`), those on roll in a year group (`year_group`), and those picked by id
    (`pupil_ids`, on roll or not), whichever were asked for, of the school (`school_id`).
    Built once for each way of asking, with bound parameters: building the statement and
    its cache key again for every check cost as much as reading a class's rows."""
    school = Pupil.school_id == bindparam("school_id", type_=Integer)
    on_roll = and_(school, Pupil.on_roll.is_(True))
    who: list[ColumnElement[bool]] = []
    if by_class:
        who.append(and_(on_roll, Pupil.class_name == bindparam("class_name")))
    if by_year:
        who.append(and_(on_roll, Pupil.year_group == bindparam("year_group")))
    if by_id:
        who.append(and_(school, Pupil.id.in_(bindparam("pupil_ids", expanding=True))))
    return select(*_SUMMARY_COLUMNS).where(or_(false(), *who))


def _by_name(pupils: Iterable[PupilSummary]) -> list[PupilSummary]:
    return sorted(pupils, key=lambda p: (p.surname.casefold(), p.forename.casefold(), p.id))


def pupils(school_id: int, pupil_ids: Iterable[int]) -> list[PupilSummary]:
    """These pupils of the school (on roll or not), by name; NotFound if any is not the
    school's."""
    ids = sorted(set(pupil_ids))
    if not ids:
        return []
    found = [
        PupilSummary(*row)
        for row in db.session.execute(
            select(*_SUMMARY_COLUMNS).where(Pupil.school_id == school_id, Pupil.id.in_(ids))
        )
    ]
    if len(found) != len(ids):
        raise NotFound("no such pupil at this school")
    return _by_name(found)


@dataclass(frozen=True)
class Matches:
    query: str
    pupils: tuple[PupilSummary, ...]
    more: bool  # more pupils match than are shown: type more of the name


def search(
    school_id: int, q: str, limit: int = SEARCH_LIMIT, *, exclude: Iterable[int] = ()
) -> Matches:
    """Pupils of the school whose forename or surname contains every word typed (any case),
    on roll or not, by name; at most `limit` of them. Pupils in `exclude` (already chosen)
    are left out."""
    query = " ".join(q.split())[:MAX_QUERY]
    words = query.lower().split()  # as SQL lower() does (casefold would turn ß into ss)
    if not words:
        return Matches(query, (), False)
    conditions = [
        or_(
            func.lower(Pupil.forename).contains(word, autoescape=True),
            func.lower(Pupil.surname).contains(word, autoescape=True),
        )
        for word in words
    ]
    skip = sorted(set(exclude))
    statement = (
        select(*_SUMMARY_COLUMNS)
        .where(Pupil.school_id == school_id, *conditions)
        .order_by(Pupil.on_roll.desc(), Pupil.surname, Pupil.forename, Pupil.id)
        .limit(limit + 1)
    )
    if skip:
        statement = statement.where(Pupil.id.not_in(skip))
    found = [PupilSummary(*row) for row in db.session.execute(statement)]
    return Matches(query, tuple(found[:limit]), len(found) > limit)


# --- the check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One pupil and one purpose."""

    purpose: Purpose
    status: Status
    conflict: bool
    permits: bool
    reason: str  # "may appear", or why not ("said no (guardians disagree)")

    @property
    def words(self) -> str:
        """ "May appear" or "Must not appear: said no"."""
        return "May appear" if self.permits else f"Must not appear: {self.reason}"


@dataclass(frozen=True)
class Child:
    pupil: PupilSummary
    marks: tuple[Mark, ...]  # in the order of the chosen purposes

    @functools.cached_property
    def may_appear(self) -> bool:
        """Asked for each child when sorting, when splitting the answer and by the page."""
        return all(m.permits for m in self.marks)

    @property
    def reasons(self) -> list[str]:
        """Why not, each reason once (empty when the pupil may appear)."""
        return list(dict.fromkeys(m.reason for m in self.marks if not m.permits))


@dataclass(frozen=True)
class Result:
    purposes: tuple[Purpose, ...]
    class_name: str | None
    year_group: str | None
    picked: tuple[PupilSummary, ...]
    children: tuple[Child, ...]  # must-not-appear first, then by name
    checked_at: datetime

    @property
    def must_not(self) -> list[Child]:
        return [c for c in self.children if not c.may_appear]

    @property
    def may(self) -> list[Child]:
        return [c for c in self.children if c.may_appear]

    @property
    def who(self) -> str:
        """Who was checked, in words: "class 3 Oak", "Year 3 and 2 chosen pupils"."""
        parts = []
        if self.class_name:
            parts.append(f"class {self.class_name}")
        if self.year_group:
            parts.append(year_label(self.year_group))
        if self.picked:
            n = len(self.picked)
            parts.append(f"{n} chosen {'pupil' if n == 1 else 'pupils'}")
        if len(parts) > 1:
            return ", ".join(parts[:-1]) + " and " + parts[-1]
        return parts[0] if parts else "nobody"


def check(
    school_id: int,
    purpose_ids: Sequence[int],
    *,
    class_name: str | None = None,
    year_group: str | None = None,
    pupil_ids: Sequence[int] | None = None,
    now: datetime | None = None,
    offered: Sequence[Purpose] | None = None,
) -> Result:
    """May each pupil appear in a photo for every one of these purposes?

    Who: the pupils on roll in `class_name`, those on roll in `year_group`, and the pupils
    `pupil_ids` (on roll or not), together. A fixed number of queries, whatever their number
    (`consent.statuses` reads in chunks of 900 pupils): three, two when the caller passes
    the school's publishable purposes (`offered`, from `options`).
    """
    if not purpose_ids:
        raise ValueError("a photo check needs at least one purpose")
    now = now or utcnow()
    if offered is None:
        offered = db.session.scalars(_PUBLISHABLE, {"school_id": school_id}).all()
    wanted = set(purpose_ids)
    chosen = [p for p in offered if p.id in wanted and p.school_id == school_id]
    if len(chosen) != len(wanted):
        raise NotFound("no such publishable purpose at this school")
    picked_ids = sorted(set(pupil_ids or ()))
    statement = _who(bool(class_name), bool(year_group), bool(picked_ids))
    params = {
        "school_id": school_id,
        "class_name": class_name,
        "year_group": year_group,
        "pupil_ids": picked_ids,
    }
    found = [PupilSummary(*row) for row in read(statement, params)]
    ids = {p.id for p in found}
    if not set(picked_ids) <= ids:
        raise NotFound("no such pupil at this school")
    # The answer is the statuses alone: the guardians behind them are the pupil record's.
    found_statuses = consent.statuses(
        ids,
        chosen,
        school_id=school_id,
        now=now,
        on_roll={p.id: p.on_roll for p in found},
        why=False,
    )
    # A mark says the same for every pupil with the same status: one for each purpose,
    # status and conflict, shared (a class of 30 has a handful, not 30 per purpose).
    marks: dict[tuple[int, Status, bool], Mark] = {}
    children = []
    for pupil in found:
        child_marks = []
        for purpose in chosen:
            status = found_statuses[(pupil.id, purpose.id)]
            key = (purpose.id, status.status, status.conflict)
            mark = marks.get(key)
            if mark is None:
                mark = marks[key] = Mark(
                    purpose, status.status, status.conflict, status.permits, reason_for(status)
                )
            child_marks.append(mark)
        children.append(Child(pupil, tuple(child_marks)))
    children.sort(
        key=lambda c: (
            c.may_appear,
            c.pupil.surname.casefold(),
            c.pupil.forename.casefold(),
            c.pupil.id,
        )
    )
    return Result(
        purposes=tuple(chosen),
        class_name=class_name or None,
        year_group=year_group or None,
        picked=tuple(p for p in _by_name(found) if p.id in set(picked_ids)),
        children=tuple(children),
        checked_at=now,
    )
