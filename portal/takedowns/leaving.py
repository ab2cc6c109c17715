"""When a pupil leaves: what each purpose of the school promised for that moment.

A purpose's `on_leaving` says: `keep` (kept for `keep_months`, or until the school's retention
period: no task), `remove` (a task at once, due in `leaving_days` working days), or `review`
(a task at once, to decide). `on_leaving` is the one function that makes those tasks, called
in the transaction that marks pupils as left, whoever does it (a roster import, an admin on
the pupil's record). It is idempotent: a pupil and purpose with a leaving task still open get
no second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import holidays
from ..models import OnLeaving, Pupil, Purpose, TakedownTask, TaskKind
from ..types import utcnow
from .admin_email import email_admins
from .due import leaving_due

ACTING = (OnLeaving.REMOVE.value, OnLeaving.REVIEW.value)


def on_leaving(
    session: Session, school_id: int, pupil_ids: Iterable[int], *, now: datetime | None = None
) -> list[TakedownTask]:
    """For each of these pupils of the school who is off roll, one leaving task per purpose of
    the school (active or retired: what was collected still needs its promise kept) whose
    `on_leaving` is remove or review, unless one is open already; then the email the school's
    `task_emails` asks for. In the caller's transaction. The new tasks."""
    now = now or utcnow()
    wanted = sorted(set(pupil_ids))
    if not wanted:
        return []
    pupils = session.scalars(
        select(Pupil).where(
            Pupil.school_id == school_id, Pupil.id.in_(wanted), Pupil.on_roll.is_(False)
        )
    ).all()
    purposes = session.scalars(
        select(Purpose)
        .where(Purpose.school_id == school_id, Purpose.on_leaving.in_(ACTING))
        .order_by(Purpose.position, Purpose.id)
    ).all()
    if not pupils or not purposes:
        return []
    open_already = set(
        session.execute(
            select(TakedownTask.pupil_id, TakedownTask.purpose_id).where(
                TakedownTask.school_id == school_id,
                TakedownTask.kind == TaskKind.LEAVING.value,
                TakedownTask.done_at.is_(None),
                TakedownTask.pupil_id.in_([p.id for p in pupils]),
            )
        )
    )
    days_off = holidays.in_force()
    created: list[TakedownTask] = []
    for pupil in pupils:
        for purpose in purposes:
            if (pupil.id, purpose.id) in open_already:
                continue
            task = TakedownTask(
                school_id=school_id,
                pupil_id=pupil.id,
                purpose_id=purpose.id,
                event_seq=None,
                kind=TaskKind.LEAVING.value,
                action=purpose.on_leaving,
                created_at=now,
                due_on=leaving_due(purpose, now, days_off),
            )
            session.add(task)
            created.append(task)
    if created:
        session.flush()
        email_admins(session, school_id, created)
    return created
