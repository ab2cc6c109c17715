"""The family summary ("Your children"): each school, each child this guardian is responsible
for, a one-line summary of what needs their answer, and where another person with parental
responsibility has made this guardian's answer not the one that counts (without saying who)."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, bindparam, literal, select, union_all

from .. import consent
from ..database import read
from ..models import (
    Choice,
    CurrentDecision,
    Decision,
    GuardianLink,
    Purpose,
    Scope,
)
from ..purposes import Wording, wordings
from ..queries import deciding_link
from ..types import utcnow
from .family import Family, FamilyNotice, FamilyPupil, FamilySchool, family_of
from .page import grant_needs_renewal, says_class


class Overruled(enum.StrEnum):
    """How another person with parental responsibility made the outcome differ from this
    guardian's own answer."""

    SAID_NO = "said_no"  # this guardian said yes; another said no, so it does not happen
    SAID_YES = "said_yes"  # this guardian said no; another said yes later (latest answer wins)
    OBJECTED = "objected"  # no objection from this guardian; another objected: it is stopped


@dataclass(frozen=True)
class OtherAnswer:
    """A purpose where another person's answer, not this guardian's, decides what happens."""

    wording: Wording  # the purpose's title as the page shows it
    kind: Overruled


@dataclass(frozen=True)
class ChildSummary:
    pupil: FamilyPupil
    choices: int  # consent and objection purposes for this child
    need_answer: int  # consent purposes this guardian has not answered
    need_renewal: int  # this guardian's grants to an older wording or past their renewal
    # Where another person's answer decides instead of this guardian's, in page order.
    others: tuple[OtherAnswer, ...] = ()

    @property
    def all_answered(self) -> bool:
        return not self.need_answer and not self.need_renewal

    @property
    def class_named(self) -> bool:
        """The class's name says "class" already ("Class 5"): not "Class Class 5"."""
        return says_class(self.pupil.class_name)

    @property
    def text(self) -> str:
        """What needs this guardian's answer, in the page's language."""
        parts = []
        if self.need_answer:
            parts.append(
                ngettext(
                    "%(num)d choice needs your answer",
                    "%(num)d choices need your answer",
                    self.need_answer,
                )
            )
        if self.need_renewal:
            parts.append(
                ngettext("%(num)d needs renewing", "%(num)d need renewing", self.need_renewal)
            )
        # The separator in the language's own punctuation (Arabic and Urdu: "، ").
        # TRANSLATORS: between two counts, as in "2 choices need your answer, 1 needs renewing".
        return _(", ").join(parts) if parts else _("All answered")


@dataclass(frozen=True)
class SchoolSummary:
    school: FamilySchool
    children: list[ChildSummary]
    notice: FamilyNotice | None = None  # the school's current notice
    # A notice version newer than the latest one this guardian answered under.
    notice_changed: bool = False


def family_summary(
    guardian_id: int,
    *,
    now: datetime | None = None,
    family: Family | None = None,
    language: str | None = None,
) -> list[SchoolSummary]:
    """Each school (by name) with each child this guardian is responsible for, a one-line
    summary of what needs their answer, and the purposes where another person with parental
    responsibility decides instead of them (titled for a page in `language`, a BCP 47 tag;
    None: English). Three queries, however many children (two when the caller passes the
    guardian's `family`), one more on a page not in English (the school's translations)."""
    now = now or utcnow()
    family = family or family_of(guardian_id)
    groups = family.children
    school_ids = [g.school.id for g in groups]
    by_school: dict[int, list[Purpose]] = defaultdict(list)
    chosen = _choice_purposes(family)
    for purpose in chosen:
        by_school[purpose.school_id].append(purpose)
    pupil_ids = [pupil.id for group in groups for pupil in group.pupils]
    answers = _answers(guardian_id, school_ids, pupil_ids)
    own, answered_under, others = answers.own, answers.answered_under, answers.others
    titles = wordings(chosen, language) if any(others.values()) else {}
    result = []
    for group in groups:
        purposes = by_school.get(group.school.id, [])
        children = [
            _child_summary(pupil, purposes, own, others.get(pupil.id, {}), titles, now)
            for pupil in group.pupils
        ]
        notice = family.notices.get(group.school.id)
        last = answered_under.get(group.school.id)
        changed = notice is not None and last is not None and last < notice.version
        result.append(SchoolSummary(group.school, children, notice, changed))
    return result


def _child_summary(
    pupil: FamilyPupil,
    purposes: list[Purpose],
    own: dict[tuple[int, int, str], Any],
    others: dict[tuple[int, str], list[consent.Fact]],
    titles: dict[int, Wording],
    now: datetime,
) -> ChildSummary:
    need_answer = need_renewal = 0
    overruled: list[OtherAnswer] = []
    for purpose in purposes:
        axis = consent.axis_for(purpose).value
        answer = own.get((pupil.id, purpose.id, axis))
        mine = consent.Fact.of(answer) if answer is not None else None
        if purpose.choice == Choice.CONSENT:
            if mine is None:
                need_answer += 1
            elif grant_needs_renewal(purpose, mine, now):
                need_renewal += 1
        theirs = others.get((purpose.id, axis), [])
        kind = _overruled(purpose, mine, theirs, now) if theirs else None
        if kind is not None:
            overruled.append(OtherAnswer(titles[purpose.id], kind))
    return ChildSummary(pupil, len(purposes), need_answer, need_renewal, tuple(overruled))


def _overruled(
    purpose: Purpose, mine: consent.Fact | None, theirs: list[consent.Fact], now: datetime
) -> Overruled | None:
    """How the others' decisions make the outcome differ from this guardian's own answer,
    when it is one the family page should say: their current yes stopped by another's no,
    their no overtaken by another's later yes, or another's objection where they have none.
    (With no answer of their own, a consent purpose needs their answer: it says so.)"""
    alone, _ = consent.evaluate(purpose, on_roll=True, facts=[mine] if mine else [], now=now)
    everyone, _ = consent.evaluate(
        purpose, on_roll=True, facts=[*theirs, *([mine] if mine else [])], now=now
    )
    if alone == everyone:
        return None
    if purpose.choice == Choice.OBJECTION:
        return Overruled.OBJECTED if alone == consent.Status.ALLOWED else None
    if mine is None:
        return None
    if everyone == consent.Status.WITHDRAWN and alone == consent.Status.GRANTED:
        return Overruled.SAID_NO
    if everyone == consent.Status.GRANTED and mine.decision == Decision.WITHDRAW:
        return Overruled.SAID_YES
    return None


def _choice_purposes(family: Family) -> list[Purpose]:
    """Active per-child purposes that offer a choice (consent or objection), in page order,
    school by school (kept for each school's generation: `portal.school_cache`)."""
    return [
        purpose
        for school_id in sorted({group.school.id for group in family.children})
        for purpose in family.purposes(school_id)
        if purpose.scope == Scope.PUPIL and purpose.choice != Choice.NONE
    ]


_DECISION_COLUMNS = (
    CurrentDecision.school_id,
    CurrentDecision.guardian_id,
    CurrentDecision.pupil_id,
    CurrentDecision.purpose_id,
    CurrentDecision.axis,
    CurrentDecision.decision,
    CurrentDecision.decided_at,
    CurrentDecision.purpose_version,
    CurrentDecision.notice_version,
    CurrentDecision.seq,
    CurrentDecision.channel,
    CurrentDecision.actor_type,
)
# This guardian's own current decisions at their schools (`mine`), and those about their
# children of everyone else who decides for them (a current link with parental
# responsibility), in one statement. The others' are found by school and pupil, the first
# columns of uq_current_decisions_pupil: by pupil alone, PostgreSQL's generic plan for the
# prepared statement (chosen after its fifth run on a connection) read the whole table in
# parallel on every children page (22 ms and 1.5 ms of its CPU at 300,000 decisions).
_ANSWERS = union_all(
    select(literal(True).label("mine"), *_DECISION_COLUMNS).where(
        CurrentDecision.guardian_id == bindparam("guardian_id"),
        CurrentDecision.school_id.in_(bindparam("school_ids", expanding=True)),
    ),
    select(literal(False).label("mine"), *_DECISION_COLUMNS)
    .join(
        GuardianLink,
        and_(
            GuardianLink.school_id == CurrentDecision.school_id,
            GuardianLink.pupil_id == CurrentDecision.pupil_id,
            GuardianLink.guardian_id == CurrentDecision.guardian_id,
            deciding_link(),
        ),
    )
    .where(
        CurrentDecision.school_id.in_(bindparam("school_ids", expanding=True)),
        CurrentDecision.pupil_id.in_(bindparam("pupil_ids", expanding=True)),
        CurrentDecision.guardian_id != bindparam("guardian_id"),
    ),
)


@dataclass
class _Answers:
    # This guardian's own decisions about each child, by child, purpose and axis.
    own: dict[tuple[int, int, str], Any]
    # The newest notice version they answered under at each school.
    answered_under: dict[int, int]
    # Everyone else's who decides for the children, by child, then purpose and axis. Who
    # they are does not leave this module: only their decisions.
    others: dict[int, dict[tuple[int, str], list[consent.Fact]]]


def _answers(guardian_id: int, school_ids: list[int], pupil_ids: list[int]) -> _Answers:
    """The current decisions a summary needs, in one query (none without schools)."""
    found = _Answers({}, {}, defaultdict(lambda: defaultdict(list)))
    if not school_ids:
        return found
    rows = read(
        _ANSWERS,
        {"guardian_id": guardian_id, "school_ids": school_ids, "pupil_ids": pupil_ids},
    )
    for row in rows:
        if not row.mine:
            found.others[row.pupil_id][(row.purpose_id, row.axis)].append(consent.Fact.of(row))
            continue
        if row.notice_version is not None:
            found.answered_under[row.school_id] = max(
                row.notice_version, found.answered_under.get(row.school_id, 0)
            )
        if row.pupil_id is not None:
            found.own[(row.pupil_id, row.purpose_id, row.axis)] = row
    return found
