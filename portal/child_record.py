"""A record to keep: one child's standing answers, as a page a family can print or save.

For each purpose of the child's page that offers a choice: where it stands (the effective
status, every guardian with parental responsibility counted: docs/consent-rules.md), and each
answer that stands, from the ledger: what was answered, by whom, when, the exact wording it
was given to (the version answered, in the language it was read in when the school had a
translation of it), and the event's reference and full hash (portal/references.py).

Who answered is "you" or "another person with parental responsibility", never named: no name,
email or id of another guardian leaves this module (as on the child's page and the history).
No Flask request state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import consent, references
from .choices.family import Family, FamilyNotice, FamilyPupil, FamilySchool, family_of
from .extensions import db
from .history import STAFF_WORDS
from .ledger import OUTCOMES
from .models import (
    ActorType,
    Choice,
    ConsentEvent,
    Decision,
    Purpose,
    PurposeTranslation,
    PurposeVersion,
    Scope,
)
from .purposes import Wording, wordings
from .queries import wording_at_event
from .types import utcnow

# Where a purpose stands for the child, in words (never a colour alone).
STANDING = {
    consent.Status.GRANTED: _l("Yes: the school may do this."),
    consent.Status.WITHDRAWN: _l("No: the school does not do this."),
    consent.Status.NO_RESPONSE: _l("Not answered: the school treats this as no."),
    consent.Status.NEEDS_RENEWAL: _l(
        "Needs a fresh answer: until it has one, the school treats this as no."
    ),
    consent.Status.ALLOWED: _l("No objection: the school does this."),
    consent.Status.UNDER_REVIEW: _l(
        "Objection under review: the school has stopped this while it looks at it."
    ),
    consent.Status.OBJECTED: _l("Objection upheld: the school has stopped this."),
}


@dataclass(frozen=True)
class Answer:
    """One answer that stands for the child on one purpose."""

    yours: bool  # this guardian's own (perhaps recorded by school staff, or the school's
    # outcome of their objection)
    decision: str
    decided_at: datetime
    who: str  # in the page's language, the first letter for the page to capitalise
    title: str  # the wording answered: the version's title and description, as read
    description: str
    language: str  # the BCP 47 tag of the wording shown ("en" when it is the English)
    version: int  # the wording's version
    reference: str  # like OP-1042-7F3A
    hash: str  # in full
    lapsed: bool  # a yes that no longer counts (run out, or older wording)


@dataclass(frozen=True)
class PurposeRecord:
    purpose: Purpose
    wording: Wording  # the current title and description, as the page shows them
    status: consent.Status
    answers: list[Answer]  # this guardian's first, then the others', newest first

    @property
    def standing(self) -> str:
        words = STANDING.get(self.status)
        return str(words) if words is not None else str(self.status)


@dataclass(frozen=True)
class ChildRecord:
    pupil: FamilyPupil
    school: FamilySchool
    notice: FamilyNotice | None  # the school's current notice
    purposes: list[PurposeRecord]
    made_at: datetime


def _who(yours: bool, actor_type: str, channel: str, decision: str) -> str:
    person = _("you") if yours else _("another person with parental responsibility")
    if decision in OUTCOMES:
        return _("the school, answering an objection from %(person)s", person=person)
    if actor_type == ActorType.STAFF:
        staff = STAFF_WORDS.get(channel, _l("school staff"))
        return _("%(person)s, recorded by %(staff)s", person=person, staff=str(staff))
    return _("%(who)s, online", who=person)


def child_record(
    guardian_id: int,
    pupil_id: int,
    *,
    now: datetime | None = None,
    family: Family | None = None,
    language: str | None = None,
) -> ChildRecord:
    """The record of one of this guardian's children (NotFound for anyone else's), worded
    for a page in `language` (a BCP 47 tag; None: English). A fixed number of queries."""
    now = now or utcnow()
    family = family or family_of(guardian_id)
    pupil, school = family.child(pupil_id)
    chosen = list(
        db.session.scalars(
            select(Purpose)
            .where(
                Purpose.school_id == school.id,
                Purpose.active.is_(True),
                Purpose.scope == Scope.PUPIL,
                Purpose.choice != Choice.NONE,
            )
            .order_by(Purpose.position, Purpose.id)
        )
    )
    rows = consent.responsible_decisions(school.id, [pupil.id], [p.id for p in chosen])
    found = consent.statuses_from(rows, {pupil.id: pupil.on_roll}, chosen, now=now)
    axes = {p.id: consent.axis_for(p).value for p in chosen}
    standing = [
        row for row in rows if row.purpose_id is not None and axes.get(row.purpose_id) == row.axis
    ]
    events = _events(school.id, [row.seq for row in standing])
    translations = _translations(school.id, events.values())
    shown = wordings(chosen, language)
    by_purpose = {p.id: p for p in chosen}

    answers: dict[int, list[Answer]] = {p.id: [] for p in chosen}
    for row in standing:
        event = events.get(row.seq)
        if event is None:
            continue
        purpose = by_purpose[row.purpose_id]
        yours = row.guardian_id == guardian_id
        read = event.language or "en"
        translation = translations.get((event.purpose_id, event.purpose_version, read))
        if translation is not None:
            title, description, language_shown = (
                translation.title,
                translation.description,
                translation.language,
            )
        else:
            title = event.title or purpose.title
            description = event.description or purpose.description
            language_shown = "en"
        answers[purpose.id].append(
            Answer(
                yours=yours,
                decision=event.decision,
                decided_at=event.occurred_at,
                who=_who(yours, event.actor_type, event.channel, event.decision),
                title=title,
                description=description,
                language=language_shown,
                version=event.purpose_version,
                reference=references.reference(school.slug, event.seq, event.hash),
                hash=event.hash,
                lapsed=event.decision == Decision.GRANT
                and not consent.grant_is_current(purpose, consent.Fact.of(row), now),
            )
        )
    return ChildRecord(
        pupil=pupil,
        school=school,
        notice=family.notices.get(school.id),
        purposes=[
            PurposeRecord(
                purpose=p,
                wording=shown[p.id],
                status=found[(pupil.id, p.id)].status,
                answers=sorted(
                    answers[p.id], key=lambda a: (not a.yours, -a.decided_at.timestamp())
                ),
            )
            for p in chosen
        ],
        made_at=now,
    )


def _events(school_id: int, seqs: list[int]) -> dict[int, Any]:
    """The ledger events at these seqs of the school, with the wording each was recorded
    against, by seq. One query (none without seqs)."""
    if not seqs:
        return {}
    rows = db.session.execute(
        select(
            ConsentEvent.seq,
            ConsentEvent.hash,
            ConsentEvent.occurred_at,
            ConsentEvent.actor_type,
            ConsentEvent.channel,
            ConsentEvent.decision,
            ConsentEvent.language,
            ConsentEvent.purpose_id,
            ConsentEvent.purpose_version,
            PurposeVersion.title,
            PurposeVersion.description,
        )
        .outerjoin(PurposeVersion, wording_at_event())
        .where(ConsentEvent.school_id == school_id, ConsentEvent.seq.in_(sorted(set(seqs))))
    )
    return {row.seq: row for row in rows}


def _translations(school_id: int, events: Any) -> dict[tuple[int, int, str], PurposeTranslation]:
    """The school's translations of the wordings these events were read in, when not English,
    by (purpose id, version, language). One query, none when every one was read in English."""
    wanted = {
        (e.purpose_id, e.purpose_version, e.language)
        for e in events
        if e.language and e.language != "en"
    }
    if not wanted:
        return {}
    found = db.session.scalars(
        select(PurposeTranslation).where(
            PurposeTranslation.school_id == school_id,
            PurposeTranslation.purpose_id.in_(sorted({w[0] for w in wanted})),
            PurposeTranslation.language.in_(sorted({w[2] for w in wanted})),
        )
    )
    return {
        (t.purpose_id, t.version, t.language): t
        for t in found
        if (t.purpose_id, t.version, t.language) in wanted
    }
