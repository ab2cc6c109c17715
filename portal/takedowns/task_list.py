"""The tasks staff work through (take-downs, and what a purpose promised when a pupil leaves):
the open ones, oldest first, each with the day it is due, then the ones done, with who, when
and the note of what was removed and where; marking one done (a note is required) and
reopening it the same day (London), each with an entry in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased

from .. import audit_log, text
from ..database import writing
from ..errors import NotFound, PortalError
from ..extensions import db
from ..models import ConsentEvent, OnLeaving, Pupil, Purpose, StaffUser, TakedownTask, TaskKind
from ..types import london_date, uk_date, utcnow

DONE_SHOWN = 20
# The note of what was removed and where: one or a few lines.
MAX_NOTE = 500
MAX_NOTE_LINES = 5
# The purpose's retention text as a leaving task quotes it (folded onto one line).
MAX_RETENTION_SHOWN = 120


class NoteProblem(PortalError):
    """The note given when marking a task done cannot be kept; nothing changed."""


class CannotReopen(PortalError):
    """A task can be reopened only on the day (London) it was marked done; nothing changed."""


def note_problem(note: str) -> str | None:
    """Why `note` cannot be the note of a task done, in words for staff; None when it can."""
    note = note.strip()
    if not note:
        return 'Write what you removed and where, such as "Deleted from the website gallery"'
    if problem := text.multi_line_problem(note):
        return f"The note {problem}"
    if len(note) > MAX_NOTE:
        return f"The note must be {MAX_NOTE} characters or fewer"
    if len(note.splitlines()) > MAX_NOTE_LINES:
        return f"The note must be {MAX_NOTE_LINES} lines or fewer"
    return None


def clean_note(note: str) -> str:
    """The note as it is kept: line endings as LF, trimmed."""
    return note.replace("\r\n", "\n").replace("\r", "\n").strip()


def lower_first(title: str) -> str:
    """A title to go inside a sentence: "Photos on the website" -> "photos on the website"
    (an initialism such as "MIS records" is left as it is)."""
    if len(title) > 1 and title[0].isupper() and not title[1].isupper():
        return title[0].lower() + title[1:]
    return title


ERASED_NAME = "Name erased"  # the retention run erased the pupil's names


def short_name(forename: str, surname: str) -> str:
    """A pupil as a take-down names them: "Amira H."."""
    initial = surname.strip()[:1]
    if not forename.strip() and not initial:
        return ERASED_NAME
    return f"{forename.strip()} {initial}." if initial else forename.strip()


def wording(purpose_title: str, forename: str, surname: str, class_name: str) -> str:
    """What must come down: "Take down: Photos on the school website — Amira H. (3 Oak)"."""
    return f"Take down: {purpose_title} — {short_name(forename, surname)} ({class_name})"


def leaving_wording(
    action: str, purpose_title: str, retention: str | None, forename: str, surname: str
) -> str:
    """What a pupil's leaving asks: "Remove Ethan P.'s photos held in the MIS — Ludworth:
    destroyed when a pupil leaves" (the purpose's retention text, when it has one)."""
    verb = "Remove" if action == OnLeaving.REMOVE else "Review"
    said = f"{verb} {short_name(forename, surname)}'s {lower_first(purpose_title)}"
    if retention:
        kept = text.one_line(retention)
        if len(kept) > MAX_RETENTION_SHOWN:
            kept = kept[: MAX_RETENTION_SHOWN - 1].rstrip() + "…"
        said += f" — {kept}"
    return said


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
    kind: str = TaskKind.TAKEDOWN.value  # takedown | leaving
    action: str | None = None  # remove | review, for a leaving task
    due_on: date | None = None
    done_note: str | None = None
    left_on: date | None = None  # the day the pupil left, for a leaving task

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def opened_on(self) -> date:
        """The London date the task was made."""
        return london_date(self.created_at)

    def overdue(self, today: date) -> bool:
        return self.done_at is None and self.due_on is not None and self.due_on < today

    def reopenable(self, today: date) -> bool:
        """Marked done today (London): it can still be reopened."""
        return self.done_at is not None and london_date(self.done_at) == today


@dataclass(frozen=True)
class TaskList:
    open: list[Task]  # oldest first
    done: list[Task]  # most recently done first, at most DONE_SHOWN
    done_total: int
    today: date | None = None  # London's date when read, for "overdue" and "reopen"

    @property
    def open_takedowns(self) -> list[Task]:
        return [task for task in self.open if task.kind == TaskKind.TAKEDOWN]

    @property
    def open_leaving(self) -> list[Task]:
        return [task for task in self.open if task.kind == TaskKind.LEAVING]

    @property
    def overdue(self) -> list[Task]:
        today = self.today or london_date(utcnow())
        return [task for task in self.open if task.overdue(today)]


def _task_query(school_id: int) -> Any:
    done_by = aliased(StaffUser)
    return (
        select(
            TakedownTask,
            Pupil.forename,
            Pupil.surname,
            Pupil.class_name,
            Pupil.left_on,
            Purpose.title,
            Purpose.retention,
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
    if task.kind == TaskKind.LEAVING:
        said = leaving_wording(
            task.action or OnLeaving.REVIEW.value,
            row.title,
            row.retention,
            row.forename,
            row.surname,
        )
    else:
        said = wording(row.title, row.forename, row.surname, row.class_name)
    return Task(
        id=task.id,
        pupil_id=task.pupil_id,
        purpose_id=task.purpose_id,
        pupil_name=f"{row.forename} {row.surname}".strip() or ERASED_NAME,
        class_name=row.class_name,
        purpose_title=row.title,
        wording=said,
        event_seq=task.event_seq,
        created_at=task.created_at,
        decision=row.decision,
        channel=row.channel,
        done_at=task.done_at,
        done_by=(row.done_by_name or row.done_by_email) if task.done_by_id else None,
        kind=task.kind,
        action=task.action,
        due_on=task.due_on,
        done_note=task.done_note,
        left_on=row.left_on if task.kind == TaskKind.LEAVING else None,
    )


def open_tasks(school_id: int) -> list[Task]:
    """The school's tasks still to do (both kinds), oldest first (for the dashboard)."""
    rows = db.session.execute(
        _task_query(school_id)
        .where(TakedownTask.done_at.is_(None))
        .order_by(TakedownTask.created_at, TakedownTask.id)
    ).all()
    return [_task(row) for row in rows]


def tasks(school_id: int, *, done_shown: int = DONE_SHOWN, today: date | None = None) -> TaskList:
    """Open tasks (oldest first), then the most recently done ones with who, when and the
    note."""
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
    today = today or london_date(utcnow())
    return TaskList(open_tasks(school_id), [_task(row) for row in done_rows], done_total, today)


def get_task(school_id: int, task_id: int) -> Task:
    row = db.session.execute(_task_query(school_id).where(TakedownTask.id == task_id)).first()
    if row is None:
        raise NotFound("no such take-down")
    return _task(row)


@dataclass(frozen=True)
class Done:
    task: Task
    changed: bool  # false: it was already done (by whoever `task.done_by` names)


def _staff_and_task(session: Any, staff_user_id: int, task_id: int) -> tuple[Any, Any]:
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
    return staff, task


def _detail(task: TakedownTask) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "kind": task.kind,
        "pupil_id": task.pupil_id,
        "purpose_id": task.purpose_id,
        "event_seq": task.event_seq,
    }


def mark_done(staff_user_id: int, task_id: int, note: str, *, now: datetime | None = None) -> Done:
    """Mark a task of the staff user's school as done, by them, now, with their note of what
    was removed and where, and an entry in the audit log, in one transaction. NoteProblem
    (nothing changes) when the note is missing or cannot be kept. Already done: nothing
    changes (the first who, when and note stand). NotFound for another school's task."""
    now = now or utcnow()
    if problem := note_problem(note):
        raise NoteProblem(problem)
    note = clean_note(note)
    with writing() as session:
        staff, task = _staff_and_task(session, staff_user_id, task_id)
        changed = False
        if task.done_at is None:
            # Only while still open: of two people pressing at once, one marks it done.
            result = session.execute(
                update(TakedownTask)
                .where(TakedownTask.id == task.id, TakedownTask.done_at.is_(None))
                .values(done_at=now, done_by_id=staff.id, done_note=note)
                .execution_options(synchronize_session=False)
            )
            changed = bool(getattr(result, "rowcount", 0))
            if changed:
                audit_log.record(staff, "takedown.done", detail=_detail(task), now=now)
        school_id = staff.school_id
    session.expire(task)  # read back who and when, whoever was first
    return Done(get_task(school_id, task_id), changed)


def reopen(staff_user_id: int, task_id: int, *, now: datetime | None = None) -> Done:
    """Open again a task marked done today (London), with an entry in the audit log (the
    note it had is kept there). CannotReopen on a later day; an open task: nothing changes."""
    now = now or utcnow()
    today = london_date(now)
    with writing() as session:
        staff, task = _staff_and_task(session, staff_user_id, task_id)
        changed = False
        if task.done_at is not None:
            if london_date(task.done_at) != today:
                done_on = london_date(task.done_at)
                raise CannotReopen(
                    f"This task was marked done on {uk_date(done_on)}: a task can "
                    "be reopened only on the day it was marked done."
                )
            detail = {**_detail(task), "note": task.done_note, "done_by_id": task.done_by_id}
            result = session.execute(
                update(TakedownTask)
                .where(TakedownTask.id == task.id, TakedownTask.done_at == task.done_at)
                .values(done_at=None, done_by_id=None, done_note=None)
                .execution_options(synchronize_session=False)
            )
            changed = bool(getattr(result, "rowcount", 0))
            if changed:
                audit_log.record(staff, "takedown.reopened", detail=detail, now=now)
        school_id = staff.school_id
    session.expire(task)
    return Done(get_task(school_id, task_id), changed)
