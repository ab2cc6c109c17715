"""The staff audit log: who did what, when, with which filter or file. Append-only.

Consent decisions are in the ledger; everything else a staff user changes or takes away
(exports, notices, purposes, roster imports, invitations, staff users, take-downs) is one
entry here, written in the same transaction as what it records (the caller commits).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from .extensions import db
from .models import StaffAuditEntry, StaffUser
from .types import utcnow

PAGE_SIZE = 50


def record(
    staff: StaffUser | None,
    action: str,
    *,
    school_id: int | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> StaffAuditEntry:
    """Add an entry to the caller's transaction. `action` is a short dotted name such as
    "export.marketing"; `detail` says what exactly (JSON-serialisable)."""
    if staff is None and school_id is None:
        raise ValueError("an audit entry needs a school")
    entry = StaffAuditEntry(
        school_id=school_id if school_id is not None else staff.school_id,  # type: ignore[union-attr]
        staff_user_id=staff.id if staff is not None else None,
        occurred_at=now or utcnow(),
        action=action,
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class Entry:
    occurred_at: datetime
    who: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    page: int
    pages: int
    total: int


def entries(school_id: int, *, page: int = 1, action: str | None = None) -> Page:
    """One school's entries, newest first, a page at a time."""
    where = [StaffAuditEntry.school_id == school_id]
    if action:
        where.append(StaffAuditEntry.action == action)
    total = db.session.scalar(select(func.count()).select_from(StaffAuditEntry).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        select(StaffAuditEntry, StaffUser.name, StaffUser.email)
        .outerjoin(StaffUser, StaffUser.id == StaffAuditEntry.staff_user_id)
        .where(*where)
        .order_by(StaffAuditEntry.occurred_at.desc(), StaffAuditEntry.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return Page(
        [
            Entry(
                entry.occurred_at,
                name or email or "an operator",
                entry.action,
                json.loads(entry.detail or "{}"),
            )
            for entry, name, email in rows
        ],
        page,
        pages,
        total,
    )
