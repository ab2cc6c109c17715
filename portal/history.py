"""What you told us: the decisions about a guardian's children (everyone's, children who have
left included) and the guardian's own guardian-level decisions, newest first, each with its
reference (portal/references.py) and full hash; and what the school did as a result (`outcomes`).

Another guardian's decision is shown as "another person with parental responsibility": no
name, email or id of another guardian leaves this module. No Flask request state.

An objection to direct marketing is an objection to all of the school's direct marketing, not
to one purpose (docs/consent-rules.md, "Choices a person makes for themself: marketing"): the
events one objection (or its withdrawal) wrote, one per marketing purpose, are one entry that
says so, with each event's reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from . import takedowns
from .choices.family import seen_children_query
from .extensions import db
from .ledger.checkpoints import Witness, Witnessed, witness
from .models import (
    ActorType,
    Channel,
    ConsentEvent,
    Decision,
    Pupil,
    Purpose,
    PurposeVersion,
    School,
)
from .queries import wording_at_event

# An objection to direct marketing and its withdrawal, as the family reads them: about all of
# the school's direct marketing, never one purpose.
MARKETING_CHOICE = _l("Direct marketing")
MARKETING_WORDS = {
    Decision.OBJECT.value: _l("Objected to all direct marketing"),
    Decision.LIFT_OBJECTION.value: _l("Withdrew the objection to all direct marketing"),
}

# Who made a decision, as the family reads it (the page capitalises the first letter).
STAFF_WORDS = {
    Channel.PAPER.value: _l("school staff, from a paper form"),
    Channel.PHONE.value: _l("school staff, by phone"),
    Channel.EMAIL.value: _l("school staff, by email"),
}


@dataclass(frozen=True)
class HistoryEntry(Witnessed):
    occurred_at: datetime
    school: str
    child: str | None  # the child's first name; None for a choice of the guardian's own
    purpose: str  # the purpose's title in the wording version decided on
    decision: str
    channel: str
    who: str  # in the page's language
    yours: bool  # the decision is this guardian's own (perhaps taken down by staff)
    reasons: str | None
    seq: int
    # Its reference (portal/references.py: what a family reads out, like RP-1042-7F3A), full
    # hash (one click away: "Full fingerprint") and the address of its proof.
    own: Witness
    # The language of the wording the person read when it is not English (a BCP 47 tag).
    language: str | None = None
    # The answer in words when the decision's own words would mislead: an objection to all
    # direct marketing, or its withdrawal (`MARKETING_WORDS`). None: `decision` says it.
    words: str | None = None
    # The other events of the same decision (an objection to direct marketing writes one per
    # marketing purpose), in the order of their entries.
    also: tuple[Witness, ...] = ()


def _who(actor_type: str, actor_id: int | None, channel: str, guardian_id: int) -> str:
    if actor_type == ActorType.STAFF:
        return str(STAFF_WORDS.get(channel, _l("school staff")))
    if actor_type == ActorType.GUARDIAN:
        if actor_id == guardian_id:
            return _("you")
        return _("another person with parental responsibility")
    return _("the school")


def entries(guardian_id: int, *, limit: int = 200) -> list[HistoryEntry]:
    """Decisions about this guardian's children (everyone's; children who have left too) and
    this guardian's own guardian-level decisions, newest first. One query."""
    children = seen_children_query(guardian_id)
    rows = db.session.execute(
        select(
            ConsentEvent.occurred_at,
            ConsentEvent.school_id,
            ConsentEvent.seq,
            ConsentEvent.hash,
            ConsentEvent.actor_type,
            ConsentEvent.actor_id,
            ConsentEvent.guardian_id,
            ConsentEvent.decision,
            ConsentEvent.channel,
            ConsentEvent.note,
            ConsentEvent.language,
            Purpose.marketing,
            School.name.label("school"),
            School.slug.label("school_slug"),
            Pupil.forename.label("child"),
            func.coalesce(PurposeVersion.title, Purpose.title).label("purpose"),
        )
        .join(School, School.id == ConsentEvent.school_id)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(PurposeVersion, wording_at_event())
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
    found: list[HistoryEntry] = []
    for row in rows:
        marketing = row.marketing and row.decision in MARKETING_WORDS
        if marketing and found and _same_objection(found[-1], row, guardian_id):
            found[-1] = replace(found[-1], also=(*found[-1].also, _witness(row)))
            continue
        found.append(_entry(row, guardian_id, marketing=marketing))
    return found


def _same_objection(entry: HistoryEntry, row: Any, guardian_id: int) -> bool:
    """`row` is another event of the marketing objection (or withdrawal) `entry` shows: the
    same decision by the same person, at the same school, at the same moment."""
    return (
        entry.words is not None
        and entry.occurred_at == row.occurred_at
        and entry.school == row.school
        and entry.decision == row.decision
        and entry.yours == (row.guardian_id == guardian_id)
        and entry.who == _who(row.actor_type, row.actor_id, row.channel, guardian_id)
    )


def _entry(row: Any, guardian_id: int, *, marketing: bool) -> HistoryEntry:
    return HistoryEntry(
        occurred_at=row.occurred_at,
        school=row.school,
        child=row.child,
        purpose=str(MARKETING_CHOICE) if marketing else row.purpose,
        decision=row.decision,
        channel=row.channel,
        who=_who(row.actor_type, row.actor_id, row.channel, guardian_id),
        yours=row.guardian_id == guardian_id,
        # The school's reasons for the outcome of this guardian's own objection.
        reasons=row.note
        if row.guardian_id == guardian_id and row.decision in ("upheld", "not_upheld")
        else None,
        seq=row.seq,
        own=_witness(row),
        language=row.language if row.language and row.language != "en" else None,
        words=str(MARKETING_WORDS[row.decision]) if marketing else None,
    )


def _witness(row: Any) -> Witness:
    return witness(row.school_id, row.school_slug, row.seq, row.hash)


def outcomes(guardian_id: int) -> list[takedowns.Outcome]:
    """What the school did for this guardian's children (those who left too): each
    take-down or leaving task done, as the fact and the day, newest first. No staff note."""
    ids = list(db.session.scalars(seen_children_query(guardian_id)))
    return takedowns.done_for(ids)
