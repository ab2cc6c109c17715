"""The chain head, its latest signed checkpoint and "verify now": the ledger browser checks the
school's chain and records that it was checked, in the staff audit log (docs/ledger.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from .. import audit_log, ledger
from ..database import writing
from ..errors import NotFound
from ..extensions import db
from ..ledger import checkpoints
from ..models import GENESIS_HASH, ConsentEvent, LedgerCheckpoint, School, StaffUser


def head(school: School) -> ledger.Head:
    found = ledger.heads(school)
    if not found:
        raise NotFound("the school has no chain head")
    return found[0]


def latest_checkpoint(school: School) -> LedgerCheckpoint | None:
    """The school's latest signed checkpoint (docs/ledger.md, "Signed checkpoints"), or None."""
    return checkpoints.latest(school.id)


@dataclass(frozen=True)
class Check:
    """The outcome of one verification, as shown and as kept in the audit log."""

    ok: bool
    events: int
    checked_at: datetime
    who: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    broken_seq: int | None = None
    problem: str | None = None

    def detail(self) -> dict[str, Any]:
        if self.ok:
            return {
                "result": "ok",
                "events": self.events,
                "head_seq": self.head_seq,
                "head_hash": self.head_hash,
            }
        return {
            "result": "broken",
            "events": self.events,
            "broken_seq": self.broken_seq,
            "problem": self.problem,
        }

    @classmethod
    def from_entry(cls, entry: audit_log.Entry) -> Check:
        detail = entry.detail
        return cls(
            ok=detail.get("result") == "ok",
            events=int(detail.get("events") or 0),
            checked_at=entry.occurred_at,
            who=entry.who,
            head_seq=detail.get("head_seq"),
            head_hash=detail.get("head_hash"),
            broken_seq=detail.get("broken_seq"),
            problem=detail.get("problem"),
        )


VERIFY_ACTION = "ledger.verify"


def verify_now(staff: StaffUser) -> Check:
    """Recompute the staff user's school's chain and projection (one consistent snapshot),
    then record the outcome in the audit log (`ledger.verify`), committed."""
    school = db.session.get(School, staff.school_id)
    if school is None:
        raise NotFound("no such school")
    result = ledger.verify(school).schools[0]
    with writing():
        # The head the check reached: the last event it read (events are gapless from 1),
        # not the head now, which later appends may have moved on.
        reached = _hash_at(school.id, result.events) if result.ok else None
        check = Check(
            ok=result.ok,
            events=result.events,
            checked_at=datetime.now(UTC),
            who=staff.name or staff.email,
            head_seq=result.events if result.ok else None,
            head_hash=reached,
            broken_seq=result.seq,
            problem=result.problem,
        )
        audit_log.record(staff, VERIFY_ACTION, detail=check.detail(), now=check.checked_at)
    return check


def _hash_at(school_id: int, seq: int) -> str:
    if seq == 0:
        return GENESIS_HASH
    return db.session.scalars(
        select(ConsentEvent.hash).where(
            ConsentEvent.school_id == school_id, ConsentEvent.seq == seq
        )
    ).one()


def last_check(school_id: int) -> Check | None:
    """The most recent "verify now" at this school, from the audit log."""
    found = audit_log.entries(school_id, action=VERIFY_ACTION).entries
    return Check.from_entry(found[0]) if found else None
