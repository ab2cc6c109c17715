"""The daily reminders (registered by `portal.wiring` as the daily job "rights_reminders"):
the school's active admins are emailed once when an open request is a week from its due date
(or closer, if the job did not run that day), and once when it is overdue. A paused request's
clock is stopped, so it gets none. The dedupe key names the request, the reminder, the due
date and the admin: a second run sends nothing again, and a request whose due date moved (a
pause, an extension) is reminded of its new date."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..database import writing
from ..models import RequestStatus, RightsRequest
from . import emails

SOON_DAYS = 7


def run(today: date, now: datetime) -> str:
    """Enqueue the reminders due today; a one-line summary of what was sent."""
    soon = overdue = 0
    with writing() as session:
        requests = session.scalars(
            select(RightsRequest)
            .where(
                RightsRequest.status == RequestStatus.OPEN.value,
                RightsRequest.due_on <= today + timedelta(days=SOON_DAYS),
            )
            .order_by(RightsRequest.school_id, RightsRequest.due_on, RightsRequest.id)
        ).all()
        for request in requests:
            if request.due_on < today:
                overdue += emails.tell_admins(session, request, "overdue", now=now)
            else:
                soon += emails.tell_admins(session, request, "soon", now=now)
    return (
        f"rights requests: {soon} reminder(s) of a due date within {SOON_DAYS} days,"
        f" {overdue} of overdue requests"
    )
