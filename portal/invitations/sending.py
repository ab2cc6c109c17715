"""Sending a batch: the checks (a repeat, an empty class, nobody to invite), then the batch,
one outbox row per guardian and the audit entry, in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit_log
from ..database import writing
from ..errors import PortalError
from ..mail import outbox
from ..models import InvitationBatch, Pupil, StaffUser
from ..types import utcnow
from .audience import Audience, recipients
from .invitation_email import TEMPLATE

REPEAT_WINDOW = timedelta(seconds=60)


class InvitationError(PortalError):
    """An invitation the portal refuses to send, with a reason to show the admin."""


class RecentBatch(InvitationError):
    """The same invitation was sent by the same person a moment ago (a double click)."""

    def __init__(self, batch: InvitationBatch):
        super().__init__("This invitation was sent a moment ago: it has not been sent again.")
        self.batch = batch


def dedupe_key(batch_id: int, guardian_id: int) -> str:
    return f"invite:{batch_id}:{guardian_id}"


def send(
    staff: StaffUser,
    audience: str,
    class_name: str | None = None,
    *,
    now: datetime | None = None,
) -> InvitationBatch:
    """Queue one invitation per guardian of the audience at the staff user's school, with
    the batch and an audit entry `invitations.send`, in one transaction."""
    now = now or utcnow()
    if audience not in {a.value for a in Audience}:
        raise InvitationError(f"unknown audience {audience!r}")
    if audience == Audience.CLASS:
        class_name = (class_name or "").strip()
        if not class_name:
            raise InvitationError("Choose a class")
    else:
        class_name = None
    school_id = staff.school_id
    with writing() as session:
        # One staff user's sends, one at a time (PostgreSQL; SQLite has one writer).
        session.execute(select(StaffUser.id).where(StaffUser.id == staff.id).with_for_update())
        _refuse_a_repeat(session, staff, audience, class_name, now)
        if audience == Audience.CLASS and not _on_roll_in(session, school_id, class_name):
            raise InvitationError(f"There is no class {class_name!r} on roll")
        to = recipients(school_id, audience, class_name, now=now)
        if not to:
            raise InvitationError(
                "Nobody to invite: no parent or carer with an email address is in this group"
            )
        batch = InvitationBatch(
            school_id=school_id,
            created_by_id=staff.id,
            created_at=now,
            audience=audience,
            class_name=class_name,
            total=len(to),
        )
        session.add(batch)
        session.flush()
        _queue(batch, to, now)
        audit_log.record(
            staff,
            "invitations.send",
            detail={
                "batch_id": batch.id,
                "audience": audience,
                "class": class_name,
                "total": len(to),
            },
            now=now,
        )
    return batch


def _refuse_a_repeat(
    session: Session, staff: StaffUser, audience: str, class_name: str | None, now: datetime
) -> None:
    """RecentBatch when the same person sent the same invitation within REPEAT_WINDOW."""
    recent = session.scalars(
        select(InvitationBatch)
        .where(
            InvitationBatch.school_id == staff.school_id,
            InvitationBatch.created_by_id == staff.id,
            InvitationBatch.audience == audience,
            (
                InvitationBatch.class_name == class_name
                if class_name is not None
                else InvitationBatch.class_name.is_(None)
            ),
            InvitationBatch.created_at > now - REPEAT_WINDOW,
        )
        .order_by(InvitationBatch.id.desc())
    ).first()
    if recent is not None:
        raise RecentBatch(recent)


def _on_roll_in(session: Session, school_id: int, class_name: str | None) -> int:
    """How many pupils on roll the class has."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Pupil)
            .where(
                Pupil.school_id == school_id,
                Pupil.class_name == class_name,
                Pupil.on_roll.is_(True),
            )
        )
        or 0
    )


def _queue(batch: InvitationBatch, to: dict[int, str], now: datetime) -> None:
    """One outbox row per guardian, whose dedupe key names the batch and the guardian (the
    database refuses a second copy). One multi-row INSERT per thousand guardians, not an
    object and a flush each."""
    outbox.enqueue_many(
        (
            (email, {"batch_id": batch.id, "guardian_id": guardian_id},
             dedupe_key(batch.id, guardian_id))
            for guardian_id, email in sorted(to.items())
        ),
        template=TEMPLATE,
        school_id=batch.school_id,
        now=now,
    )  # fmt: skip
