"""A batch's progress, counted from its outbox rows: sent, skipped, failed, waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, select

from ..errors import NotFound
from ..extensions import db
from ..models import InvitationBatch, OutboxMessage, StaffUser
from .audience import AUDIENCE_WORDS, Audience
from .invitation_email import TEMPLATE

RECENT_BATCHES = 20


@dataclass(frozen=True)
class Progress:
    batch: InvitationBatch
    sent_by: str
    queued: int  # outbox rows of the batch
    sent: int
    skipped: int  # not sent on purpose: the person is no longer a contact of the school
    failed: int  # tried and failed; the worker will try again
    waiting: int  # not tried yet

    @property
    def total(self) -> int:
        return self.batch.total

    @property
    def done(self) -> bool:
        return self.failed == 0 and self.waiting == 0

    @property
    def sending(self) -> bool:
        """Some have not been tried yet (as opposed to waiting for a retry)."""
        return self.waiting > 0

    @property
    def percent(self) -> int:
        finished = self.sent + self.skipped
        return 100 if not self.queued else int(100 * finished / self.queued)

    @property
    def audience_text(self) -> str:
        if self.batch.audience == Audience.CLASS:
            return f"Parents and carers of {self.batch.class_name}"
        return AUDIENCE_WORDS[Audience(self.batch.audience)]


def _progress_query(school_id: int) -> Any:
    # The batch's rows are the school's outbox rows whose dedupe key starts "invite:ID:".
    prefix = literal("invite:") + cast(InvitationBatch.id, String) + literal(":%")
    finished = OutboxMessage.sent_at.is_not(None)
    return (
        select(
            InvitationBatch,
            func.coalesce(StaffUser.name, ""),
            StaffUser.email,
            func.count(OutboxMessage.id),
            func.sum(case((and_(finished, OutboxMessage.last_error.is_(None)), 1), else_=0)),
            func.sum(case((and_(finished, OutboxMessage.last_error.is_not(None)), 1), else_=0)),
            func.sum(case((and_(~finished, OutboxMessage.attempts > 0), 1), else_=0)),
        )
        .join(StaffUser, StaffUser.id == InvitationBatch.created_by_id)
        .outerjoin(
            OutboxMessage,
            and_(
                OutboxMessage.school_id == InvitationBatch.school_id,
                OutboxMessage.template == TEMPLATE,
                OutboxMessage.dedupe_key.like(prefix),
            ),
        )
        .where(InvitationBatch.school_id == school_id)
        .group_by(InvitationBatch.id, StaffUser.name, StaffUser.email)
    )


def _progress(row: Any) -> Progress:
    batch, name, email, queued, sent, skipped, failed = row
    sent, skipped, failed = int(sent or 0), int(skipped or 0), int(failed or 0)
    return Progress(
        batch=batch,
        sent_by=name or email,
        queued=queued,
        sent=sent,
        skipped=skipped,
        failed=failed,
        waiting=queued - sent - skipped - failed,
    )


def progress(school_id: int, batch_id: int) -> Progress:
    """One batch of this school, counted from its outbox rows; NotFound for any other."""
    row = db.session.execute(
        _progress_query(school_id).where(InvitationBatch.id == batch_id)
    ).first()
    if row is None:
        raise NotFound("no such invitation batch")
    return _progress(row)


def recent(school_id: int, *, limit: int = RECENT_BATCHES) -> list[Progress]:
    """The school's latest batches, newest first, each with its progress."""
    latest = (
        select(InvitationBatch.id)
        .where(InvitationBatch.school_id == school_id)
        .order_by(InvitationBatch.created_at.desc(), InvitationBatch.id.desc())
        .limit(limit)
    )
    rows = db.session.execute(
        _progress_query(school_id)
        .where(InvitationBatch.id.in_(latest.scalar_subquery()))
        .order_by(InvitationBatch.created_at.desc(), InvitationBatch.id.desc())
    ).all()
    return [_progress(row) for row in rows]
