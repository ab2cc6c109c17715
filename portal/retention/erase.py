"""The retention run: erase, school by school, what the retention period no longer allows
(see the package documentation and docs/retention.md)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import CursorResult, delete, insert, select, update
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
    RightsRequestChange,
    School,
    SchoolContact,
    SignInChoice,
    SignInRequest,
    TakedownTask,
    UserSession,
)
from ..types import london_date, utcnow

log = logging.getLogger(__name__)

# What pages show in place of an erased pupil's or contact's name.
ERASED_NAME = "Name erased"
# What an erased name becomes in the database.
PLACEHOLDER = ""
CHUNK = 500  # ids per IN (...), well within SQLite's and PostgreSQL's limits
# What a rights request's history may hold as typed text or a name (portal/rights_requests/).
CHANGE_TEXT = ("child", "reason", "outcome")
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
    today = london_date(now)
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


def _chunks(ids: Iterable[int], size: int = CHUNK) -> Iterable[list[int]]:
    """Ids a few hundred at a time, within every database's limit of bound parameters."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


class _Records:
    """The erasure records of one school's run, written in one statement at its end."""

    def __init__(self, report: SchoolReport, now: datetime):
        self.report, self.now = report, now
        self.rows: list[dict[str, Any]] = []

    def add(self, subject_type: str, subject_id: int, fields: Iterable[str], reason: str) -> None:
        self.rows.append(
            {
                "school_id": self.report.school_id,
                "erased_at": self.now,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "fields": ",".join(fields)[:200],
                "reason": reason[:200],
            }
        )

    def write(self, session: Session) -> None:
        if self.rows:
            session.execute(insert(Erasure), self.rows)


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
    due = {row.id: row.left_on for row in left if row.id in past and row.erased_at is None}
    records = _Records(report, now)
    if due:
        _erase_pupils(session, report, records, due)
    if past:
        _erase_contacts(session, report, records, past, today=today)
    records.write(session)


def _erase_pupils(
    session: Session, report: SchoolReport, records: _Records, due: dict[int, date]
) -> None:
    """The pupils' names and MIS ids, the notes of their ledger events and of their tasks."""
    school_id, months, now = report.school_id, report.retention_months, records.now
    reasons = {pupil_id: _reason(left_on, months) for pupil_id, left_on in due.items()}
    session.execute(
        update(Pupil),
        [
            {
                "id": pupil_id,
                "forename": PLACEHOLDER,
                "surname": PLACEHOLDER,
                "mis_id": f"erased-{pupil_id}",
                "erased_at": now,
                "updated_at": now,
            }
            for pupil_id in sorted(due)
        ],
    )
    for pupil_id in sorted(due):
        records.add("pupil", pupil_id, ("forename", "surname", "mis_id"), reasons[pupil_id])
    report.pupils += len(due)
    notes: dict[int, str] = {}
    tasks: dict[int, str] = {}
    for chunk in _chunks(due):
        for seq, subject in session.execute(
            select(ConsentEvent.seq, ConsentEvent.pupil_id).where(
                ConsentEvent.school_id == school_id,
                ConsentEvent.pupil_id.in_(chunk),
                ConsentEvent.note.is_not(None),
            )
        ):
            if subject is not None:
                notes[seq] = reasons[subject]
        for task_id, pupil_id in session.execute(
            select(TakedownTask.id, TakedownTask.pupil_id).where(
                TakedownTask.school_id == school_id,
                TakedownTask.pupil_id.in_(chunk),
                TakedownTask.done_note.is_not(None),
            )
        ):
            tasks[task_id] = reasons[pupil_id]
    _erase_notes(session, report, records, notes)
    for chunk in _chunks(tasks):
        session.execute(
            update(TakedownTask).where(TakedownTask.id.in_(chunk)).values(done_note=None)
        )
    for task_id in sorted(tasks):
        records.add("task_note", task_id, ("done_note",), tasks[task_id])
    report.task_notes += len(tasks)


def _erase_notes(
    session: Session, report: SchoolReport, records: _Records, reasons: dict[int, str]
) -> None:
    """Clear the notes of these events (seq: why) through the ledger; format 1 is kept."""
    if not reasons:
        return
    erased = ledger.erase_notes(session, report.school_id, sorted(reasons))
    kept = set(erased.kept_format_1)
    report.kept_format_1.extend(sorted(kept))
    for seq in sorted(set(reasons) - kept):
        records.add("event_note", seq, ("note", "note_salt"), reasons[seq])
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
    records: _Records,
    past: dict[int, date | None],
    *,
    today: date,
) -> None:
    """The contacts of the school's past pupils whom the school keeps for no other pupil;
    and, of those, the people no school keeps any more."""
    school_id, months = report.school_id, report.retention_months
    latest: dict[int, date | None] = {}
    for chunk in _chunks(past):
        for guardian_id, pupil_id in session.execute(
            select(GuardianLink.guardian_id, GuardianLink.pupil_id).where(
                GuardianLink.school_id == school_id, GuardianLink.pupil_id.in_(chunk)
            )
        ):
            left_on = past[pupil_id]
            if guardian_id not in latest or (left_on or date.min) > (
                latest[guardian_id] or date.min
            ):
                latest[guardian_id] = left_on
    # Only those with something left to erase: a name, a rights request, an email address.
    pending: set[int] = set()
    for chunk in _chunks(latest):
        pending.update(
            session.scalars(
                select(SchoolContact.guardian_id).where(
                    SchoolContact.school_id == school_id,
                    SchoolContact.guardian_id.in_(chunk),
                    SchoolContact.erased_at.is_(None),
                )
            )
        )
        pending.update(
            guardian_id
            for guardian_id in session.scalars(
                select(RightsRequest.guardian_id).where(
                    RightsRequest.school_id == school_id,
                    RightsRequest.guardian_id.in_(chunk),
                    RightsRequest.erased_at.is_(None),
                )
            )
            if guardian_id is not None
        )
        pending.update(
            session.scalars(
                select(Guardian.id).where(Guardian.id.in_(chunk), Guardian.erased_at.is_(None))
            )
        )
    here: dict[int, list[tuple[bool, date | None, datetime | None, int]]] = {}
    everywhere: dict[int, list[tuple[bool, date | None, datetime | None, int]]] = {}
    for chunk in _chunks(pending):
        for row in session.execute(
            select(
                GuardianLink.guardian_id, Pupil.school_id, Pupil.on_roll, Pupil.left_on,
                Pupil.erased_at, School.retention_months,
            )
            .join(Pupil, GuardianLink.pupil_id == Pupil.id)
            .join(School, School.id == Pupil.school_id)
            .where(GuardianLink.guardian_id.in_(chunk))
        ):  # fmt: skip
            keeps = (row.on_roll, row.left_on, row.erased_at, row.retention_months)
            everywhere.setdefault(row.guardian_id, []).append(keeps)
            if row.school_id == school_id:
                here.setdefault(row.guardian_id, []).append(keeps)
    # Kept while another pupil of this school keeps them.
    gone_here = {g for g in pending if not _in_force(here.get(g, []), today)}
    reasons = {g: _reason(latest[g], months) for g in gone_here}
    if not gone_here:
        return
    _erase_at_school(session, report, records, reasons)
    gone = {g for g in gone_here if not _in_force(everywhere.get(g, []), today)}
    report.kept_elsewhere += len(gone_here - gone)
    if gone:
        _erase_guardians(session, report, records, {g: reasons[g] for g in gone})


def _erase_at_school(
    session: Session, report: SchoolReport, records: _Records, reasons: dict[int, str]
) -> None:
    """The name the school holds, the notes of the guardians' own decisions at the school,
    and their closed rights requests there."""
    school_id, now = report.school_id, records.now
    contacts: dict[int, int] = {}  # guardian: contact
    for chunk in _chunks(reasons):
        contacts.update(
            (guardian_id, contact_id)
            for contact_id, guardian_id in session.execute(
                select(SchoolContact.id, SchoolContact.guardian_id).where(
                    SchoolContact.school_id == school_id,
                    SchoolContact.guardian_id.in_(chunk),
                    SchoolContact.erased_at.is_(None),
                )
            )
        )
    for chunk in _chunks(contacts.values()):
        session.execute(
            update(SchoolContact)
            .where(SchoolContact.id.in_(chunk))
            .values(forename=PLACEHOLDER, surname=PLACEHOLDER, erased_at=now)
        )
    for guardian_id, contact_id in sorted(contacts.items()):
        records.add("contact", contact_id, ("forename", "surname"), reasons[guardian_id])
    report.contacts += len(contacts)
    # Format-1 notes cannot be erased: they are asked about only the first time (when the
    # name is erased), so that a later run does not report the same kept notes again.
    notes: dict[int, str] = {}
    requests: dict[int, str] = {}
    for chunk in _chunks(reasons):
        for seq, guardian_id, format_ in session.execute(
            select(ConsentEvent.seq, ConsentEvent.guardian_id, ConsentEvent.format).where(
                ConsentEvent.school_id == school_id,
                ConsentEvent.guardian_id.in_(chunk),
                ConsentEvent.pupil_id.is_(None),
                ConsentEvent.note.is_not(None),
            )
        ):
            if format_ == 2 or guardian_id in contacts:
                notes[seq] = reasons[guardian_id]
        for request_id, requester, status in session.execute(
            select(RightsRequest.id, RightsRequest.guardian_id, RightsRequest.status).where(
                RightsRequest.school_id == school_id,
                RightsRequest.guardian_id.in_(chunk),
                RightsRequest.erased_at.is_(None),
            )
        ):
            if status in OPEN_REQUESTS:
                report.kept_open_requests.append(request_id)
            elif requester is not None:
                requests[request_id] = reasons[requester]
    _erase_notes(session, report, records, notes)
    for chunk in _chunks(requests):
        session.execute(
            update(RightsRequest)
            .where(RightsRequest.id.in_(chunk))
            .values(
                requester_name="",
                requester_contact="",
                details="",
                outcome=None,
                extension_reason=None,
                erased_at=now,
            )
        )
    _scrub_request_changes(session, requests)
    fields = (
        "requester_name", "requester_contact", "details", "outcome", "extension_reason",
        "changes",
    )  # fmt: skip
    for request_id in sorted(requests):
        records.add("request", request_id, fields, requests[request_id])
    report.requests += len(requests)
    report.kept_open_requests.sort()


def _scrub_request_changes(session: Session, requests: Iterable[int]) -> None:
    """The history of each erased request keeps what happened and when, without the text
    typed about it (a pause's or an extension's reason, the outcome) or the child's name."""
    scrubbed = []
    for chunk in _chunks(requests):
        for change_id, detail in session.execute(
            select(RightsRequestChange.id, RightsRequestChange.detail).where(
                RightsRequestChange.request_id.in_(chunk)
            )
        ):
            values = json.loads(detail or "{}")
            if isinstance(values, dict) and any(values.get(k) for k in CHANGE_TEXT):
                values.update({k: None for k in CHANGE_TEXT if values.get(k)})
                scrubbed.append({"id": change_id, "detail": json.dumps(values, sort_keys=True)})
    if scrubbed:
        session.execute(update(RightsRequestChange), scrubbed)


def _erase_guardians(
    session: Session, report: SchoolReport, records: _Records, reasons: dict[int, str]
) -> None:
    """No school keeps these people: their email addresses, sign-ins, sessions and emails."""
    now = records.now
    addresses: dict[int, str | None] = {}
    for chunk in _chunks(reasons):
        addresses.update(
            (guardian_id, email)
            for guardian_id, email in session.execute(
                select(Guardian.id, Guardian.email).where(
                    Guardian.id.in_(chunk), Guardian.erased_at.is_(None)
                )
            )
        )
    if not addresses:
        return
    fields: dict[int, list[str]] = {
        g: ([] if a is None else ["email"]) for g, a in addresses.items()
    }
    owner = {address: g for g, address in addresses.items() if address is not None}
    for chunk_addresses in _address_chunks(owner):
        for (address,) in session.execute(
            select(SignInRequest.email).where(SignInRequest.email.in_(chunk_addresses)).distinct()
        ):
            fields[owner[address]].append("sign_in_requests")
        for (address,) in session.execute(
            select(OutboxMessage.to_address)
            .where(OutboxMessage.to_address.in_(chunk_addresses))
            .distinct()
        ):
            fields[owner[address]].append("outbox")
        report.sign_ins += _count(
            session, delete(SignInRequest).where(SignInRequest.email.in_(chunk_addresses))
        )
        report.outbox += _count(
            session,
            update(OutboxMessage)
            .where(
                OutboxMessage.to_address.in_(chunk_addresses), OutboxMessage.sent_at.is_not(None)
            )
            .values(to_address="", payload="{}"),
        )
        report.outbox += _count(
            session,
            delete(OutboxMessage).where(
                OutboxMessage.to_address.in_(chunk_addresses), OutboxMessage.sent_at.is_(None)
            ),
        )
    choices: list[int] = []
    for choice_id, options in session.execute(
        select(SignInChoice.id, SignInChoice.options).where(
            SignInChoice.options.contains('"guardian", ')
        )
    ):
        offered = {o[1] for o in json.loads(options) if o[0] == "guardian"} & set(addresses)
        if offered:
            choices.append(choice_id)
            for guardian_id in offered:
                fields[guardian_id].append("sign_in_choices")
    for chunk in _chunks(choices):
        session.execute(delete(SignInChoice).where(SignInChoice.id.in_(chunk)))
    report.sign_ins += len(choices)
    for chunk in _chunks(addresses):
        for (signed_in,) in session.execute(
            select(UserSession.guardian_id)
            .where(UserSession.guardian_id.in_(chunk), UserSession.ended_at.is_(None))
            .distinct()
        ):
            if signed_in is not None:
                fields[signed_in].append("sessions")
        report.sessions += _count(
            session,
            update(UserSession)
            .where(UserSession.guardian_id.in_(chunk), UserSession.ended_at.is_(None))
            .values(ended_at=now),
        )
        session.execute(
            update(Guardian).where(Guardian.id.in_(chunk)).values(email=None, erased_at=now)
        )
    for guardian_id in sorted(addresses):
        if fields[guardian_id]:  # a paper-only contact with nothing to erase is only marked
            records.add(
                "guardian", guardian_id, sorted(set(fields[guardian_id])), reasons[guardian_id]
            )
    report.guardians += len(owner)


def _address_chunks(owner: dict[str, int], size: int = CHUNK) -> Iterable[list[str]]:
    ordered = sorted(owner)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
