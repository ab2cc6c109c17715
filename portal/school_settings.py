"""A school's own settings, changed by its admins: how long the portal keeps a family's
details after their pupil leaves (`retention_months`, used by `portal.retention`), who
is emailed about a new take-down (`task_emails`), and whether families are emailed when an
answer of theirs needs renewing (`renewal_reminders`, used by `portal.renewals`; on unless
the school turns it off). Each change is written with its audit entry
(`school.settings`) in one transaction. The settings page also shows the school's latest
erasures, so the school can see what the retention run erased and when."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from . import audit_log
from .database import writing
from .errors import PortalError
from .extensions import db
from .models import Erasure, School, StaffUser, TaskEmails

MIN_MONTHS, MAX_MONTHS = 1, 1200  # the database's own bounds (CHECK retention_months)
DEFAULT_MONTHS = 12
RECENT_ERASURES = 50
TASK_EMAILS = tuple(choice.value for choice in TaskEmails)


class SettingsError(PortalError):
    """A setting the portal refuses; `field` is the form field it is about."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Saved:
    school: School
    changed: bool


def school_of(school_id: int) -> School:
    school = db.session.get(School, school_id)
    if school is None:
        raise PortalError("no such school")
    return school


def check(retention_months: int | None, task_emails: str | None) -> None:
    """Refuse a period outside 1 to 1,200 months or an unknown choice of who is emailed."""
    if retention_months is None:
        raise SettingsError("retention_months", "Enter a number of months, such as 12")
    if not MIN_MONTHS <= retention_months <= MAX_MONTHS:
        raise SettingsError(
            "retention_months",
            f"The period must be between {MIN_MONTHS} and {MAX_MONTHS:,} months",
        )
    if task_emails not in TASK_EMAILS:
        raise SettingsError("task_emails", "Choose who is emailed about a new take-down")


def save(
    staff: StaffUser,
    *,
    retention_months: int | None,
    task_emails: str | None,
    renewal_reminders: bool | None = None,
) -> Saved:
    """Change the settings of the admin's own school (`renewal_reminders` None: as it is).
    Saving what is already set changes nothing and writes no audit entry."""
    check(retention_months, task_emails)
    with writing() as session:
        school = session.scalars(
            select(School).where(School.id == staff.school_id).with_for_update()
        ).one()
        if renewal_reminders is None:
            renewal_reminders = school.renewal_reminders
        before = {
            "retention_months": school.retention_months,
            "task_emails": school.task_emails,
            "renewal_reminders": school.renewal_reminders,
        }
        after = {
            "retention_months": retention_months,
            "task_emails": task_emails,
            "renewal_reminders": renewal_reminders,
        }
        changed = before != after
        if changed:
            school.retention_months = retention_months  # type: ignore[assignment]
            school.task_emails = task_emails  # type: ignore[assignment]
            school.renewal_reminders = renewal_reminders
            session.flush()
            audit_log.record(staff, "school.settings", detail={"before": before, "after": after})
    return Saved(school, changed)


def recent_erasures(school_id: int, *, limit: int = RECENT_ERASURES) -> list[Erasure]:
    """The school's latest erasures, newest first."""
    return list(
        db.session.scalars(
            select(Erasure)
            .where(Erasure.school_id == school_id)
            .order_by(Erasure.erased_at.desc(), Erasure.id.desc())
            .limit(limit)
        )
    )
