"""What the pages show of rights requests: the school's open ones with days left (staff), one
request with its whole history, and a family's own requests (parents see only theirs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..errors import NotFound
from ..extensions import db
from ..models import (
    Guardian,
    RequestStatus,
    RightsRequest,
    RightsRequestChange,
    School,
    SchoolContact,
    StaffUser,
)
from .core import (
    CHANNEL_WORDS,
    KIND_NAMES,
    KIND_WORDS,
    OPEN_STATUSES,
    PAUSE_REASONS,
    STATUS_WORDS,
    day_words,
    first_month_ends,
    reference,
)

CLOSED_SHOWN = 20

# What happened, as the request's history says it to the family and to staff (lazy strings:
# str() them where a str is needed).
ACTION_WORDS = {
    "made": _l("Made on the portal"),
    "logged": _l("Logged by staff"),
    "paused": _l("Clock stopped"),
    "resumed": _l("Clock restarted"),
    "extended": _l("Extended"),
    "answered": _l("Answered"),
    "refused": _l("Refused"),
    "withdrawn": _l("Withdrawn"),
    "file_built": _l("The family's file was built"),
}


@dataclass(frozen=True)
class Change:
    occurred_at: datetime
    action: str
    who: str
    detail: dict[str, Any]

    @property
    def words(self) -> str:
        return str(ACTION_WORDS.get(self.action, self.action))

    @property
    def summary(self) -> str:
        """The change's details in a line (the history's second column)."""
        d = self.detail
        if self.action == "paused":
            return PAUSE_REASONS.get(d.get("reason", ""), "")
        if self.action == "resumed":
            days = d.get("days_added", 0)
            return f"{days} day{'s' if days != 1 else ''} added; due {_iso_words(d.get('due_on'))}"
        if self.action == "extended":
            months = d.get("months")
            how = "by email" if d.get("told_by") == "email" else "by the school"
            return (
                f"By {months} month{'s' if months != 1 else ''}: {d.get('reason', '')}."
                f" Told {how} on {_iso_words(d.get('told_on'))}; due {_iso_words(d.get('due_on'))}"
            )
        if self.action in {"answered", "refused", "withdrawn"}:
            return str(d.get("outcome", ""))
        if self.action in {"made", "logged"}:
            about = f" About {d['child']}." if d.get("child") else ""
            return f"Due {_iso_words(d.get('due_on'))}.{about}"
        if self.action == "file_built":
            return f"As {d.get('format', 'a page')}"
        return ""


def _iso_words(value: Any) -> str:
    try:
        return day_words(date.fromisoformat(str(value)))
    except ValueError:
        return ""


@dataclass(frozen=True)
class Request:
    """One request as the pages show it."""

    row: RightsRequest
    school_name: str
    school_slug: str
    guardian_email: str | None
    changes: list[Change] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        # The row's columns (kind, status, due_on, ...) read through.
        return getattr(self.row, name)

    @property
    def reference(self) -> str:
        return reference(self.row.id)

    @property
    def kind_words(self) -> str:
        return str(KIND_WORDS[self.row.kind])

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.row.kind]

    @property
    def status_words(self) -> str:
        return str(STATUS_WORDS[self.row.status])

    @property
    def channel_words(self) -> str:
        return str(CHANNEL_WORDS.get(self.row.channel, self.row.channel))

    @property
    def is_open(self) -> bool:
        return self.row.status in OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.row.status == RequestStatus.PAUSED

    def days_left(self, today: date) -> int:
        return (self.row.due_on - today).days

    def overdue(self, today: date) -> bool:
        return self.is_open and self.row.due_on < today

    def days_left_words(self, today: date) -> str:
        if self.is_paused:
            return "clock stopped"
        days = self.days_left(today)
        if days < 0:
            return f"overdue by {-days} day{'s' if days != -1 else ''}"
        if days == 0:
            return "due today"
        return f"{days} day{'s' if days != 1 else ''} left"

    @property
    def received_words(self) -> str:
        return day_words(self.row.received_on)

    @property
    def due_words(self) -> str:
        return day_words(self.row.due_on)

    @property
    def paused_words(self) -> str:
        return day_words(self.row.paused_on)

    @property
    def closed_words(self) -> str:
        return day_words(self.row.closed_on)

    @property
    def told_words(self) -> str:
        return day_words(self.row.extension_told_on)

    @property
    def first_month_ends(self) -> date:
        return first_month_ends(self.row.received_on, self.row.paused_days)

    @property
    def first_month_words(self) -> str:
        return day_words(self.first_month_ends)

    @property
    def about(self) -> str | None:
        """The child the family named, when they named one."""
        for change in self.changes:
            if change.action == "made" and change.detail.get("child"):
                return str(change.detail["child"])
        return None


def _query() -> Any:
    return (
        select(RightsRequest, School.name, School.slug, Guardian.email)
        .join(School, School.id == RightsRequest.school_id)
        .outerjoin(Guardian, Guardian.id == RightsRequest.guardian_id)
    )


def _request(row: Any, changes: list[Change] | None = None) -> Request:
    return Request(row[0], row[1], row[2], row[3], changes or [])


def changes_of(request_id: int, school_id: int, *, for_family: bool = False) -> list[Change]:
    """The request's history, oldest first, with who did each thing. For the family, staff
    are "the school" (in the family's language)."""
    contact = aliased(SchoolContact)
    rows = db.session.execute(
        select(
            RightsRequestChange, StaffUser.name, StaffUser.email, contact.forename, contact.surname
        )
        .outerjoin(StaffUser, StaffUser.id == RightsRequestChange.staff_user_id)
        .outerjoin(
            contact,
            (contact.guardian_id == RightsRequestChange.guardian_id)
            & (contact.school_id == RightsRequestChange.school_id),
        )
        .where(
            RightsRequestChange.request_id == request_id,
            RightsRequestChange.school_id == school_id,
        )
        .order_by(RightsRequestChange.occurred_at, RightsRequestChange.id)
    ).all()
    found = []
    for change, staff_name, staff_email, forename, surname in rows:
        if change.staff_user_id is not None:
            who = _("The school") if for_family else (staff_name or staff_email)
        elif change.guardian_id is not None:
            name = f"{forename or ''} {surname or ''}".strip()
            who = _("You") if for_family else (name or _("The family"))
        else:
            who = _("The portal")
        found.append(Change(change.occurred_at, change.action, who, json.loads(change.detail)))
    return found


def open_requests(school_id: int) -> list[Request]:
    """The school's open and paused requests, the one due first at the top."""
    rows = db.session.execute(
        _query()
        .where(RightsRequest.school_id == school_id, RightsRequest.status.in_(OPEN_STATUSES))
        .order_by(RightsRequest.due_on, RightsRequest.received_on, RightsRequest.id)
    ).all()
    return [_request(row) for row in rows]


def closed_requests(school_id: int, *, limit: int = CLOSED_SHOWN) -> list[Request]:
    """The school's most recently closed requests."""
    rows = db.session.execute(
        _query()
        .where(RightsRequest.school_id == school_id, RightsRequest.status.not_in(OPEN_STATUSES))
        .order_by(RightsRequest.closed_on.desc(), RightsRequest.id.desc())
        .limit(limit)
    ).all()
    return [_request(row) for row in rows]


def get(school_id: int, request_id: int) -> Request:
    """One request of the school, with its history; NotFound for another school's."""
    row = db.session.execute(
        _query().where(RightsRequest.id == request_id, RightsRequest.school_id == school_id)
    ).first()
    if row is None:
        raise NotFound("no such rights request")
    return _request(row, changes_of(request_id, school_id))


def of_guardian(guardian_id: int) -> list[Request]:
    """A family's own requests, at every school, newest first."""
    rows = db.session.execute(
        _query()
        .where(RightsRequest.guardian_id == guardian_id)
        .order_by(RightsRequest.received_on.desc(), RightsRequest.id.desc())
    ).all()
    return [_request(row) for row in rows]


def get_for_guardian(guardian_id: int, request_id: int) -> Request:
    """One of the family's own requests, with its history; NotFound for anyone else's."""
    row = db.session.execute(
        _query().where(RightsRequest.id == request_id, RightsRequest.guardian_id == guardian_id)
    ).first()
    if row is None:
        raise NotFound("no such rights request")
    return _request(row, changes_of(request_id, row[0].school_id, for_family=True))
