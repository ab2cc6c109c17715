"""The retention run: erase, school by school, what the retention period no longer allows
(see the package documentation and docs/retention.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from .. import ledger
from ..database import writing
from ..deadlines import add_calendar_months
from ..extensions import db
from ..models import (
    ConsentEvent,
    Erasure,
    Guardian,
    GuardianLink,
    OutboxMessage,
    Pupil,
    RequestStatus,
    RightsRequest,
    School,
    SchoolContact,
    SignInChoice,
    SignInRequest,
    TakedownTask,
    UserSession,
)
from ..types import LONDON, utcnow

log = logging.getLogger(__name__)

# What pages show in place of an erased pupil's or contact's name.
ERASED_NAME = "Name erased"
# What an erased name becomes in the database.
PLACEHOLDER = ""
OPEN_REQUESTS = frozenset({RequestStatus.OPEN.value, RequestStatus.PAUSED.value})


def due_before(left_on: date, months: int) -> date:
    """The last day a pupil who left on `left_on` is kept: `months` calendar months later.
    The retention run erases them from the day after."""
    return add_calendar_months(left_on, months)


def _past(on_roll: bool, left_on: date | None, months: int, today: date) -> bool:
    """Whether a pupil left more than `months` calendar months before `today`."""
    return not on_roll and left_on is not None and due_before(left_on, months) < today


@dataclass
class SchoolReport:
    """What the run erased in one school (counts) and what it kept, and why."""

    school_id: int
    slug: str
    retention_months: int
    pupils: int = 0
    contacts: int = 0  # names the school held for a guardian
    guardians: int = 0  # email addresses (no school keeps the person any more)
    event_notes: int = 0
    task_notes: int = 0
    requests: int = 0
    sessions: int = 0  # signed-in sessions ended
    sign_ins: int = 0  # sign-in requests and choices deleted
    outbox: int = 0  # emails to an erased address deleted (unsent) or scrubbed (sent)
    kept_format_1: list[int] = field(default_factory=list)  # seqs of format-1 events
    kept_open_requests: list[int] = field(default_factory=list)  # rights requests' ids
    kept_elsewhere: int = 0  # guardians whose address another school still keeps
    error: str | None = None

    @property
    def erased(self) -> int:
        """Every row erased in the school, all kinds together."""
        return (
            self.pupils
            + self.contacts
            + self.guardians
            + self.event_notes
            + self.task_notes
            + self.requests
        )

    def counts(self) -> str:
        """The erasures in words, for the command line and the daily job's summary."""
        parts = [
            (self.pupils, "pupil", "pupils"),
            (self.contacts, "contact's name", "contacts' names"),
            (self.guardians, "email address", "email addresses"),
            (self.event_notes, "ledger note", "ledger notes"),
            (self.task_notes, "task note", "task notes"),
            (self.requests, "rights request", "rights requests"),
        ]
        said = [f"{n} {one if n == 1 else many}" for n, one, many in parts if n]
        return ", ".join(said) if said else "nothing"

    def kept(self) -> list[str]:
        """What was kept, and why, one line each."""
        lines = []
        if self.kept_format_1:
            seqs = ", ".join(str(s) for s in self.kept_format_1)
            lines.append(
                f"kept {len(self.kept_format_1)} ledger note(s) written in format 1, whose text"
                f" is part of the chain's hash (entries {seqs})"
            )
        if self.kept_open_requests:
            ids = ", ".join(str(i) for i in self.kept_open_requests)
            lines.append(
                f"kept {len(self.kept_open_requests)} rights request(s) still open (ids {ids}):"
                " erased once closed"
            )
        if self.kept_elsewhere:
            lines.append(f"kept {self.kept_elsewhere} email address(es) another school still keeps")
        return lines


@dataclass
class Report:
    schools: list[SchoolReport]
    dry_run: bool = False

    @property
    def erased(self) -> int:
        return sum(school.erased for school in self.schools)

    @property
    def failed(self) -> list[SchoolReport]:
        return [school for school in self.schools if school.error is not None]

    def summary(self) -> str:
        """One line: the daily job's summary."""
        touched = [s for s in self.schools if s.erased]
        line = f"erased {self.erased} record(s) in {len(touched)} of {len(self.schools)} school(s)"
        kept_1 = sum(len(s.kept_format_1) for s in self.schools)
        kept_open = sum(len(s.kept_open_requests) for s in self.schools)
        if kept_1:
            line += f"; kept {kept_1} format-1 ledger note(s)"
        if kept_open:
            line += f"; kept {kept_open} open rights request(s)"
        if self.failed:
            line += f"; failed in {', '.join(s.slug for s in self.failed)}"
        return line


class _DryRun(Exception):
    """Raised at the end of a dry run's transaction, so that it rolls back."""


def run(
    now: datetime | None = None, *, school_slug: str | None = None, dry_run: bool = False
) -> Report:
    """Erase what each school's retention period no longer allows, one transaction per school
    (a school that fails is reported and the others are still done). `dry_run` does the same
    work and rolls each school's transaction back, so its report says what a run would erase."""
    now = now or utcnow()
    today = now.astimezone(LONDON).date()
    query = select(School.id, School.slug, School.retention_months).order_by(School.id)
    if school_slug is not None:
        query = query.where(School.slug == school_slug)
    schools = db.session.execute(query).all()
    db.session.rollback()  # end the read, so each school's transaction begins afresh
    reports = []
    for school_id, slug, months in schools:
        report = SchoolReport(school_id, slug, months)
        try:
            with writing() as session:
                _erase_school(session, report, today=today, now=now)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        except Exception as error:
            log.exception("the retention run failed in %s; its transaction was rolled back", slug)
            report = SchoolReport(school_id, slug, months, error=f"{type(error).__name__}: {error}")
        reports.append(report)
    return Report(reports, dry_run=dry_run)


def daily(today: date, now: datetime) -> str:
    """The once-a-day run (`portal.daily`, registered by `portal.wiring`): its summary."""
    return run(now).summary()


def _count(session: Session, statement: Any) -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    result = session.execute(statement)
    return result.rowcount if isinstance(result, CursorResult) else 0


def _record(
    session: Session,
    report: SchoolReport,
    now: datetime,
    subject_type: str,
    subject_id: int,
    fields: Iterable[str],
    reason: str,
) -> None:
    session.add(
        Erasure(
            school_id=report.school_id,
            erased_at=now,
            subject_type=subject_type,
            subject_id=subject_id,
            fields=",".join(fields)[:200],
            reason=reason[:200],
        )
    )


def _reason(left_on: date | None, months: int) -> str:
    left = left_on.isoformat() if left_on else "unknown"
    return f"left {left}; retention {months} month{'s' if months != 1 else ''}"


def _erase_school(session: Session, report: SchoolReport, *, today: date, now: datetime) -> None:
    school_id, months = report.school_id, report.retention_months
    left = session.execute(
        select(Pupil.id, Pupil.left_on, Pupil.erased_at).where(
            Pupil.school_id == school_id, Pupil.on_roll.is_(False), Pupil.left_on.is_not(None)
        )
    ).all()
    past = {row.id: row.left_on for row in left if _past(False, row.left_on, months, today)}
    for row in sorted(left, key=lambda r: r.id):
        if row.id in past and row.erased_at is None:
            _erase_pupil(session, report, row.id, row.left_on, now)
    if past:
        _erase_contacts(session, report, past, today=today, now=now)
    session.flush()


def _erase_pupil(
    session: Session, report: SchoolReport, pupil_id: int, left_on: date, now: datetime
) -> None:
    school_id, months = report.school_id, report.retention_months
    reason = _reason(left_on, months)
    _count(
        session,
        update(Pupil)
        .where(Pupil.id == pupil_id, Pupil.school_id == school_id)
        .values(
            forename=PLACEHOLDER,
            surname=PLACEHOLDER,
            mis_id=f"erased-{pupil_id}",
            erased_at=now,
            updated_at=now,
        ),
    )
    _record(session, report, now, "pupil", pupil_id, ("forename", "surname", "mis_id"), reason)
    report.pupils += 1
    seqs = session.scalars(
        select(ConsentEvent.seq).where(
            ConsentEvent.school_id == school_id,
            ConsentEvent.pupil_id == pupil_id,
            ConsentEvent.note.is_not(None),
        )
    ).all()
    _erase_notes(session, report, seqs, now, reason)
    tasks = session.scalars(
        select(TakedownTask.id).where(
            TakedownTask.school_id == school_id,
            TakedownTask.pupil_id == pupil_id,
            TakedownTask.done_note.is_not(None),
        )
    ).all()
    if tasks:
        _count(
            session, update(TakedownTask).where(TakedownTask.id.in_(tasks)).values(done_note=None)
        )
        for task_id in tasks:
            _record(session, report, now, "task_note", task_id, ("done_note",), reason)
        report.task_notes += len(tasks)


def _erase_notes(
    session: Session, report: SchoolReport, seqs: Iterable[int], now: datetime, reason: str
) -> None:
    seqs = sorted(set(seqs))
    if not seqs:
        return
    erased = ledger.erase_notes(session, report.school_id, seqs)
    kept = set(erased.kept_format_1)
    report.kept_format_1.extend(sorted(kept))
    done = [seq for seq in seqs if seq not in kept]
    for seq in done:
        _record(session, report, now, "event_note", seq, ("note", "note_salt"), reason)
    report.event_notes += erased.erased


def _in_force(rows: Iterable[tuple[bool, date | None, datetime | None, int]], today: date) -> bool:
    """Whether any of (on roll, left on, erased at, the school's months) keeps a guardian."""
    return any(
        erased_at is None and not _past(on_roll, left_on, months, today)
        for on_roll, left_on, erased_at, months in rows
    )


def _erase_contacts(
    session: Session,
    report: SchoolReport,
    past: dict[int, date | None],
    *,
    today: date,
    now: datetime,
) -> None:
    """The contacts of the school's past pupils whom the school keeps for no other pupil."""
    school_id, months = report.school_id, report.retention_months
    links = session.execute(
        select(GuardianLink.guardian_id, GuardianLink.pupil_id).where(
            GuardianLink.school_id == school_id, GuardianLink.pupil_id.in_(list(past))
        )
    ).all()
    latest: dict[int, date | None] = {}
    for guardian_id, pupil_id in links:
        left_on = past[pupil_id]
        if guardian_id not in latest or (left_on or date.min) > (latest[guardian_id] or date.min):
            latest[guardian_id] = left_on
    # Only those with something left to erase: a name, a rights request, an email address.
    pending = set(
        session.scalars(
            select(SchoolContact.guardian_id).where(
                SchoolContact.school_id == school_id,
                SchoolContact.guardian_id.in_(list(latest)),
                SchoolContact.erased_at.is_(None),
            )
        )
    )
    pending |= set(
        session.scalars(
            select(RightsRequest.guardian_id).where(
                RightsRequest.school_id == school_id,
                RightsRequest.guardian_id.in_(list(latest)),
                RightsRequest.erased_at.is_(None),
            )
        )
    )
    pending |= set(
        session.scalars(
            select(Guardian.id).where(Guardian.id.in_(list(latest)), Guardian.erased_at.is_(None))
        )
    )
    for guardian_id in sorted(pending):
        everywhere = session.execute(
            select(
                Pupil.on_roll, Pupil.left_on, Pupil.erased_at, School.retention_months,
                Pupil.school_id,
            )
            .join(GuardianLink, GuardianLink.pupil_id == Pupil.id)
            .join(School, School.id == Pupil.school_id)
            .where(GuardianLink.guardian_id == guardian_id)
        ).all()  # fmt: skip
        here = [tuple(row[:4]) for row in everywhere if row.school_id == school_id]
        if _in_force(here, today):  # type: ignore[arg-type]
            continue  # another pupil of this school keeps them
        reason = _reason(latest[guardian_id], months)
        _erase_at_school(session, report, guardian_id, now, reason)
        if _in_force((tuple(row[:4]) for row in everywhere), today):  # type: ignore[misc]
            report.kept_elsewhere += 1
        else:
            _erase_guardian(session, report, guardian_id, now, reason)


def _erase_at_school(
    session: Session, report: SchoolReport, guardian_id: int, now: datetime, reason: str
) -> None:
    """The name the school holds, the notes of the guardian's own decisions at the school,
    and their closed rights requests there."""
    school_id = report.school_id
    contact_id = session.scalar(
        select(SchoolContact.id).where(
            SchoolContact.school_id == school_id,
            SchoolContact.guardian_id == guardian_id,
            SchoolContact.erased_at.is_(None),
        )
    )
    if contact_id is not None:
        _count(
            session,
            update(SchoolContact)
            .where(SchoolContact.id == contact_id)
            .values(forename=PLACEHOLDER, surname=PLACEHOLDER, erased_at=now),
        )
        _record(session, report, now, "contact", contact_id, ("forename", "surname"), reason)
        report.contacts += 1
    # Format-1 notes cannot be erased: ask again only the first time (the name erased now),
    # so a later run does not report the same kept notes again.
    notes = select(ConsentEvent.seq).where(
        ConsentEvent.school_id == school_id,
        ConsentEvent.guardian_id == guardian_id,
        ConsentEvent.pupil_id.is_(None),
        ConsentEvent.note.is_not(None),
    )
    if contact_id is None:
        notes = notes.where(ConsentEvent.format == 2)
    _erase_notes(session, report, session.scalars(notes).all(), now, reason)
    requests = session.execute(
        select(RightsRequest.id, RightsRequest.status).where(
            RightsRequest.school_id == school_id,
            RightsRequest.guardian_id == guardian_id,
            RightsRequest.erased_at.is_(None),
        )
    ).all()
    closed = [row.id for row in requests if row.status not in OPEN_REQUESTS]
    report.kept_open_requests.extend(row.id for row in requests if row.status in OPEN_REQUESTS)
    if closed:
        _count(
            session,
            update(RightsRequest)
            .where(RightsRequest.id.in_(closed))
            .values(
                requester_name="",
                requester_contact="",
                details="",
                outcome=None,
                extension_reason=None,
                erased_at=now,
            ),
        )
        fields = ("requester_name", "requester_contact", "details", "outcome", "extension_reason")
        for request_id in closed:
            _record(session, report, now, "request", request_id, fields, reason)
        report.requests += len(closed)


def _erase_guardian(
    session: Session, report: SchoolReport, guardian_id: int, now: datetime, reason: str
) -> None:
    """No school keeps the person: their email address, sign-ins, sessions and emails."""
    guardian = session.execute(
        select(Guardian.email, Guardian.erased_at).where(Guardian.id == guardian_id)
    ).one()
    if guardian.erased_at is not None:
        return
    fields = []
    address = guardian.email
    if address is not None:
        fields.append("email")
        requests = _count(
            session,
            delete(SignInRequest).where(SignInRequest.email == address),
        )
        sent = _count(
            session,
            update(OutboxMessage)
            .where(OutboxMessage.to_address == address, OutboxMessage.sent_at.is_not(None))
            .values(to_address="", payload="{}"),
        )
        unsent = _count(
            session,
            delete(OutboxMessage).where(
                OutboxMessage.to_address == address, OutboxMessage.sent_at.is_(None)
            ),
        )
        report.sign_ins += requests or 0
        report.outbox += (sent or 0) + (unsent or 0)
        if requests:
            fields.append("sign_in_requests")
        if sent or unsent:
            fields.append("outbox")
    choices = [
        row.id
        for row in session.execute(
            select(SignInChoice.id, SignInChoice.options).where(
                SignInChoice.options.contains(f'"guardian", {guardian_id},')
            )
        )
        if any(o[0] == "guardian" and o[1] == guardian_id for o in json.loads(row.options))
    ]
    if choices:
        session.execute(delete(SignInChoice).where(SignInChoice.id.in_(choices)))
        report.sign_ins += len(choices)
        fields.append("sign_in_choices")
    ended = _count(
        session,
        update(UserSession)
        .where(UserSession.guardian_id == guardian_id, UserSession.ended_at.is_(None))
        .values(ended_at=now),
    )
    if ended:
        report.sessions += ended
        fields.append("sessions")
    _count(
        session,
        update(Guardian).where(Guardian.id == guardian_id).values(email=None, erased_at=now),
    )
    if fields:  # a paper-only contact with nothing to erase is only marked
        _record(session, report, now, "guardian", guardian_id, fields, reason)
    if address is not None:
        report.guardians += 1
