"""What every part of rights requests shares: the words for kinds and statuses, the limits
of what people type, the error a refused request raises, today's date in London, and the
one way a change is written to a request's history (`RightsRequestChange`)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import deadlines, holidays
from ..errors import NotFound, PortalError
from ..models import (
    RequestStatus,
    RightsKind,
    RightsRequest,
    RightsRequestChange,
    Role,
    StaffUser,
)
from ..text import multi_line_problem, single_line_problem
from ..types import london_date, uk_date

MAX_DETAILS = 5000
MAX_OUTCOME = 5000
MAX_NAME = 200
MAX_CONTACT = 254
# A request logged by staff may have arrived a while ago, but not more than a year ago: an
# older date is a typing mistake (2024 for 2025), and would make the request long overdue.
OLDEST_RECEIVED_DAYS = 365

# A parent's words for each kind, as the rights page explains them. These, the statuses and
# the channels are lazy strings, in the language of the page or email they go into: str()
# them where a str is needed (JSON, a join).
KIND_WORDS: dict[str, LazyString] = {
    RightsKind.ACCESS: _l("See what the school holds"),
    RightsKind.RECTIFICATION: _l("Correct something that is wrong"),
    RightsKind.ERASURE: _l("Delete information"),
    RightsKind.RESTRICTION: _l("Stop using information for now"),
    RightsKind.OBJECTION: _l("Object to a use of information"),
}
KIND_EXPLAINED: dict[str, LazyString] = {
    RightsKind.ACCESS: _l(
        "A copy of the information the school holds about you or your child, and why it holds it."
    ),
    RightsKind.RECTIFICATION: _l(
        "The school corrects information about you or your child that is wrong or incomplete."
    ),
    RightsKind.ERASURE: _l(
        "The school deletes information it no longer needs, or uses only because"
        " you agreed and you have now said no. It keeps what the law requires it to keep, and"
        " tells you why."
    ),
    RightsKind.RESTRICTION: _l(
        "The school keeps the information but does not use it while it checks"
        " whether it is right, or whether it may use it."
    ),
    RightsKind.OBJECTION: _l(
        "The school stops using information for its public task or legitimate"
        " interests, unless it has strong reasons to go on, and tells you the outcome."
    ),
}
# Staff's short names (the queue, the list, emails to admins).
KIND_NAMES: dict[str, str] = {
    RightsKind.ACCESS: "Access",
    RightsKind.RECTIFICATION: "Rectification",
    RightsKind.ERASURE: "Erasure",
    RightsKind.RESTRICTION: "Restriction",
    RightsKind.OBJECTION: "Objection",
}
STATUS_WORDS: dict[str, LazyString] = {
    RequestStatus.OPEN: _l("Open"),
    RequestStatus.PAUSED: _l("Paused"),
    RequestStatus.ANSWERED: _l("Answered"),
    RequestStatus.REFUSED: _l("Refused"),
    RequestStatus.WITHDRAWN: _l("Withdrawn"),
}
CHANNEL_WORDS: dict[str, LazyString] = {
    "web": _l("on the portal"),
    "letter": _l("by letter"),
    "phone": _l("by phone"),
    "email": _l("by email"),
    "in_person": _l("in person"),
}
PAUSE_REASONS: dict[str, str] = {
    "identity": "Waiting for proof of identity",
    "clarification": "Waiting for the requester to say what the request is about",
}
OPEN_STATUSES = (RequestStatus.OPEN.value, RequestStatus.PAUSED.value)


class RightsRequestError(PortalError):
    """A request or an action refused, with the reason in words and the form field it is
    about (None: the request as a whole)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# The day in London at a moment (`types.london_date`), under the name this feature uses.
today_in_london = london_date


def day_words(day: date | None) -> str:
    """A date as people in the UK read it (6 March 2026), or nothing for no date."""
    return "" if day is None else uk_date(day)


def reference(request_id: int) -> str:
    """The short reference a family quotes: RR-0042."""
    return f"RR-{request_id:04d}"


def first_month_ends(received_on: date, paused_days: int) -> date:
    """The last day of the first month (the deadline before any extension): an extension must
    be asked for, and told to the requester, by then."""
    return deadlines.due_date(received_on, holidays=holidays.in_force(), paused_days=paused_days)


def compute_due(request: RightsRequest) -> date:
    return deadlines.due_date(
        request.received_on,
        holidays=holidays.in_force(),
        paused_days=request.paused_days,
        extension_months=request.extension_months,
    )


def record_change(
    session: Session,
    request: RightsRequest,
    action: str,
    *,
    at: datetime,
    staff_user_id: int | None = None,
    guardian_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> RightsRequestChange:
    """Append one change to the request's history, in the caller's transaction."""
    change = RightsRequestChange(
        school_id=request.school_id,
        request_id=request.id,
        occurred_at=at,
        staff_user_id=staff_user_id,
        guardian_id=guardian_id,
        action=action,
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False, default=str),
    )
    session.add(change)
    return change


def active_admin(session: Session, staff_user_id: int) -> StaffUser:
    """The staff user, who must be an active admin: rights requests are the admins' work
    (docs/rights-requests.md, "Who can do what")."""
    staff = session.get(StaffUser, staff_user_id)
    if staff is None or not staff.active:
        raise NotFound("no such staff user")
    if staff.role != Role.ADMIN.value:
        raise RightsRequestError("Only the school's admins work on rights requests.")
    return staff


def admins_of(session: Session, school_id: int) -> list[StaffUser]:
    return list(
        session.scalars(
            select(StaffUser)
            .where(
                StaffUser.school_id == school_id,
                StaffUser.role == Role.ADMIN.value,
                StaffUser.active.is_(True),
            )
            .order_by(StaffUser.id)
        )
    )


def check_text(value: str, *, field: str, label: str, limit: int, required: bool) -> str:
    """Multi-line text a person typed: trimmed, within `limit`, no control characters."""
    value = (value or "").strip()
    if required and not value:
        raise RightsRequestError(f"Enter {label}", field)
    if len(value) > limit:
        raise RightsRequestError(
            f"{label[0].upper()}{label[1:]} must be {limit} characters or fewer", field
        )
    problem = multi_line_problem(value)
    if problem:
        raise RightsRequestError(f"{label[0].upper()}{label[1:]} {problem}", field)
    return value


def check_line(value: str, *, field: str, label: str, limit: int, required: bool) -> str:
    """One line a person typed (a name, a contact)."""
    value = (value or "").strip()
    if required and not value:
        raise RightsRequestError(f"Enter {label}", field)
    if len(value) > limit:
        raise RightsRequestError(
            f"{label[0].upper()}{label[1:]} must be {limit} characters or fewer", field
        )
    problem = single_line_problem(value)
    if problem:
        raise RightsRequestError(f"{label[0].upper()}{label[1:]} {problem}", field)
    return value
