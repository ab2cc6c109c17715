"""Sign-in invitations and reminders to a school's parents and carers, sent through the outbox.

An admin chooses an audience: every guardian with parental responsibility for a pupil on
roll (`all`), those of one class (`class`), or only those with a consent choice that needs
their answer or needs renewing for one of their children at the school (`needs_answer`, the
same rule as the family summary a guardian sees: `choices.family_summary`). `send` records an
InvitationBatch and, in the same transaction, one outbox row per guardian whose dedupe key
names the batch and the guardian: the database itself (a UNIQUE key) refuses a second copy of
one batch to one guardian. The mail worker sends them; `progress` counts the batch's rows.

An invitation carries no sign-in link or code: it tells the person to go to the sign-in page
and enter their address, so a forwarded or leaked invitation signs nobody in. It names the
school and nothing about any child or any other family.

Double submission: a batch for the same audience (and class) by the same staff user within
`REPEAT_WINDOW` is refused (`RecentBatch`, naming the batch already made). The check runs
after taking a lock that serialises one staff user's sends (their row, FOR UPDATE, on
PostgreSQL; SQLite's single writer), so two concurrent clicks cannot both pass it.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import String, and_, case, cast, exists, func, literal, select

from . import audit_log, consent
from .database import begin_write
from .errors import NotFound, PortalError
from .extensions import db
from .mail import outbox
from .models import (
    Choice,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    InvitationBatch,
    OutboxMessage,
    Pupil,
    Purpose,
    School,
    Scope,
    StaffUser,
)
from .queries import deciding_link
from .types import utcnow

TEMPLATE = "invitation"
REPEAT_WINDOW = timedelta(seconds=60)
RECENT_BATCHES = 20


class Audience(enum.StrEnum):
    ALL = "all"
    CLASS = "class"
    NEEDS_ANSWER = "needs_answer"


AUDIENCE_WORDS = {
    Audience.ALL: "All parents and carers",
    Audience.CLASS: "Parents and carers of one class",
    Audience.NEEDS_ANSWER: "Only those with choices to answer or renew",
}


class InvitationError(PortalError):
    """An invitation the portal refuses to send, with a reason to show the admin."""


class RecentBatch(InvitationError):
    """The same invitation was sent by the same person a moment ago (a double click)."""

    def __init__(self, batch: InvitationBatch):
        super().__init__("This invitation was sent a moment ago: it has not been sent again.")
        self.batch = batch


def dedupe_key(batch_id: int, guardian_id: int) -> str:
    return f"invite:{batch_id}:{guardian_id}"


def _key_prefix(batch_id: int) -> str:
    return f"invite:{batch_id}:"


# --- who is invited ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Contact:
    guardian_id: int
    email: str
    pupil_id: int
    class_name: str


def _contacts(school_id: int, class_name: str | None = None) -> list[_Contact]:
    """Each (guardian with an email, pupil) pair where the guardian has parental
    responsibility for the pupil, on roll at this school, through a current link."""
    query = (
        select(Guardian.id, Guardian.email, Pupil.id, Pupil.class_name)
        .join(GuardianLink, GuardianLink.guardian_id == Guardian.id)
        .join(Pupil, Pupil.id == GuardianLink.pupil_id)
        .where(
            GuardianLink.school_id == school_id,
            Pupil.school_id == school_id,
            deciding_link(),
            Pupil.on_roll.is_(True),
            Guardian.email.is_not(None),
        )
    )
    if class_name is not None:
        query = query.where(Pupil.class_name == class_name)
    return [_Contact(g, email or "", p, c) for g, email, p, c in db.session.execute(query)]


def _needing_an_answer(school_id: int, contacts: list[_Contact], now: datetime) -> set[int]:
    """The guardians among `contacts` with at least one consent choice for one of these
    children that they have not answered, or whose "yes" needs renewing: what
    `choices.family_summary` counts as "needs your answer" and "needs renewing", for the
    whole school in three queries."""
    purposes = list(
        db.session.scalars(
            select(Purpose).where(
                Purpose.school_id == school_id,
                Purpose.active.is_(True),
                Purpose.scope == Scope.PUPIL,
                Purpose.choice == Choice.CONSENT,
            )
        )
    )
    if not purposes or not contacts:
        return set()
    answers: dict[tuple[int, int, int], CurrentDecision] = {
        (row.guardian_id, row.pupil_id or 0, row.purpose_id): row
        for row in db.session.scalars(
            select(CurrentDecision).where(
                CurrentDecision.school_id == school_id,
                CurrentDecision.pupil_id.is_not(None),
                CurrentDecision.axis == DecisionAxis.ANSWER,
            )
        )
    }
    found: set[int] = set()
    for contact in contacts:
        if contact.guardian_id in found:
            continue
        for purpose in purposes:
            row = answers.get((contact.guardian_id, contact.pupil_id, purpose.id))
            if row is None or (
                row.decision == Decision.GRANT
                and not consent.grant_is_current(purpose, consent.Fact.of(row), now)
            ):
                found.add(contact.guardian_id)
                break
    return found


def recipients(
    school_id: int, audience: str, class_name: str | None = None, *, now: datetime | None = None
) -> dict[int, str]:
    """The guardians an invitation to this audience goes to: guardian id -> email."""
    now = now or utcnow()
    if audience == Audience.CLASS:
        contacts = _contacts(school_id, class_name)
    else:
        contacts = _contacts(school_id)
    if audience == Audience.NEEDS_ANSWER:
        wanted = _needing_an_answer(school_id, contacts, now)
        contacts = [c for c in contacts if c.guardian_id in wanted]
    return {c.guardian_id: c.email for c in contacts}


@dataclass(frozen=True)
class AudienceSizes:
    """How many people each audience reaches, for the form."""

    all: int
    needs_answer: int
    classes: dict[str, int]  # class name -> guardians, in class order


def audience_sizes(school_id: int, *, now: datetime | None = None) -> AudienceSizes:
    now = now or utcnow()
    contacts = _contacts(school_id)
    by_class: dict[str, set[int]] = defaultdict(set)
    for contact in contacts:
        by_class[contact.class_name].add(contact.guardian_id)
    classes = set(
        db.session.scalars(
            select(Pupil.class_name).where(Pupil.school_id == school_id, Pupil.on_roll.is_(True))
        )
    )
    return AudienceSizes(
        all=len({c.guardian_id for c in contacts}),
        needs_answer=len(_needing_an_answer(school_id, contacts, now)),
        classes={name: len(by_class.get(name, ())) for name in sorted(classes)},
    )


# --- sending -------------------------------------------------------------------------------


def send(
    staff: StaffUser,
    audience: str,
    class_name: str | None = None,
    *,
    now: datetime | None = None,
) -> InvitationBatch:
    """Queue one invitation per guardian of the audience at the staff user's school, with
    the batch and an audit entry `invitations.send`, in one transaction."""
    now = now or utcnow()
    if audience not in {a.value for a in Audience}:
        raise InvitationError(f"unknown audience {audience!r}")
    if audience == Audience.CLASS:
        class_name = (class_name or "").strip()
        if not class_name:
            raise InvitationError("Choose a class")
    else:
        class_name = None
    school_id = staff.school_id
    session = db.session()
    try:
        begin_write(session)
        # One staff user's sends, one at a time (PostgreSQL; SQLite has one writer).
        session.execute(select(StaffUser.id).where(StaffUser.id == staff.id).with_for_update())
        recent = session.scalars(
            select(InvitationBatch)
            .where(
                InvitationBatch.school_id == school_id,
                InvitationBatch.created_by_id == staff.id,
                InvitationBatch.audience == audience,
                (
                    InvitationBatch.class_name == class_name
                    if class_name is not None
                    else InvitationBatch.class_name.is_(None)
                ),
                InvitationBatch.created_at > now - REPEAT_WINDOW,
            )
            .order_by(InvitationBatch.id.desc())
        ).first()
        if recent is not None:
            raise RecentBatch(recent)
        if audience == Audience.CLASS and not session.scalar(
            select(func.count())
            .select_from(Pupil)
            .where(
                Pupil.school_id == school_id,
                Pupil.class_name == class_name,
                Pupil.on_roll.is_(True),
            )
        ):
            raise InvitationError(f"There is no class {class_name!r} on roll")
        to = recipients(school_id, audience, class_name, now=now)
        if not to:
            raise InvitationError(
                "Nobody to invite: no parent or carer with an email address is in this group"
            )
        batch = InvitationBatch(
            school_id=school_id,
            created_by_id=staff.id,
            created_at=now,
            audience=audience,
            class_name=class_name,
            total=len(to),
        )
        session.add(batch)
        session.flush()
        # One multi-row INSERT per thousand guardians, not an object and a flush each.
        outbox.enqueue_many(
            (
                (email, {"batch_id": batch.id, "guardian_id": guardian_id},
                 dedupe_key(batch.id, guardian_id))
                for guardian_id, email in sorted(to.items())
            ),
            template=TEMPLATE,
            school_id=school_id,
            now=now,
        )  # fmt: skip
        audit_log.record(
            staff,
            "invitations.send",
            detail={
                "batch_id": batch.id,
                "audience": audience,
                "class": class_name,
                "total": len(to),
            },
            now=now,
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return batch


# --- progress ------------------------------------------------------------------------------


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


# --- the email -----------------------------------------------------------------------------


def _still_invited(guardian_id: Any, school_id: Any) -> Any:
    """The guardian still has parental responsibility for a pupil on roll at the school (an
    EXISTS, for a query to select)."""
    return exists().where(
        GuardianLink.guardian_id == guardian_id,
        GuardianLink.school_id == school_id,
        Pupil.id == GuardianLink.pupil_id,
        Pupil.school_id == school_id,
        deciding_link(),
        Pupil.on_roll.is_(True),
    )


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """What the invitation says: the school's name, why this person is invited, where to
    sign in and with which address. Nothing about any child, nor any other family.

    One query for all it needs (the mail worker renders a hundred of these a second)."""
    guardian_id = int(payload["guardian_id"])
    found = db.session.execute(
        select(
            InvitationBatch.audience,
            Guardian.email,
            School.id.label("school_id"),
            School.name,
            School.slug,
            School.contact_email,
            _still_invited(guardian_id, InvitationBatch.school_id).label("invited"),
        )
        .select_from(InvitationBatch)
        .outerjoin(Guardian, Guardian.id == guardian_id)
        .outerjoin(School, School.id == InvitationBatch.school_id)
        .where(InvitationBatch.id == int(payload["batch_id"]))
    ).one_or_none()
    if found is None or not found.email:
        return None, "not sent: the invitation or the person no longer exists"
    if found.school_id is None:
        return None, "not sent: the school no longer exists"
    if not found.invited:
        return None, "not sent: no longer a parent or carer of a pupil on roll at the school"
    base = current_app.config["BASE_URL"]
    reminder = found.audience == Audience.NEEDS_ANSWER
    return {
        "school_name": found.name,
        "contact_email": found.contact_email,
        "email": found.email,
        "reminder": reminder,
        "headline": (
            f"Reminder: {found.name} is waiting for your choices"
            if reminder
            else f"{found.name} asks for your choices"
        ),
        "sign_in_url": f"{base}/sign-in",
        "notice_url": f"{base}/schools/{found.slug}/privacy-notice",
    }, ""


SUBJECT = "{headline}"
