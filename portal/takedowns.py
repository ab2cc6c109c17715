"""Take-downs: when a publishable purpose stops being permitted for a pupil, whatever the
school published must come down.

`on_append` is subscribed to the ledger by the application factory (`portal.wiring`), so it
runs inside the transaction of every append, whoever records it (a guardian online, staff
from a paper form). For each event that withdraws a consent or makes an objection, on a
`publishable` purpose, for a pupil, it compares the pupil's effective status just before the
event with the status just after it: when it was permitting (`granted`/`allowed`) and no
longer is, it adds a `TakedownTask` and one email to each active admin of the school, in the
same transaction. A first "no" (the status was `no_response`) or a "no" when another
guardian's "no" had already stopped it makes no task: nothing could have been published.

"Before" and "after" are both read from the ledger as it stood around the event: each current
guardian with parental responsibility's latest decision on the purpose's axis with a lower seq
(before) or up to and including it (after), so that several events in one append are judged
one at a time, in order. After the last event of an append this is exactly what
`consent.evaluate` gives on the projection.

No Flask request state outside the email builder, which reads BASE_URL from the app's config.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from . import audit_log, consent, ledger
from .database import begin_write
from .errors import NotFound
from .extensions import db
from .mail import outbox
from .models import (
    ConsentEvent,
    Decision,
    GuardianLink,
    Pupil,
    Purpose,
    Role,
    School,
    StaffUser,
    TakedownTask,
)
from .queries import deciding_link
from .types import utcnow

TEMPLATE = "takedown"
# The decisions that can stop something the school was allowed to do.
STOPPING = frozenset({Decision.WITHDRAW.value, Decision.OBJECT.value})
DONE_SHOWN = 20


def short_name(forename: str, surname: str) -> str:
    """A pupil as a take-down names them: "Amira H."."""
    initial = surname.strip()[:1]
    return f"{forename.strip()} {initial}." if initial else forename.strip()


def wording(purpose_title: str, forename: str, surname: str, class_name: str) -> str:
    """What must come down: "Take down: Photos on the school website — Amira H. (3 Oak)"."""
    return f"Take down: {purpose_title} — {short_name(forename, surname)} ({class_name})"


# --- the ledger hook -----------------------------------------------------------------------


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


def _status_around(
    session: Session, event: ConsentEvent, purpose: Purpose, pupil: Pupil
) -> tuple[consent.Status, consent.Status]:
    """The pupil's effective status for the purpose just before and just after `event`:
    one query, one row per guardian with parental responsibility (`_AROUND`). After the
    event, its guardian's decision is the event itself."""
    axis = consent.axis_for(purpose)
    rows = session.execute(
        _AROUND,
        {
            "school_id": event.school_id,
            "pupil_id": pupil.id,
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
            purpose, on_roll=pupil.on_roll, facts=list(facts.values()), now=now
        )
        return found

    return status(before), status(after)


def on_append(session: Session, events: list[ConsentEvent]) -> None:
    """The ledger hook: a take-down task (and the admins' email) for each event that stops a
    publishable purpose that was permitted for a pupil."""
    created: dict[int, list[TakedownTask]] = defaultdict(list)
    for event in events:
        if event.pupil_id is None or event.decision not in STOPPING:
            continue
        purpose = session.get(Purpose, event.purpose_id)
        if purpose is None or not purpose.publishable or purpose.school_id != event.school_id:
            continue
        if ledger.axis_of(event.decision) != consent.axis_for(purpose):
            continue
        pupil = session.get(Pupil, event.pupil_id)
        if pupil is None or pupil.school_id != event.school_id:
            continue
        before, after = _status_around(session, event, purpose, pupil)
        if before not in consent.PERMITTING or after in consent.PERMITTING:
            continue
        task = TakedownTask(
            school_id=event.school_id,
            pupil_id=pupil.id,
            purpose_id=purpose.id,
            event_seq=event.seq,
            created_at=event.occurred_at,
        )
        session.add(task)
        created[event.school_id].append(task)
    if not created:
        return
    session.flush()
    for school_id, new_tasks in created.items():
        _email_admins(session, school_id, new_tasks)


def _email_admins(session: Session, school_id: int, new_tasks: Sequence[TakedownTask]) -> None:
    """One email per active admin of the school, naming this append's take-downs."""
    admins = session.scalars(
        select(StaffUser)
        .where(
            StaffUser.school_id == school_id,
            StaffUser.role == Role.ADMIN.value,
            StaffUser.active.is_(True),
        )
        .order_by(StaffUser.id)
    ).all()
    ids = sorted(task.id for task in new_tasks)
    at = max(task.created_at for task in new_tasks)
    for admin in admins:
        outbox.enqueue(
            to_address=admin.email,
            template=TEMPLATE,
            payload={"school_id": school_id, "tasks": ids},
            school_id=school_id,
            dedupe_key=f"takedown:{school_id}:{ids[0]}:{admin.id}",
            now=at,
        )


# --- the list of tasks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    id: int
    pupil_id: int
    purpose_id: int
    pupil_name: str  # full name, for staff
    class_name: str
    purpose_title: str
    wording: str  # "Take down: Photos on the school website — Amira H. (3 Oak)"
    event_seq: int
    created_at: datetime
    decision: str | None  # the decision that caused it (none if the event is not found)
    channel: str | None
    done_at: datetime | None
    done_by: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None


@dataclass(frozen=True)
class TaskList:
    open: list[Task]  # oldest first
    done: list[Task]  # most recently done first, at most DONE_SHOWN
    done_total: int


def _task_query(school_id: int) -> Any:
    done_by = aliased(StaffUser)
    return (
        select(
            TakedownTask,
            Pupil.forename,
            Pupil.surname,
            Pupil.class_name,
            Purpose.title,
            ConsentEvent.decision,
            ConsentEvent.channel,
            done_by.name.label("done_by_name"),
            done_by.email.label("done_by_email"),
        )
        .join(
            Pupil,
            and_(Pupil.id == TakedownTask.pupil_id, Pupil.school_id == TakedownTask.school_id),
        )
        .join(
            Purpose,
            and_(
                Purpose.id == TakedownTask.purpose_id, Purpose.school_id == TakedownTask.school_id
            ),
        )
        .outerjoin(
            ConsentEvent,
            and_(
                ConsentEvent.school_id == TakedownTask.school_id,
                ConsentEvent.seq == TakedownTask.event_seq,
            ),
        )
        .outerjoin(done_by, done_by.id == TakedownTask.done_by_id)
        .where(TakedownTask.school_id == school_id)
    )


def _task(row: Any) -> Task:
    task: TakedownTask = row[0]
    return Task(
        id=task.id,
        pupil_id=task.pupil_id,
        purpose_id=task.purpose_id,
        pupil_name=f"{row.forename} {row.surname}".strip(),
        class_name=row.class_name,
        purpose_title=row.title,
        wording=wording(row.title, row.forename, row.surname, row.class_name),
        event_seq=task.event_seq,
        created_at=task.created_at,
        decision=row.decision,
        channel=row.channel,
        done_at=task.done_at,
        done_by=(row.done_by_name or row.done_by_email) if task.done_by_id else None,
    )


def open_tasks(school_id: int) -> list[Task]:
    """The school's take-downs still to do, oldest first (for the dashboard)."""
    rows = db.session.execute(
        _task_query(school_id)
        .where(TakedownTask.done_at.is_(None))
        .order_by(TakedownTask.created_at, TakedownTask.id)
    ).all()
    return [_task(row) for row in rows]


def tasks(school_id: int, *, done_shown: int = DONE_SHOWN) -> TaskList:
    """Open take-downs (oldest first), then the most recently done ones with who and when."""
    done_rows = db.session.execute(
        _task_query(school_id)
        .where(TakedownTask.done_at.is_not(None))
        .order_by(TakedownTask.done_at.desc(), TakedownTask.id.desc())
        .limit(done_shown)
    ).all()
    done_total = (
        db.session.scalar(
            select(func.count())
            .select_from(TakedownTask)
            .where(TakedownTask.school_id == school_id, TakedownTask.done_at.is_not(None))
        )
        or 0
    )
    return TaskList(open_tasks(school_id), [_task(row) for row in done_rows], done_total)


def get_task(school_id: int, task_id: int) -> Task:
    row = db.session.execute(_task_query(school_id).where(TakedownTask.id == task_id)).first()
    if row is None:
        raise NotFound("no such take-down")
    return _task(row)


@dataclass(frozen=True)
class Done:
    task: Task
    changed: bool  # false: it was already done (by whoever `task.done_by` names)


def mark_done(staff_user_id: int, task_id: int, *, now: datetime | None = None) -> Done:
    """Mark a take-down of the staff user's school as done, by them, now, with an entry in the
    audit log, in one transaction. Already done: nothing changes (the first who and when
    stand). NotFound for another school's task."""
    now = now or utcnow()
    session = db.session()
    begin_write(session)
    try:
        staff = session.get(StaffUser, staff_user_id)
        if staff is None or not staff.active:
            raise NotFound("no such staff user")
        task = session.scalars(
            select(TakedownTask).where(
                TakedownTask.id == task_id, TakedownTask.school_id == staff.school_id
            )
        ).first()
        if task is None:
            raise NotFound("no such take-down")
        changed = False
        if task.done_at is None:
            # Only while still open: of two people pressing at once, one marks it done.
            result = session.execute(
                update(TakedownTask)
                .where(TakedownTask.id == task.id, TakedownTask.done_at.is_(None))
                .values(done_at=now, done_by_id=staff.id)
                .execution_options(synchronize_session=False)
            )
            changed = bool(getattr(result, "rowcount", 0))
            if changed:
                audit_log.record(
                    staff,
                    "takedown.done",
                    detail={
                        "task_id": task.id,
                        "pupil_id": task.pupil_id,
                        "purpose_id": task.purpose_id,
                        "event_seq": task.event_seq,
                    },
                    now=now,
                )
        school_id = staff.school_id
        session.commit()
    except Exception:
        session.rollback()
        raise
    session.expire(task)  # read back who and when, whoever was first
    return Done(get_task(school_id, task_id), changed)


# --- the admins' email ---------------------------------------------------------------------


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    wanted = {int(task_id) for task_id in payload["tasks"]}
    found = [task for task in open_tasks(school.id) if task.id in wanted]
    if not found:
        return None, "not sent: the take-downs were marked done before it could be sent"
    headline = found[0].wording if len(found) == 1 else f"Take down: {len(found)} things"
    return {
        "school_name": school.name,
        "headline": headline,
        "tasks": found,
        "takedowns_url": f"{current_app.config['BASE_URL']}/staff/take-downs",
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""


SUBJECT = "{headline} ({school_name})"
