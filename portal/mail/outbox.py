"""The outbox table: enqueue in the caller's transaction; claim, mark sent, mark failed.

Rows that share a `coalesce_key` are claimed together (one lease, one token) as soon as
one of them is due, so that the worker can send them as one email; they are marked sent, or
failed, together.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update

from ..database import writing
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
    coalesce_key: str | None = None,
    send_after: datetime | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (the caller commits).

    It is due at `send_after` (default: now). Messages with the same `coalesce_key` are
    sent as one email when the first of them is due. One INSERT ... RETURNING id, sent at
    once on the session's connection by Core (no unit of work to flush, nor the ORM's bulk
    insert to go through); the message comes back as an object with its id, not kept in the
    session.
    """
    now = now or utcnow()
    row = {
        "school_id": school_id,
        "to_address": to_address,
        "template": template,
        "payload": json.dumps(payload, sort_keys=True),
        "dedupe_key": dedupe_key,
        "coalesce_key": coalesce_key,
        "created_at": now,
        "send_after": send_after or now,
        "attempts": 0,
    }
    message_id = db.session.connection().execute(_ENQUEUE, row).scalar_one()
    return OutboxMessage(id=message_id, **row)


ENQUEUED = (
    "school_id", "to_address", "template", "payload", "dedupe_key", "coalesce_key",
    "created_at", "send_after", "attempts",
)  # fmt: skip
_OUTBOX = cast(Table, OutboxMessage.__table__)
_ENQUEUE = (
    insert(_OUTBOX).values({name: bindparam(name) for name in ENQUEUED}).returning(_OUTBOX.c.id)
)


def enqueue_many(
    messages: Iterable[tuple[str, dict[str, Any], str | None]],
    *,
    template: str,
    school_id: int | None,
    now: datetime | None = None,
) -> int:
    """Add many messages, each (to_address, payload, dedupe_key), due now, in the caller's
    transaction (the caller commits): multi-row INSERTs, no objects. Returns the count."""
    now = now or utcnow()
    rows = [
        {
            "school_id": school_id,
            "to_address": to_address,
            "template": template,
            "payload": json.dumps(payload, sort_keys=True),
            "dedupe_key": dedupe_key,
            "coalesce_key": None,
            "created_at": now,
            "send_after": now,
            "attempts": 0,
        }
        for to_address, payload, dedupe_key in messages
    ]
    if rows:
        db.session.execute(insert(OutboxMessage), rows)
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    id: int
    claim_token: str
    to_address: str
    template: str
    payload: dict[str, Any]
    school_id: int | None
    attempts: int
    coalesce_key: str | None = None


def claim(
    *, limit: int = 50, ids: Sequence[int] | None = None, now: datetime | None = None
) -> list[Claimed]:
    """Take a lease on due, unsent messages (or on the given ones) and commit it.

    With each claimed message that has a coalesce_key come the other unsent, unleased
    messages with that key, due or not (beyond `limit`), under the same lease.
    """
    now = now or utcnow()
    with writing() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
        query = (
            select(OutboxMessage.id, OutboxMessage.coalesce_key)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.send_after <= now, free)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))
        if postgres:
            query = query.with_for_update(skip_locked=True)
        due = session.execute(query).all()
        chosen = [row.id for row in due]
        keys = sorted({row.coalesce_key for row in due if row.coalesce_key is not None})
        if keys:
            together = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.coalesce_key.in_(keys),
                    OutboxMessage.sent_at.is_(None),
                    free,
                    OutboxMessage.id.not_in(chosen),
                )
                .order_by(OutboxMessage.id)
            )
            if postgres:
                together = together.with_for_update(skip_locked=True)
            chosen.extend(session.scalars(together))
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
                        row.coalesce_key,
                    )
                )
    return claimed


def _group(messages: Claimed | Sequence[Claimed]) -> list[Claimed]:
    return [messages] if isinstance(messages, Claimed) else sorted(messages, key=lambda m: m.id)


def mark_sent(
    messages: Claimed | Sequence[Claimed], *, note: str | None = None, now: datetime | None = None
) -> None:
    """Mark a message, or a group sent as one email, sent. The group's first message gets
    `note`; the others say which message they went with."""
    mark_sent_groups([(_group(messages), note)], now=now)


def mark_sent_groups(
    groups: Sequence[tuple[Sequence[Claimed], str | None]], *, now: datetime | None = None
) -> None:
    """`mark_sent` for several emails (each a group and its note) in one transaction."""
    now = now or utcnow()
    messages: list[Claimed] = []
    values: list[dict[str, Any]] = []
    for group, note in groups:
        ordered = _group(group)
        for n, message in enumerate(ordered):
            said = note
            if n:
                together = f"together with outbox {ordered[0].id}"
                said = f"{note} ({together})" if note else f"sent {together}"
            messages.append(message)
            values.append({"sent_at": now, "last_error": said, "claimed_until": None})
    if messages:
        _finish(messages, values)


def mark_failed(
    messages: Claimed | Sequence[Claimed], error: str, *, now: datetime | None = None
) -> None:
    """Record a failed attempt; a group is retried together, after the backoff of its most
    tried message."""
    mark_failed_groups([_group(messages)], error, now=now)


def mark_failed_groups(
    groups: Sequence[Sequence[Claimed]], error: str, *, now: datetime | None = None
) -> None:
    """`mark_failed` for several groups (emails) at once, in one transaction: each group
    after its own backoff."""
    now = now or utcnow()
    messages: list[Claimed] = []
    values: list[dict[str, Any]] = []
    for group in groups:
        tried = max(message.attempts for message in group)
        # 1, 2, 4, ... minutes up to MAX_BACKOFF; the exponent is capped so that a message
        # that has failed for days does not overflow timedelta.
        delay = min(MAX_BACKOFF, timedelta(minutes=2 ** min(tried, 20)))
        for message in _group(group):
            messages.append(message)
            values.append(
                {
                    "attempts": message.attempts + 1,
                    "last_error": error[:1000],
                    "send_after": now + delay,
                    "claimed_until": None,
                    "claim_token": None,
                }
            )
    if messages:
        _finish(messages, values)


def _finish(messages: list[Claimed], values: list[dict[str, Any]]) -> None:
    """Apply each message's values, only while the message is still under this claim: one
    statement for them all (executemany), in a write transaction of its own (rendering the
    email has read in the session, and on SQLite a read transaction that turns into a write
    fails at once if another worker is writing). Every message's values have the same keys."""
    table = cast(Table, OutboxMessage.__table__)
    statement = update(table).where(
        table.c.id == bindparam("message_id"),
        table.c.claim_token == bindparam("message_token"),
    )
    rows = [
        {"message_id": message.id, "message_token": message.claim_token, **changes}
        for message, changes in zip(messages, values, strict=True)
    ]
    with writing() as session:
        session.execute(statement, rows)
