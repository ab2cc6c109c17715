"""The take-downs staff work through: the open ones, oldest first, then the ones done, with
who and when; marking one done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased

from .. import audit_log
from ..database import writing
from ..errors import NotFound
from ..extensions import db
from ..models import ConsentEvent, Pupil, Purpose, StaffUser, TakedownTask
from ..types import utcnow

DONE_SHOWN = 20


def short_name(forename: str, surname: str) -> str:
    """A pupil as a take-down names them: "Amira H."."""
    initial = surname.strip()[:1]
    return f"{forename.strip()} {initial}." if initial else forename.strip()


def wording(purpose_title: str, forename: str, surname: str, class_name: str) -> str:
    """What must come down: "Take down: Photos on the school website — Amira H. (3 Oak)"."""
    return f"Take down: {purpose_title} — {short_name(forename, surname)} ({class_name})"


@dataclass(frozen=True)
class Task:
    id: int
    pupil_id: int
    purpose_id: int
    pupil_name: str  # full name, for staff
    class_name: str
    purpose_title: str
    wording: str  # "Take down: Photos on the school website — Amira H. (3 Oak)"
    event_seq: int | None  # none for a task made by a pupil leaving
    created_at: datetime
    decision: str | None  # the decision that caused it (none if the event is not found)
    channel: str | None
    done_at: datetime | None
    done_by: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True)
class TaskList:
    open: list[Task]  # oldest first
    done: list[Task]  # most recently done first, at most DONE_SHOWN
    done_total: int


def _task_query(school_id: int) -> Any:
    done_by = aliased(StaffUser)
    return (
        select(
            TakedownTask,
            Pupil.forename,
            Pupil.surname,
            Pupil.class_name,
            Purpose.title,
            ConsentEvent.decision,
            ConsentEvent.channel,
            done_by.name.label("done_by_name"),
            done_by.email.label("done_by_email"),
        )
        .join(
            Pupil,
            and_(Pupil.id == TakedownTask.pupil_id, Pupil.school_id == TakedownTask.school_id),
        )
        .join(
            Purpose,
            and_(
                Purpose.id == TakedownTask.purpose_id, Purpose.school_id == TakedownTask.school_id
            ),
        )
        .outerjoin(
            ConsentEvent,
            and_(
                ConsentEvent.school_id == TakedownTask.school_id,
                ConsentEvent.seq == TakedownTask.event_seq,
            ),
        )
        .outerjoin(done_by, done_by.id == TakedownTask.done_by_id)
        .where(TakedownTask.school_id == school_id)
    )


def _task(row: Any) -> Task:
    task: TakedownTask = row[0]
    return Task(
        id=task.id,
        pupil_id=task.pupil_id,
        purpose_id=task.purpose_id,
        pupil_name=f"{row.forename} {row.surname}".strip(),
        class_name=row.class_name,
        purpose_title=row.title,
        wording=wording(row.title, row.forename, row.surname, row.class_name),
        event_seq=task.event_seq,
        created_at=task.created_at,
        decision=row.decision,
        channel=row.channel,
        done_at=task.done_at,
        done_by=(row.done_by_name or row.done_by_email) if task.done_by_id else None,
    )


def open_tasks(school_id: int) -> list[Task]:
    """The school's take-downs still to do, oldest first (for the dashboard)."""
    rows = db.session.execute(
        _task_query(school_id)
        .where(TakedownTask.done_at.is_(None))
        .order_by(TakedownTask.created_at, TakedownTask.id)
    ).all()
    return [_task(row) for row in rows]


def tasks(school_id: int, *, done_shown: int = DONE_SHOWN) -> TaskList:
    """Open take-downs (oldest first), then the most recently done ones with who and when."""
    done_rows = db.session.execute(
        _task_query(school_id)
        .where(TakedownTask.done_at.is_not(None))
        .order_by(TakedownTask.done_at.desc(), TakedownTask.id.desc())
        .limit(done_shown)
    ).all()
    done_total = (
        db.session.scalar(
            select(func.count())
            .select_from(TakedownTask)
            .where(TakedownTask.school_id == school_id, TakedownTask.done_at.is_not(None))
        )
        or 0
    )
    return TaskList(open_tasks(school_id), [_task(row) for row in done_rows], done_total)


def get_task(school_id: int, task_id: int) -> Task:
    row = db.session.execute(_task_query(school_id).where(TakedownTask.id == task_id)).first()
    if row is None:
        raise NotFound("no such take-down")
    return _task(row)


@dataclass(frozen=True)
class Done:
    task: Task
    changed: bool  # false: it was already done (by whoever `task.done_by` names)


def mark_done(staff_user_id: int, task_id: int, *, now: datetime | None = None) -> Done:
    """Mark a take-down of the staff user's school as done, by them, now, with an entry in the
    audit log, in one transaction. Already done: nothing changes (the first who and when
    stand). NotFound for another school's task."""
    now = now or utcnow()
    with writing() as session:
        staff = session.get(StaffUser, staff_user_id)
        if staff is None or not staff.active:
            raise NotFound("no such staff user")
        task = session.scalars(
            select(TakedownTask).where(
                TakedownTask.id == task_id, TakedownTask.school_id == staff.school_id
            )
        ).first()
        if task is None:
            raise NotFound("no such take-down")
        changed = False
        if task.done_at is None:
            # Only while still open: of two people pressing at once, one marks it done.
            result = session.execute(
                update(TakedownTask)
                .where(TakedownTask.id == task.id, TakedownTask.done_at.is_(None))
                .values(done_at=now, done_by_id=staff.id)
                .execution_options(synchronize_session=False)
            )
            changed = bool(getattr(result, "rowcount", 0))
            if changed:
                audit_log.record(
                    staff,
                    "takedown.done",
                    detail={
                        "task_id": task.id,
                        "pupil_id": task.pupil_id,
                        "purpose_id": task.purpose_id,
                        "event_seq": task.event_seq,
                    },
                    now=now,
                )
        school_id = staff.school_id
    session.expire(task)  # read back who and when, whoever was first
    return Done(get_task(school_id, task_id), changed)
