"""One child's page: their purposes in three groups, with this guardian's own answers and the
effective status (all guardians' decisions counted, none of them named), each purpose worded in
the page's language when the school has a translation (`purposes.wordings`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from .. import consent, holidays, ledger, objections, takedowns
from ..errors import NotFound
from ..extensions import db
from ..models import (
    Choice,
    ConsentEvent,
    Decision,
    Purpose,
    PurposeTranslation,
    PurposeVersion,
    Scope,
)
from ..purposes import Wording, translated, wording
from ..types import utcnow
from .family import Family, FamilyNotice, FamilyPupil, FamilySchool, family_of
from .wording_diff import Piece, word_diff


def grant_needs_renewal(purpose: Purpose, fact: consent.Fact, now: datetime) -> bool:
    """A grant given to an older wording, or past the purpose's renewal: it counts as no."""
    return fact.decision == Decision.GRANT and not consent.grant_is_current(purpose, fact, now)


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
class Review:
    """Where this guardian's objection stands with the school: under review until `due_on`,
    or answered (the outcome is `own.decision`) with the school's `reasons`."""

    objected_at: datetime | None
    due_on: date | None = None  # while under review
    reasons: str | None = None  # the school's, once answered


@dataclass(frozen=True)
class PurposeChoice:
    purpose: Purpose
    own: OwnDecision | None
    status: consent.Status  # the effective status, all guardians' decisions counted
    others_differ: bool  # the effective status is not what this guardian's answer alone gives
    # The title and description as the page shows them: in its language, or in English.
    wording: Wording
    # The wording this guardian last answered, when the purpose has been reworded since, in
    # the page's language when the school translated it, and that wording's language.
    answered_wording: str | None = None
    review: Review | None = None
    answered_language: str = "en"
    # The title this guardian answered, when the purpose has been reworded since.
    answered_title: str | None = None
    # What changed since the wording this guardian answered, word by word (`word_diff`):
    # empty unless the purpose was reworded since and both wordings are in one language.
    changes: tuple[Piece, ...] = ()
    title_changes: tuple[Piece, ...] = ()

    @property
    def needs_answer(self) -> bool:
        """A consent purpose with no current answer from this guardian, or a lapsed grant."""
        if self.purpose.choice != Choice.CONSENT:
            return False
        return self.own is None or self.own.needs_renewal

    @property
    def standing(self) -> str | None:
        """This guardian's answer that stands on a consent purpose ("grant" or "withdraw"),
        the one its button shows as pressed: None without an answer, or when their yes
        needs renewing (it no longer counts)."""
        if self.purpose.choice != Choice.CONSENT or self.own is None or self.own.needs_renewal:
            return None
        return self.own.decision if self.own.decision in ledger.ANSWERS else None

    @property
    def renewal_reason(self) -> str | None:
        """Why this guardian's yes needs renewing, one reason: "wording" (the school changed
        what it asks since; it is the reason even when the period has run out too, since the
        new wording must be read) or "period" (the renewal period ran out). None otherwise."""
        if self.own is None or not self.own.needs_renewal:
            return None
        return "wording" if self.own.purpose_version < self.purpose.version else "period"

    @property
    def lapsed_at(self) -> datetime | None:
        """When this guardian's yes ran out by the purpose's renewal period (None when it
        never does)."""
        if self.own is None:
            return None
        return consent.grant_lapses_at(self.purpose, self.own.decided_at)


@dataclass(frozen=True)
class ChildPage:
    pupil: FamilyPupil
    school: FamilySchool
    notice: FamilyNotice | None
    consent: list[PurposeChoice]
    objection: list[PurposeChoice]
    information: list[Purpose]
    siblings: list[FamilyPupil]  # this guardian's other children at the same school
    # A notice version newer than the one this guardian last answered under.
    notice_changed: bool
    # What the school did for this child (take-downs done): the fact and the day.
    outcomes: list[Any] = field(default_factory=list)
    # Every purpose's title and description as the page shows them, by purpose id.
    wordings: dict[int, Wording] = field(default_factory=dict)

    def card(self, purpose_id: int) -> PurposeChoice | None:
        """The consent or objection purpose `purpose_id` of this page, if it is one."""
        return next((i for i in self.consent + self.objection if i.purpose.id == purpose_id), None)

    @property
    def need_answer(self) -> int:
        """How many of its choices need this guardian's answer (none yet, or a lapsed yes)."""
        return sum(1 for item in self.consent if item.needs_answer)

    @property
    def class_named(self) -> bool:
        """The class's name says "class" already ("Class 5"): not to be called "class
        Class 5"."""
        return says_class(self.pupil.class_name)


def says_class(class_name: str | None) -> bool:
    """A class name that starts with the word "class" ("Class 5", "class 3B")."""
    return class_name is not None and re.match(r"class\b", class_name.strip(), re.I) is not None


def child_page(
    guardian_id: int,
    pupil_id: int,
    *,
    now: datetime | None = None,
    family: Family | None = None,
    language: str | None = None,
) -> ChildPage:
    """One child's purposes in three groups, with this guardian's answers and the effective
    status, worded for a page in `language` (a BCP 47 tag; None: English). A fixed number of
    queries: three (two when the caller passes the guardian's `family`), one more on a page
    not in English (the school's translations), one more when a purpose has been reworded
    since this guardian answered, and one or two more when the school reviews or has
    answered an objection of theirs."""
    now = now or utcnow()
    family = family or family_of(guardian_id)
    pupil, school = family.child(pupil_id)
    notice = family.notices.get(school.id)
    purposes = [p for p in family.purposes(school.id) if p.scope == Scope.PUPIL]
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
    translations = translated(purposes, language)
    shown = {p.id: wording(p, language, translations) for p in purposes}
    wordings = _answered_wordings(school.id, chosen, own_rows, translations)

    consent_group: list[PurposeChoice] = []
    objection_group: list[PurposeChoice] = []
    for purpose in chosen:
        row = own_rows.get((purpose.id, consent.axis_for(purpose).value))
        status = found[(pupil.id, purpose.id)]
        item = _purpose_choice(purpose, pupil, row, status, shown[purpose.id], wordings, now)
        (consent_group if purpose.choice == Choice.CONSENT else objection_group).append(item)

    objection_group = _with_reviews(school.id, objection_group)
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
        outcomes=takedowns.done_for([pupil.id]),
        wordings=shown,
    )


def _answered_wordings(
    school_id: int,
    chosen: list[Purpose],
    own_rows: dict[tuple[int, str], Any],
    translations: dict[tuple[int, int], PurposeTranslation],
) -> dict[tuple[int, int], Wording]:
    """The wordings (by purpose and version) this guardian answered, for the purposes reworded
    since, with their language: the school's translation into the page's language when it
    has one (`translations`), else the English. None, or one query."""
    stale = [
        (row.purpose_id, row.purpose_version)
        for p in chosen
        if (row := own_rows.get((p.id, consent.axis_for(p).value))) is not None
        and row.purpose_version < p.version
    ]
    wordings: dict[tuple[int, int], Wording] = {}
    if stale:
        for version in db.session.scalars(
            select(PurposeVersion).where(
                PurposeVersion.school_id == school_id,
                PurposeVersion.purpose_id.in_([pid for pid, _ in stale]),
            )
        ):
            key = (version.purpose_id, version.version)
            translation = translations.get(key)
            wordings[key] = (
                Wording(translation.title, translation.description, translation.language)
                if translation is not None
                else Wording(version.title, version.description, "en")
            )
    return wordings


def _purpose_choice(
    purpose: Purpose,
    pupil: FamilyPupil,
    row: Any,  # this guardian's own current decision on the purpose, or None
    status: consent.EffectiveStatus,
    shown: Wording,
    wordings: dict[tuple[int, int], Wording],
    now: datetime,
) -> PurposeChoice:
    """One card: this guardian's own answer `row` (if any) beside the effective `status`."""
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
            needs_renewal=grant_needs_renewal(purpose, fact, now),
        )
    alone, _ = consent.evaluate(purpose, on_roll=pupil.on_roll, facts=facts, now=now)
    answered = None
    if row is not None and row.purpose_version < purpose.version:
        answered = wordings.get((purpose.id, row.purpose_version))
    if answered is None:
        return PurposeChoice(purpose, own, status.status, alone != status.status, shown)
    # A word diff only between wordings in one language: across two, both are shown whole.
    same_language = answered.language == shown.language
    return PurposeChoice(
        purpose,
        own,
        status.status,
        alone != status.status,
        shown,
        answered.description,
        answered_language=answered.language,
        answered_title=answered.title,
        changes=word_diff(answered.description, shown.description) if same_language else (),
        title_changes=(
            word_diff(answered.title, shown.title)
            if same_language and answered.title != shown.title
            else ()
        ),
    )


def _with_reviews(school_id: int, items: list[PurposeChoice]) -> list[PurposeChoice]:
    """Each objection of this guardian's that the school reviews, with its due date (under
    review) or the school's reasons (answered): one query when there is any."""
    reviewed = [
        i
        for i in items
        if i.own is not None
        and objections.reviewed(i.purpose)
        and i.own.decision in (Decision.OBJECT, Decision.UPHELD, Decision.NOT_UPHELD)
    ]
    if not reviewed:
        return items
    outcome_seqs = [i.own.seq for i in reviewed if i.own and i.own.decision != Decision.OBJECT]
    events: dict[int, ConsentEvent] = {}
    if outcome_seqs:
        outcomes = list(
            db.session.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.school_id == school_id, ConsentEvent.seq.in_(outcome_seqs)
                )
            )
        )
        answered = [e.answers_seq for e in outcomes if e.answers_seq is not None]
        events = {e.seq: e for e in outcomes}
        events.update(
            (e.seq, e)
            for e in db.session.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.school_id == school_id, ConsentEvent.seq.in_(answered)
                )
            )
        )
    days_off = holidays.in_force() if len(outcome_seqs) < len(reviewed) else frozenset()
    result = []
    for item in items:
        own = item.own
        if item not in reviewed or own is None:
            result.append(item)
        elif own.decision == Decision.OBJECT:
            review = Review(own.decided_at, due_on=objections.due_on(own.decided_at, days_off))
            result.append(replace(item, review=review))
        else:
            outcome = events.get(own.seq)
            asked = events.get(outcome.answers_seq) if outcome and outcome.answers_seq else None
            review = Review(
                asked.occurred_at if asked else None, reasons=outcome.note if outcome else None
            )
            result.append(replace(item, review=review))
    return result


@dataclass(frozen=True)
class Answerable:
    """A choice on one child's page that this guardian may answer."""

    pupil: FamilyPupil
    purpose: Purpose
    siblings: list[FamilyPupil]  # this guardian's other children at the same school, by name


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
            for p in family.purposes(school.id)
            if p.id == purpose_id and p.scope == Scope.PUPIL and p.choice != Choice.NONE
        ),
        None,
    )
    if purpose is None:
        raise NotFound("no such choice on this child's page")
    return Answerable(pupil, purpose, family.siblings(pupil))
