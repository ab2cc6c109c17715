"""The admins' email about new take-downs: enqueued by the ledger hook in the append's
transaction, built by the mail worker when it sends it (only the tasks still open)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from ..mail import outbox
from ..models import Role, School, StaffUser, TakedownTask
from .task_list import open_tasks

TEMPLATE = "takedown"
SUBJECT = "{headline} ({school_name})"


def email_admins(session: Session, school_id: int, new_tasks: Sequence[TakedownTask]) -> None:
    """One email per active admin of the school, naming this append's take-downs."""
    admins = session.scalars(
        select(StaffUser)
        .where(
            StaffUser.school_id == school_id,
            StaffUser.role == Role.ADMIN.value,
            StaffUser.active.is_(True),
        )
        .order_by(StaffUser.id)
    ).all()
    ids = sorted(task.id for task in new_tasks)
    at = max(task.created_at for task in new_tasks)
    for admin in admins:
        outbox.enqueue(
            to_address=admin.email,
            template=TEMPLATE,
            payload={"school_id": school_id, "tasks": ids},
            school_id=school_id,
            dedupe_key=f"takedown:{school_id}:{ids[0]}:{admin.id}",
            now=at,
        )


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """What the email says when the worker sends it: the take-downs it names that are still
    open (none left: not sent, with the reason)."""
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    wanted = {int(task_id) for task_id in payload["tasks"]}
    found = [task for task in open_tasks(school.id) if task.id in wanted]
    if not found:
        return None, "not sent: the take-downs were marked done before it could be sent"
    headline = found[0].wording if len(found) == 1 else f"Take down: {len(found)} things"
    return {
        "school_name": school.name,
        "headline": headline,
        "tasks": found,
        "takedowns_url": f"{current_app.config['BASE_URL']}/staff/take-downs",
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""
