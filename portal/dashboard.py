"""The staff dashboard: how far the school's families have answered, and what must come down.

Everything counts the pupils **on roll** of one school, by their effective status
(`consent.statuses`, read once for all of them) for the school's active per-child purposes
that offer a choice:

- **Per consent purpose**, each pupil is in exactly one of:
  *answered* (granted or withdrawn: a "yes" or a "no" that counts),
  *needs renewal* (a "yes" to an older wording, or older than the renewal period), or
  *not answered* (no response). The three add up to the pupils on roll.
- **Per objection purpose**, each pupil is *objected* (a guardian's objection stands) or
  *no objection* (the school goes ahead).
- **Per class**, each pupil on roll is in exactly one of, looking at every consent purpose:
  *some not answered* when at least one of them has no response;
  else *needs renewal* when at least one needs renewal;
  else *all answered* (every consent purpose granted or withdrawn).
  A class's three numbers add up to its pupils on roll. (With no consent purposes, every
  pupil is "all answered": there is nothing to ask.)
- **Open tasks**: the school's take-down and leaving tasks not yet done, and how many of
  them are past their due date (overdue: due before today in London).

No Flask request state; a fixed number of queries whatever the size of the school.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from . import consent, todo
from .consent import Status
from .extensions import db
from .models import Choice, Pupil, Purpose, Scope, TakedownTask
from .types import london_date, utcnow

ANSWERED = frozenset({Status.GRANTED, Status.WITHDRAWN})


def percent(part: int, whole: int) -> float:
    """`part` of `whole` as a percentage (0 when there is nothing to count), one decimal."""
    return round(100 * part / whole, 1) if whole else 0.0


@dataclass(frozen=True)
class Segment:
    """One part of a bar: what it counts, how many, and its share of the whole."""

    label: str
    count: int
    total: int
    key: str  # answered | needs_renewal | not_answered | objected | no_objection

    @property
    def percent(self) -> float:
        return percent(self.count, self.total)


@dataclass(frozen=True)
class PurposeCoverage:
    purpose: Purpose
    total: int
    counts: dict[str, int]  # by segment key, and "granted" / "withdrawn" within "answered"

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)

    @property
    def segments(self) -> list[Segment]:
        if self.purpose.choice == Choice.OBJECTION:
            labels = [
                ("objected", "Objected"),
                ("under_review", "Objection under review"),
                ("no_objection", "No objection"),
            ]
        else:
            labels = [
                ("answered", "Answered"),
                ("needs_renewal", "Needs renewal"),
                ("not_answered", "Not answered"),
            ]
        return [Segment(label, self.counts.get(key, 0), self.total, key) for key, label in labels]


@dataclass(frozen=True)
class ClassCoverage:
    class_name: str
    total: int
    all_answered: int
    needs_renewal: int
    not_answered: int

    @property
    def segments(self) -> list[Segment]:
        return [
            Segment("All answered", self.all_answered, self.total, "answered"),
            Segment("Needs renewal", self.needs_renewal, self.total, "needs_renewal"),
            Segment("Some not answered", self.not_answered, self.total, "not_answered"),
        ]


@dataclass(frozen=True)
class Dashboard:
    pupils_on_roll: int
    consent_purposes: list[PurposeCoverage]
    objection_purposes: list[PurposeCoverage]
    classes: list[ClassCoverage]
    open_takedowns: int
    counted_at: datetime
    overdue_takedowns: int = 0


def _purpose_key(status: Status) -> str:
    if status in ANSWERED or status == Status.PUPIL_REFUSED:
        return "answered"  # the pupil's own refusal settles it (the biometric rule)
    if status == Status.NEEDS_RENEWAL:
        return "needs_renewal"
    if status == Status.OBJECTED:
        return "objected"
    if status == Status.UNDER_REVIEW:
        return "under_review"
    if status == Status.ALLOWED:
        return "no_objection"
    return "not_answered"


def open_takedowns(school_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TakedownTask)
            .where(TakedownTask.school_id == school_id, TakedownTask.done_at.is_(None))
        )
        or 0
    )


def overdue_takedowns(school_id: int, today: date) -> int:
    """Open tasks whose due date is before `today`."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TakedownTask)
            .where(
                TakedownTask.school_id == school_id,
                TakedownTask.done_at.is_(None),
                TakedownTask.due_on < today,
            )
        )
        or 0
    )


def summary(school_id: int, *, now: datetime | None = None) -> Dashboard:
    """The dashboard of one school (see the module's docstring for what each number means)."""
    now = now or utcnow()
    purposes = db.session.scalars(
        select(Purpose)
        .where(
            Purpose.school_id == school_id,
            Purpose.active.is_(True),
            Purpose.scope == Scope.PUPIL,
            Purpose.choice.in_([Choice.CONSENT, Choice.OBJECTION]),
        )
        .order_by(Purpose.position, Purpose.id)
    ).all()
    pupils = db.session.execute(
        select(Pupil.id, Pupil.class_name).where(
            Pupil.school_id == school_id, Pupil.on_roll.is_(True)
        )
    ).all()
    found = consent.statuses([p.id for p in pupils], purposes, school_id=school_id, now=now)

    per_purpose: dict[int, dict[str, int]] = {p.id: defaultdict(int) for p in purposes}
    per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # all, renewal, not
    consent_purposes = [p for p in purposes if p.choice == Choice.CONSENT]
    for pupil_id, class_name in pupils:
        for purpose in purposes:
            status = found[(pupil_id, purpose.id)].status
            per_purpose[purpose.id][_purpose_key(status)] += 1
            if status in ANSWERED:  # of the answered: how many yes, how many no
                per_purpose[purpose.id][status.value] += 1
        mine = {found[(pupil_id, p.id)].status for p in consent_purposes}
        counts = per_class[class_name]
        if Status.NO_RESPONSE in mine:
            counts[2] += 1
        elif Status.NEEDS_RENEWAL in mine:
            counts[1] += 1
        else:
            counts[0] += 1

    coverage = [PurposeCoverage(p, len(pupils), dict(per_purpose[p.id])) for p in purposes]
    return Dashboard(
        pupils_on_roll=len(pupils),
        consent_purposes=[c for c in coverage if c.purpose.choice == Choice.CONSENT],
        objection_purposes=[c for c in coverage if c.purpose.choice == Choice.OBJECTION],
        classes=[
            ClassCoverage(name, sum(counts), *counts)
            for name, counts in sorted(per_class.items(), key=lambda item: item[0].casefold())
        ],
        open_takedowns=open_takedowns(school_id),
        counted_at=now,
        overdue_takedowns=overdue_takedowns(school_id, london_date(now)),
    )


def renewal_items(board: Dashboard, today: date, role: str) -> list[todo.Item]:
    """Things to do: each consent purpose with answers that need renewing (a yes to an older
    wording, or past its renewal period), from the dashboard's own counts. Admins are sent to
    the invitations (to ask those families again), staff to the pupils."""
    found = []
    for coverage in board.consent_purposes:
        count = coverage.count("needs_renewal")
        if not count:
            continue
        children = "child's answer" if count == 1 else "children's answers"
        found.append(
            todo.Item(
                kind="renewal",
                title=f"{count} {children} to {coverage.purpose.title} need renewing",
                opened_on=today,
                endpoint="staff.invitations" if role == "admin" else "staff.pupils",
                detail="Ask their families to answer again"
                if role == "admin"
                else "Their families need to answer again",
            )
        )
    return found
