"""The parent journey's domain layer: what a guardian sees and decides for their children.

No Flask request state: every function takes the signed-in guardian's id. Every query is
scoped to the pupils this guardian has *current* parental responsibility for (an active
GuardianLink with parental_responsibility true, pupil on roll); anything else raises
`NotFound`, so that a view answers 404 whether the thing does not exist or is not theirs.

Another guardian's decisions count towards a child's effective status, but nothing here
hands back who they are: no name, email or id of another guardian leaves this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased, load_only

from . import consent, families, ledger, receipts
from .errors import NotFound
from .extensions import db
from .ledger import Actor, DecisionRequest, LedgerError
from .models import (
    ActorType,
    Channel,
    Choice,
    ConsentEvent,
    CurrentDecision,
    Decision,
    DecisionAxis,
    GuardianLink,
    NoticeVersion,
    Pupil,
    Purpose,
    PurposeVersion,
    School,
    Scope,
)
from .queries import deciding_link, wording_at_event
from .types import utcnow

# --- scoping -----------------------------------------------------------------------------


def _responsible_for(guardian_id: int) -> ColumnElement[bool]:
    """The join condition (GuardianLink to Pupil) for a child this guardian may see and decide
    for."""
    return and_(
        GuardianLink.guardian_id == guardian_id,
        GuardianLink.pupil_id == Pupil.id,
        GuardianLink.school_id == Pupil.school_id,
        deciding_link(),
        Pupil.on_roll.is_(True),
    )


def _children_query(guardian_id: int) -> Select[int]:
    return select(Pupil.id).join(GuardianLink, _responsible_for(guardian_id))


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


def _grant_needs_renewal(purpose: Purpose, fact: consent.Fact, now: datetime) -> bool:
    return fact.decision == Decision.GRANT and not consent.grant_is_current(purpose, fact, now)


def schools_of(guardian_id: int) -> list[School]:
    """The schools where this guardian is a current contact of a pupil, by name."""
    return list(
        db.session.scalars(
            select(School)
            .where(
                School.id.in_(
                    select(GuardianLink.school_id).where(
                        GuardianLink.guardian_id == guardian_id, GuardianLink.ended_at.is_(None)
                    )
                )
            )
            .order_by(School.name)
        )
    )


@dataclass(frozen=True)
class Family:
    """What a guardian's current links say, from one query: the schools where they are a
    current contact of a pupil (by name, as `schools_of`), the children they have parental
    responsibility for, on roll, by school (as `families.children_by_school`), and each of
    those schools' current notice (version, title, date and summary)."""

    schools: list[School]
    children: list[families.SchoolChildren]
    notices: dict[int, NoticeVersion]

    def child(self, pupil_id: int) -> tuple[Pupil, School]:
        """One of their children, with the school; NotFound for any other pupil."""
        for group in self.children:
            for pupil in group.pupils:
                if pupil.id == pupil_id:
                    return pupil, group.school
        raise NotFound("no such child")

    def siblings(self, pupil: Pupil) -> list[Pupil]:
        """Their other children at the same school, by name."""
        for group in self.children:
            if group.school.id == pupil.school_id:
                return [p for p in group.pupils if p.id != pupil.id]
        return []


def _family_query() -> Any:
    newest = aliased(NoticeVersion)
    latest = (
        select(func.max(newest.version))
        .where(newest.school_id == School.id)
        .correlate(School)
        .scalar_subquery()
    )
    return (
        select(GuardianLink.parental_responsibility, School, Pupil, NoticeVersion)
        .select_from(GuardianLink)
        .join(School, School.id == GuardianLink.school_id)
        .join(Pupil, Pupil.id == GuardianLink.pupil_id)
        .outerjoin(
            NoticeVersion,
            and_(NoticeVersion.school_id == School.id, NoticeVersion.version == latest),
        )
        .where(
            GuardianLink.guardian_id == bindparam("guardian_id"),
            GuardianLink.ended_at.is_(None),
        )
        .options(
            load_only(
                NoticeVersion.school_id,
                NoticeVersion.version,
                NoticeVersion.title,
                NoticeVersion.published_at,
                NoticeVersion.summary,
            )
        )
        .order_by(School.name, School.id, Pupil.forename, Pupil.surname, Pupil.id)
    )


# Built once with a bound parameter, so SQLAlchemy compiles it once per process.
_FAMILY = _family_query()


def family_of(guardian_id: int) -> Family:
    """This guardian's schools, children and the schools' current notices. One query."""
    schools: dict[int, School] = {}
    children: dict[int, families.SchoolChildren] = {}
    notices_by_school: dict[int, NoticeVersion] = {}
    for responsible, school, pupil, notice in db.session.execute(
        _FAMILY, {"guardian_id": guardian_id}
    ):
        schools.setdefault(school.id, school)
        if notice is not None:
            notices_by_school[school.id] = notice
        if responsible and pupil.on_roll and pupil.school_id == school.id:
            children.setdefault(school.id, families.SchoolChildren(school, [])).pupils.append(pupil)
    return Family(list(schools.values()), list(children.values()), notices_by_school)


# --- 1. the family summary -----------------------------------------------------------------


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
        parts = []
        if self.need_answer:
            noun = "choice needs" if self.need_answer == 1 else "choices need"
            parts.append(f"{self.need_answer} {noun} your answer")
        if self.need_renewal:
            verb = "needs" if self.need_renewal == 1 else "need"
            parts.append(f"{self.need_renewal} {verb} renewing")
        return ", ".join(parts) if parts else "All answered"


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
    # This guardian's current decisions at these schools: their own answers for each child,
    # and the newest notice version they answered under at each school.
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
    result = []
    for group in groups:
        purposes = by_school.get(group.school.id, [])
        children = []
        for pupil in group.pupils:
            need_answer = need_renewal = 0
            for purpose in purposes:
                if purpose.choice != Choice.CONSENT:
                    continue
                answer = own.get((pupil.id, purpose.id))
                if answer is None:
                    need_answer += 1
                elif _grant_needs_renewal(purpose, consent.Fact.of(answer), now):
                    need_renewal += 1
            children.append(ChildSummary(pupil, len(purposes), need_answer, need_renewal))
        notice = family.notices.get(group.school.id)
        last = answered_under.get(group.school.id)
        changed = notice is not None and last is not None and last < notice.version
        result.append(SchoolSummary(group.school, children, notice, changed))
    return result


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


# --- 2. a child's page ---------------------------------------------------------------------


@dataclass(frozen=True)
class OwnDecision:
    """This guardian's own latest decision on one purpose's axis."""

    decision: str
    decided_at: datetime
    channel: str
    actor_type: str  # "staff" when the school took it down from a form, a call or an email
    purpose_version: int
    notice_version: int | None
    seq: int
    needs_renewal: bool


@dataclass(frozen=True)
class PurposeChoice:
    purpose: Purpose
    own: OwnDecision | None
    status: consent.Status  # the effective status, all guardians' decisions counted
    others_differ: bool  # the effective status is not what this guardian's answer alone gives
    # The wording this guardian last answered, when the purpose has been reworded since.
    answered_wording: str | None = None

    @property
    def needs_answer(self) -> bool:
        """A consent purpose with no current answer from this guardian, or a lapsed grant."""
        if self.purpose.choice != Choice.CONSENT:
            return False
        return self.own is None or self.own.needs_renewal


@dataclass(frozen=True)
class ChildPage:
    pupil: Pupil
    school: School
    notice: NoticeVersion | None
    consent: list[PurposeChoice]
    objection: list[PurposeChoice]
    information: list[Purpose]
    siblings: list[Pupil]  # this guardian's other children at the same school
    # A notice version newer than the one this guardian last answered under.
    notice_changed: bool


def child_page(
    guardian_id: int,
    pupil_id: int,
    *,
    now: datetime | None = None,
    family: Family | None = None,
) -> ChildPage:
    """One child's purposes in three groups, with this guardian's answers and the effective
    status. A fixed number of queries: three (two when the caller passes the guardian's
    `family`), and one more when a purpose has been reworded since this guardian answered."""
    now = now or utcnow()
    family = family or family_of(guardian_id)
    pupil, school = family.child(pupil_id)
    notice = family.notices.get(school.id)
    purposes = [p for p in _all_active(school.id) if p.scope == Scope.PUPIL]
    chosen = [p for p in purposes if p.choice != Choice.NONE]
    # Everyone with parental responsibility for the child and their decisions (on every
    # purpose, retired ones too): the effective statuses, and this guardian's own answers.
    rows = consent.responsible_decisions(school.id, [pupil.id])
    found = consent.statuses_from(rows, {pupil.id: pupil.on_roll}, chosen, now=now)
    own_rows = {
        (row.purpose_id, row.axis): row
        for row in rows
        if row.guardian_id == guardian_id and row.purpose_id is not None
    }
    stale = [
        (row.purpose_id, row.purpose_version)
        for p in chosen
        if (row := own_rows.get((p.id, consent.axis_for(p).value))) is not None
        and row.purpose_version < p.version
    ]
    wordings: dict[tuple[int, int], str] = {}
    if stale:
        for version in db.session.scalars(
            select(PurposeVersion).where(
                PurposeVersion.school_id == school.id,
                PurposeVersion.purpose_id.in_([pid for pid, _ in stale]),
            )
        ):
            wordings[(version.purpose_id, version.version)] = version.description

    consent_group: list[PurposeChoice] = []
    objection_group: list[PurposeChoice] = []
    for purpose in chosen:
        status = found[(pupil.id, purpose.id)]
        row = own_rows.get((purpose.id, consent.axis_for(purpose).value))
        own = None
        facts: list[consent.Fact] = []
        if row is not None:
            fact = consent.Fact.of(row)
            facts.append(fact)
            own = OwnDecision(
                decision=row.decision,
                decided_at=row.decided_at,
                channel=row.channel,
                actor_type=row.actor_type,
                purpose_version=row.purpose_version,
                notice_version=row.notice_version,
                seq=row.seq,
                needs_renewal=_grant_needs_renewal(purpose, fact, now),
            )
        alone, _ = consent.evaluate(purpose, on_roll=pupil.on_roll, facts=facts, now=now)
        answered = None
        if row is not None and row.purpose_version < purpose.version:
            answered = wordings.get((purpose.id, row.purpose_version))
        item = PurposeChoice(purpose, own, status.status, alone != status.status, answered)
        (consent_group if purpose.choice == Choice.CONSENT else objection_group).append(item)

    answered_under = [r.notice_version for r in own_rows.values() if r.notice_version is not None]
    notice_changed = bool(
        notice is not None and answered_under and max(answered_under) < notice.version
    )
    return ChildPage(
        pupil=pupil,
        school=school,
        notice=notice,
        consent=consent_group,
        objection=objection_group,
        information=[p for p in purposes if p.choice == Choice.NONE],
        siblings=family.siblings(pupil),
        notice_changed=notice_changed,
    )


_ALL_ACTIVE = (
    select(Purpose)
    .where(Purpose.school_id == bindparam("school_id"), Purpose.active.is_(True))
    .order_by(Purpose.position, Purpose.id)
)


def _all_active(school_id: int) -> list[Purpose]:
    return list(db.session.scalars(_ALL_ACTIVE, {"school_id": school_id}))


@dataclass(frozen=True)
class Answerable:
    """A choice on one child's page that this guardian may answer."""

    pupil: Pupil
    purpose: Purpose
    siblings: list[Pupil]  # this guardian's other children at the same school, by name


def answerable(
    guardian_id: int, pupil_id: int, purpose_id: int, *, family: Family | None = None
) -> Answerable:
    """The choice `purpose_id` on the page of this guardian's child `pupil_id` (an active
    per-child purpose of the child's school that offers a choice): NotFound for anything
    else. Two queries (one when the caller passes the guardian's `family`)."""
    family = family or family_of(guardian_id)
    pupil, school = family.child(pupil_id)
    purpose = next(
        (
            p
            for p in _all_active(school.id)
            if p.id == purpose_id and p.scope == Scope.PUPIL and p.choice != Choice.NONE
        ),
        None,
    )
    if purpose is None:
        raise NotFound("no such choice on this child's page")
    return Answerable(pupil, purpose, family.siblings(pupil))


# --- 3. deciding for one or several children -----------------------------------------------


class StaleChoice(LedgerError):
    """The form answered an older wording of the purpose than the one now in force: the
    person has not seen what they would be agreeing to, so nothing is recorded."""


def decide(
    guardian_id: int,
    pupil_ids: Sequence[int],
    purpose_id: int,
    decision: str,
    *,
    note: str | None = None,
    purpose_version: int | None = None,
    notice_version: int | None = None,
    now: datetime | None = None,
    family: Family | None = None,
) -> list[ConsentEvent]:
    """Record this guardian's own decision for one or several of their children at one school:
    one ledger event per child, in one transaction. NotFound (nothing written) unless every
    pupil is this guardian's child and the purpose is of their school; StaleChoice when
    `purpose_version` (the wording the form showed) is not the current one; LedgerError for
    a decision that does not fit the purpose.

    Every change queues this guardian's receipt email (`receipts.hook`), in the same
    transaction. A decision that is already this guardian's current one for a child (a
    double-submit, or the same answer from another tab) records nothing for that child: the
    newest decision stands either way. A grant that needs renewal is recorded again, as the renewal.
    `family`, when the caller has read it (`family_of`), saves reading the children again.
    """
    now = now or utcnow()
    wanted = list(dict.fromkeys(pupil_ids))
    if not wanted:
        raise NotFound("no child chosen")
    if family is not None:  # read already by the caller: this guardian's children
        mine = {p.id: p.school_id for group in family.children for p in group.pupils}
        rows = [(p, mine[p]) for p in wanted if p in mine]
    else:
        rows = [
            (pupil_id, school_id)
            for pupil_id, school_id in db.session.execute(
                select(Pupil.id, Pupil.school_id)
                .join(GuardianLink, _responsible_for(guardian_id))
                .where(Pupil.id.in_(wanted))
            )
        ]
    schools = {school_id for _, school_id in rows}
    if len(rows) != len(wanted) or len(schools) != 1:
        raise NotFound("no such child")
    purpose = db.session.get(Purpose, purpose_id)
    if purpose is None or purpose.school_id not in schools or purpose.scope != Scope.PUPIL:
        raise NotFound("no such purpose")
    if purpose_version is not None and purpose_version != purpose.version:
        raise StaleChoice(f"{purpose.title!r} has been reworded since the page was opened")
    axis = ledger.axis_of(decision) if decision in {d.value for d in Decision} else None
    current = {
        row.pupil_id: row
        for row in db.session.scalars(
            select(CurrentDecision).where(
                CurrentDecision.guardian_id == guardian_id,
                CurrentDecision.purpose_id == purpose_id,
                CurrentDecision.pupil_id.in_(wanted),
                CurrentDecision.axis == (axis.value if axis else ""),
            )
        )
    }

    def unchanged(pupil_id: int) -> bool:
        row = current.get(pupil_id)
        if row is None:
            # Nothing to withdraw or lift is not a change either: no answer already means no.
            return decision == Decision.LIFT_OBJECTION
        if row.decision != decision:
            return False
        return not _grant_needs_renewal(purpose, consent.Fact.of(row), now)

    requests = [
        DecisionRequest(
            guardian_id=guardian_id,
            purpose_id=purpose_id,
            decision=decision,
            pupil_id=pupil_id,
            note=note,
            purpose_version=purpose_version,
            notice_version=notice_version,
        )
        for pupil_id in wanted
        if not unchanged(pupil_id)
    ]
    return ledger.record_many(
        requests,
        actor=Actor.guardian(guardian_id),
        channel=Channel.WEB.value,
        before_commit=receipts.hook(guardian_id),
        now=now,
    )


# --- 4. marketing (guardian level) ---------------------------------------------------------


@dataclass(frozen=True)
class MarketingChoice:
    purpose: Purpose
    status: consent.Status
    answer: str | None  # this guardian's latest grant or withdraw
    answered_at: datetime | None


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


def marketing(guardian_id: int, school_id: int, *, now: datetime | None = None) -> MarketingPage:
    school = _linked_school(guardian_id, school_id)
    purposes = _marketing_purposes(school_id, active_only=True)
    found = consent.person_statuses([guardian_id], purposes, school_id=school_id, now=now)
    objected_at = db.session.scalar(
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
    choices = []
    for purpose in purposes:
        status = found[(guardian_id, purpose.id)]
        choices.append(
            MarketingChoice(
                purpose,
                status.status,
                status.answer.decision if status.answer else None,
                status.answer.decided_at if status.answer else None,
            )
        )
    return MarketingPage(school, choices, objected_at is not None, objected_at)


def decide_marketing(
    guardian_id: int,
    school_id: int,
    decision: str,
    *,
    purpose_id: int | None = None,
    now: datetime | None = None,
) -> list[ConsentEvent]:
    """Record this guardian's marketing decision at one school, in one transaction.

    grant/withdraw: on `purpose_id` (one of the school's marketing purposes), or on every
    active marketing purpose when none is named. object: on every active marketing purpose.
    lift_objection: on every marketing purpose where this guardian's objection stands (none
    standing: nothing to do). Every change queues this guardian's receipt email.
    """
    _linked_school(guardian_id, school_id)
    if decision in ledger.ANSWERS:
        targets = [
            p for p in _marketing_purposes(school_id, active_only=True) if p.choice != Choice.NONE
        ]
        if purpose_id is not None:
            targets = [p for p in targets if p.id == purpose_id]
            if not targets:
                raise NotFound("no such marketing purpose")
    elif decision == Decision.OBJECT:
        targets = _marketing_purposes(school_id, active_only=True)
    elif decision == Decision.LIFT_OBJECTION:
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
        targets = [p for p in _marketing_purposes(school_id, active_only=False) if p.id in standing]
        if not targets:
            return []
    else:
        raise LedgerError(f"unknown decision {decision!r}")
    if not targets:
        raise LedgerError("this school has no marketing choices")
    # The same decision again (a double-submit, another tab) records nothing.
    current = {
        row.purpose_id: row.decision
        for row in db.session.scalars(
            select(CurrentDecision).where(
                CurrentDecision.school_id == school_id,
                CurrentDecision.guardian_id == guardian_id,
                CurrentDecision.pupil_id.is_(None),
                CurrentDecision.purpose_id.in_([p.id for p in targets]),
                CurrentDecision.axis == ledger.axis_of(decision).value,
            )
        )
    }
    requests = [
        DecisionRequest(guardian_id=guardian_id, purpose_id=p.id, decision=decision)
        for p in targets
        if current.get(p.id) != decision
    ]
    return ledger.record_many(
        requests,
        actor=Actor.guardian(guardian_id),
        channel=Channel.WEB.value,
        before_commit=receipts.hook(guardian_id),
        now=now,
    )


# --- 5. history ----------------------------------------------------------------------------

YOU = "you"
ANOTHER = "another person with parental responsibility"
STAFF_WORDS = {
    Channel.PAPER.value: "school staff, from a paper form",
    Channel.PHONE.value: "school staff, by phone",
    Channel.EMAIL.value: "school staff, by email",
}


@dataclass(frozen=True)
class HistoryEntry:
    occurred_at: datetime
    school: str
    child: str | None  # the child's first name; None for a choice of the guardian's own
    purpose: str  # the purpose's title in the wording version decided on
    decision: str
    channel: str
    who: str
    yours: bool  # the decision is this guardian's own (perhaps taken down by staff)
    seq: int
    hash_prefix: str

    @property
    def reference(self) -> str:
        return f"{self.seq}-{self.hash_prefix}"


def _who(actor_type: str, actor_id: int | None, channel: str, guardian_id: int) -> str:
    if actor_type == ActorType.STAFF:
        return STAFF_WORDS.get(channel, "school staff")
    if actor_type == ActorType.GUARDIAN:
        return YOU if actor_id == guardian_id else ANOTHER
    return "the school"


def history(guardian_id: int, *, limit: int = 200) -> list[HistoryEntry]:
    """Decisions about this guardian's children (everyone's) and this guardian's own
    guardian-level decisions, newest first. One query."""
    children = _children_query(guardian_id)
    rows = db.session.execute(
        select(
            ConsentEvent.occurred_at,
            ConsentEvent.seq,
            ConsentEvent.hash,
            ConsentEvent.actor_type,
            ConsentEvent.actor_id,
            ConsentEvent.guardian_id,
            ConsentEvent.decision,
            ConsentEvent.channel,
            School.name.label("school"),
            Pupil.forename.label("child"),
            func.coalesce(PurposeVersion.title, Purpose.title).label("purpose"),
        )
        .join(School, School.id == ConsentEvent.school_id)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(
            PurposeVersion,
            wording_at_event(),
        )
        .outerjoin(Pupil, Pupil.id == ConsentEvent.pupil_id)
        .where(
            or_(
                ConsentEvent.pupil_id.in_(children),
                and_(
                    ConsentEvent.pupil_id.is_(None),
                    ConsentEvent.guardian_id == guardian_id,
                ),
            )
        )
        .order_by(ConsentEvent.occurred_at.desc(), ConsentEvent.school_id, ConsentEvent.seq.desc())
        .limit(limit)
    ).all()
    return [
        HistoryEntry(
            occurred_at=row.occurred_at,
            school=row.school,
            child=row.child,
            purpose=row.purpose,
            decision=row.decision,
            channel=row.channel,
            who=_who(row.actor_type, row.actor_id, row.channel, guardian_id),
            yours=row.guardian_id == guardian_id,
            seq=row.seq,
            hash_prefix=row.hash[:12],
        )
        for row in rows
    ]
