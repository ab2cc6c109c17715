"""Marketing exports (docs/security.md, promises 18 and 19): the marketing list (who
consented to marketing emails and has not objected to direct marketing) and the suppression
list (everyone who objected, and since when).

Each list is a generator that reads in batches (`portal.csv_files`), so a file of a million
rows takes no more memory than one of ten. Each export is recorded in the staff audit log
(who, when, which list) in a transaction of its own, committed before the first byte of the
file is sent.

No Flask request state: the views pass the staff user and the choice of purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, exists, func, select

from . import audit_log, consent
from .csv_files import csv_file, snapshot
from .database import writing
from .errors import NotFound
from .extensions import db
from .ledger import format_time
from .models import (
    Choice,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    Purpose,
    School,
    SchoolContact,
    Scope,
    StaffUser,
)
from .types import utcnow

MARKETING_ACTION = "export.marketing"
SUPPRESSION_ACTION = "export.suppression"
MARKETING_HEADER = ("name", "email", "school")
SUPPRESSION_HEADER = ("email", "objected_since")
GUARDIAN_BATCH = 500


def marketing_purposes(school_id: int) -> list[Purpose]:
    """The school's marketing-email consents in force: what the marketing list can be of."""
    return list(
        db.session.scalars(
            select(Purpose)
            .where(
                Purpose.school_id == school_id,
                Purpose.marketing.is_(True),
                Purpose.scope == Scope.GUARDIAN,
                Purpose.choice == Choice.CONSENT,
                Purpose.active.is_(True),
            )
            .order_by(Purpose.position, Purpose.id)
        )
    )


def _selected(school_id: int, purpose_id: int | None) -> list[Purpose]:
    purposes = marketing_purposes(school_id)
    if purpose_id is None:
        return purposes
    chosen = [p for p in purposes if p.id == purpose_id]
    if not chosen:
        raise NotFound("no such marketing purpose at this school")
    return chosen


def _objects_to_marketing(school_id: int) -> Any:
    """Correlated on Guardian.id: an objection to direct marketing stands at this school,
    on any of its marketing purposes (retired ones too): absolute, whatever else they said."""
    return exists().where(
        CurrentDecision.school_id == school_id,
        CurrentDecision.guardian_id == Guardian.id,
        CurrentDecision.axis == DecisionAxis.OBJECTION.value,
        CurrentDecision.decision == Decision.OBJECT.value,
        CurrentDecision.purpose_id.in_(
            select(Purpose.id).where(Purpose.school_id == school_id, Purpose.marketing.is_(True))
        ),
    )


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


def marketing_recipients(
    school_id: int, *, purpose_id: int | None = None, now: datetime | None = None
) -> Iterator[Recipient]:
    """Guardians of this school (an active link to one of its pupils) with an email address,
    whose consent to the chosen marketing purpose (any of them, by default) is granted and
    current (`consent.person_statuses`: not withdrawn, not to an older wording, not lapsed),
    and who have no standing objection to direct marketing. By email address, a batch at a
    time. The objection is checked twice: in the query and by the consent rules."""
    now = now or utcnow()
    purposes = _selected(school_id, purpose_id)
    if not purposes:
        return
    purpose_ids = [p.id for p in purposes]
    linked = exists().where(
        GuardianLink.guardian_id == Guardian.id,
        GuardianLink.school_id == school_id,
        GuardianLink.ended_at.is_(None),
    )
    granted = exists().where(
        CurrentDecision.school_id == school_id,
        CurrentDecision.guardian_id == Guardian.id,
        CurrentDecision.pupil_id.is_(None),
        CurrentDecision.axis == DecisionAxis.ANSWER.value,
        CurrentDecision.decision == Decision.GRANT.value,
        CurrentDecision.purpose_id.in_(purpose_ids),
    )
    last = ""
    while True:
        batch = db.session.execute(
            select(Guardian.id, SchoolContact.forename, SchoolContact.surname, Guardian.email)
            .outerjoin(  # the name this school holds for the guardian
                SchoolContact,
                and_(
                    SchoolContact.guardian_id == Guardian.id, SchoolContact.school_id == school_id
                ),
            )
            .where(
                Guardian.email.is_not(None),
                Guardian.email > last,  # unique: a keyset
                linked,
                granted,
                ~_objects_to_marketing(school_id),
            )
            .order_by(Guardian.email)
            .limit(GUARDIAN_BATCH)
        ).all()
        if not batch:
            return
        found = consent.person_statuses(
            [g.id for g in batch], purposes, school_id=school_id, now=now
        )
        for guardian in batch:
            if any(found[(guardian.id, p)].status == consent.Status.GRANTED for p in purpose_ids):
                name = f"{guardian.forename or ''} {guardian.surname or ''}".strip()
                yield Recipient(name, guardian.email)
        last = batch[-1].email


@dataclass(frozen=True)
class Objector:
    email: str
    since: datetime  # the earliest of their standing objections at this school


def suppression_query(school_id: int) -> Any:
    return (
        select(Guardian.email, func.min(CurrentDecision.decided_at).label("since"))
        .join(Guardian, Guardian.id == CurrentDecision.guardian_id)
        .join(
            Purpose,
            and_(
                Purpose.id == CurrentDecision.purpose_id,
                Purpose.school_id == school_id,
                Purpose.marketing.is_(True),
            ),
        )
        .where(
            CurrentDecision.school_id == school_id,
            CurrentDecision.axis == DecisionAxis.OBJECTION.value,
            CurrentDecision.decision == Decision.OBJECT.value,
            Guardian.email.is_not(None),
        )
        .group_by(Guardian.id, Guardian.email)
    )


def objectors(school_id: int, *, batch: int = 5_000) -> Iterator[Objector]:
    """Everyone with a standing objection to direct marketing at this school (whether or not
    they still have a child there), by email address."""
    query = suppression_query(school_id).order_by(Guardian.email)
    for row in db.session.execute(query.execution_options(yield_per=batch)):
        since = row.since if row.since.tzinfo else row.since.replace(tzinfo=UTC)
        yield Objector(row.email, since)


@dataclass(frozen=True)
class Counts:
    marketing: int
    suppression: int


def counts(school_id: int, *, purpose_id: int | None = None) -> Counts:
    marketing = sum(1 for _ in marketing_recipients(school_id, purpose_id=purpose_id))
    suppression = (
        db.session.scalar(select(func.count()).select_from(suppression_query(school_id).subquery()))
        or 0
    )
    return Counts(marketing, suppression)


def start_marketing_export(staff: StaffUser, purpose_id: int | None) -> None:
    """Check the purpose (NotFound unless one of the school's marketing purposes) and record
    the export with it."""
    purposes = _selected(staff.school_id, purpose_id)
    key = purposes[0].key if purpose_id is not None and purposes else "any"
    with writing():  # committed before the first byte of the file is sent
        audit_log.record(staff, MARKETING_ACTION, detail={"purpose": key})


def start_suppression_export(staff: StaffUser) -> None:
    with writing():
        audit_log.record(staff, SUPPRESSION_ACTION, detail={"list": "everyone who objected"})


def marketing_csv(
    school_id: int, *, purpose_id: int | None = None, now: datetime | None = None
) -> Iterator[bytes]:
    with snapshot():
        school_name = db.session.scalars(select(School.name).where(School.id == school_id)).one()
        recipients = marketing_recipients(school_id, purpose_id=purpose_id, now=now)
        yield from csv_file(MARKETING_HEADER, ((r.name, r.email, school_name) for r in recipients))


def suppression_csv(school_id: int) -> Iterator[bytes]:
    with snapshot():
        rows = ((o.email, format_time(o.since)) for o in objectors(school_id))
        yield from csv_file(SUPPRESSION_HEADER, rows)
