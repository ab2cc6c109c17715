"""A guardian's marketing choices at one school: the person's own, not their children's.

Marketing purposes are per person (scope guardian): any current contact of a pupil at the
school may answer them, with or without parental responsibility. An objection to direct
marketing stands above every marketing consent (docs/consent-rules.md, "Choices a person makes
for themself: marketing"). No Flask request state: every function takes the signed-in
guardian's id, and a school where they have no current link raises `NotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from . import consent, ledger, receipts
from .errors import NotFound
from .extensions import db
from .ledger import Actor, DecisionRequest, LedgerError
from .models import (
    Channel,
    Choice,
    ConsentEvent,
    CurrentDecision,
    Decision,
    DecisionAxis,
    GuardianLink,
    Purpose,
    School,
    Scope,
)
from .purposes import Wording, wordings


class ObjectionStands(LedgerError):
    """A "yes" to marketing while this person's objection to direct marketing stands: it
    could not count, so nothing is recorded. Lifting the objection comes first."""


@dataclass(frozen=True)
class MarketingChoice:
    purpose: Purpose
    status: consent.Status
    answer: str | None  # this guardian's latest grant or withdraw
    answered_at: datetime | None
    # The title and description as the page shows them: in its language, or in English.
    wording: Wording


@dataclass(frozen=True)
class MarketingPage:
    school: School
    choices: list[MarketingChoice]
    objection_stands: bool  # an objection to direct marketing: no marketing consent counts
    objected_at: datetime | None


def _linked_school(guardian_id: int, school_id: int) -> School:
    """A school where this guardian has an active link (with or without responsibility)."""
    school = db.session.scalars(
        select(School).where(
            School.id == school_id,
            select(GuardianLink.id)
            .where(
                GuardianLink.school_id == school_id,
                GuardianLink.guardian_id == guardian_id,
                GuardianLink.ended_at.is_(None),
            )
            .exists(),
        )
    ).first()
    if school is None:
        raise NotFound("no such school")
    return school


def _marketing_purposes(school_id: int, *, active_only: bool) -> list[Purpose]:
    query = select(Purpose).where(
        Purpose.school_id == school_id,
        Purpose.scope == Scope.GUARDIAN,
        Purpose.marketing.is_(True),
    )
    if active_only:
        query = query.where(Purpose.active.is_(True))
    return list(db.session.scalars(query.order_by(Purpose.position, Purpose.id)))


def page(
    guardian_id: int,
    school_id: int,
    *,
    now: datetime | None = None,
    language: str | None = None,
) -> MarketingPage:
    """This guardian's marketing choices at the school, and whether their objection stands,
    worded for a page in `language` (a BCP 47 tag; None: English)."""
    school = _linked_school(guardian_id, school_id)
    purposes = _marketing_purposes(school_id, active_only=True)
    shown = wordings(purposes, language)
    found = consent.person_statuses([guardian_id], purposes, school_id=school_id, now=now)
    objected_at = _objected_at(guardian_id, school_id)
    choices = []
    for purpose in purposes:
        status = found[(guardian_id, purpose.id)]
        choices.append(
            MarketingChoice(
                purpose,
                status.status,
                status.answer.decision if status.answer else None,
                status.answer.decided_at if status.answer else None,
                shown[purpose.id],
            )
        )
    return MarketingPage(school, choices, objected_at is not None, objected_at)


def _objected_at(guardian_id: int, school_id: int) -> datetime | None:
    """Since when this guardian's objection to direct marketing at the school stands (their
    objection on any marketing purpose, retired ones too), or None."""
    return db.session.scalar(
        select(func.max(CurrentDecision.decided_at))
        .join(Purpose, Purpose.id == CurrentDecision.purpose_id)
        .where(
            CurrentDecision.school_id == school_id,
            CurrentDecision.guardian_id == guardian_id,
            CurrentDecision.pupil_id.is_(None),
            CurrentDecision.axis == DecisionAxis.OBJECTION,
            CurrentDecision.decision == Decision.OBJECT,
            Purpose.marketing.is_(True),
        )
    )


def decide(
    guardian_id: int,
    school_id: int,
    decision: str,
    *,
    purpose_id: int | None = None,
    now: datetime | None = None,
    language: str | None = None,
) -> list[ConsentEvent]:
    """Record this guardian's marketing decision at one school, in one transaction.

    grant/withdraw: on `purpose_id` (one of the school's marketing purposes), or on every
    active marketing purpose when none is named. object: on every active marketing purpose.
    lift_objection: on every marketing purpose where this guardian's objection stands (none
    standing: nothing to do). Every change queues this guardian's receipt email.

    A grant while this guardian's objection to direct marketing stands raises
    `ObjectionStands` and records nothing: it could not count (the objection stands above
    every marketing consent), and a "yes" kept for later would come back into force, unseen,
    the day the objection is lifted.

    `language` is the language of the page the guardian answered on (a BCP 47 tag; None:
    English); each event records the language of its purpose's wording as that page showed
    it: that tag when the school translated the current wording into it, else "en".
    """
    _linked_school(guardian_id, school_id)
    targets = _targets(guardian_id, school_id, decision, purpose_id)
    if decision == Decision.GRANT and _objected_at(guardian_id, school_id) is not None:
        raise ObjectionStands("a yes to marketing cannot count while the objection stands")
    if targets is None:
        return []
    if not targets:
        raise LedgerError("this school has no marketing choices")
    shown = wordings(targets, language)
    requests = [
        DecisionRequest(
            guardian_id=guardian_id,
            purpose_id=p.id,
            decision=decision,
            language=shown[p.id].language,
        )
        for p in targets
    ]
    return ledger.record_many(
        requests,
        actor=Actor.guardian(guardian_id),
        channel=Channel.WEB.value,
        before_commit=receipts.hook(guardian_id),
        now=now,
        skip_if=_unchanged,
    )


def _unchanged(
    request: DecisionRequest, row: ledger.StandingDecision | None, _at: datetime
) -> bool:
    """The same decision again (a double-submit, another tab) records nothing: asked by the
    ledger under the school's chain lock."""
    return row is not None and row.decision == request.decision


def _targets(
    guardian_id: int, school_id: int, decision: str, purpose_id: int | None
) -> list[Purpose] | None:
    """The marketing purposes `decision` applies to; None when there is nothing to do (an
    objection to lift that does not stand)."""
    if decision in ledger.ANSWERS:
        targets = [
            p for p in _marketing_purposes(school_id, active_only=True) if p.choice != Choice.NONE
        ]
        if purpose_id is not None:
            targets = [p for p in targets if p.id == purpose_id]
            if not targets:
                raise NotFound("no such marketing purpose")
        return targets
    if decision == Decision.OBJECT:
        return _marketing_purposes(school_id, active_only=True)
    if decision == Decision.LIFT_OBJECTION:
        standing = set(
            db.session.scalars(
                select(CurrentDecision.purpose_id).where(
                    CurrentDecision.school_id == school_id,
                    CurrentDecision.guardian_id == guardian_id,
                    CurrentDecision.pupil_id.is_(None),
                    CurrentDecision.axis == DecisionAxis.OBJECTION,
                    CurrentDecision.decision == Decision.OBJECT,
                )
            )
        )
        lifted = [p for p in _marketing_purposes(school_id, active_only=False) if p.id in standing]
        return lifted or None
    raise LedgerError(f"unknown decision {decision!r}")
