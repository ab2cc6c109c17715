"""Recording decisions: append to the school's chain and update the projection, atomically."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import Integer, bindparam, func, insert, literal, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..database import PENDING_CHANGES, has_pending_changes, writing
from ..errors import PortalError
from ..extensions import db
from ..models import (
    WRITTEN_CHANNELS,
    ActorType,
    Channel,
    Choice,
    ConsentEvent,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    GuardianRule,
    LedgerHead,
    LedgerTreeNode,
    NoticeVersion,
    Pupil,
    Purpose,
    Scope,
    StaffUser,
)
from ..queries import deciding_link
from ..types import utcnow
from . import tree
from .encoding import canonical, chain_hash, new_salt, note_commitment

ANSWERS = frozenset({Decision.GRANT, Decision.WITHDRAW})
OBJECTIONS = frozenset({Decision.OBJECT, Decision.LIFT_OBJECTION})
# The school's outcome of its review of an objection (never of one to direct marketing).
OUTCOMES = frozenset({Decision.UPHELD, Decision.NOT_UPHELD})
# The format every event is written in now (docs/ledger.md, "Format 2").
FORMAT = 2
DEFAULT_LANGUAGE = "en"
# A BCP 47 language tag as the portal uses them: a language and optional subtags ("en",
# "pl", "pa-Guru", "zh-Hant-HK"), at most 35 characters.
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}")


class LedgerError(PortalError):
    """A decision the ledger refuses; nothing was written."""


def axis_of(decision: str) -> DecisionAxis:
    return DecisionAxis.ANSWER if decision in ANSWERS else DecisionAxis.OBJECTION


def allowed_decisions(purpose: Purpose) -> frozenset[str]:
    """Which decisions fit a purpose's kind of choice."""
    if purpose.choice == Choice.NONE:
        return frozenset()
    if purpose.choice == Choice.OBJECTION:
        # An objection to a public task or a legitimate interest is reviewed by the school,
        # whose outcome is recorded on the same axis.
        return OBJECTIONS if purpose.marketing else OBJECTIONS | OUTCOMES
    if purpose.marketing:
        # Consent to marketing, and the absolute right to object to direct marketing.
        return ANSWERS | OBJECTIONS
    return ANSWERS


@dataclass(frozen=True)
class Actor:
    """Who recorded a decision: the guardian themself, a staff user, or the system."""

    type: ActorType
    id: int | None = None

    @classmethod
    def guardian(cls, guardian: Guardian | int) -> Actor:
        return cls(ActorType.GUARDIAN, guardian if isinstance(guardian, int) else guardian.id)

    @classmethod
    def staff(cls, user: StaffUser | int) -> Actor:
        return cls(ActorType.STAFF, user if isinstance(user, int) else user.id)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorType.SYSTEM, None)


@dataclass(frozen=True)
class DecisionRequest:
    """One decision to record. Ids, so that a request never carries stale objects."""

    guardian_id: int
    purpose_id: int
    decision: str
    pupil_id: int | None = None
    note: str | None = None
    purpose_version: int | None = None  # the wording the person saw; default: current
    notice_version: int | None = None  # the notice the person saw; default: current
    answers_seq: int | None = None  # an outcome: the seq of the objection it answers
    # The language (BCP 47) of what the person read; default: English for a decision made
    # on the web (the portal's pages), none for one staff took down.
    language: str | None = None


class StandingDecision(Protocol):
    """A guardian's standing decision on a subject, purpose and axis, as the ledger reads it
    under the chain lock: a row of the projection's columns (`_STANDING_COLUMNS`)."""

    guardian_id: int
    pupil_id: int | None
    purpose_id: int
    axis: str
    decision: str
    decided_at: datetime
    purpose_version: int
    seq: int
    channel: str
    actor_type: str


BeforeCommit = Callable[[Session, list[ConsentEvent]], None]
# Decides, under the chain lock, that a request would change nothing and is not recorded:
# given the request, the guardian's standing decision on that subject, purpose and axis (or
# None), and the time the events are being recorded at.
SkipRule = Callable[[DecisionRequest, StandingDecision | None, datetime], bool]

# Hooks that run inside every append's transaction, after the caller's own `before_commit`:
# what must follow any decision, whoever records it (take-down tasks). The application
# factory subscribes them (`portal.wiring`); they are kept on the app, so what follows a
# decision never depends on which modules happen to have been imported.
_SUBSCRIBERS = "portal.ledger.subscribers"


def subscribe(app: Flask, hook: BeforeCommit) -> None:
    """Run `hook(session, events)` in the transaction of every append in `app` (once per hook,
    in the order subscribed). It sees the events written and the projection already updated;
    if it raises, nothing is written."""
    hooks: list[BeforeCommit] = app.extensions.setdefault(_SUBSCRIBERS, [])
    if hook not in hooks:
        hooks.append(hook)


def subscribers() -> list[BeforeCommit]:
    """The hooks subscribed in the current app."""
    hooks: list[BeforeCommit] = current_app.extensions.get(_SUBSCRIBERS, [])
    return hooks


MAX_NOTE = 2000


def record(
    *,
    actor: Actor,
    guardian: Guardian | int,
    purpose: Purpose | int,
    decision: str,
    channel: str,
    pupil: Pupil | int | None = None,
    note: str | None = None,
    purpose_version: int | None = None,
    notice_version: int | None = None,
    answers_seq: int | None = None,
    language: str | None = None,
    before_commit: BeforeCommit | None = None,
    now: datetime | None = None,
) -> ConsentEvent:
    """Record one decision; see `record_many`."""

    def ident(value: Any) -> Any:
        return value if value is None or isinstance(value, int) else value.id

    request = DecisionRequest(
        guardian_id=ident(guardian),
        purpose_id=ident(purpose),
        decision=decision,
        pupil_id=ident(pupil),
        note=note,
        purpose_version=purpose_version,
        notice_version=notice_version,
        answers_seq=answers_seq,
        language=language,
    )
    return record_many(
        [request], actor=actor, channel=channel, before_commit=before_commit, now=now
    )[0]


def record_many(
    requests: Sequence[DecisionRequest],
    *,
    actor: Actor,
    channel: str,
    before_commit: BeforeCommit | None = None,
    now: datetime | None = None,
    skip_if: SkipRule | None = None,
) -> list[ConsentEvent]:
    """Append one event per request and update the projection, in one transaction.

    Everything is checked first; if any request is refused, nothing is written and a
    LedgerError says why. `before_commit(session, events)` runs inside the transaction,
    after the events are written, so the caller can add rows (e.g. outbox emails) that
    commit with them. Appends to one school's chain are serialised: on PostgreSQL by
    locking that school's chain-head row, on SQLite by taking the write lock up front.

    The events' time is taken once the chains are locked (unless `now` is given, for
    imports and tests), so that a later seq never has an earlier time. `skip_if`, when
    given, is asked under the same lock whether each request would change nothing (the
    same answer submitted twice at once, say); those are not recorded, and only the events
    written are returned. With every request skipped, nothing is written at all.
    """
    if not requests:
        return []
    if now is not None and now.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    if channel not in {c.value for c in Channel}:
        raise LedgerError(f"unknown channel {channel!r}")
    if has_pending_changes(db.session()):
        raise LedgerError(PENDING_CHANGES)
    with writing() as session:
        # One statement reads what the checks need about every request and locks the chain
        # heads of their schools, in school order, so that two writers never deadlock.
        facts = _read_and_lock(session, requests, actor)
        prepared = [
            _check(request, actor, channel, row)
            for request, row in zip(requests, facts, strict=True)
        ]
        heads = _heads(facts)
        occurred_at = (now or utcnow()).astimezone(UTC)
        _check_answered_objections(session, [item.request for item in prepared])
        if skip_if is not None:
            standing = _standing(session, [item.request for item in prepared])
            prepared = [
                item
                for item in prepared
                if not skip_if(item.request, standing.get(_subject(item.request)), occurred_at)
            ]
            if not prepared:
                return []
        events: list[ConsentEvent] = []
        rows: list[dict[str, Any]] = []
        for item in prepared:
            head = heads[item.school_id]
            seq = head.seq + 1
            fields: dict[str, Any] = {
                "school_id": item.school_id,
                "seq": seq,
                "occurred_at": occurred_at,
                "actor_type": actor.type.value,
                "actor_id": actor.id,
                "guardian_id": item.request.guardian_id,
                "pupil_id": item.request.pupil_id,
                "purpose_id": item.request.purpose_id,
                "purpose_version": item.purpose_version,
                "notice_version": item.notice_version,
                "decision": str(item.request.decision),
                "channel": channel,
                "note": item.note,
                "format": FORMAT,
                "note_commitment": None,
                "answers_seq": item.request.answers_seq,
                "language": item.language,
            }
            salt = None
            if item.note is not None:
                salt = new_salt()
                fields["note_commitment"] = note_commitment(salt, item.note)
            text = canonical(**fields)
            row = {
                **fields,
                "note_salt": salt,
                "prev_hash": head.hash,
                "hash": chain_hash(head.hash, text),
            }
            rows.append(row)
            # The event object is handed back to the caller as a record of what was written.
            events.append(ConsentEvent(**row))
            head.seq, head.hash = seq, row["hash"]
            head.tree.append(tree.leaf_of(text))
        ids = _write(session, rows, heads)
        for event in events:
            event.id = ids[(event.school_id, event.seq)]
        if before_commit is not None:
            before_commit(session, events)
        for hook in subscribers():
            hook(session, events)
    return events


@dataclass(frozen=True)
class _Prepared:
    request: DecisionRequest
    school_id: int
    purpose_version: int
    notice_version: int | None
    note: str | None
    language: str | None = None


@dataclass
class _Head:
    seq: int
    hash: str
    tree: tree.Growing  # the Merkle tree's right edge, and the nodes this append completes


EVENT_FIELDS = (
    "school_id", "seq", "occurred_at", "actor_type", "actor_id", "guardian_id", "pupil_id",
    "purpose_id", "purpose_version", "notice_version", "decision", "channel", "note",
    "prev_hash", "hash", "format", "note_salt", "note_commitment", "answers_seq", "language",
)  # fmt: skip


def _move_head(prefix: str = "") -> Any:
    """UPDATE of a school's chain head, with bound parameters `{prefix}head_school`,
    `{prefix}head_seq`, `{prefix}head_hash` and `{prefix}head_tree`."""
    return (
        update(LedgerHead)
        .where(LedgerHead.school_id == bindparam(f"{prefix}head_school"))
        .values(
            seq=bindparam(f"{prefix}head_seq"),
            hash=bindparam(f"{prefix}head_hash"),
            tree=bindparam(f"{prefix}head_tree"),
        )
    )


_MOVE_HEAD = _move_head()


Subject = tuple[int, int | None, int, str]  # guardian, pupil (or None), purpose, axis


def _subject(request: DecisionRequest) -> Subject:
    return (
        request.guardian_id,
        request.pupil_id,
        request.purpose_id,
        axis_of(request.decision).value,
    )


_STANDING_COLUMNS = (
    "guardian_id", "pupil_id", "purpose_id", "axis", "decision", "decided_at",
    "purpose_version", "seq", "channel", "actor_type",
)  # fmt: skip


def _standing(
    session: Session, requests: Sequence[DecisionRequest]
) -> dict[Subject, StandingDecision]:
    """The projection's current decision for each request's subject (read under the lock),
    as rows with the projection's columns."""
    guardians = {r.guardian_id for r in requests}
    purposes = {r.purpose_id for r in requests}
    columns = CurrentDecision.__table__.c
    rows = session.execute(
        select(*(columns[name] for name in _STANDING_COLUMNS)).where(
            columns.guardian_id.in_(guardians), columns.purpose_id.in_(purposes)
        )
    )
    wanted = {_subject(r) for r in requests}
    found: dict[Subject, StandingDecision] = {}
    for row in rows:
        key = (row.guardian_id, row.pupil_id, row.purpose_id, row.axis)
        if key in wanted:
            found[key] = row
    return found


def _head(school_id: int, seq: int, digest: str, stored: bytes | None) -> _Head:
    try:
        edge = tree.Growing.from_stored(seq, bytes(stored or b""))
    except ValueError as exc:
        # A tree that does not fit the chain was damaged or never built: refuse to grow it
        # (`flask ledger verify` names it, `flask ledger rebuild` writes it again).
        raise LedgerError(
            f"school {school_id}'s Merkle tree does not fit its chain: {exc}"
        ) from exc
    return _Head(seq, digest, edge)


def _heads(facts: Sequence[Any]) -> dict[int, _Head]:
    """Each school's chain head, from the rows `_read_and_lock` read (and locked)."""
    heads: dict[int, _Head] = {}
    for row in facts:
        if row.school_id not in heads:
            heads[row.school_id] = _head(row.school_id, row.head_seq, row.head_hash, row.head_tree)
    return heads


@functools.cache
def _facts_and_heads(count: int, lock: bool) -> Any:
    """Everything the checks need about `count` requests, and their schools' chain heads, as
    one query: a row per request (`idx`, its place in the batch), in school order, locking
    the heads on PostgreSQL (`FOR UPDATE OF ledger_heads`, taken row by row in that order).

    Built once per batch size with bound parameters (`guardian_id_0`, `pupil_id_0`, ...,
    `staff_id`), so SQLAlchemy compiles it once per process and size. The requests come in
    as a UNION ALL of one-row SELECTs rather than VALUES, which SQLite cannot name columns of.
    """

    def asked_row(index: int) -> Any:
        return select(
            literal(index, Integer).label("idx"),
            bindparam(f"guardian_id_{index}", type_=Integer).label("guardian_id"),
            bindparam(f"pupil_id_{index}", type_=Integer).label("pupil_id"),
            bindparam(f"purpose_id_{index}", type_=Integer).label("purpose_id"),
            bindparam(f"notice_{index}", type_=Integer).label("notice"),
        )

    rows: list[Any] = [asked_row(index) for index in range(count)]
    together: Any = rows[0] if count == 1 else union_all(*rows)
    asked = together.subquery("asked")
    links = GuardianLink.__table__.c
    notices = NoticeVersion.__table__.c
    pr_links = (
        select(func.count())
        .where(
            links.school_id == Purpose.school_id,
            links.guardian_id == asked.c.guardian_id,
            links.pupil_id == asked.c.pupil_id,
            deciding_link(links),
        )
        .scalar_subquery()
    )
    any_links = (
        select(func.count())
        .where(
            links.school_id == Purpose.school_id,
            links.guardian_id == asked.c.guardian_id,
            links.ended_at.is_(None),
        )
        .scalar_subquery()
    )
    latest_notice = (
        select(func.max(notices.version)).where(notices.school_id == Purpose.school_id)
    ).scalar_subquery()
    notice_exists = (
        select(func.count())
        .where(notices.school_id == Purpose.school_id, notices.version == asked.c.notice)
        .scalar_subquery()
    )
    query = (
        select(
            asked.c.idx,
            Purpose.school_id,
            Purpose.title,
            Purpose.choice,
            Purpose.scope,
            Purpose.marketing,
            Purpose.active,
            Purpose.version,
            Purpose.guardian_rule,
            Guardian.id.label("guardian_id"),
            Pupil.school_id.label("pupil_school_id"),
            pr_links.label("pr_links"),
            any_links.label("any_links"),
            latest_notice.label("latest_notice"),
            notice_exists.label("notice_exists"),
            StaffUser.school_id.label("staff_school_id"),
            StaffUser.active.label("staff_active"),
            LedgerHead.seq.label("head_seq"),
            LedgerHead.hash.label("head_hash"),
            LedgerHead.tree.label("head_tree"),
        )
        .select_from(asked)
        .join(Purpose, Purpose.id == asked.c.purpose_id)
        .join(LedgerHead, LedgerHead.school_id == Purpose.school_id)
        .outerjoin(Guardian, Guardian.id == asked.c.guardian_id)
        .outerjoin(Pupil, Pupil.id == asked.c.pupil_id)
        .outerjoin(StaffUser, StaffUser.id == bindparam("staff_id", type_=Integer))
        .order_by(LedgerHead.school_id, asked.c.idx)
    )
    return query.with_for_update(of=LedgerHead) if lock else query


def _read_and_lock(
    session: Session, requests: Sequence[DecisionRequest], actor: Actor
) -> list[Any]:
    """The facts about each request, in the requests' order, read as the chain heads of their
    schools are locked (`_facts_and_heads`). The facts are committed rows as the statement
    began; a head locked after another writer's commit is read as that writer left it.

    A NULL parameter matches nothing (= NULL is never true): no pupil, no staff user."""
    params: dict[str, Any] = {"staff_id": actor.id if actor.type == ActorType.STAFF else None}
    for index, request in enumerate(requests):
        params[f"guardian_id_{index}"] = request.guardian_id
        params[f"pupil_id_{index}"] = request.pupil_id
        params[f"purpose_id_{index}"] = request.purpose_id
        params[f"notice_{index}"] = request.notice_version
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = _facts_and_heads(len(requests), postgres)
    found = {row.idx: row for row in session.execute(statement, params)}
    facts = []
    for index, request in enumerate(requests):
        row = found.get(index)
        if row is None:
            school_id = session.scalar(
                select(Purpose.school_id).where(Purpose.id == request.purpose_id)
            )
            if school_id is None:
                raise LedgerError("no such purpose")
            raise LedgerError(f"school {school_id} has no ledger head")
        facts.append(row)
    return facts


def _check(request: DecisionRequest, actor: Actor, channel: str, purpose: Any) -> _Prepared:
    """Whether a request may be recorded, from its facts (`_read_and_lock`): no query."""
    if purpose.guardian_id is None:
        raise LedgerError("no such guardian")
    school_id = purpose.school_id
    if request.decision not in {d.value for d in Decision}:
        raise LedgerError(f"unknown decision {request.decision!r}")
    allowed = allowed_decisions(purpose)
    if not allowed:
        raise LedgerError(f"{purpose.title!r} is for information only: it offers no choice")
    if request.decision not in allowed:
        raise LedgerError(
            f"{request.decision!r} does not fit {purpose.title!r} "
            f"(a {purpose.choice} purpose: {', '.join(sorted(allowed))})"
        )

    if not purpose.active and request.decision in {Decision.GRANT, Decision.OBJECT}:
        # Withdrawing stays possible (as easy as giving); nothing new is agreed to.
        raise LedgerError(f"{purpose.title!r} is no longer in use at this school")

    if purpose.scope == Scope.PUPIL:
        if request.pupil_id is None:
            raise LedgerError(f"{purpose.title!r} is decided per child: name the pupil")
        if purpose.pupil_school_id != school_id:
            raise LedgerError("that pupil is not at this purpose's school")
        if not purpose.pr_links:
            raise LedgerError(
                "only a guardian with parental responsibility for this pupil can decide"
            )
    else:
        if request.pupil_id is not None:
            raise LedgerError(f"{purpose.title!r} is a choice for the person, not per child")
        if not purpose.any_links:
            raise LedgerError("this person is not a contact of a pupil at this school")

    if request.decision in OUTCOMES:
        if actor.type != ActorType.STAFF:
            raise LedgerError("only the school's staff record the outcome of an objection")
        if request.answers_seq is None:
            raise LedgerError("an outcome names the objection it answers")
    elif request.answers_seq is not None:
        raise LedgerError("only an objection's outcome answers another event")

    if actor.type == ActorType.GUARDIAN:
        if actor.id != request.guardian_id:
            raise LedgerError("a guardian can only record their own decisions")
        if channel != Channel.WEB:
            raise LedgerError("a guardian's own decisions are made on the web")
    elif actor.type == ActorType.STAFF:
        if purpose.staff_school_id != school_id or not purpose.staff_active:
            raise LedgerError("only active staff of this school can record its decisions")
        if request.decision in OUTCOMES:
            if channel != Channel.WEB:
                raise LedgerError("an objection's outcome is recorded in the portal (web)")
        elif channel == Channel.WEB:
            raise LedgerError("staff record decisions given on paper, by phone or by email")
        if purpose.marketing and request.decision == Decision.LIFT_OBJECTION:
            raise LedgerError("only the person who objected to direct marketing can lift it")
    if (
        purpose.guardian_rule == GuardianRule.BIOMETRIC
        and request.decision == Decision.GRANT
        and channel not in WRITTEN_CHANNELS
    ):
        # The Protection of Freedoms Act 2012, section 27: a parent's consent to biometric
        # recognition is given in writing (docs/consent-rules.md, "Biometric recognition").
        raise LedgerError(
            "consent to biometric recognition must be given in writing: record it from the "
            "signed form or the email, not a phone call"
        )

    version = purpose.version if request.purpose_version is None else request.purpose_version
    if not 1 <= version <= purpose.version:
        raise LedgerError(f"{purpose.title!r} has no wording version {version}")
    notice_version = request.notice_version
    if notice_version is None:
        notice_version = purpose.latest_notice
    elif not purpose.notice_exists:
        raise LedgerError(f"the school has no notice version {notice_version}")
    note = (request.note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise LedgerError(f"the note is longer than {MAX_NOTE} characters")
    if note is not None and ("\x00" in note or not _encodable(note)):
        # PostgreSQL cannot store NUL and neither database can store a lone surrogate:
        # refuse both here, the same way on every database, instead of failing at the insert.
        raise LedgerError("the note has a character that cannot be stored (NUL, lone surrogate)")
    language = request.language
    if language is None and actor.type == ActorType.GUARDIAN:
        language = DEFAULT_LANGUAGE  # what the portal's pages are written in
    if language is not None and not LANGUAGE_TAG.fullmatch(language):
        raise LedgerError(f"{language!r} is not a language tag such as en, pl or pa-Guru")
    return _Prepared(request, school_id, version, notice_version, note, language)


def _check_answered_objections(session: Session, requests: Sequence[DecisionRequest]) -> None:
    """An outcome must answer the objection that stands, read under the chain lock: the
    guardian's latest decision on the objection axis for this subject and purpose is that
    objection (not lifted, not already answered, not superseded by a later objection)."""
    outcomes = [r for r in requests if r.answers_seq is not None]
    if not outcomes:
        return
    standing = _standing(session, outcomes)
    for request in outcomes:
        row = standing.get(_subject(request))
        if row is None or row.seq != request.answers_seq or row.decision != Decision.OBJECT:
            raise LedgerError(
                "that objection is no longer open: it was answered, lifted or made again"
            )


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


UPDATED_COLUMNS = (
    "decision",
    "purpose_version",
    "notice_version",
    "decided_at",
    "channel",
    "actor_type",
    "seq",
)
_UPSERTS: dict[tuple[str, bool], Any] = {}


def _conflict_target(per_pupil: bool) -> tuple[list[str], Any]:
    """The columns and condition of the projection's partial unique index for a subject kind:
    a decision per child, or a person's own."""
    columns = CurrentDecision.__table__.c
    if per_pupil:
        return (
            ["school_id", "pupil_id", "purpose_id", "guardian_id", "axis"],
            columns.pupil_id.is_not(None),
        )
    return ["school_id", "guardian_id", "purpose_id", "axis"], columns.pupil_id.is_(None)


def _projection_names(per_pupil: bool) -> list[str]:
    """The projection's columns a write sets: its unique key (with the pupil: none for a
    person's own choice), then the decision's columns."""
    index, _where = _conflict_target(per_pupil)
    return [*index, *UPDATED_COLUMNS] + ([] if per_pupil else ["pupil_id"])


def _upsert_statement(dialect: str, per_pupil: bool, prefix: str = "") -> Any:
    """INSERT ... ON CONFLICT DO UPDATE of one projection row on the partial unique index of
    its subject kind, with a bound parameter for each column (`{prefix}{column}`)."""
    columns = CurrentDecision.__table__.c
    index, where = _conflict_target(per_pupil)
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(CurrentDecision).values(
        {name: bindparam(f"{prefix}{name}") for name in _projection_names(per_pupil)}
    )
    return statement.on_conflict_do_update(
        index_elements=[columns[name] for name in index],
        index_where=where,
        set_={name: statement.excluded[name] for name in UPDATED_COLUMNS},
    )


def _upsert(dialect: str, per_pupil: bool) -> Any:
    """`_upsert_statement` for executemany, built once per database and subject kind, so it
    is compiled once."""
    key = (dialect, per_pupil)
    if key not in _UPSERTS:
        _UPSERTS[key] = _upsert_statement(dialect, per_pupil)
    return _UPSERTS[key]


# Up to this many events (a family's children, a school's marketing purposes) are written as
# one statement on PostgreSQL; a larger batch (a paper form, an import) in a few statements
# that each write every row of a kind (executemany).
TOGETHER = 8


def _write(
    session: Session,
    rows: Sequence[dict[str, Any]],
    heads: dict[int, _Head],
) -> dict[tuple[int, int], int]:
    """Write the events, their projection, the tree nodes they complete and the moved chain
    heads; return each event's id by (school, seq).

    On PostgreSQL a batch of up to TOGETHER events is one statement (`_together`), one
    round trip instead of four. Its writes share one snapshot, which is safe because no
    write reads what another writes: the projection is upserted from the events' values,
    not from the events table, and the heads are set to the values computed here, under
    their lock.
    """
    # The projection keeps each subject's newest decision: the last event on it wins.
    projected: dict[tuple[Any, ...], dict[str, Any]] = {}
    for event in rows:
        row = _projection_row(event)
        key = (row["school_id"], row["guardian_id"], row["pupil_id"], row["purpose_id"])
        projected[(*key, row["axis"])] = row
    per_pupil = [row for row in projected.values() if row["pupil_id"] is not None]
    per_person = [row for row in projected.values() if row["pupil_id"] is None]
    nodes = [
        {"school_id": school_id, "level": level, "position": position, "hash": digest}
        for school_id, head in heads.items()
        for level, position, digest in head.tree.made
    ]
    moves = [
        {
            "head_school": school_id,
            "head_seq": head.seq,
            "head_hash": head.hash,
            "head_tree": head.tree.stored(),
        }
        for school_id, head in heads.items()
    ]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) <= TOGETHER:
        kinds = (("e", rows), ("p", per_pupil), ("q", per_person), ("n", nodes), ("h", moves))
        params = {
            f"{prefix}{index}_{name}": value
            for prefix, written in kinds
            for index, row in enumerate(written)
            for name, value in row.items()
        }
        statement = _together(len(rows), len(per_pupil), len(per_person), len(nodes), len(moves))
        found = session.execute(statement, params)
    else:
        columns = ConsentEvent.__table__.c
        found = session.execute(
            insert(ConsentEvent).returning(
                columns.school_id, columns.seq, columns.id, sort_by_parameter_order=True
            ),
            list(rows),
        )
        for kind, projection in ((True, per_pupil), (False, per_person)):
            if projection:
                session.execute(_upsert(dialect, kind), projection)
        if nodes:
            session.execute(insert(LedgerTreeNode), nodes)
        for move in moves:
            session.execute(_MOVE_HEAD, move)
    return {(school_id, seq): event_id for school_id, seq, event_id in found}


@functools.lru_cache(maxsize=256)
def _together(events: int, per_pupil: int, per_person: int, nodes: int, heads: int) -> Any:
    """The statement that writes a batch of this shape on PostgreSQL: a SELECT of the new
    events' ids whose WITH clauses each write one row: an event (`e0`, `e1`, ...), a
    projection upsert per child (`p0`, ...) or per person (`q0`, ...), a tree node (`n0`,
    ...), a head (`h0`, ...). Parameters are named by clause and column (`e0_seq`,
    `h0_head_tree`).

    Built once per shape, with bound parameters only, so that SQLAlchemy also compiles it
    once: a multi-row VALUES is never cached by SQLAlchemy, and compiling this statement
    for every decision cost more CPU than the round trips it saves.
    """

    def bound(prefix: str, names: Sequence[str]) -> dict[str, Any]:
        return {name: bindparam(f"{prefix}_{name}") for name in names}

    columns = ConsentEvent.__table__.c
    written = [
        insert(ConsentEvent)
        .values(bound(f"e{index}", EVENT_FIELDS))
        .returning(columns.school_id, columns.seq, columns.id)
        .cte(f"e{index}")
        for index in range(events)
    ]
    writes: list[Any] = [
        _upsert_statement("postgresql", kind, f"{prefix}{index}_").cte(f"{prefix}{index}")
        for prefix, kind, count in (("p", True, per_pupil), ("q", False, per_person))
        for index in range(count)
    ]
    for index in range(nodes):
        node = insert(LedgerTreeNode).values(
            bound(f"n{index}", ("school_id", "level", "position", "hash"))
        )
        writes.append(node.cte(f"n{index}"))
    writes.extend(_move_head(f"h{index}_").cte(f"h{index}") for index in range(heads))
    ids: list[Any] = [select(cte.c.school_id, cte.c.seq, cte.c.id) for cte in written]
    together: Any = ids[0] if events == 1 else union_all(*ids)
    return together.add_cte(*writes)


def _projection_row(event: dict[str, Any]) -> dict[str, Any]:
    """The guardian's current decision for an event's subject, purpose and axis, from the
    event's row as written."""
    return {
        "school_id": event["school_id"],
        "guardian_id": event["guardian_id"],
        "pupil_id": event["pupil_id"],
        "purpose_id": event["purpose_id"],
        "axis": axis_of(event["decision"]).value,
        "decision": event["decision"],
        "purpose_version": event["purpose_version"],
        "notice_version": event["notice_version"],
        "decided_at": event["occurred_at"],
        "channel": event["channel"],
        "actor_type": event["actor_type"],
        "seq": event["seq"],
    }
