"""Pre-filled paper forms, for families without an email address or who prefer paper: one
A4 page per child and guardian with parental responsibility (one guardian's answers for one
child, as the grid records them), with the school, the child, each choice in its current
wording, boxes to tick, the guardian's own standing answer, their name and the family's
reference the office types to find them when the form comes back.

For a class (everyone, those without an email address, or those waiting for an answer), or
for one child. Each form is in the language the guardian reads (their stored language; the
school's translation of each wording where it has one, else the English marked as English),
unless the office asks for English. A choice for the person themself (marketing emails) is
on the first form of each guardian only.

No Flask request state; a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import languages
from ..models import Choice, Purpose, School, Scope
from ..purposes import wordings
from ..purposes.translations import Wording
from ..types import utcnow
from .grid import Grid, Row, class_grid, pupil_grid
from .waiting import consent_purposes, waiting

EVERYONE, PAPER_ONLY, WAITING = "all", "paper", "waiting"
WHO = (EVERYONE, PAPER_ONLY, WAITING)


@dataclass(frozen=True)
class PrintedChoice:
    purpose: Purpose
    wording: Wording  # in the form's language, or the English marked as a fallback
    kind: str  # the guardian's own standing answer (`grid.Standing.kind`)
    decided_at: datetime | None
    blocked: bool  # a yes to marketing that does not count: they object to direct marketing
    person: bool  # a choice for the person themself

    @property
    def objection(self) -> bool:
        return self.purpose.choice == Choice.OBJECTION


@dataclass(frozen=True)
class Form:
    row: Row
    language: languages.Language
    choices: tuple[PrintedChoice, ...]
    waiting: tuple[Purpose, ...]  # choices for the child nobody has answered yet

    @property
    def for_child(self) -> tuple[PrintedChoice, ...]:
        return tuple(c for c in self.choices if not c.person)

    @property
    def for_person(self) -> tuple[PrintedChoice, ...]:
        return tuple(c for c in self.choices if c.person)


@dataclass(frozen=True)
class Forms:
    school: School
    class_name: str | None
    who: str
    forms: tuple[Form, ...]
    children: int  # how many children the forms are for
    produced_at: datetime


def forms(
    school_id: int,
    *,
    class_name: str | None = None,
    pupil_id: int | None = None,
    who: str = EVERYONE,
    english: bool = False,
    now: datetime | None = None,
) -> Forms:
    """The forms of a class or of one child (`who`: everyone, those without an email address,
    or those whose child is waiting for an answer). NotFound for an unknown class or another
    school's pupil; ValueError for anything else asked."""
    now = now or utcnow()
    if who not in WHO:
        raise ValueError(f"who must be one of {WHO}")
    if pupil_id is not None:
        grid: Grid = pupil_grid(school_id, pupil_id, now=now)
    elif class_name:
        grid = class_grid(school_id, class_name, now=now)
    else:
        raise ValueError("forms are for a class or a child")
    open_ = waiting(school_id, grid.pupils, purposes=consent_purposes(school_id), now=now)
    rows = [
        row
        for row in grid.rows
        if who == EVERYONE
        or (who == PAPER_ONLY and not row.email)
        or (who == WAITING and row.pupil.id in open_)
    ]
    purposes = [column.purpose for column in grid.columns]
    by_language: dict[str, dict[int, Wording]] = {}
    printed: list[Form] = []
    seen: set[int] = set()
    for row in rows:
        language = languages.ENGLISH if english else languages.get(row.language)
        if language.tag not in by_language:
            by_language[language.tag] = wordings(purposes, language.tag)
        first = row.guardian_id not in seen
        seen.add(row.guardian_id)
        choices = tuple(
            PrintedChoice(
                purpose=cell.column.purpose,
                wording=by_language[language.tag][cell.column.purpose.id],
                kind=cell.standing.kind,
                decided_at=cell.standing.decided_at,
                blocked=cell.standing.blocked,
                person=cell.column.purpose.scope == Scope.GUARDIAN,
            )
            for cell in row.cells
            if cell.column.purpose.scope == Scope.PUPIL or first
        )
        found = open_.get(row.pupil.id)
        printed.append(Form(row, language, choices, found.purposes if found else ()))
    return Forms(
        school=grid.school,
        class_name=class_name if pupil_id is None else None,
        who=who,
        forms=tuple(printed),
        children=len({form.row.pupil.id for form in printed}),
        produced_at=now,
    )
