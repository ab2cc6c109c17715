"""Consent rules: the effective status of a pupil (or a person) for a purpose.

DESIGN.md, "Effective status of one pupil for one consent purpose":
1. Take the latest decision of each guardian with parental responsibility.
2. `any_objection_blocks`: granted when at least one guardian granted and none withdrew;
   withdrawn when any withdrew; else no response. `latest_wins`: the most recent decision of
   any of them. Objection purposes: allowed unless a guardian's latest decision is an
   objection. Where guardians' latest decisions differ, the status carries a conflict flag.
3. A grant given to an older wording version, or older than the renewal period, counts as
   needs renewal, not granted.
4. A pupil off roll is not on roll: never publishable.

`evaluate` is the pure rule; `statuses` reads what it needs for many pupils in a fixed number
of queries (for class lists), and every status carries *why*: each guardian's latest decision
with its time and channel.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .extensions import db
from .models import (
    Choice,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    GuardianRule,
    Pupil,
    Purpose,
    Renewal,
    Scope,
)
from .types import utcnow

LONDON = ZoneInfo("Europe/London")
CHUNK = 900


class Status(enum.StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    NO_RESPONSE = "no_response"
    NEEDS_RENEWAL = "needs_renewal"
    NOT_ON_ROLL = "not_on_roll"
    ALLOWED = "allowed"
    OBJECTED = "objected"
    INFORMATION = "information"  # a purpose that offers no choice


PERMITTING = frozenset({Status.GRANTED, Status.ALLOWED})


@dataclass(frozen=True)
class Fact:
    """One guardian's latest decision on the axis that matters for a purpose."""

    guardian_id: int
    decision: str
    decided_at: datetime
    purpose_version: int
    seq: int
    channel: str = "web"
    actor_type: str = "guardian"

    @classmethod
    def of(cls, row: CurrentDecision) -> Fact:
        """The fact a row of the projection of current decisions records."""
        return cls(
            guardian_id=row.guardian_id,
            decision=row.decision,
            decided_at=row.decided_at,
            purpose_version=row.purpose_version,
            seq=row.seq,
            channel=row.channel,
            actor_type=row.actor_type,
        )


@dataclass(frozen=True)
class GuardianView:
    """Why: one guardian with parental responsibility and their latest decision, if any."""

    guardian_id: int
    name: str
    decision: str | None
    decided_at: datetime | None
    channel: str | None
    actor_type: str | None
    purpose_version: int | None
    seq: int | None
    lapsed: bool  # a grant that needs renewal


@dataclass(frozen=True)
class EffectiveStatus:
    pupil_id: int
    purpose_id: int
    status: Status
    conflict: bool
    guardians: tuple[GuardianView, ...]

    @property
    def permits(self) -> bool:
        """May the school go ahead (e.g. publish this pupil's photo) for this purpose?"""
        return self.status in PERMITTING


def grant_lapses_at(purpose: Purpose, decided_at: datetime) -> datetime | None:
    """When a grant given at `decided_at` stops counting, by the purpose's renewal rule."""
    if purpose.renewal == Renewal.ACADEMIC_YEAR:
        local = decided_at.astimezone(LONDON)
        year = local.year + 1 if (local.month, local.day) >= (9, 1) else local.year
        return datetime(year, 9, 1, tzinfo=LONDON).astimezone(UTC)
    if purpose.renewal == Renewal.DAYS and purpose.renewal_days:
        return decided_at + timedelta(days=purpose.renewal_days)
    return None


def grant_is_current(purpose: Purpose, fact: Fact, now: datetime) -> bool:
    if fact.purpose_version < purpose.version:
        return False
    lapses = grant_lapses_at(purpose, fact.decided_at)
    return lapses is None or now < lapses


def evaluate(
    purpose: Purpose, *, on_roll: bool, facts: Sequence[Fact], now: datetime
) -> tuple[Status, bool]:
    """The effective status and conflict flag, from the PR guardians' latest decisions."""
    conflict = len({f.decision for f in facts}) > 1
    if not on_roll:
        return Status.NOT_ON_ROLL, conflict
    if purpose.choice == Choice.NONE:
        return Status.INFORMATION, False
    if purpose.choice == Choice.OBJECTION:
        if any(f.decision == Decision.OBJECT for f in facts):
            return Status.OBJECTED, conflict
        return Status.ALLOWED, conflict
    if not facts:
        return Status.NO_RESPONSE, False
    if purpose.guardian_rule == GuardianRule.LATEST_WINS:
        latest = max(facts, key=lambda f: f.seq)
        if latest.decision == Decision.WITHDRAW:
            return Status.WITHDRAWN, conflict
        current = grant_is_current(purpose, latest, now)
        return (Status.GRANTED if current else Status.NEEDS_RENEWAL), conflict
    if any(f.decision == Decision.WITHDRAW for f in facts):
        return Status.WITHDRAWN, conflict
    grants = [f for f in facts if f.decision == Decision.GRANT]
    if any(grant_is_current(purpose, f, now) for f in grants):
        return Status.GRANTED, conflict
    if grants:
        return Status.NEEDS_RENEWAL, conflict
    return Status.NO_RESPONSE, conflict


def axis_for(purpose: Purpose) -> DecisionAxis:
    return DecisionAxis.OBJECTION if purpose.choice == Choice.OBJECTION else DecisionAxis.ANSWER


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def statuses(
    pupil_ids: Iterable[int],
    purposes: Sequence[Purpose],
    *,
    school_id: int,
    now: datetime | None = None,
) -> dict[tuple[int, int], EffectiveStatus]:
    """Effective status for every (pupil, purpose), in three queries per chunk of pupils.

    Scoped to one school: pupils of another school are simply not found.
    """
    now = now or utcnow()
    ids = sorted(set(pupil_ids))
    purposes = [p for p in purposes if p.school_id == school_id]
    purpose_ids = [p.id for p in purposes]
    result: dict[tuple[int, int], EffectiveStatus] = {}
    if not ids or not purposes:
        return result
    session = db.session
    for chunk in _chunks(ids):
        on_roll: dict[int, bool] = {
            pupil_id: flag
            for pupil_id, flag in session.execute(
                select(Pupil.id, Pupil.on_roll).where(
                    Pupil.school_id == school_id, Pupil.id.in_(chunk)
                )
            )
        }
        guardians: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for pupil_id, guardian_id, forename, surname in session.execute(
            select(GuardianLink.pupil_id, Guardian.id, Guardian.forename, Guardian.surname)
            .join(Guardian, Guardian.id == GuardianLink.guardian_id)
            .where(
                GuardianLink.school_id == school_id,
                GuardianLink.pupil_id.in_(chunk),
                GuardianLink.parental_responsibility.is_(True),
                GuardianLink.ended_at.is_(None),
            )
            .order_by(GuardianLink.pupil_id, Guardian.id)
        ):
            guardians[pupil_id].append((guardian_id, f"{forename} {surname}".strip()))
        decisions: dict[tuple[int, int, int, str], CurrentDecision] = {}
        for row in session.scalars(
            select(CurrentDecision).where(
                CurrentDecision.school_id == school_id,
                CurrentDecision.pupil_id.in_(chunk),
                CurrentDecision.purpose_id.in_(purpose_ids),
            )
        ):
            decisions[(row.pupil_id or 0, row.purpose_id, row.guardian_id, row.axis)] = row
        for pupil_id in chunk:
            if pupil_id not in on_roll:
                continue
            for purpose in purposes:
                axis = axis_for(purpose).value
                facts: list[Fact] = []
                views: list[GuardianView] = []
                for guardian_id, name in guardians.get(pupil_id, []):
                    latest = decisions.get((pupil_id, purpose.id, guardian_id, axis))
                    fact = None
                    if latest is not None:
                        fact = Fact.of(latest)
                        facts.append(fact)
                    views.append(
                        GuardianView(
                            guardian_id=guardian_id,
                            name=name,
                            decision=fact.decision if fact else None,
                            decided_at=fact.decided_at if fact else None,
                            channel=fact.channel if fact else None,
                            actor_type=fact.actor_type if fact else None,
                            purpose_version=fact.purpose_version if fact else None,
                            seq=fact.seq if fact else None,
                            lapsed=bool(
                                fact
                                and fact.decision == Decision.GRANT
                                and not grant_is_current(purpose, fact, now)
                            ),
                        )
                    )
                status, conflict = evaluate(
                    purpose, on_roll=on_roll[pupil_id], facts=facts, now=now
                )
                result[(pupil_id, purpose.id)] = EffectiveStatus(
                    pupil_id, purpose.id, status, conflict, tuple(views)
                )
    return result


def status_for(pupil: Pupil, purpose: Purpose, *, now: datetime | None = None) -> EffectiveStatus:
    """The effective status of one pupil for one purpose (of the pupil's school)."""
    found = statuses([pupil.id], [purpose], school_id=pupil.school_id, now=now)
    key = (pupil.id, purpose.id)
    if key not in found:
        raise LookupError("the purpose and the pupil belong to different schools")
    return found[key]


@dataclass(frozen=True)
class PersonStatus:
    """A guardian-level choice (such as marketing) for one person at one school."""

    guardian_id: int
    purpose_id: int
    status: Status
    answer: Fact | None
    objection: Fact | None


def person_statuses(
    guardian_ids: Iterable[int],
    purposes: Sequence[Purpose],
    *,
    school_id: int,
    now: datetime | None = None,
) -> dict[tuple[int, int], PersonStatus]:
    """Status of guardian-level purposes. An objection to direct marketing is absolute: while
    it stands on any of the school's marketing purposes, no marketing consent counts."""
    now = now or utcnow()
    ids = sorted(set(guardian_ids))
    purposes = [p for p in purposes if p.school_id == school_id and p.scope == Scope.GUARDIAN]
    rows: dict[tuple[int, int, str], CurrentDecision] = {}
    for chunk in _chunks(ids):
        for row in db.session.scalars(
            select(CurrentDecision).where(
                CurrentDecision.school_id == school_id,
                CurrentDecision.pupil_id.is_(None),
                CurrentDecision.guardian_id.in_(chunk),
            )
        ):
            rows[(row.guardian_id, row.purpose_id, row.axis)] = row
    marketing_ids = {
        p.id
        for p in db.session.scalars(
            select(Purpose).where(Purpose.school_id == school_id, Purpose.marketing.is_(True))
        )
    }

    def fact(row: CurrentDecision | None) -> Fact | None:
        return None if row is None else Fact.of(row)

    result: dict[tuple[int, int], PersonStatus] = {}
    for guardian_id in ids:
        objects_to_marketing = any(
            (r := rows.get((guardian_id, pid, DecisionAxis.OBJECTION))) is not None
            and r.decision == Decision.OBJECT
            for pid in marketing_ids
        )
        for purpose in purposes:
            answer = fact(rows.get((guardian_id, purpose.id, DecisionAxis.ANSWER)))
            objection = fact(rows.get((guardian_id, purpose.id, DecisionAxis.OBJECTION)))
            objected = (objection is not None and objection.decision == Decision.OBJECT) or (
                purpose.marketing and objects_to_marketing
            )
            if purpose.choice == Choice.NONE:
                status = Status.INFORMATION
            elif purpose.choice == Choice.OBJECTION:
                status = Status.OBJECTED if objected else Status.ALLOWED
            elif objected:
                status = Status.OBJECTED
            elif answer is None:
                status = Status.NO_RESPONSE
            elif answer.decision == Decision.WITHDRAW:
                status = Status.WITHDRAWN
            elif grant_is_current(purpose, answer, now):
                status = Status.GRANTED
            else:
                status = Status.NEEDS_RENEWAL
            result[(guardian_id, purpose.id)] = PersonStatus(
                guardian_id, purpose.id, status, answer, objection
            )
    return result
