"""An admin marks a pupil as left on their record (the roster does the same for many pupils
at once), or puts them back on roll when it was a mistake. Leaving makes, in the same
transaction, the tasks each purpose promised (`takedowns.on_leaving`); putting a pupil back
removes the leaving tasks still open (done ones stand). Each is an entry in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import audit_log, takedowns
from ..database import writing
from ..errors import NotFound, PortalError
from ..models import Pupil, Role, StaffUser, TakedownTask, TaskKind
from ..types import london_date, utcnow


class LeavingProblem(PortalError):
    """The pupil cannot be marked as left (or back on roll) as asked; nothing changed.
    `field` names the form field it is about."""

    def __init__(self, message: str, field: str = "left_on"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Left:
    pupil: Pupil
    tasks: int  # leaving tasks made (or, putting back on roll, removed)


def _admin_and_pupil(
    session: Session, staff_user_id: int, pupil_id: int
) -> tuple[StaffUser, Pupil]:
    staff = session.get(StaffUser, staff_user_id)
    if staff is None or not staff.active or staff.role != Role.ADMIN:
        raise NotFound("no such admin")
    pupil = session.scalars(
        select(Pupil).where(Pupil.id == pupil_id, Pupil.school_id == staff.school_id)
    ).first()
    if pupil is None:
        raise NotFound("no such pupil")
    return staff, pupil


def mark_left(
    staff_user_id: int, pupil_id: int, left_on: date, *, now: datetime | None = None
) -> Left:
    """Mark a pupil of the admin's school as left on `left_on` (not in the future), with the
    leaving tasks and their emails, and an audit entry, in one transaction."""
    now = now or utcnow()
    if left_on > london_date(now):
        raise LeavingProblem("The date they left must be today or in the past")
    with writing() as session:
        staff, pupil = _admin_and_pupil(session, staff_user_id, pupil_id)
        if not pupil.on_roll:
            raise LeavingProblem(f"{pupil.forename} is already marked as left")
        pupil.on_roll = False
        pupil.left_on = left_on
        pupil.updated_at = now
        session.flush()
        made = takedowns.on_leaving(session, staff.school_id, [pupil.id], now=now)
        audit_log.record(
            staff,
            "pupil.left",
            detail={"pupil_id": pupil.id, "left_on": left_on.isoformat(), "tasks": len(made)},
            now=now,
        )
    return Left(pupil, len(made))


def back_on_roll(staff_user_id: int, pupil_id: int, *, now: datetime | None = None) -> Left:
    """Undo a mistaken "left": the pupil is on roll again and the leaving tasks still open for
    them are removed (those done stand), with an audit entry, in one transaction."""
    now = now or utcnow()
    with writing() as session:
        staff, pupil = _admin_and_pupil(session, staff_user_id, pupil_id)
        if pupil.on_roll:
            raise LeavingProblem(f"{pupil.forename} is on roll", field="back")
        open_tasks = list(
            session.scalars(
                select(TakedownTask.id).where(
                    TakedownTask.school_id == staff.school_id,
                    TakedownTask.pupil_id == pupil.id,
                    TakedownTask.kind == TaskKind.LEAVING.value,
                    TakedownTask.done_at.is_(None),
                )
            )
        )
        if open_tasks:
            session.execute(delete(TakedownTask).where(TakedownTask.id.in_(open_tasks)))
        was = pupil.left_on
        pupil.on_roll = True
        pupil.left_on = None
        pupil.updated_at = now
        audit_log.record(
            staff,
            "pupil.back_on_roll",
            detail={
                "pupil_id": pupil.id,
                "left_on": was.isoformat() if was else None,
                "tasks_removed": open_tasks,
            },
            now=now,
        )
    return Left(pupil, len(open_tasks))
