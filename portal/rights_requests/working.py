"""Working a request (admins): stop and restart the clock, extend, answer, refuse, withdraw.

Each action is one transaction that locks the request, checks that the action makes sense for
its state (a closed request cannot be paused; an extension cannot come after the first month),
changes it, recomputes the due date where the rule says so, and appends a
`RightsRequestChange` naming who and when. A refused action raises `RightsRequestError` and
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import writing
from ..errors import NotFound
from ..models import Guardian, RequestStatus, RightsRequest, StaffUser
from ..types import utcnow
from . import emails
from .core import (
    MAX_OUTCOME,
    OPEN_STATUSES,
    PAUSE_REASONS,
    STATUS_WORDS,
    RightsRequestError,
    active_admin,
    check_text,
    compute_due,
    day_words,
    first_month_ends,
    record_change,
    today_in_london,
)

# What an action changed, for the history: {"field": value, ...}.
Detail = dict[str, Any]


def _closed_message(request: RightsRequest) -> str:
    when = f" on {day_words(request.closed_on)}" if request.closed_on else ""
    return f"This request is closed: it was {STATUS_WORDS[request.status].lower()}{when}."


def _act(
    staff_user_id: int,
    request_id: int,
    action: str,
    change: Callable[[Session, RightsRequest, StaffUser, date], Detail],
    now: datetime | None,
) -> RightsRequest:
    now = now or utcnow()
    today = today_in_london(now)
    with writing() as session:
        staff = active_admin(session, staff_user_id)
        query = select(RightsRequest).where(
            RightsRequest.id == request_id, RightsRequest.school_id == staff.school_id
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        request = session.scalars(query).first()
        if request is None:
            raise NotFound("no such rights request")
        if request.status not in OPEN_STATUSES:
            raise RightsRequestError(_closed_message(request))
        detail = change(session, request, staff, today)
        record_change(session, request, action, at=now, staff_user_id=staff.id, detail=detail)
    return request


def pause(
    staff_user_id: int, request_id: int, *, reason: str, now: datetime | None = None
) -> RightsRequest:
    """Stop the clock while the school waits for proof of identity or for the requester to say
    what the request is about."""
    if reason not in PAUSE_REASONS:
        raise RightsRequestError("Choose why the clock is stopped", "reason")

    def change(session: Session, request: RightsRequest, staff: StaffUser, today: date) -> Detail:
        if request.status == RequestStatus.PAUSED:
            raise RightsRequestError(
                f"The clock is already stopped, since {day_words(request.paused_on)}."
            )
        request.status = RequestStatus.PAUSED.value
        request.paused_on = today
        return {"reason": reason, "paused_on": today.isoformat()}

    return _act(staff_user_id, request_id, "paused", change, now)


def resume(staff_user_id: int, request_id: int, *, now: datetime | None = None) -> RightsRequest:
    """Start the clock again: every calendar day it was stopped is added to the due date."""

    def change(session: Session, request: RightsRequest, staff: StaffUser, today: date) -> Detail:
        if request.status != RequestStatus.PAUSED or request.paused_on is None:
            raise RightsRequestError("The clock is running: there is nothing to restart.")
        days = max(0, (today - request.paused_on).days)
        paused_on = request.paused_on
        request.paused_days += days
        request.status = RequestStatus.OPEN.value
        request.paused_on = None
        request.due_on = compute_due(request)
        return {
            "paused_on": paused_on.isoformat(),
            "days_added": days,
            "due_on": request.due_on.isoformat(),
        }

    return _act(staff_user_id, request_id, "resumed", change, now)


def extend(
    staff_user_id: int,
    request_id: int,
    *,
    months: int,
    reason: str,
    told_on: date | None = None,
    now: datetime | None = None,
) -> RightsRequest:
    """Extend by one or two months (a complex request, or several from one person), counted
    from the day it was received. Only within the first month, and the requester must be told
    within it, with the reason: a family in the portal is emailed now; for anyone else the
    admin gives the day they told them."""
    if months not in (1, 2):
        raise RightsRequestError("Choose an extension of 1 or 2 months", "months")
    reason = check_text(
        reason, field="reason", label="why it needs longer", limit=MAX_OUTCOME, required=True
    )

    def change(session: Session, request: RightsRequest, staff: StaffUser, today: date) -> Detail:
        first_month = first_month_ends(request.received_on, request.paused_days)
        if today > first_month:
            raise RightsRequestError(
                f"Too late to extend: the first month ended on {day_words(first_month)}. An"
                " extension must be decided, and told to the requester, within it.",
                "months",
            )
        if months <= request.extension_months:
            raise RightsRequestError(
                f"It is already extended by {request.extension_months} month"
                f"{'s' if request.extension_months != 1 else ''}.",
                "months",
            )
        email = None
        if request.guardian_id is not None:
            email = session.scalar(select(Guardian.email).where(Guardian.id == request.guardian_id))
        if email:
            told = today
        else:
            if told_on is None:
                raise RightsRequestError(
                    "Enter the date you told the requester about the extension", "told_on"
                )
            if told_on > today:
                raise RightsRequestError(
                    "The date you told them cannot be in the future", "told_on"
                )
            if told_on < request.received_on or told_on > first_month:
                raise RightsRequestError(
                    "The requester must be told within the first month, between"
                    f" {day_words(request.received_on)} and {day_words(first_month)}",
                    "told_on",
                )
            told = told_on
        request.extension_months = months
        request.extension_reason = reason
        request.extension_told_on = told
        request.due_on = compute_due(request)
        if email:
            emails.tell_family(session, request, f"extended-{months}", now=utcnow())
        return {
            "months": months,
            "reason": reason,
            "told_on": told.isoformat(),
            "told_by": "email" if email else "admin",
            "due_on": request.due_on.isoformat(),
        }

    return _act(staff_user_id, request_id, "extended", change, now)


def _close(
    staff_user_id: int,
    request_id: int,
    status: RequestStatus,
    action: str,
    outcome: str,
    now: datetime | None,
) -> RightsRequest:
    def change(session: Session, request: RightsRequest, staff: StaffUser, today: date) -> Detail:
        request.status = status.value
        request.paused_on = None
        request.outcome = outcome
        request.closed_on = today
        emails.tell_family(session, request, action, now=utcnow())
        return {"outcome": outcome, "closed_on": today.isoformat()}

    return _act(staff_user_id, request_id, action, change, now)


def answer(
    staff_user_id: int, request_id: int, *, outcome: str, now: datetime | None = None
) -> RightsRequest:
    """Answered: what the school did or sent, in words the family will read. Closes it."""
    outcome = check_text(
        outcome, field="outcome", label="what the school did", limit=MAX_OUTCOME, required=True
    )
    return _close(staff_user_id, request_id, RequestStatus.ANSWERED, "answered", outcome, now)


def refuse(
    staff_user_id: int, request_id: int, *, reasons: str, now: datetime | None = None
) -> RightsRequest:
    """Refused, with the reasons; the family is told of their right to complain to the ICO
    (the page and the email say so). Closes it."""
    reasons = check_text(
        reasons, field="reasons", label="the reasons", limit=MAX_OUTCOME, required=True
    )
    return _close(staff_user_id, request_id, RequestStatus.REFUSED, "refused", reasons, now)


def withdraw(
    staff_user_id: int, request_id: int, *, note: str = "", now: datetime | None = None
) -> RightsRequest:
    """The requester withdrew it (a note of how they said so, optional). Closes it."""
    note = check_text(note, field="note", label="the note", limit=MAX_OUTCOME, required=False)
    return _close(
        staff_user_id,
        request_id,
        RequestStatus.WITHDRAWN,
        "withdrawn",
        note or "The requester withdrew the request.",
        now,
    )
