"""The email about new tasks (take-downs and leaving tasks): enqueued in the transaction that
made them, to the people the school's `task_emails` setting names (its admins, its admins and
staff, or nobody), built by the mail worker when it sends it (only the tasks still open)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..extensions import db
from ..mail import outbox
from ..models import Role, School, StaffUser, TakedownTask, TaskEmails, TaskKind
from .task_list import open_tasks

TEMPLATE = "takedown"
SUBJECT = "{headline} ({school_name})"

# Who `task_emails` names: the roles emailed about a new task.
RECIPIENT_ROLES = {
    TaskEmails.ADMINS.value: (Role.ADMIN.value,),
    TaskEmails.EVERYONE.value: (Role.ADMIN.value, Role.STAFF.value),
    TaskEmails.NONE.value: (),
}


# The school's active staff (the columns an email needs) with its `task_emails` setting.
_STAFF = (
    select(StaffUser.id, StaffUser.email, StaffUser.role, School.task_emails)
    .join(School, School.id == StaffUser.school_id)
    .where(StaffUser.school_id == bindparam("school_id"), StaffUser.active.is_(True))
    .order_by(StaffUser.id)
)


def recipients(session: Session, school_id: int) -> list[Any]:
    """The active staff users the school's `task_emails` setting names, by id (`id`, `email`
    and `role`): one query of the school's active staff with the setting (none for a school
    that does not exist)."""
    rows = session.connection().execute(_STAFF, {"school_id": school_id})
    return [
        person
        for person in rows
        if person.role in RECIPIENT_ROLES.get(person.task_emails, (Role.ADMIN.value,))
    ]


def email_admins(session: Session, school_id: int, new_tasks: Sequence[TakedownTask]) -> None:
    """One email per person the school's `task_emails` names, about these new tasks."""
    if not new_tasks:
        return
    ids = sorted(task.id for task in new_tasks)
    at = max(task.created_at for task in new_tasks)
    for person in recipients(session, school_id):
        outbox.enqueue(
            to_address=person.email,
            template=TEMPLATE,
            payload={"school_id": school_id, "tasks": ids, "role": person.role},
            school_id=school_id,
            dedupe_key=f"takedown:{school_id}:{ids[0]}:{person.id}",
            now=at,
        )


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """What the email says when the worker sends it: the tasks it names that are still open
    (none left: not sent, with the reason)."""
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    wanted = {int(task_id) for task_id in payload["tasks"]}
    found = [task for task in open_tasks(school.id) if task.id in wanted]
    if not found:
        return None, "not sent: the tasks were marked done before it could be sent"
    if len(found) == 1:
        headline = found[0].wording
    elif all(task.kind == TaskKind.TAKEDOWN for task in found):
        headline = f"Take down: {len(found)} things"
    else:
        headline = f"{len(found)} things to do"
    return {
        "school_name": school.name,
        "headline": headline,
        "tasks": found,
        "takedowns": [task for task in found if task.kind == TaskKind.TAKEDOWN],
        "leaving": [task for task in found if task.kind == TaskKind.LEAVING],
        "role": "an admin" if payload.get("role", Role.ADMIN.value) == Role.ADMIN else "staff",
        "takedowns_url": f"{current_app.config['BASE_URL']}/staff/take-downs",
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""
