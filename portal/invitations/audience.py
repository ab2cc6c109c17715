"""Who an invitation goes to: every guardian with parental responsibility for a pupil on
roll (`all`), those of one class (`class`), or only those with a consent choice to answer or
renew (`needs_answer`, the rule of `choices.family_summary`); and how many each reaches."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import consent
from ..extensions import db
from ..models import (
    Choice,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    Pupil,
    Purpose,
    Scope,
)
from ..queries import deciding_link
from ..types import utcnow


class Audience(enum.StrEnum):
    ALL = "all"
    CLASS = "class"
    NEEDS_ANSWER = "needs_answer"


AUDIENCE_WORDS = {
    Audience.ALL: "All parents and carers",
    Audience.CLASS: "Parents and carers of one class",
    Audience.NEEDS_ANSWER: "Only those with choices to answer or renew",
}


@dataclass(frozen=True)
class _Contact:
    guardian_id: int
    email: str
    pupil_id: int
    class_name: str


def _contacts(school_id: int, class_name: str | None = None) -> list[_Contact]:
    """Each (guardian with an email, pupil) pair where the guardian has parental
    responsibility for the pupil, on roll at this school, through a current link."""
    query = (
        select(Guardian.id, Guardian.email, Pupil.id, Pupil.class_name)
        .join(GuardianLink, GuardianLink.guardian_id == Guardian.id)
        .join(Pupil, Pupil.id == GuardianLink.pupil_id)
        .where(
            GuardianLink.school_id == school_id,
            Pupil.school_id == school_id,
            deciding_link(),
            Pupil.on_roll.is_(True),
            Guardian.email.is_not(None),
        )
    )
    if class_name is not None:
        query = query.where(Pupil.class_name == class_name)
    return [_Contact(g, email or "", p, c) for g, email, p, c in db.session.execute(query)]


def _needing_an_answer(school_id: int, contacts: list[_Contact], now: datetime) -> set[int]:
    """The guardians among `contacts` with at least one consent choice for one of these
    children that they have not answered, or whose "yes" needs renewing: what
    `choices.family_summary` counts as "needs your answer" and "needs renewing", for the
    whole school in three queries."""
    purposes = list(
        db.session.scalars(
            select(Purpose).where(
                Purpose.school_id == school_id,
                Purpose.active.is_(True),
                Purpose.scope == Scope.PUPIL,
                Purpose.choice == Choice.CONSENT,
            )
        )
    )
    if not purposes or not contacts:
        return set()
    answers: dict[tuple[int, int, int], CurrentDecision] = {
        (row.guardian_id, row.pupil_id or 0, row.purpose_id): row
        for row in db.session.scalars(
            select(CurrentDecision).where(
                CurrentDecision.school_id == school_id,
                CurrentDecision.pupil_id.is_not(None),
                CurrentDecision.axis == DecisionAxis.ANSWER,
            )
        )
    }
    found: set[int] = set()
    for contact in contacts:
        if contact.guardian_id in found:
            continue
        for purpose in purposes:
            row = answers.get((contact.guardian_id, contact.pupil_id, purpose.id))
            if row is None or (
                row.decision == Decision.GRANT
                and not consent.grant_is_current(purpose, consent.Fact.of(row), now)
            ):
                found.add(contact.guardian_id)
                break
    return found


def recipients(
    school_id: int, audience: str, class_name: str | None = None, *, now: datetime | None = None
) -> dict[int, str]:
    """The guardians an invitation to this audience goes to: guardian id -> email."""
    now = now or utcnow()
    if audience == Audience.CLASS:
        contacts = _contacts(school_id, class_name)
    else:
        contacts = _contacts(school_id)
    if audience == Audience.NEEDS_ANSWER:
        wanted = _needing_an_answer(school_id, contacts, now)
        contacts = [c for c in contacts if c.guardian_id in wanted]
    return {c.guardian_id: c.email for c in contacts}


@dataclass(frozen=True)
class AudienceSizes:
    """How many people each audience reaches, for the form."""

    all: int
    needs_answer: int
    classes: dict[str, int]  # class name -> guardians, in class order


def audience_sizes(school_id: int, *, now: datetime | None = None) -> AudienceSizes:
    now = now or utcnow()
    contacts = _contacts(school_id)
    by_class: dict[str, set[int]] = defaultdict(set)
    for contact in contacts:
        by_class[contact.class_name].add(contact.guardian_id)
    classes = set(
        db.session.scalars(
            select(Pupil.class_name).where(Pupil.school_id == school_id, Pupil.on_roll.is_(True))
        )
    )
    return AudienceSizes(
        all=len({c.guardian_id for c in contacts}),
        needs_answer=len(_needing_an_answer(school_id, contacts, now)),
        classes={name: len(by_class.get(name, ())) for name in sorted(classes)},
    )
