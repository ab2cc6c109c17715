"""The ledger hook: a take-down task (and the admins' email) for each event that stops a
publishable purpose that was permitted for a pupil, in the transaction of the append.

"Before" and "after" are both read from the ledger as it stood around the event: each current
guardian with parental responsibility's latest decision on the purpose's axis with a lower seq
(before) or up to and including it (after), so that several events in one append are judged
one at a time, in order. After the last event of an append this is exactly what
`consent.evaluate` gives on the projection.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select
from sqlalchemy.orm import Session, aliased

from .. import consent, holidays, ledger
from ..models import (
    ConsentEvent,
    Decision,
    GuardianLink,
    Pupil,
    Purpose,
    TakedownTask,
    TaskKind,
)
from ..queries import deciding_link
from .admin_email import email_admins
from .due import takedown_due

# The decisions that can stop something the school was allowed to do.
STOPPING = frozenset({Decision.WITHDRAW.value, Decision.OBJECT.value})


def _around_query() -> Any:
    """Each guardian with parental responsibility for a pupil, with their newest decision on
    a purpose's axis before a given seq (none: NULLs), found through
    ix_consent_events_pupil_purpose_seq however long the pupil's history."""
    earlier = aliased(ConsentEvent)
    newest_before = (
        select(func.max(earlier.seq))
        .where(
            earlier.pupil_id == bindparam("pupil_id"),
            earlier.purpose_id == bindparam("purpose_id"),
            earlier.school_id == bindparam("school_id"),
            earlier.guardian_id == GuardianLink.guardian_id,
            earlier.decision.in_(bindparam("decisions", expanding=True)),
            earlier.seq < bindparam("seq"),
        )
        .correlate(GuardianLink)
        .scalar_subquery()
    )
    return (
        select(
            GuardianLink.guardian_id.label("responsible"),
            ConsentEvent.guardian_id,
            ConsentEvent.decision,
            ConsentEvent.occurred_at,
            ConsentEvent.purpose_version,
            ConsentEvent.seq,
            ConsentEvent.channel,
            ConsentEvent.actor_type,
        )
        .select_from(GuardianLink)
        .outerjoin(
            ConsentEvent,
            and_(
                ConsentEvent.school_id == GuardianLink.school_id, ConsentEvent.seq == newest_before
            ),
        )
        .where(
            GuardianLink.school_id == bindparam("school_id"),
            GuardianLink.pupil_id == bindparam("pupil_id"),
            deciding_link(),
        )
    )


# Built once with bound parameters, so SQLAlchemy compiles it once per process.
_AROUND = _around_query()
_TASKS = cast(Table, TakedownTask.__table__)
_NEW_TASK = (
    insert(_TASKS)
    .values(
        {
            name: bindparam(name)
            for name in (
                "school_id", "pupil_id", "purpose_id", "event_seq", "kind", "created_at",
                "due_on",
            )
        }
    )
    .returning(_TASKS.c.id)
)  # fmt: skip
# The purpose an event names, with its pupil's school and whether they are on roll: one query
# (no row when either does not exist).
_SUBJECT = (
    select(
        Purpose,
        Pupil.school_id.label("pupil_school_id"),
        Pupil.on_roll.label("pupil_on_roll"),
    )
    .join(Pupil, Pupil.id == bindparam("pupil_id"))
    .where(Purpose.id == bindparam("purpose_id"))
)


def _status_around(
    session: Session, event: ConsentEvent, purpose: Purpose, on_roll: bool
) -> tuple[consent.Status, consent.Status]:
    """The pupil's effective status for the purpose just before and just after `event`:
    one query, one row per guardian with parental responsibility (`_AROUND`). After the
    event, its guardian's decision is the event itself."""
    axis = consent.axis_for(purpose)
    rows = session.execute(
        _AROUND,
        {
            "school_id": event.school_id,
            "pupil_id": event.pupil_id,
            "purpose_id": purpose.id,
            "seq": event.seq,
            "decisions": [d.value for d in Decision if ledger.axis_of(d) == axis],
        },
    ).all()
    before: dict[int, consent.Fact] = {}
    for row in rows:
        if row.seq is not None:
            before[row.guardian_id] = consent.Fact(
                guardian_id=row.guardian_id,
                decision=row.decision,
                decided_at=row.occurred_at,
                purpose_version=row.purpose_version,
                seq=row.seq,
                channel=row.channel,
                actor_type=row.actor_type,
            )
    after = dict(before)
    if event.guardian_id in {row.responsible for row in rows}:
        after[event.guardian_id] = consent.Fact(
            guardian_id=event.guardian_id,
            decision=event.decision,
            decided_at=event.occurred_at,
            purpose_version=event.purpose_version,
            seq=event.seq,
            channel=event.channel,
            actor_type=event.actor_type,
        )
    now = event.occurred_at

    def status(facts: dict[int, consent.Fact]) -> consent.Status:
        found, _conflict = consent.evaluate(
            purpose, on_roll=on_roll, facts=list(facts.values()), now=now
        )
        return found

    return status(before), status(after)


def on_append(session: Session, events: list[ConsentEvent]) -> None:
    """The ledger hook: a take-down task, due by the purpose's `takedown_days` (and the email
    the school's `task_emails` asks for), for each event that stops a publishable purpose that
    was permitted for a pupil."""
    created: dict[int, list[TakedownTask]] = defaultdict(list)
    days_off: frozenset[Any] | None = None  # the bank holidays, read once when needed
    for event in events:
        if event.pupil_id is None or event.decision not in STOPPING:
            continue
        found = session.execute(
            _SUBJECT, {"purpose_id": event.purpose_id, "pupil_id": event.pupil_id}
        ).one_or_none()
        if found is None:
            continue
        purpose = found.Purpose
        if not purpose.publishable or event.school_id != purpose.school_id:
            continue
        if found.pupil_school_id != event.school_id:
            continue
        if ledger.axis_of(event.decision) != consent.axis_for(purpose):
            continue
        before, after = _status_around(session, event, purpose, found.pupil_on_roll)
        if before not in consent.PERMITTING or after in consent.PERMITTING:
            continue
        if days_off is None:
            days_off = holidays.in_force()
        row = {
            "school_id": event.school_id,
            "pupil_id": event.pupil_id,
            "purpose_id": purpose.id,
            "event_seq": event.seq,
            "kind": TaskKind.TAKEDOWN.value,
            "created_at": event.occurred_at,
            "due_on": takedown_due(purpose, event.occurred_at, days_off),
        }
        # One INSERT ... RETURNING id on the append's connection, without the unit of work;
        # the task comes back as an object with its id, not kept in the session.
        task_id = session.connection().execute(_NEW_TASK, row).scalar_one()
        created[event.school_id].append(TakedownTask(id=task_id, **row))
    for school_id, new_tasks in created.items():
        email_admins(session, school_id, new_tasks)
