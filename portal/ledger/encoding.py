"""The canonical encoding of a ledger event and its chained hash (see portal/ledger/__init__)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from ..models import ConsentEvent


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    *,
    school_id: int,
    seq: int,
    occurred_at: datetime | str,
    actor_type: str,
    actor_id: int | None,
    guardian_id: int,
    pupil_id: int | None,
    purpose_id: int,
    purpose_version: int,
    notice_version: int | None,
    decision: str,
    channel: str,
    note: str | None,
) -> str:
    """The canonical JSON encoding of one event (see the module documentation)."""
    fields: dict[str, Any] = {
        "actor_id": actor_id,
        "actor_type": str(actor_type),
        "channel": str(channel),
        "decision": str(decision),
        "guardian_id": guardian_id,
        "note": note,
        "notice_version": notice_version,
        "occurred_at": occurred_at if isinstance(occurred_at, str) else format_time(occurred_at),
        "pupil_id": pupil_id,
        "purpose_id": purpose_id,
        "purpose_version": purpose_version,
        "school_id": school_id,
        "seq": seq,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(prev_hash: str, canonical_text: str) -> str:
    return hashlib.sha256((prev_hash + canonical_text).encode("utf-8")).hexdigest()


def event_canonical(event: ConsentEvent) -> str:
    return canonical(
        school_id=event.school_id,
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        guardian_id=event.guardian_id,
        pupil_id=event.pupil_id,
        purpose_id=event.purpose_id,
        purpose_version=event.purpose_version,
        notice_version=event.notice_version,
        decision=event.decision,
        channel=event.channel,
        note=event.note,
    )
