"""Families waiting for an answer ("non-responders"): children on roll with a choice that
needs consent for which nobody has given a current answer (no response, or a yes that needs
renewing), so the school treats it as no (docs/consent-rules.md, "A missing answer means
no"). Choices the school makes unless someone objects need no answer and are not chased.

The office chases them with printed forms (`forms`) or with the list as a CSV file
(`waiting_csv`), which is an export: it is recorded in the audit log
(`start_waiting_export`), and every cell goes through `portal/csv_files.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import audit_log, consent
from ..consent import Status
from ..csv_files import csv_file, snapshot
from ..database import writing
from ..errors import NotFound
from ..extensions import db
from ..models import Choice, Pupil, Purpose, Scope, StaffUser
from ..purposes import lookup as purposes_lookup
from ..types import utcnow
from .grid import build

EXPORT_ACTION = "export.waiting_for_answers"
NEEDS_AN_ANSWER = frozenset({Status.NO_RESPONSE, Status.NEEDS_RENEWAL})
HEADER = (
    "Pupil",
    "Class",
    "Year group",
    "Parent or carer",
    "Relationship",
    "Email",
    "Family reference",
    "Waiting for",
    "Note",
)
NOBODY = "Nobody on the roster has parental responsibility: correct the roster"


@dataclass(frozen=True)
class Waiting:
    pupil: Pupil
    purposes: tuple[Purpose, ...]  # the choices nobody has answered for this child
    renewal: tuple[Purpose, ...]  # of those, the ones with a yes that needs renewing


def consent_purposes(school_id: int) -> list[Purpose]:
    """The choices in use that need consent for each child, in the school's order."""
    return purposes_lookup.active_where(
        school_id, Purpose.scope == Scope.PUPIL.value, Purpose.choice == Choice.CONSENT.value
    )


def on_roll(school_id: int, class_name: str | None = None) -> list[Pupil]:
    """The pupils on roll (of a class, when given), by class and name."""
    where = [Pupil.school_id == school_id, Pupil.on_roll.is_(True)]
    if class_name:
        where.append(Pupil.class_name == class_name)
    return list(
        db.session.scalars(
            select(Pupil).where(*where).order_by(Pupil.class_name, Pupil.surname, Pupil.forename)
        )
    )


def waiting(
    school_id: int,
    pupils: Sequence[Pupil],
    *,
    purposes: Sequence[Purpose] | None = None,
    now: datetime | None = None,
) -> dict[int, Waiting]:
    """The pupils among these (on roll) waiting for an answer, by id. Two queries per 900
    pupils, one more without `purposes`."""
    purposes = consent_purposes(school_id) if purposes is None else purposes
    statuses = consent.statuses(
        [p.id for p in pupils],
        purposes,
        school_id=school_id,
        now=now,
        on_roll={p.id: p.on_roll for p in pupils},
    )
    found: dict[int, Waiting] = {}
    for pupil in pupils:
        open_ = [p for p in purposes if statuses[(pupil.id, p.id)].status in NEEDS_AN_ANSWER]
        if open_:
            renewal = [
                p for p in open_ if statuses[(pupil.id, p.id)].status == Status.NEEDS_RENEWAL
            ]
            found[pupil.id] = Waiting(pupil, tuple(open_), tuple(renewal))
    return found


@dataclass(frozen=True)
class ClassCount:
    class_name: str
    pupils: int
    waiting: int


def by_class(school_id: int, *, now: datetime | None = None) -> list[ClassCount]:
    """Each class with pupils on roll: how many, and how many are waiting for an answer."""
    pupils = on_roll(school_id)
    found = waiting(school_id, pupils, now=now)
    totals = Counter(p.class_name for p in pupils)
    open_ = Counter(p.class_name for p in pupils if p.id in found)
    return [
        ClassCount(name, totals[name], open_[name])
        for name in sorted(totals, key=lambda name: (name.casefold(), name))
    ]


def check_class(school_id: int, class_name: str | None) -> None:
    """NotFound for a class with nobody on roll (None: every class)."""
    if class_name and not on_roll(school_id, class_name):
        raise NotFound("no such class")


def start_waiting_export(staff: StaffUser, class_name: str | None) -> None:
    """Check the class (NotFound for an unknown one) and record the export in the audit log,
    committed before the first byte of the file is sent."""
    check_class(staff.school_id, class_name)
    with writing():
        audit_log.record(staff, EXPORT_ACTION, detail={"class": class_name or "every class"})


def waiting_rows(
    school_id: int, class_name: str | None = None, *, now: datetime | None = None
) -> Iterator[tuple[object, ...]]:
    """The list's rows: one per child waiting and guardian with parental responsibility (one
    with the guardian's cells empty for a child with nobody who can answer), by class and
    name."""
    now = now or utcnow()
    pupils = on_roll(school_id, class_name)
    found = waiting(school_id, pupils, now=now)
    chased = [p for p in pupils if p.id in found]
    grid = build(school_id, chased, now=now)
    rows_of: dict[int, list] = {}
    for row in grid.rows:
        rows_of.setdefault(row.pupil.id, []).append(row)
    for pupil in chased:
        titles = "; ".join(
            p.title + (" (renewal)" if p in found[pupil.id].renewal else "")
            for p in found[pupil.id].purposes
        )
        rows = rows_of.get(pupil.id, [])
        if not rows:
            yield (pupil.full_name, pupil.class_name, pupil.year_group, "", "", "", "", titles,
                   NOBODY)  # fmt: skip
        for row in rows:
            yield (
                pupil.full_name,
                pupil.class_name,
                pupil.year_group,
                row.name,
                row.relationship,
                row.email or "",
                row.reference,
                titles,
                "" if row.email else "No email address: paper only",
            )


def waiting_csv(school_id: int, class_name: str | None = None) -> Iterator[bytes]:
    """The list as a CSV file (streamed, every cell made safe), read in one snapshot."""
    with snapshot():
        yield from csv_file(HEADER, waiting_rows(school_id, class_name))
