"""Reading, verifying and rebuilding the chains."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from ..extensions import db
from ..models import (
    GENESIS_HASH,
    ConsentEvent,
    CurrentDecision,
    LedgerHead,
    School,
)
from .append import axis_of, lock_head, start_write_transaction
from .encoding import canonical, chain_hash


@dataclass(frozen=True)
class Head:
    school_id: int
    slug: str
    seq: int
    hash: str


def heads(school: School | None = None) -> list[Head]:
    query = (
        select(School.id, School.slug, LedgerHead.seq, LedgerHead.hash)
        .join(LedgerHead, LedgerHead.school_id == School.id)
        .order_by(School.slug)
    )
    if school is not None:
        query = query.where(School.id == school.id)
    return [Head(*row) for row in db.session.execute(query)]


EVENT_COLUMNS = (
    ConsentEvent.seq,
    ConsentEvent.occurred_at,
    ConsentEvent.actor_type,
    ConsentEvent.actor_id,
    ConsentEvent.guardian_id,
    ConsentEvent.pupil_id,
    ConsentEvent.purpose_id,
    ConsentEvent.purpose_version,
    ConsentEvent.notice_version,
    ConsentEvent.decision,
    ConsentEvent.channel,
    ConsentEvent.note,
    ConsentEvent.prev_hash,
    ConsentEvent.hash,
)


def stream_events(school_id: int, batch: int = 10_000) -> Iterator[Any]:
    """Every event of one school in seq order, fetched in batches (constant memory)."""
    query = (
        select(*EVENT_COLUMNS)
        .where(ConsentEvent.school_id == school_id)
        .order_by(ConsentEvent.seq)
        .execution_options(yield_per=batch)
    )
    yield from db.session.execute(query)


# --- verification ---------------------------------------------------------------------------

ProjectionKey = tuple[int, int | None, int, str]  # guardian, pupil, purpose, axis


@dataclass
class SchoolVerification:
    slug: str
    events: int = 0
    ok: bool = True
    seq: int | None = None  # the first bad seq, when there is one
    problem: str | None = None

    def fail(self, seq: int | None, problem: str) -> None:
        if self.ok:
            self.ok, self.seq, self.problem = False, seq, problem


@dataclass
class Verification:
    schools: list[SchoolVerification] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.schools)

    @property
    def events(self) -> int:
        return sum(s.events for s in self.schools)


def verify(school: School | None = None) -> Verification:
    """Recompute every chain and the projection; name the first broken seq of each school."""
    result = Verification()
    targets = [school] if school is not None else list(db.session.scalars(select(School)))
    for target in sorted(targets, key=lambda s: s.slug):
        result.schools.append(verify_school(target.id, target.slug))
    return result


def verify_school(school_id: int, slug: str) -> SchoolVerification:
    check = SchoolVerification(slug)
    replay: dict[ProjectionKey, tuple[str, int, int | None, str, int, str, datetime]] = {}
    expected_seq = 1
    prev = GENESIS_HASH
    for row in stream_events(school_id):
        check.events += 1
        if check.ok:
            if row.seq != expected_seq:
                missing = expected_seq if row.seq > expected_seq else row.seq
                check.fail(missing, f"seq {expected_seq} expected, found seq {row.seq}")
            elif row.prev_hash != prev:
                check.fail(row.seq, "prev_hash does not match the previous event's hash")
            else:
                text = canonical(
                    school_id=school_id,
                    seq=row.seq,
                    occurred_at=row.occurred_at,
                    actor_type=row.actor_type,
                    actor_id=row.actor_id,
                    guardian_id=row.guardian_id,
                    pupil_id=row.pupil_id,
                    purpose_id=row.purpose_id,
                    purpose_version=row.purpose_version,
                    notice_version=row.notice_version,
                    decision=row.decision,
                    channel=row.channel,
                    note=row.note,
                )
                if chain_hash(prev, text) != row.hash:
                    check.fail(row.seq, "the event's content does not match its hash")
        prev = row.hash
        expected_seq = row.seq + 1
        key = (row.guardian_id, row.pupil_id, row.purpose_id, axis_of(row.decision).value)
        replay[key] = (
            row.decision,
            row.purpose_version,
            row.notice_version,
            row.channel,
            row.seq,
            row.actor_type,
            row.occurred_at,
        )
    head = db.session.execute(
        select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.school_id == school_id)
    ).one_or_none()
    last_seq = expected_seq - 1
    if head is None:
        check.fail(None, "the school has no chain head")
    elif head.seq != last_seq:
        first_bad = last_seq + 1 if head.seq > last_seq else head.seq + 1
        check.fail(first_bad, f"the chain head says seq {head.seq}; the events end at {last_seq}")
    elif head.hash != prev:
        check.fail(last_seq, "the chain head's hash does not match the last event")
    _compare_projection(school_id, replay, check)
    return check


def _compare_projection(
    school_id: int,
    replay: dict[ProjectionKey, tuple[str, int, int | None, str, int, str, datetime]],
    check: SchoolVerification,
) -> None:
    rows = db.session.execute(
        select(
            CurrentDecision.guardian_id,
            CurrentDecision.pupil_id,
            CurrentDecision.purpose_id,
            CurrentDecision.axis,
            CurrentDecision.decision,
            CurrentDecision.purpose_version,
            CurrentDecision.notice_version,
            CurrentDecision.channel,
            CurrentDecision.seq,
            CurrentDecision.actor_type,
            CurrentDecision.decided_at,
        )
        .where(CurrentDecision.school_id == school_id)
        .execution_options(yield_per=10_000)
    )
    seen = 0
    for row in rows:
        key = (row.guardian_id, row.pupil_id, row.purpose_id, row.axis)
        want = replay.get(key)
        have = tuple(row)[4:]
        if want != have:
            check.fail(
                want[4] if want else row.seq,
                "the projection of current decisions differs from a replay of the ledger "
                f"(guardian {row.guardian_id}, pupil {row.pupil_id}, purpose {row.purpose_id})",
            )
            return
        seen += 1
    if seen != len(replay):
        check.fail(None, "the projection is missing decisions that the ledger holds")


def rebuild_projection(school: School | None = None) -> int:
    """Recompute the current decisions from the ledger. Returns the number of rows."""
    session = db.session()
    start_write_transaction(session)
    try:
        targets = [school.id] if school is not None else list(session.scalars(select(School.id)))
        count = 0
        for school_id in targets:
            lock_head(session, school_id)
            session.execute(
                delete(CurrentDecision).where(CurrentDecision.school_id == school_id),
                execution_options={"synchronize_session": False},
            )
            latest: dict[ProjectionKey, Any] = {}
            for row in stream_events(school_id):
                latest[(row.guardian_id, row.pupil_id, row.purpose_id, axis_of(row.decision))] = row
            session.add_all(
                CurrentDecision(
                    school_id=school_id,
                    guardian_id=guardian_id,
                    pupil_id=pupil_id,
                    purpose_id=purpose_id,
                    axis=axis.value,
                    decision=row.decision,
                    purpose_version=row.purpose_version,
                    notice_version=row.notice_version,
                    decided_at=row.occurred_at,
                    channel=row.channel,
                    actor_type=row.actor_type,
                    seq=row.seq,
                )
                for (guardian_id, pupil_id, purpose_id, axis), row in latest.items()
            )
            count += len(latest)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return count


def events_for(
    school_id: int, *, pupil_ids: Iterable[int] | None = None, guardian_id: int | None = None
) -> list[ConsentEvent]:
    """Events of one school, newest first, optionally for some pupils or one guardian."""
    query = select(ConsentEvent).where(ConsentEvent.school_id == school_id)
    if pupil_ids is not None:
        query = query.where(ConsentEvent.pupil_id.in_(list(pupil_ids)))
    if guardian_id is not None:
        query = query.where(ConsentEvent.guardian_id == guardian_id)
    return list(db.session.scalars(query.order_by(ConsentEvent.seq.desc())))
