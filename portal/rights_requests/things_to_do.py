"""The staff's queue of things to do (`portal.todo`): each open or paused rights request of
the school, for admins (who alone work on them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from .. import todo
from ..extensions import db
from ..models import RequestStatus, RightsRequest, Role
from .core import KIND_NAMES, OPEN_STATUSES, reference

ENDPOINT = "staff.rights_request"


def _detail(request: RightsRequest, today: date) -> str:
    kind = KIND_NAMES[request.kind]
    if request.status == RequestStatus.PAUSED:
        return f"{kind} — paused"
    days = (request.due_on - today).days
    if days < 0:
        return f"{kind} — overdue by {-days} day{'s' if days != -1 else ''}"
    if days == 0:
        return f"{kind} — due today"
    return f"{kind} — {days} day{'s' if days != 1 else ''} left"


def items(school_id: int, today: date, role: str) -> Sequence[todo.Item]:
    if role != Role.ADMIN.value:
        return []
    found = db.session.scalars(
        select(RightsRequest)
        .where(RightsRequest.school_id == school_id, RightsRequest.status.in_(OPEN_STATUSES))
        .order_by(RightsRequest.received_on, RightsRequest.id)
    ).all()
    return [
        todo.Item(
            kind="request",
            title=f"Answer rights request {reference(request.id)}",
            opened_on=request.received_on,
            endpoint=ENDPOINT,
            values={"request_id": request.id},
            due_on=request.due_on,
            detail=_detail(request, today),
        )
        for request in found
    ]
