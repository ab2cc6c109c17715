"""Recording decisions: append to the school's chain and update the projection, atomically."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import bindparam, func, insert, select, update
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


BeforeCommit = Callable[[Session, list[ConsentEvent]], None]
# Decides, under the chain lock, that a request would change nothing and is not recorded:
# given the request, the guardian's standing decision on that subject, purpose and axis (or
# None), and the time the events are being recorded at.
SkipRule = Callable[[DecisionRequest, CurrentDecision | None, datetime], bool]

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
        # Check every request against committed rows (one query each), then lock the chain
        # heads in school order, so that two writers never deadlock.
        prepared = [_check(session, request, actor, channel) for request in requests]
        school_ids = sorted({item.school_id for item in prepared})
        heads = {school_id: lock_head(session, school_id) for school_id in school_ids}
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
            # A plain INSERT (compiled once) rather than the unit of work: the event object
            # is handed back to the caller as a record of what was written.
            event = ConsentEvent(**row)
            event.id = session.execute(_INSERT_EVENT, row).scalar_one()
            digest = row["hash"]
            head.seq, head.hash = seq, digest
            head.tree.append(tree.leaf_of(text))
            _project(session, event)
            events.append(event)
        for school_id, head in heads.items():
            if head.tree.made:
                tree.write_nodes(session, school_id, head.tree.made)
            session.execute(
                _MOVE_HEAD,
                {
                    "head_school": school_id,
                    "head_seq": head.seq,
                    "head_hash": head.hash,
                    "head_tree": head.tree.stored(),
                },
            )
        session.flush()
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
_INSERT_EVENT = (
    insert(ConsentEvent)
    .values({name: bindparam(name) for name in EVENT_FIELDS})
    .returning(ConsentEvent.id)
)
_READ_HEAD = select(LedgerHead.seq, LedgerHead.hash, LedgerHead.tree).where(
    LedgerHead.school_id == bindparam("school_id")
)
_LOCK_HEAD = _READ_HEAD.with_for_update()
_MOVE_HEAD = (
    update(LedgerHead)
    .where(LedgerHead.school_id == bindparam("head_school"))
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"), tree=bindparam("head_tree"))
)


Subject = tuple[int, int | None, int, str]  # guardian, pupil (or None), purpose, axis


def _subject(request: DecisionRequest) -> Subject:
    return (
        request.guardian_id,
        request.pupil_id,
        request.purpose_id,
        axis_of(request.decision).value,
    )


def _standing(session: Session, requests: Sequence[DecisionRequest]) -> dict[Subject, Any]:
    """The projection's current decision for each request's subject (read under the lock)."""
    guardians = {r.guardian_id for r in requests}
    purposes = {r.purpose_id for r in requests}
    rows = session.scalars(
        select(CurrentDecision).where(
            CurrentDecision.guardian_id.in_(guardians),
            CurrentDecision.purpose_id.in_(purposes),
        )
    )
    wanted = {_subject(r) for r in requests}
    found: dict[Subject, Any] = {}
    for row in rows:
        key = (row.guardian_id, row.pupil_id, row.purpose_id, row.axis)
        if key in wanted:
            found[key] = row
    return found


def lock_head(session: Session, school_id: int) -> _Head:
    """Read a school's chain head and its tree's edge, locking the row on PostgreSQL until
    the commit."""
    query = _LOCK_HEAD if session.get_bind().dialect.name == "postgresql" else _READ_HEAD
    row = session.execute(query, {"school_id": school_id}).one_or_none()
    if row is None:
        raise LedgerError(f"school {school_id} has no ledger head")
    try:
        edge = tree.Growing.from_stored(row.seq, bytes(row.tree or b""))
    except ValueError as exc:
        # A tree that does not fit the chain was damaged or never built: refuse to grow it
        # (`flask ledger verify` names it, `flask ledger rebuild` writes it again).
        raise LedgerError(
            f"school {school_id}'s Merkle tree does not fit its chain: {exc}"
        ) from exc
    return _Head(row.seq, row.hash, edge)


def _facts_query() -> Any:
    """Everything the checks need about one request, as one query of committed rows.

    Built once with bound parameters, so SQLAlchemy compiles it once per process.
    """
    links = GuardianLink.__table__.c
    notices = NoticeVersion.__table__.c
    guardian_id: Any = bindparam("guardian_id")
    pupil_id: Any = bindparam("pupil_id")
    pr_links = (
        select(func.count())
        .where(
            links.school_id == Purpose.school_id,
            links.guardian_id == guardian_id,
            links.pupil_id == pupil_id,
            deciding_link(links),
        )
        .scalar_subquery()
    )
    any_links = (
        select(func.count())
        .where(
            links.school_id == Purpose.school_id,
            links.guardian_id == guardian_id,
            links.ended_at.is_(None),
        )
        .scalar_subquery()
    )
    latest_notice = (
        select(func.max(notices.version)).where(notices.school_id == Purpose.school_id)
    ).scalar_subquery()
    notice_exists = (
        select(func.count())
        .where(notices.school_id == Purpose.school_id, notices.version == bindparam("notice"))
        .scalar_subquery()
    )
    return (
        select(
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
        )
        .select_from(Purpose)
        .outerjoin(Guardian, Guardian.id == guardian_id)
        .outerjoin(Pupil, Pupil.id == pupil_id)
        .outerjoin(StaffUser, StaffUser.id == bindparam("staff_id"))
        .where(Purpose.id == bindparam("purpose_id"))
    )


_FACTS = _facts_query()


def _facts(session: Session, request: DecisionRequest, actor: Actor) -> Any:
    # A NULL parameter matches nothing (= NULL is never true): no pupil, no staff user.
    return session.execute(
        _FACTS,
        {
            "guardian_id": request.guardian_id,
            "pupil_id": request.pupil_id,
            "purpose_id": request.purpose_id,
            "notice": request.notice_version,
            "staff_id": actor.id if actor.type == ActorType.STAFF else None,
        },
    ).one_or_none()


def _check(session: Session, request: DecisionRequest, actor: Actor, channel: str) -> _Prepared:
    purpose = _facts(session, request, actor)
    if purpose is None:
        raise LedgerError("no such purpose")
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


def _upsert(dialect: str, per_pupil: bool) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE on the projection's partial unique index; built once
    per database and subject kind, with bound parameters, so it is compiled once."""
    key = (dialect, per_pupil)
    if key not in _UPSERTS:
        columns = CurrentDecision.__table__.c
        if per_pupil:
            index = ["school_id", "pupil_id", "purpose_id", "guardian_id", "axis"]
            where = columns.pupil_id.is_not(None)
        else:
            index = ["school_id", "guardian_id", "purpose_id", "axis"]
            where = columns.pupil_id.is_(None)
        names = [*index, *UPDATED_COLUMNS] + ([] if per_pupil else ["pupil_id"])
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(CurrentDecision).values({name: bindparam(name) for name in names})
        _UPSERTS[key] = statement.on_conflict_do_update(
            index_elements=[columns[name] for name in index],
            index_where=where,
            set_={name: statement.excluded[name] for name in UPDATED_COLUMNS},
        )
    return _UPSERTS[key]


def _project(session: Session, event: ConsentEvent) -> None:
    """Upsert the guardian's current decision for this subject, purpose and axis."""
    statement = _upsert(session.get_bind().dialect.name, event.pupil_id is not None)
    session.execute(
        statement,
        {
            "school_id": event.school_id,
            "guardian_id": event.guardian_id,
            "pupil_id": event.pupil_id,
            "purpose_id": event.purpose_id,
            "axis": axis_of(event.decision).value,
            "decision": event.decision,
            "purpose_version": event.purpose_version,
            "notice_version": event.notice_version,
            "decided_at": event.occurred_at,
            "channel": event.channel,
            "actor_type": event.actor_type,
            "seq": event.seq,
        },
    )
