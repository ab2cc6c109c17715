"""The family summary ("Your children"): each school, each child this guardian is responsible
for, and a one-line summary of what needs their answer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import bindparam, select

from .. import consent
from ..extensions import db
from ..models import (
    Choice,
    CurrentDecision,
    DecisionAxis,
    NoticeVersion,
    Pupil,
    Purpose,
    School,
    Scope,
)
from ..types import utcnow
from .family import Family, family_of
from .page import grant_needs_renewal


@dataclass(frozen=True)
class ChildSummary:
    pupil: Pupil
    choices: int  # consent and objection purposes for this child
    need_answer: int  # consent purposes this guardian has not answered
    need_renewal: int  # this guardian's grants to an older wording or past their renewal

    @property
    def all_answered(self) -> bool:
        return not self.need_answer and not self.need_renewal

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
    school: School
    children: list[ChildSummary]
    notice: NoticeVersion | None = None  # the school's current notice
    # A notice version newer than the latest one this guardian answered under.
    notice_changed: bool = False


def family_summary(
    guardian_id: int, *, now: datetime | None = None, family: Family | None = None
) -> list[SchoolSummary]:
    """Each school (by name) with each child this guardian is responsible for and a one-line
    summary of what needs their answer. Three queries, however many children (two when the
    caller passes the guardian's `family`)."""
    now = now or utcnow()
    family = family or family_of(guardian_id)
    groups = family.children
    school_ids = [g.school.id for g in groups]
    by_school: dict[int, list[Purpose]] = defaultdict(list)
    for purpose in _choice_purposes(school_ids):
        by_school[purpose.school_id].append(purpose)
    own, answered_under = _own_answers(guardian_id, school_ids)
    result = []
    for group in groups:
        purposes = by_school.get(group.school.id, [])
        children = [_child_summary(pupil, purposes, own, now) for pupil in group.pupils]
        notice = family.notices.get(group.school.id)
        last = answered_under.get(group.school.id)
        changed = notice is not None and last is not None and last < notice.version
        result.append(SchoolSummary(group.school, children, notice, changed))
    return result


def _child_summary(
    pupil: Pupil, purposes: list[Purpose], own: dict[tuple[int, int], Any], now: datetime
) -> ChildSummary:
    need_answer = need_renewal = 0
    for purpose in purposes:
        if purpose.choice != Choice.CONSENT:
            continue
        answer = own.get((pupil.id, purpose.id))
        if answer is None:
            need_answer += 1
        elif grant_needs_renewal(purpose, consent.Fact.of(answer), now):
            need_renewal += 1
    return ChildSummary(pupil, len(purposes), need_answer, need_renewal)


_CHOICE_PURPOSES = (
    select(Purpose)
    .where(
        Purpose.school_id.in_(bindparam("school_ids", expanding=True)),
        Purpose.active.is_(True),
        Purpose.scope == Scope.PUPIL,
        Purpose.choice != Choice.NONE,
    )
    .order_by(Purpose.school_id, Purpose.position, Purpose.id)
)


def _choice_purposes(school_ids: Iterable[int]) -> list[Purpose]:
    """Active per-child purposes that offer a choice (consent or objection), in page order."""
    ids = sorted(set(school_ids))
    if not ids:
        return []
    return list(db.session.scalars(_CHOICE_PURPOSES, {"school_ids": ids}))


_OWN_DECISIONS = select(
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
).where(
    CurrentDecision.guardian_id == bindparam("guardian_id"),
    CurrentDecision.school_id.in_(bindparam("school_ids", expanding=True)),
)


def _own_answers(
    guardian_id: int, school_ids: list[int]
) -> tuple[dict[tuple[int, int], Any], dict[int, int]]:
    """This guardian's current decisions at these schools, in one query (none without
    schools): their own answers by child and purpose, and the newest notice version they
    answered under at each school."""
    own: dict[tuple[int, int], Any] = {}
    answered_under: dict[int, int] = {}
    if school_ids:
        for row in db.session.execute(
            _OWN_DECISIONS, {"guardian_id": guardian_id, "school_ids": school_ids}
        ):
            if row.notice_version is not None:
                answered_under[row.school_id] = max(
                    row.notice_version, answered_under.get(row.school_id, 0)
                )
            if row.pupil_id is not None and row.axis == DecisionAxis.ANSWER:
                own[(row.pupil_id, row.purpose_id)] = row
    return own, answered_under
