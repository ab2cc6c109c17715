"""The daily digest of overdue tasks: once a day (`portal.daily`, job "takedown_digest"), one
email to each active admin of each school that has tasks past their due date, naming them
all: one email per admin, not one per task. Its dedupe key names the school, the admin and
the day, so a second run on the same day sends nothing more."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..database import writing
from ..extensions import db
from ..mail import outbox
from ..models import OutboxMessage, Role, School, StaffUser, TakedownTask
from ..types import london_date
from .task_list import open_tasks

TEMPLATE = "takedown_digest"
SUBJECT = "{headline} ({school_name})"
JOB = "takedown_digest"


def dedupe_key(school_id: int, admin_id: int, day: date) -> str:
    return f"takedown-digest:{school_id}:{admin_id}:{day.isoformat()}"


def send_digest(today: date, now: datetime) -> str:
    """Enqueue today's digest for every school with overdue tasks (those due before `today`
    and not done); a one-line summary of what it did."""
    with writing() as session:
        overdue: dict[int, list[int]] = defaultdict(list)
        for school_id, task_id in session.execute(
            select(TakedownTask.school_id, TakedownTask.id)
            .where(TakedownTask.done_at.is_(None), TakedownTask.due_on < today)
            .order_by(TakedownTask.school_id, TakedownTask.due_on, TakedownTask.id)
        ):
            overdue[school_id].append(task_id)
        if not overdue:
            return "no overdue tasks"
        admins = session.scalars(
            select(StaffUser)
            .where(
                StaffUser.school_id.in_(list(overdue)),
                StaffUser.role == Role.ADMIN.value,
                StaffUser.active.is_(True),
            )
            .order_by(StaffUser.school_id, StaffUser.id)
        ).all()
        keys = {admin.id: dedupe_key(admin.school_id, admin.id, today) for admin in admins}
        sent_already = set(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.dedupe_key.in_(list(keys.values()))
                )
            )
        )
        sent = 0
        for admin in admins:
            if keys[admin.id] in sent_already:
                continue
            outbox.enqueue(
                to_address=admin.email,
                template=TEMPLATE,
                payload={
                    "school_id": admin.school_id,
                    "day": today.isoformat(),
                    "tasks": overdue[admin.school_id],
                },
                school_id=admin.school_id,
                dedupe_key=keys[admin.id],
                now=now,
            )
            sent += 1
    tasks = sum(len(ids) for ids in overdue.values())
    return (
        f"{tasks} overdue task(s) at {len(overdue)} school(s): "
        f"{sent} digest email(s) to admins queued"
    )


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """The digest as it is sent: the tasks it names that are still open."""
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    wanted = {int(task_id) for task_id in payload["tasks"]}
    found = [task for task in open_tasks(school.id) if task.id in wanted]
    if not found:
        return None, "not sent: every overdue task was marked done before it could be sent"
    found.sort(key=lambda task: (task.due_on or date.max, task.id))
    count = len(found)
    return {
        "school_name": school.name,
        "headline": f"{count} overdue {'task' if count == 1 else 'tasks'}",
        "tasks": found,
        "today": london_date(now),
        "takedowns_url": f"{current_app.config['BASE_URL']}/staff/take-downs",
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""
