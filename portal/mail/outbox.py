"""The outbox table: enqueue in the caller's transaction; claim, mark sent, mark failed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from ..database import begin_write
from ..extensions import db
from ..models import OutboxMessage
from ..types import utcnow

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


def enqueue(
    *,
    to_address: str,
    template: str,
    payload: dict[str, Any],
    school_id: int | None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (the caller commits)."""
    now = now or utcnow()
    message = OutboxMessage(
        school_id=school_id,
        to_address=to_address,
        template=template,
        payload=json.dumps(payload, sort_keys=True),
        dedupe_key=dedupe_key,
        created_at=now,
        send_after=now,
        attempts=0,
    )
    db.session.add(message)
    db.session.flush()
    return message


@dataclass(frozen=True)
class Claimed:
    id: int
    claim_token: str
    to_address: str
    template: str
    payload: dict[str, Any]
    school_id: int | None
    attempts: int


def claim(
    *, limit: int = 50, ids: Sequence[int] | None = None, now: datetime | None = None
) -> list[Claimed]:
    """Take a lease on due, unsent messages (or on the given ones) and commit it."""
    now = now or utcnow()
    session = db.session()
    begin_write(session)
    dialect = session.get_bind().dialect.name
    try:
        query = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.send_after <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))
        if dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        chosen = list(session.scalars(query))
        token = secrets.token_hex(16)
        claimed: list[Claimed] = []
        if chosen:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chosen))
                .values(claimed_until=now + LEASE, claim_token=token)
            )
            for row in session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_(chosen)).order_by(OutboxMessage.id)
            ):
                claimed.append(
                    Claimed(
                        row.id,
                        token,
                        row.to_address,
                        row.template,
                        json.loads(row.payload),
                        row.school_id,
                        row.attempts,
                    )
                )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return claimed


def mark_sent(message: Claimed, *, note: str | None = None, now: datetime | None = None) -> None:
    _finish(message, {"sent_at": now or utcnow(), "last_error": note, "claimed_until": None})


def mark_failed(message: Claimed, error: str, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    delay = min(MAX_BACKOFF, timedelta(minutes=2**message.attempts))
    _finish(
        message,
        {
            "attempts": message.attempts + 1,
            "last_error": error[:1000],
            "send_after": now + delay,
            "claimed_until": None,
            "claim_token": None,
        },
    )


def _finish(message: Claimed, values: dict[str, Any]) -> None:
    try:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
            .values(**values)
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
