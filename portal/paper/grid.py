"""What the office sees when slips come back: for some pupils (a class, or one child), a row
per pupil and guardian with parental responsibility, a column per purpose that gives a
choice, and in each cell that guardian's standing answer with the answers the purpose's kind
of choice allows.

The same rows are the printed forms (`forms`): one form is one row, one guardian's answers
for one child, with the family's reference.

A choice the person makes for themself (`scope = "guardian"`, such as marketing emails) is a
column too, answered once per guardian: on their first row, and "as above" on the others.

No Flask request state; every query is scoped to the school. A fixed number of queries,
however many pupils: six.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select

from .. import consent
from ..errors import NotFound
from ..extensions import db
from ..models import (
    Choice,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    LedgerHead,
    Pupil,
    Purpose,
    School,
    SchoolContact,
    Scope,
)
from ..queries import deciding_link
from ..types import utcnow
from .references import family_reference

# What a cell offers besides leaving the answer as it stands, by kind of choice. Staff never
# lift an objection to direct marketing (only the person can: docs/consent-rules.md), and a
# marketing purpose is a consent choice, so it offers yes and no.
CONSENT_CHOICES = (Decision.GRANT.value, Decision.WITHDRAW.value)
OBJECTION_CHOICES = (Decision.OBJECT.value, Decision.LIFT_OBJECTION.value)
UNCHANGED = ""  # the cell's value when the slip says nothing new


@dataclass(frozen=True)
class Column:
    purpose: Purpose
    person: bool  # a choice for the person themself, not for each child

    @property
    def choices(self) -> tuple[str, ...]:
        if self.purpose.choice == Choice.OBJECTION:
            return OBJECTION_CHOICES
        return CONSENT_CHOICES


@dataclass(frozen=True)
class Standing:
    """One guardian's own latest decision on the axis that matters for a purpose (never
    another guardian's: a form shows each person only their own answer)."""

    decision: str | None
    decided_at: datetime | None
    seq: int | None
    lapsed: bool  # a yes to an older wording or past its renewal period
    # A yes to marketing that cannot count: the person objects to all direct marketing.
    blocked: bool = False

    @property
    def kind(self) -> str:
        """What the answer is, in one word the templates turn into words: `none`, `yes`,
        `yes_lapsed`, `no`, `objects`, `upheld`, `not_upheld`, `lifted`."""
        return {
            None: "none",
            Decision.GRANT.value: "yes_lapsed" if self.lapsed else "yes",
            Decision.WITHDRAW.value: "no",
            Decision.OBJECT.value: "objects",
            Decision.UPHELD.value: "upheld",
            Decision.NOT_UPHELD.value: "not_upheld",
            Decision.LIFT_OBJECTION.value: "lifted",
        }.get(self.decision, "none")


@dataclass(frozen=True)
class Cell:
    key: str  # the form field: c-PUPIL-GUARDIAN-PURPOSE, or p-GUARDIAN-PURPOSE for a person's
    column: Column
    standing: Standing
    shown: bool = True  # False: a person's choice already offered on an earlier row


@dataclass(frozen=True)
class Row:
    """One guardian with parental responsibility for one pupil: one paper form."""

    pupil: Pupil
    guardian_id: int
    name: str  # the name the school holds for them (empty when it holds none)
    relationship: str
    email: str | None  # None: paper only
    language: str | None  # the language they read (BCP 47), None for English
    reference: str  # the family's reference (`references.family_reference`)
    cells: tuple[Cell, ...]
    first_for_pupil: bool
    first_for_guardian: bool  # the first row of this guardian: their own choices are here

    @property
    def pupil_name(self) -> str:
        return "Name erased" if self.pupil.erased_at else self.pupil.full_name


@dataclass(frozen=True)
class Grid:
    school: School
    class_name: str | None
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    pupils: tuple[Pupil, ...]  # every pupil asked for, with or without a row
    as_of: int  # the school's ledger head when read: an answer recorded after it is newer

    @property
    def without_guardian(self) -> list[Pupil]:
        """Pupils for whom nobody on the roster has parental responsibility."""
        with_rows = {row.pupil.id for row in self.rows}
        return [p for p in self.pupils if p.id not in with_rows]

    def row(self, pupil_id: int, guardian_id: int) -> Row | None:
        return next(
            (r for r in self.rows if r.pupil.id == pupil_id and r.guardian_id == guardian_id),
            None,
        )


def cell_key(pupil_id: int | None, guardian_id: int, purpose_id: int) -> str:
    if pupil_id is None:
        return f"p-{guardian_id}-{purpose_id}"
    return f"c-{pupil_id}-{guardian_id}-{purpose_id}"


def columns(school_id: int) -> tuple[Column, ...]:
    """The school's purposes in use that give a choice: the choices for each child first,
    then those for the person themself, each in the school's order."""
    found = db.session.scalars(
        select(Purpose)
        .where(
            Purpose.school_id == school_id,
            Purpose.active.is_(True),
            Purpose.choice.in_([Choice.CONSENT.value, Choice.OBJECTION.value]),
        )
        .order_by(Purpose.position, Purpose.id)
    ).all()
    per_child = [Column(p, False) for p in found if p.scope == Scope.PUPIL]
    per_person = [Column(p, True) for p in found if p.scope == Scope.GUARDIAN]
    return tuple(per_child + per_person)


def class_pupils(school_id: int, class_name: str) -> list[Pupil]:
    """The pupils on roll in a class, by name; NotFound for a class with nobody on roll."""
    found = list(
        db.session.scalars(
            select(Pupil)
            .where(
                Pupil.school_id == school_id,
                Pupil.class_name == class_name,
                Pupil.on_roll.is_(True),
            )
            .order_by(Pupil.surname, Pupil.forename, Pupil.id)
        )
    )
    if not found:
        raise NotFound("no such class")
    return found


def ledger_head(school_id: int) -> int:
    return db.session.scalar(select(LedgerHead.seq).where(LedgerHead.school_id == school_id)) or 0


def class_grid(school_id: int, class_name: str, *, now: datetime | None = None) -> Grid:
    """The grid of a class: its pupils on roll, by name. NotFound for an unknown class."""
    pupils = class_pupils(school_id, class_name)
    return build(school_id, pupils, class_name=class_name, now=now)


def pupil_grid(school_id: int, pupil_id: int, *, now: datetime | None = None) -> Grid:
    """The rows of one pupil (on roll or not): each guardian's slip on the pupil's record."""
    pupil = db.session.scalars(
        select(Pupil).where(Pupil.school_id == school_id, Pupil.id == pupil_id)
    ).first()
    if pupil is None:
        raise NotFound("no such pupil")
    return build(school_id, [pupil], now=now)


def build(
    school_id: int,
    pupils: Sequence[Pupil],
    *,
    class_name: str | None = None,
    now: datetime | None = None,
) -> Grid:
    """The rows of these pupils of the school (in the order given), each guardian with
    parental responsibility by name, with their standing answers."""
    now = now or utcnow()
    as_of = ledger_head(school_id)  # read first: anything recorded later is newer than it
    school = db.session.get(School, school_id)
    if school is None:
        raise NotFound("no such school")
    cols = columns(school_id)
    pupil_ids = [p.id for p in pupils]
    links = _links(school_id, pupil_ids)
    guardian_ids = sorted({link.guardian_id for link in links})
    decisions = _decisions(school_id, pupil_ids, guardian_ids)
    objects_to_marketing = _objects_to_marketing(school_id, decisions)
    by_pupil: dict[int, list[_Link]] = {}
    for link in links:
        by_pupil.setdefault(link.pupil_id, []).append(link)

    rows: list[Row] = []
    seen_guardians: set[int] = set()
    for pupil in pupils:
        for index, link in enumerate(by_pupil.get(pupil.id, [])):
            first_for_guardian = link.guardian_id not in seen_guardians
            seen_guardians.add(link.guardian_id)
            cells = []
            for column in cols:
                subject = None if column.person else pupil.id
                standing = _standing(
                    column.purpose,
                    decisions.get(
                        (subject, link.guardian_id, column.purpose.id, _axis(column.purpose))
                    ),
                    now,
                    blocked=column.purpose.marketing and link.guardian_id in objects_to_marketing,
                )
                cells.append(
                    Cell(
                        key=cell_key(subject, link.guardian_id, column.purpose.id),
                        column=column,
                        standing=standing,
                        shown=not column.person or first_for_guardian,
                    )
                )
            rows.append(
                Row(
                    pupil=pupil,
                    guardian_id=link.guardian_id,
                    name=link.name,
                    relationship=link.relationship,
                    email=link.email,
                    language=link.language,
                    reference=family_reference(school.slug, pupil.id, link.guardian_id),
                    cells=tuple(cells),
                    first_for_pupil=index == 0,
                    first_for_guardian=first_for_guardian,
                )
            )
    return Grid(school, class_name, cols, tuple(rows), tuple(pupils), as_of)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    pupil_id: int
    guardian_id: int
    name: str
    relationship: str
    email: str | None
    language: str | None


def _links(school_id: int, pupil_ids: Sequence[int]) -> list[_Link]:
    """Each guardian with parental responsibility for these pupils, by name. One query per
    chunk of pupils."""
    found: list[_Link] = []
    for chunk in _chunks(pupil_ids):
        rows = db.session.execute(
            select(
                GuardianLink.pupil_id,
                GuardianLink.guardian_id,
                GuardianLink.relationship_label,
                Guardian.email,
                Guardian.language,
                SchoolContact.forename,
                SchoolContact.surname,
            )
            .join(Guardian, Guardian.id == GuardianLink.guardian_id)
            .outerjoin(
                SchoolContact,
                and_(
                    SchoolContact.school_id == GuardianLink.school_id,
                    SchoolContact.guardian_id == GuardianLink.guardian_id,
                ),
            )
            .where(
                GuardianLink.school_id == school_id,
                GuardianLink.pupil_id.in_(chunk),
                deciding_link(),
            )
            .order_by(SchoolContact.surname, SchoolContact.forename, GuardianLink.guardian_id)
        )
        for pupil_id, guardian_id, relationship, email, language, forename, surname in rows:
            found.append(
                _Link(
                    pupil_id,
                    guardian_id,
                    f"{forename or ''} {surname or ''}".strip(),
                    relationship or "",
                    email,
                    language,
                )
            )
    return found


Subject = tuple[int | None, int, int, str]  # pupil (None: the person), guardian, purpose, axis


def _decisions(
    school_id: int, pupil_ids: Sequence[int], guardian_ids: Sequence[int]
) -> dict[Subject, CurrentDecision]:
    """The current decisions of these guardians about these pupils, and about themselves
    (every purpose: an objection to a retired marketing purpose still counts)."""
    found: dict[Subject, CurrentDecision] = {}
    wanted = set(pupil_ids)
    for chunk in _chunks(guardian_ids):
        # By guardian only (a guardian's decisions about their other children at the school
        # are few), so that the query stays one shape whatever the number of pupils.
        for row in db.session.scalars(
            select(CurrentDecision).where(
                CurrentDecision.school_id == school_id, CurrentDecision.guardian_id.in_(chunk)
            )
        ):
            if row.pupil_id is None or row.pupil_id in wanted:
                found[(row.pupil_id, row.guardian_id, row.purpose_id, row.axis)] = row
    return found


def _objects_to_marketing(school_id: int, decisions: dict[Subject, CurrentDecision]) -> set[int]:
    """The guardians whose objection to direct marketing stands, on any of the school's
    marketing purposes (retired ones included)."""
    marketing = set(
        db.session.scalars(
            select(Purpose.id).where(Purpose.school_id == school_id, Purpose.marketing.is_(True))
        )
    )
    return {
        guardian_id
        for (pupil_id, guardian_id, purpose_id, axis), row in decisions.items()
        if pupil_id is None
        and purpose_id in marketing
        and axis == DecisionAxis.OBJECTION
        and row.decision == Decision.OBJECT
    }


def _axis(purpose: Purpose) -> str:
    return consent.axis_for(purpose).value


def _standing(
    purpose: Purpose, row: CurrentDecision | None, now: datetime, *, blocked: bool = False
) -> Standing:
    if row is None:
        return Standing(None, None, None, False, blocked)
    fact = consent.Fact.of(row)
    lapsed = row.decision == Decision.GRANT and not consent.grant_is_current(purpose, fact, now)
    return Standing(row.decision, row.decided_at, row.seq, lapsed, blocked)


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), consent.CHUNK):
        yield list(values[start : start + consent.CHUNK])
