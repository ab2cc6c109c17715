"""Consent rules: the effective status of a pupil (or a person) for a purpose.

docs/consent-rules.md, "Effective status of one pupil for one purpose":
1. Take the latest decision of each guardian with parental responsibility.
2. `any_objection_blocks`: granted when at least one guardian granted and none withdrew;
   withdrawn when any withdrew; else no response. `latest_wins`: the most recent decision of
   any of them. Objection purposes: allowed unless a guardian's latest decision is an
   objection. Where guardians' latest decisions differ, the status carries a conflict flag.
3. A grant given to an older wording version, or older than the renewal period, counts as
   needs renewal, not granted.
4. A pupil off roll is not on roll: never publishable.
5. `biometric` (the Protection of Freedoms Act 2012): the pupil's own refusal, recorded by
   staff, stops it whatever the parents said (`pupil_refused`); otherwise one parent's "no"
   stops it, and only a "yes" in writing (on the web, on paper, by email) counts.

`evaluate` is the pure rule; `statuses` reads what it needs for many pupils in a fixed number
of queries (for class lists), and every status carries *why*: each guardian's latest decision
with its time and channel. A caller that has read the pupils already can read the guardians
and their decisions with `responsible_decisions` and make the statuses with `statuses_from`.
"""

from __future__ import annotations

import enum
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select

from .database import read
from .extensions import db
from .models import (
    WRITTEN_CHANNELS,
    Choice,
    CurrentDecision,
    Decision,
    DecisionAxis,
    GuardianLink,
    GuardianRule,
    Pupil,
    PupilRefusal,
    Purpose,
    RefusalAction,
    Renewal,
    SchoolContact,
    Scope,
)
from .queries import deciding_link
from .types import LONDON, utcnow

CHUNK = 900


class Status(enum.StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    NO_RESPONSE = "no_response"
    NEEDS_RENEWAL = "needs_renewal"
    NOT_ON_ROLL = "not_on_roll"
    ALLOWED = "allowed"
    OBJECTED = "objected"
    # An objection the school has not yet answered: stopped for this pupil meanwhile.
    UNDER_REVIEW = "under_review"
    INFORMATION = "information"  # a purpose that offers no choice
    # The biometric rule: the pupil refused (or objected), which stops it whatever the
    # parents said.
    PUPIL_REFUSED = "pupil_refused"


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
    def of(cls, row: CurrentDecision | Any) -> Fact:
        """The fact a row of the projection of current decisions records (the entity, or a
        row with its columns)."""
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
class Refusal:
    """Why, under the biometric rule: the pupil's own refusal that stands, as staff recorded
    it (`pupil_refusals`: the latest row for the pupil and purpose says "refuse")."""

    pupil_id: int
    purpose_id: int
    recorded_at: datetime
    how: str  # in_person | in_writing
    recorded_by_id: int


@dataclass(frozen=True)
class EffectiveStatus:
    pupil_id: int
    purpose_id: int
    status: Status
    conflict: bool
    guardians: tuple[GuardianView, ...]
    refusal: Refusal | None = None  # the pupil's own refusal, when it stands (biometric)

    @property
    def permits(self) -> bool:
        """May the school go ahead (e.g. publish this pupil's photo) for this purpose?"""
        return self.status in PERMITTING


@functools.cache
def _first_of_september(year: int) -> datetime:
    """Midnight on 1 September in London, in UTC: when a school year's grants run out. Kept
    per year: a class list asks for it once per grant."""
    return datetime(year, 9, 1, tzinfo=LONDON).astimezone(UTC)


def grant_lapses_at(purpose: Purpose, decided_at: datetime) -> datetime | None:
    """When a grant given at `decided_at` stops counting, by the purpose's renewal rule."""
    if purpose.renewal == Renewal.ACADEMIC_YEAR:
        local = decided_at.astimezone(LONDON)
        year = local.year + 1 if (local.month, local.day) >= (9, 1) else local.year
        return _first_of_september(year)
    if purpose.renewal == Renewal.DAYS and purpose.renewal_days:
        return decided_at + timedelta(days=purpose.renewal_days)
    return None


def grant_is_current(purpose: Purpose, fact: Fact, now: datetime) -> bool:
    if fact.purpose_version < purpose.version:
        return False
    lapses = grant_lapses_at(purpose, fact.decided_at)
    return lapses is None or now < lapses


def evaluate(
    purpose: Purpose,
    *,
    on_roll: bool,
    facts: Sequence[Fact],
    now: datetime,
    pupil_refused: bool = False,
) -> tuple[Status, bool]:
    """The effective status and conflict flag, from the PR guardians' latest decisions (and,
    for a biometric purpose, whether the pupil's own refusal stands)."""
    conflict = len({f.decision for f in facts}) > 1
    if not on_roll:
        return Status.NOT_ON_ROLL, conflict
    if purpose.choice == Choice.NONE:
        return Status.INFORMATION, False
    if purpose.choice == Choice.OBJECTION:
        return objection_status(f.decision for f in facts), conflict
    if purpose.guardian_rule == GuardianRule.BIOMETRIC:
        return biometric_status(purpose, facts, now, pupil_refused=pupil_refused), conflict
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


def biometric_status(
    purpose: Purpose, facts: Sequence[Fact], now: datetime, *, pupil_refused: bool
) -> Status:
    """The Protection of Freedoms Act 2012, section 26: the pupil's refusal or objection
    stops it, whatever any parent said (s. 26(5)); otherwise one parent's "no" stops it
    (s. 26(3)(b): a "no" given any way counts, which protects more than the Act's "in
    writing"); otherwise it needs a current "yes" in writing from at least one parent
    (s. 26(3)(a), s. 27: a "yes" by phone does not count)."""
    if pupil_refused:
        return Status.PUPIL_REFUSED
    if any(f.decision == Decision.WITHDRAW for f in facts):
        return Status.WITHDRAWN
    written = [f for f in facts if f.decision == Decision.GRANT and f.channel in WRITTEN_CHANNELS]
    if any(grant_is_current(purpose, f, now) for f in written):
        return Status.GRANTED
    if written:
        return Status.NEEDS_RENEWAL
    return Status.NO_RESPONSE


def objection_status(decisions: Iterable[str]) -> Status:
    """An objection purpose, from each guardian's latest decision on the objection axis: an
    objection the school upheld stops it (`objected`); one it has not answered yet stops it
    while it is reviewed (`under_review`); otherwise (no objection, one lifted, or one the
    school did not uphold) it goes ahead (`allowed`)."""
    found = set(decisions)
    if Decision.UPHELD in found:
        return Status.OBJECTED
    if Decision.OBJECT in found:
        return Status.UNDER_REVIEW
    return Status.ALLOWED


def axis_for(purpose: Purpose) -> DecisionAxis:
    return DecisionAxis.OBJECTION if purpose.choice == Choice.OBJECTION else DecisionAxis.ANSWER


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _responsible_query(with_purposes: bool) -> Any:
    """Each guardian with parental responsibility for some pupils of a school, with each of
    their current decisions about those pupils (a row with no decision, `purpose_id` NULL,
    for a guardian who has made none): the "why" of every status, in one query. Built once
    with bound parameters, so SQLAlchemy compiles it once per process."""
    links = GuardianLink.__table__.c
    joined = and_(
        CurrentDecision.school_id == links.school_id,
        CurrentDecision.pupil_id == links.pupil_id,
        CurrentDecision.guardian_id == links.guardian_id,
    )
    if with_purposes:
        joined = and_(
            joined, CurrentDecision.purpose_id.in_(bindparam("purpose_ids", expanding=True))
        )
    return (
        select(
            links.pupil_id,
            links.guardian_id,
            SchoolContact.forename,
            SchoolContact.surname,
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
        .select_from(GuardianLink)
        .outerjoin(
            SchoolContact,  # the name the school holds for the guardian
            and_(
                SchoolContact.school_id == links.school_id,
                SchoolContact.guardian_id == links.guardian_id,
            ),
        )
        .outerjoin(CurrentDecision, joined)
        .where(
            links.school_id == bindparam("school_id"),
            links.pupil_id.in_(bindparam("pupil_ids", expanding=True)),
            deciding_link(links),
        )
        .order_by(links.pupil_id, links.guardian_id)
    )


_RESPONSIBLE = {True: _responsible_query(True), False: _responsible_query(False)}


def responsible_decisions(
    school_id: int, pupil_ids: Sequence[int], purpose_ids: Sequence[int] | None = None
) -> list[Any]:
    """For these pupils of the school, each guardian with parental responsibility (by pupil,
    then guardian id) and each of their current decisions on these purposes (on every
    purpose when `purpose_ids` is None): one row per decision, with `pupil_id`,
    `guardian_id`, `forename`, `surname` and the decision's columns as in the projection of
    current decisions, or one row with `purpose_id` None for a guardian with no decision.
    One query; `statuses_from` makes the statuses from them."""
    params: dict[str, Any] = {"school_id": school_id, "pupil_ids": list(pupil_ids)}
    if purpose_ids is not None:
        params["purpose_ids"] = list(purpose_ids)
    statement = _RESPONSIBLE[purpose_ids is not None]
    return list(read(statement, params))


def statuses_from(
    rows: Iterable[Any],
    on_roll: Mapping[int, bool],
    purposes: Sequence[Purpose],
    *,
    now: datetime,
    refusals: Mapping[tuple[int, int], Refusal] | None = None,
    why: bool = True,
) -> dict[tuple[int, int], EffectiveStatus]:
    """The effective status of each pupil in `on_roll` (pupil id: on roll?) for each purpose,
    from `responsible_decisions` rows about them and the pupils' own refusals that stand
    (`standing_refusals`, by pupil and purpose; none given: none counted). No query.

    `why=False`: the statuses without the guardians' views (each status's `guardians` is
    empty), for a page that shows only the answer, such as the photo check of a class: the
    views cost about as much as the statuses.

    The work is per pupil and purpose (a class of 30 on three purposes is 90 of them), so it
    is kept small: what depends on the purpose alone (its axis, whether it follows the
    biometric rule) is worked out once, and the decisions are grouped by pupil, purpose and
    axis (a pupil and purpose nobody decided on is one look-up, not one per guardian)."""
    refusals = refusals or {}
    guardians: dict[int, dict[int, str]] = defaultdict(dict)
    decided: dict[tuple[int, int, str], dict[int, Fact]] = defaultdict(dict)
    for row in rows:
        if why:
            name = f"{row.forename or ''} {row.surname or ''}".strip()
            guardians[row.pupil_id][row.guardian_id] = name
        if row.purpose_id is not None:
            decided[(row.pupil_id, row.purpose_id, row.axis)][row.guardian_id] = Fact.of(row)
    rules = [
        (
            purpose,
            purpose.id,
            axis_for(purpose).value,
            purpose.guardian_rule == GuardianRule.BIOMETRIC,
        )
        for purpose in purposes
    ]
    result: dict[tuple[int, int], EffectiveStatus] = {}
    for pupil_id, pupil_on_roll in on_roll.items():
        responsible = guardians.get(pupil_id, {})
        for purpose, purpose_id, axis, biometric in rules:
            latest = decided.get((pupil_id, purpose_id, axis), {})
            views = (
                tuple(
                    _view(g, name, latest.get(g), purpose, now) for g, name in responsible.items()
                )
                if why
                else ()
            )
            refusal = refusals.get((pupil_id, purpose_id)) if biometric else None
            status, conflict = evaluate(
                purpose,
                on_roll=pupil_on_roll,
                facts=list(latest.values()),
                now=now,
                pupil_refused=refusal is not None,
            )
            result[(pupil_id, purpose_id)] = EffectiveStatus(
                pupil_id, purpose_id, status, conflict, views, refusal
            )
    return result


def _view(
    guardian_id: int, name: str, fact: Fact | None, purpose: Purpose, now: datetime
) -> GuardianView:
    """One guardian's part of the why: their latest decision on the purpose, if any."""
    if fact is None:
        return GuardianView(guardian_id, name, None, None, None, None, None, None, lapsed=False)
    return GuardianView(
        guardian_id=guardian_id,
        name=name,
        decision=fact.decision,
        decided_at=fact.decided_at,
        channel=fact.channel,
        actor_type=fact.actor_type,
        purpose_version=fact.purpose_version,
        seq=fact.seq,
        lapsed=fact.decision == Decision.GRANT and not grant_is_current(purpose, fact, now),
    )


def _refusals_query() -> Any:
    """The latest refusal row of each (pupil, purpose) among some pupils and purposes of a
    school. Built once with bound parameters."""
    later = PupilRefusal.__table__.alias("later")
    newest = (
        select(later.c.id)
        .where(
            later.c.school_id == PupilRefusal.school_id,
            later.c.pupil_id == PupilRefusal.pupil_id,
            later.c.purpose_id == PupilRefusal.purpose_id,
            later.c.id > PupilRefusal.id,
        )
        .exists()
    )
    return select(
        PupilRefusal.pupil_id,
        PupilRefusal.purpose_id,
        PupilRefusal.action,
        PupilRefusal.how,
        PupilRefusal.recorded_at,
        PupilRefusal.recorded_by_id,
    ).where(
        PupilRefusal.school_id == bindparam("school_id"),
        PupilRefusal.pupil_id.in_(bindparam("pupil_ids", expanding=True)),
        PupilRefusal.purpose_id.in_(bindparam("purpose_ids", expanding=True)),
        ~newest,
    )


_REFUSALS = _refusals_query()


def standing_refusals(
    school_id: int, pupil_ids: Sequence[int], purposes: Sequence[Purpose]
) -> dict[tuple[int, int], Refusal]:
    """The pupils' own refusals that stand, by (pupil, purpose), for the biometric purposes
    among `purposes`: one query, none when there is no biometric purpose."""
    biometric = [p.id for p in purposes if p.guardian_rule == GuardianRule.BIOMETRIC]
    if not biometric or not pupil_ids:
        return {}
    found: dict[tuple[int, int], Refusal] = {}
    for row in read(
        _REFUSALS,
        {"school_id": school_id, "pupil_ids": list(pupil_ids), "purpose_ids": biometric},
    ):
        if row.action == RefusalAction.REFUSE:
            found[(row.pupil_id, row.purpose_id)] = Refusal(
                row.pupil_id, row.purpose_id, row.recorded_at, row.how, row.recorded_by_id
            )
    return found


_ON_ROLL = select(Pupil.id, Pupil.on_roll).where(
    Pupil.school_id == bindparam("school_id"),
    Pupil.id.in_(bindparam("pupil_ids", expanding=True)),
)


def statuses(
    pupil_ids: Iterable[int],
    purposes: Sequence[Purpose],
    *,
    school_id: int,
    now: datetime | None = None,
    on_roll: Mapping[int, bool] | None = None,
    why: bool = True,
) -> dict[tuple[int, int], EffectiveStatus]:
    """Effective status for every (pupil, purpose), in two queries per chunk of pupils (one
    when the caller passes `on_roll`, pupil id: on roll?, for pupils it has read already),
    and one more per chunk when a purpose follows the biometric rule (the pupils' refusals).
    `why=False`: without the guardians' views (`statuses_from`).

    Scoped to one school: pupils of another school are simply not found.
    """
    now = now or utcnow()
    ids = sorted(set(pupil_ids))
    purposes = [p for p in purposes if p.school_id == school_id]
    purpose_ids = [p.id for p in purposes]
    result: dict[tuple[int, int], EffectiveStatus] = {}
    if not ids or not purposes:
        return result
    for chunk in _chunks(ids):
        if on_roll is None:
            found: dict[int, bool] = {
                pupil_id: flag
                for pupil_id, flag in read(
                    _ON_ROLL, {"school_id": school_id, "pupil_ids": list(chunk)}
                )
            }
        else:
            found = {pupil_id: on_roll[pupil_id] for pupil_id in chunk if pupil_id in on_roll}
        if not found:
            continue
        rows = responsible_decisions(school_id, sorted(found), purpose_ids)
        refused = standing_refusals(school_id, sorted(found), purposes)
        result.update(statuses_from(rows, found, purposes, now=now, refusals=refused, why=why))
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
                if purpose.marketing:  # absolute: no review
                    status = Status.OBJECTED if objected else Status.ALLOWED
                else:
                    status = objection_status([objection.decision] if objection else [])
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
