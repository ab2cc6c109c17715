"""Which events: the filter (`EventFilter`, as WHERE clauses and as words for the audit
log), what the filter form offers, and the school's matching events a page at a time or
streamed in the chain's order.

Every query is scoped to the school given; a pupil or purpose id of another school (or of
none) raises `NotFound`, so the view answers 404 either way.

Pages are keyset pages on `seq` (newest first): a page is "the newest events" or "events
older than seq N" or "events newer than seq N", so reaching page 20,000 of a million events
costs what page 1 does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from ..errors import NotFound
from ..extensions import db
from ..models import ConsentEvent, Guardian, Pupil, Purpose, PurposeVersion, StaffUser
from ..queries import wording_at_event
from ..types import LONDON
from .names import (
    ActorContact,
    GuardianContact,
    actor_name,
    guardian_contact,
    person_name,
    with_actor,
)

PAGE_SIZE = 50


# --- the filter ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """Which events: every field optional; the ones given all apply (AND).

    Dates are school days in the UK (Europe/London), both ends included. `pupil` is free
    text: a pupil's MIS id (exactly) or part of their name; `pupil_id` is one pupil by the
    portal's own id (as a pupil's record links to the ledger). `class_name` is the class
    the pupil is in now, by the roster.
    """

    date_from: date | None = None
    date_to: date | None = None
    class_name: str | None = None
    pupil: str | None = None
    pupil_id: int | None = None
    purpose_id: int | None = None
    decision: str | None = None
    channel: str | None = None


def local_midnight(day: date) -> datetime:
    """The UTC instant a UK calendar day begins."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def _check_ids(school_id: int, wanted: EventFilter) -> None:
    if wanted.pupil_id is not None and not db.session.scalar(
        select(Pupil.id).where(Pupil.id == wanted.pupil_id, Pupil.school_id == school_id)
    ):
        raise NotFound("no such pupil at this school")
    if wanted.purpose_id is not None and not db.session.scalar(
        select(Purpose.id).where(Purpose.id == wanted.purpose_id, Purpose.school_id == school_id)
    ):
        raise NotFound("no such purpose at this school")


def conditions(school_id: int, wanted: EventFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses on ConsentEvent for one school and a filter. NotFound when the
    filter names a pupil or purpose that is not this school's."""
    _check_ids(school_id, wanted)
    where: list[ColumnElement[bool]] = [ConsentEvent.school_id == school_id]
    if wanted.date_from is not None:
        where.append(ConsentEvent.occurred_at >= local_midnight(wanted.date_from))
    if wanted.date_to is not None:
        where.append(ConsentEvent.occurred_at < local_midnight(wanted.date_to + timedelta(days=1)))
    if wanted.pupil_id is not None:
        where.append(ConsentEvent.pupil_id == wanted.pupil_id)
    pupil_where: list[ColumnElement[bool]] = []
    if wanted.class_name:
        pupil_where.append(Pupil.class_name == wanted.class_name)
    if wanted.pupil:
        text = wanted.pupil.strip()
        lowered = text.lower()
        full_name = func.lower(Pupil.forename + " " + Pupil.surname)
        pupil_where.append(
            or_(
                Pupil.mis_id == text,
                full_name.contains(lowered, autoescape=True),
            )
        )
    if pupil_where:
        where.append(
            ConsentEvent.pupil_id.in_(
                select(Pupil.id).where(Pupil.school_id == school_id, *pupil_where)
            )
        )
    if wanted.purpose_id is not None:
        where.append(ConsentEvent.purpose_id == wanted.purpose_id)
    if wanted.decision:
        where.append(ConsentEvent.decision == wanted.decision)
    if wanted.channel:
        where.append(ConsentEvent.channel == wanted.channel)
    return where


def describe(school_id: int, wanted: EventFilter) -> dict[str, Any]:
    """The filter in words an audit entry can keep (purpose by key, pupil by MIS id)."""
    detail: dict[str, Any] = {}
    if wanted.date_from is not None:
        detail["from"] = wanted.date_from.isoformat()
    if wanted.date_to is not None:
        detail["to"] = wanted.date_to.isoformat()
    if wanted.class_name:
        detail["class"] = wanted.class_name
    if wanted.pupil:
        detail["pupil_search"] = wanted.pupil
    if wanted.pupil_id is not None:
        mis_id = db.session.scalar(
            select(Pupil.mis_id).where(Pupil.id == wanted.pupil_id, Pupil.school_id == school_id)
        )
        detail["pupil"] = mis_id if mis_id is not None else wanted.pupil_id
    if wanted.purpose_id is not None:
        key = db.session.scalar(
            select(Purpose.key).where(
                Purpose.id == wanted.purpose_id, Purpose.school_id == school_id
            )
        )
        detail["purpose"] = key if key is not None else wanted.purpose_id
    if wanted.decision:
        detail["decision"] = wanted.decision
    if wanted.channel:
        detail["channel"] = wanted.channel
    return detail


# --- what the filter form offers -----------------------------------------------------------


@dataclass(frozen=True)
class Options:
    classes: list[str]
    purposes: list[tuple[int, str]]  # id, title (retired purposes too: the ledger keeps them)


def options(school_id: int) -> Options:
    classes = list(
        db.session.scalars(
            select(Pupil.class_name)
            .where(Pupil.school_id == school_id)
            .distinct()
            .order_by(Pupil.class_name)
        )
    )
    purposes = [
        (row.id, row.title if row.active else f"{row.title} (retired)")
        for row in db.session.execute(
            select(Purpose.id, Purpose.title, Purpose.active)
            .where(Purpose.school_id == school_id)
            .order_by(Purpose.position, Purpose.id)
        )
    ]
    return Options(classes, purposes)


# --- one page of events --------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    seq: int
    occurred_at: datetime
    pupil_id: int | None
    pupil: str | None  # "Forename Surname"; None for a guardian-level choice
    mis_id: str | None
    class_name: str | None
    guardian: str
    guardian_email: str | None
    purpose_key: str
    purpose: str  # the title at the wording version decided on
    purpose_version: int
    notice_version: int | None
    decision: str
    channel: str
    actor_type: str
    actor: str  # the guardian's or staff user's name; "the system"
    note: str | None
    prev_hash: str
    hash: str


def rows_query(school_id: int, where: list[ColumnElement[bool]]) -> Select[*tuple[Any, ...]]:
    """Every column an event row shows, for one school's events matching `where`.
    Unordered and unlimited: the caller pages or streams it."""
    query = (
        select(
            ConsentEvent.seq,
            ConsentEvent.occurred_at,
            ConsentEvent.pupil_id,
            Pupil.forename.label("pupil_forename"),
            Pupil.surname.label("pupil_surname"),
            Pupil.mis_id,
            Pupil.class_name,
            GuardianContact.forename.label("guardian_forename"),
            GuardianContact.surname.label("guardian_surname"),
            Guardian.email.label("guardian_email"),
            Purpose.key.label("purpose_key"),
            func.coalesce(PurposeVersion.title, Purpose.title).label("purpose_title"),
            ConsentEvent.purpose_version,
            ConsentEvent.notice_version,
            ConsentEvent.decision,
            ConsentEvent.channel,
            ConsentEvent.actor_type,
            ConsentEvent.actor_id,
            StaffUser.name.label("staff_name"),
            StaffUser.email.label("staff_email"),
            ActorContact.forename.label("actor_forename"),
            ActorContact.surname.label("actor_surname"),
            ConsentEvent.note,
            ConsentEvent.prev_hash,
            ConsentEvent.hash,
        )
        .join(Guardian, Guardian.id == ConsentEvent.guardian_id)
        .outerjoin(GuardianContact, guardian_contact(school_id))
        .join(
            Purpose,
            and_(Purpose.id == ConsentEvent.purpose_id, Purpose.school_id == school_id),
        )
        .outerjoin(Pupil, and_(Pupil.id == ConsentEvent.pupil_id, Pupil.school_id == school_id))
        .outerjoin(
            PurposeVersion,
            wording_at_event(),
        )
    )
    return with_actor(query, school_id).where(*where)


def event_row(row: Any) -> EventRow:
    return EventRow(
        seq=row.seq,
        occurred_at=row.occurred_at,
        pupil_id=row.pupil_id,
        pupil=person_name(row.pupil_forename, row.pupil_surname),
        mis_id=row.mis_id,
        class_name=row.class_name,
        guardian=person_name(row.guardian_forename, row.guardian_surname) or "",
        guardian_email=row.guardian_email,
        purpose_key=row.purpose_key,
        purpose=row.purpose_title,
        purpose_version=row.purpose_version,
        notice_version=row.notice_version,
        decision=row.decision,
        channel=row.channel,
        actor_type=row.actor_type,
        actor=actor_name(row),
        note=row.note,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@dataclass(frozen=True)
class EventPage:
    rows: list[EventRow]
    total: int  # events matching the filter
    newer: int | None  # show events newer than this seq (None: this is the newest page)
    older: int | None  # show events older than this seq (None: this is the oldest page)


def page(
    school_id: int,
    wanted: EventFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int | None = None,
) -> EventPage:
    """One page of the school's events matching the filter, newest first.

    `before`: the page of events older than that seq; `after`: the page of events newer than
    it (a page back towards the newest); neither: the newest events."""
    size = size or PAGE_SIZE
    where = conditions(school_id, wanted)
    total = db.session.scalar(select(func.count()).select_from(ConsentEvent).where(*where)) or 0
    query = rows_query(school_id, where)
    if after is not None:
        found = list(
            db.session.execute(
                query.where(ConsentEvent.seq > after).order_by(ConsentEvent.seq).limit(size + 1)
            )
        )
        if len(found) <= size:
            # Back at the newest events: show the first page, full.
            return page(school_id, wanted, size=size)
        rows = [event_row(r) for r in reversed(found[:size])]
        return EventPage(rows, total, newer=rows[0].seq, older=rows[-1].seq)
    if before is not None:
        query = query.where(ConsentEvent.seq < before)
    found = list(db.session.execute(query.order_by(ConsentEvent.seq.desc()).limit(size + 1)))
    rows = [event_row(r) for r in found[:size]]
    has_older = len(found) > size
    has_newer = before is not None and bool(rows) and _any_newer(where, rows[0].seq)
    return EventPage(
        rows,
        total,
        newer=rows[0].seq if has_newer else None,
        older=rows[-1].seq if has_older and rows else None,
    )


def _any_newer(where: list[ColumnElement[bool]], seq: int) -> bool:
    return (
        db.session.scalar(select(ConsentEvent.seq).where(*where, ConsentEvent.seq > seq).limit(1))
        is not None
    )


def stream_rows(school_id: int, wanted: EventFilter, *, up_to_seq: int | None = None,
                batch: int = 2_000) -> Iterator[Any]:  # fmt: skip
    """Every event matching the filter, in seq order (the chain's order), as rows of
    `rows_query`'s columns (`event_row` makes one an EventRow), fetched a batch at a time
    through a server-side cursor (PostgreSQL) or SQLite's stepping cursor: memory holds one
    batch, however many events there are."""
    where = conditions(school_id, wanted)
    if up_to_seq is not None:
        where.append(ConsentEvent.seq <= up_to_seq)
    query = rows_query(school_id, where).order_by(ConsentEvent.seq)
    # A Core execution: rows go straight from the cursor, without the ORM's loading layer.
    connection = db.session.connection()
    yield from connection.execute(query.execution_options(yield_per=batch))
