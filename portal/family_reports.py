"""Reports from families: a parent or carer tells the school's office that a child is missing
from their list, or that their details are wrong, in their own words (docs/follow-through.md,
"Reports from families").

- `make`: a family's report to one of their schools, limited to `LIMIT` a day per person; in
  the same transaction an email to each active admin of the school (English);
- `of_guardian`: a family's own reports, and whether each is done (never the office's note);
- `open_reports`, `done_reports`, `get`: what the office reads;
- `mark_done`: a staff user (admin or staff) marks one done, with a note for the office and
  an entry in the audit log;
- `things_to_do`: the open reports in the staff's queue (`portal.todo`);
- `admin_context`: the admins' email (registered by `portal.wiring`).

A report is due one calendar month after it was made, on a working day: "my details are wrong"
is a request to correct them (UK GDPR Article 16), which the school answers within a month
like any rights request. No Flask request state but the email builder, which reads BASE_URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from . import audit_log, deadlines, holidays, text, todo
from .database import writing
from .errors import NotFound, PortalError
from .extensions import db
from .mail import outbox
from .models import (
    FamilyReport,
    Guardian,
    GuardianLink,
    OutboxMessage,
    Pupil,
    ReportKind,
    Role,
    School,
    SchoolContact,
    StaffUser,
)
from .types import london_date, uk_date, utcnow

KINDS = tuple(kind.value for kind in ReportKind)
# What the family chose, as they read it.
KIND_WORDS = {
    ReportKind.MISSING_CHILD.value: _l("A child is missing from my list"),
    ReportKind.DETAILS_WRONG.value: _l("My details are wrong"),
}
KIND_EXPLAINED = {
    ReportKind.MISSING_CHILD.value: _l(
        "A child you are a parent or carer of is not on your list of children here."
    ),
    ReportKind.DETAILS_WRONG.value: _l(
        "Your name, email address or relationship to a child is wrong, or a child's name or class."
    ),
}
# The same, for the office (staff pages are English).
KIND_NAMES = {
    ReportKind.MISSING_CHILD.value: "A child is missing from their list",
    ReportKind.DETAILS_WRONG.value: "Their details are wrong",
}
MAX_DETAILS = 1000
MAX_NOTE = 1000
# How many reports one person may make in a day (a rolling 24 hours), across their schools.
LIMIT = 5
LIMIT_WINDOW = timedelta(days=1)
ROLES = frozenset({Role.ADMIN.value, Role.STAFF.value})  # who reads and marks them done

ADMIN_TEMPLATE = "family_report"
ADMIN_SUBJECT = "{headline} ({school_name})"
TODO_KIND = "report"
ENDPOINT = "staff.family_report"


class ReportError(PortalError):
    """A report or an action refused, with the reason in words and the form field it is about
    (None: the report as a whole)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class TooManyReports(ReportError):
    """This person made `LIMIT` reports in the last day already."""


def reference(report_id: int) -> str:
    """What the office and the family call a report: FR-17."""
    return f"FR-{report_id}"


# --- a family's report ---------------------------------------------------------------------


def _checked_details(details: str) -> str:
    value = (details or "").strip()
    if not value:
        raise ReportError(_("Tell the school what is missing or wrong"), "details")
    if len(value) > MAX_DETAILS:
        raise ReportError(
            _("What you tell the school must be %(num)d characters or fewer", num=MAX_DETAILS),
            "details",
        )
    if text.multi_line_problem(value):
        raise ReportError(
            _("What you tell the school has a character that cannot be kept: remove it"),
            "details",
        )
    return value


def _is_contact(session: Session, guardian_id: int, school_id: int) -> bool:
    """A guardian the school's roster lists now (a current link to one of its pupils)."""
    found = session.scalar(
        select(GuardianLink.id)
        .where(
            GuardianLink.guardian_id == guardian_id,
            GuardianLink.school_id == school_id,
            GuardianLink.ended_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


def made_lately(session: Session, guardian_id: int, now: datetime) -> int:
    """How many reports this person made in the last `LIMIT_WINDOW`, at any school."""
    return (
        session.scalar(
            select(func.count())
            .select_from(FamilyReport)
            .where(
                FamilyReport.guardian_id == guardian_id,
                FamilyReport.created_at > now - LIMIT_WINDOW,
            )
        )
        or 0
    )


def make(
    guardian_id: int,
    school_id: int,
    *,
    kind: str,
    details: str,
    now: datetime | None = None,
) -> FamilyReport:
    """A family's report to one of their schools (NotFound unless they are a current contact
    of it), due one calendar month later; each active admin of the school is emailed in the
    same transaction. ReportError (nothing written) for a kind that is not one of `KINDS`,
    details missing or too long, or a person who made `LIMIT` reports in the last day."""
    now = now or utcnow()
    if kind not in KINDS:
        raise ReportError(_("Choose what you want to tell the school"), "kind")
    details = _checked_details(details)
    with writing() as session:
        # Locks the person's row on PostgreSQL, so that two reports sent at once are
        # counted one after the other (SQLite's write lock does the same).
        guardian = session.scalars(
            select(Guardian).where(Guardian.id == guardian_id).with_for_update()
        ).first()
        if guardian is None or not _is_contact(session, guardian_id, school_id):
            raise NotFound("no such school for this family")
        if made_lately(session, guardian_id, now) >= LIMIT:
            raise TooManyReports(
                ngettext(
                    "You have sent %(num)d report in the last day. Try again tomorrow, or "
                    "contact the school.",
                    "You have sent %(num)d reports in the last day. Try again tomorrow, or "
                    "contact the school.",
                    LIMIT,
                )
            )
        report = FamilyReport(
            school_id=school_id,
            guardian_id=guardian_id,
            kind=kind,
            details=details,
            created_at=now,
            due_on=deadlines.due_date(london_date(now), holidays=holidays.in_force()),
        )
        session.add(report)
        session.flush()
        _tell_admins(session, report, now=now)
    return report


def _tell_admins(session: Session, report: FamilyReport, *, now: datetime) -> int:
    """One email per active admin of the report's school (English), once per admin."""
    admins = session.scalars(
        select(StaffUser)
        .where(
            StaffUser.school_id == report.school_id,
            StaffUser.role == Role.ADMIN.value,
            StaffUser.active.is_(True),
        )
        .order_by(StaffUser.id)
    )
    count = 0
    for admin in admins:
        key = f"family-report:{report.id}:{admin.id}"
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
            continue
        outbox.enqueue(
            to_address=admin.email,
            template=ADMIN_TEMPLATE,
            payload={"report_id": report.id},
            school_id=report.school_id,
            dedupe_key=key,
            now=now,
        )
        count += 1
    return count


@dataclass(frozen=True)
class FamilyView:
    """A report as the family who made it sees it: never the office's note."""

    id: int
    reference: str
    school_name: str
    kind: str
    details: str
    created_at: datetime
    done_at: datetime | None

    @property
    def kind_words(self) -> str:
        return str(KIND_WORDS[self.kind])


def of_guardian(guardian_id: int) -> list[FamilyView]:
    """This person's own reports, at every school, newest first."""
    rows = db.session.execute(
        select(FamilyReport, School.name)
        .join(School, School.id == FamilyReport.school_id)
        .where(FamilyReport.guardian_id == guardian_id)
        .order_by(FamilyReport.created_at.desc(), FamilyReport.id.desc())
    ).all()
    return [
        FamilyView(
            id=report.id,
            reference=reference(report.id),
            school_name=school_name,
            kind=report.kind,
            details=report.details,
            created_at=report.created_at,
            done_at=report.done_at,
        )
        for report, school_name in rows
    ]


# --- what the office reads -----------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    name: str
    class_name: str
    parental_responsibility: bool


@dataclass(frozen=True)
class OfficeView:
    """A report as the school's office reads it: who (the name this school holds for them,
    and their email address), their children at the school as the roster has them, what they
    wrote, and what the office did."""

    id: int
    reference: str
    kind: str
    details: str
    created_at: datetime
    due_on: date
    contact_name: str
    contact_email: str
    children: list[Child]
    done_at: datetime | None
    done_by: str | None
    done_note: str | None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def is_open(self) -> bool:
        return self.done_at is None


def _office_query(school_id: int) -> Any:
    return (
        select(
            FamilyReport,
            Guardian.email,
            SchoolContact.forename,
            SchoolContact.surname,
            StaffUser.name.label("done_by"),
        )
        .join(Guardian, Guardian.id == FamilyReport.guardian_id)
        .outerjoin(
            SchoolContact,
            and_(
                SchoolContact.school_id == FamilyReport.school_id,
                SchoolContact.guardian_id == FamilyReport.guardian_id,
            ),
        )
        .outerjoin(StaffUser, StaffUser.id == FamilyReport.done_by_id)
        .where(FamilyReport.school_id == school_id)
    )


def _children(school_id: int, guardian_ids: Sequence[int]) -> dict[int, list[Child]]:
    """Each guardian's children at the school, as the roster lists them now. One query."""
    found: dict[int, list[Child]] = {guardian_id: [] for guardian_id in guardian_ids}
    if not guardian_ids:
        return found
    rows = db.session.execute(
        select(GuardianLink.guardian_id, GuardianLink.parental_responsibility, Pupil)
        .join(Pupil, Pupil.id == GuardianLink.pupil_id)
        .where(
            GuardianLink.school_id == school_id,
            GuardianLink.guardian_id.in_(sorted(set(guardian_ids))),
            GuardianLink.ended_at.is_(None),
        )
        .order_by(Pupil.forename, Pupil.surname, Pupil.id)
    )
    for guardian_id, responsible, pupil in rows:
        found[guardian_id].append(Child(pupil.full_name, pupil.class_name, responsible))
    return found


def _views(rows: Sequence[Any], school_id: int) -> list[OfficeView]:
    children = _children(school_id, [row[0].guardian_id for row in rows])
    views = []
    for report, email, forename, surname, done_by in rows:
        views.append(
            OfficeView(
                id=report.id,
                reference=reference(report.id),
                kind=report.kind,
                details=report.details,
                created_at=report.created_at,
                due_on=report.due_on,
                contact_name=f"{forename or ''} {surname or ''}".strip(),
                contact_email=email or "",
                children=children.get(report.guardian_id, []),
                done_at=report.done_at,
                done_by=done_by,
                done_note=report.done_note,
            )
        )
    return views


def open_reports(school_id: int) -> list[OfficeView]:
    """The school's reports not yet done, oldest first."""
    rows = db.session.execute(
        _office_query(school_id)
        .where(FamilyReport.done_at.is_(None))
        .order_by(FamilyReport.created_at, FamilyReport.id)
    ).all()
    return _views(rows, school_id)


def done_reports(school_id: int, *, limit: int = 20) -> list[OfficeView]:
    """The school's latest reports marked done, newest first."""
    rows = db.session.execute(
        _office_query(school_id)
        .where(FamilyReport.done_at.is_not(None))
        .order_by(FamilyReport.done_at.desc(), FamilyReport.id.desc())
        .limit(limit)
    ).all()
    return _views(rows, school_id)


def get(school_id: int, report_id: int) -> OfficeView:
    """One report of the school; NotFound for another school's."""
    row = db.session.execute(_office_query(school_id).where(FamilyReport.id == report_id)).first()
    if row is None:
        raise NotFound("no such report")
    return _views([row], school_id)[0]


# --- marking one done ----------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    report: OfficeView
    changed: bool  # false: someone had marked it done already


def note_problem(note: str) -> str | None:
    value = (note or "").strip()
    if len(value) > MAX_NOTE:
        return f"The note must be {MAX_NOTE} characters or fewer"
    if problem := text.multi_line_problem(value):
        return f"The note {problem}"
    return None


def mark_done(
    staff_user_id: int, report_id: int, note: str = "", *, now: datetime | None = None
) -> Done:
    """Mark a report of the staff user's school done, by them, now, with their note of what
    the office did (optional; never shown to the family) and an entry in the audit log, in
    one transaction. Already done: nothing changes (the first who, when and note stand).
    NotFound for another school's report, or a staff user who is not an active admin or
    staff; ReportError for a note that cannot be kept."""
    now = now or utcnow()
    if problem := note_problem(note):
        raise ReportError(problem, "note")
    note = (note or "").strip()
    with writing() as session:
        staff = session.get(StaffUser, staff_user_id)
        if staff is None or not staff.active or staff.role not in ROLES:
            raise NotFound("no such staff user")
        report = session.scalars(
            select(FamilyReport).where(
                FamilyReport.id == report_id, FamilyReport.school_id == staff.school_id
            )
        ).first()
        if report is None:
            raise NotFound("no such report")
        result = session.execute(
            update(FamilyReport)
            .where(FamilyReport.id == report.id, FamilyReport.done_at.is_(None))
            .values(done_at=now, done_by_id=staff.id, done_note=note or None)
            .execution_options(synchronize_session=False)
        )
        changed = bool(getattr(result, "rowcount", 0))
        if changed:
            audit_log.record(
                staff,
                "family_report.done",
                detail={"report_id": report.id, "kind": report.kind, "note": note},
                now=now,
            )
        school_id = staff.school_id
    session.expire(report)  # read back who and when, whoever was first
    return Done(get(school_id, report_id), changed)


# --- things to do --------------------------------------------------------------------------


def things_to_do(school_id: int, today: date, role: str) -> list[todo.Item]:
    """Each open report of the school, for admins and staff (marketing users get none)."""
    if role not in ROLES:
        return []
    return [
        todo.Item(
            kind=TODO_KIND,
            title=f"Read report {report.reference}: {report.kind_name.lower()}",
            opened_on=london_date(report.created_at),
            endpoint=ENDPOINT,
            values={"report_id": report.id},
            due_on=report.due_on,
            detail=report.contact_name or report.contact_email,
        )
        for report in open_reports(school_id)
    ]


# --- the admins' email (registered by portal.wiring) ----------------------------------------


def admin_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """A new report; not sent once it is done. Names no one: the details are on the page."""
    report = db.session.get(FamilyReport, int(payload["report_id"]))
    if report is None:
        return None, "the report no longer exists"
    if report.done_at is not None:
        return None, "not sent: the report was done before it could be sent"
    school = db.session.get(School, report.school_id)
    if school is None:
        return None, "the school no longer exists"
    base = current_app.config["BASE_URL"]
    kind = KIND_NAMES[report.kind]
    return {
        "school_name": school.name,
        "headline": f"A family reports: {kind.lower()}",
        "reference": reference(report.id),
        "kind": kind,
        "received": uk_date(report.created_at),
        "due": uk_date(report.due_on),
        "report_url": f"{base}/staff/family-reports/{report.id}",
        "sign_in_url": f"{base}/sign-in",
    }, ""
