"""The data model (docs/architecture.md, "Domain model"). Typed SQLAlchemy 2 models.

Every school-owned row carries `school_id`. Guardians are people, not school records: one
guardian (one email address) may have children at several schools, so the guardian row has
no school (and no name) and the school-owned facts are the link between a guardian and a
pupil and the name the school holds for the guardian (`SchoolContact`).

The schema itself is made only by the Alembic migrations in `migrations/`; a test checks that
these models and the migrations agree.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import Base, db
from .types import UTCDateTime, utcnow

GENESIS_HASH = "0" * 64

if TYPE_CHECKING:
    # Flask-SQLAlchemy builds db.Model from our DeclarativeBase; type checkers see the base.
    Model = Base
else:
    Model = db.Model


class Choice(enum.StrEnum):
    """What kind of choice a purpose gives guardians."""

    CONSENT = "consent"  # opt-in: nothing happens until a guardian says yes
    OBJECTION = "objection"  # opt-out: goes ahead unless a guardian objects
    NONE = "none"  # information only (legal obligation, public task without a right to object)


class LawfulBasis(enum.StrEnum):
    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class GuardianRule(enum.StrEnum):
    ANY_OBJECTION_BLOCKS = "any_objection_blocks"
    LATEST_WINS = "latest_wins"
    # Biometric recognition (the Protection of Freedoms Act 2012, sections 26 to 28): one
    # parent's consent in writing, no parent's "no", and the pupil's own refusal stops it
    # whatever the parents said (docs/consent-rules.md, "Biometric recognition").
    BIOMETRIC = "biometric"


class Scope(enum.StrEnum):
    """Whether a purpose is decided per child or once per guardian (marketing)."""

    PUPIL = "pupil"
    GUARDIAN = "guardian"


class Renewal(enum.StrEnum):
    NEVER = "never"
    ACADEMIC_YEAR = "academic_year"  # a grant lapses on 1 September after it was given
    DAYS = "days"  # a grant lapses `renewal_days` after it was given


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    MARKETING = "marketing"


class Decision(enum.StrEnum):
    GRANT = "grant"
    WITHDRAW = "withdraw"
    OBJECT = "object"
    LIFT_OBJECTION = "lift_objection"
    # The school's outcome of its review of an objection (not to direct marketing, which is
    # absolute): recorded by an admin, on the objection axis of the guardian who objected,
    # naming the objection it answers (`answers_seq`).
    UPHELD = "upheld"
    NOT_UPHELD = "not_upheld"


class OnLeaving(enum.StrEnum):
    """What a purpose's data becomes when a pupil leaves (docs/follow-through.md)."""

    KEEP = "keep"  # kept, for `keep_months` after leaving (or the school's retention period)
    REMOVE = "remove"  # a task at once: remove it within `leaving_days` working days
    REVIEW = "review"  # a task at once: decide within `leaving_days` working days


class TaskKind(enum.StrEnum):
    TAKEDOWN = "takedown"  # a consent withdrawn or an objection made: take it down
    LEAVING = "leaving"  # a pupil left: do what the purpose promised


class TaskEmails(enum.StrEnum):
    """Who a school emails about a new take-down or leaving task."""

    ADMINS = "admins"
    EVERYONE = "everyone"  # admins and staff
    NONE = "none"


class RightsKind(enum.StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"


class RequestChannel(enum.StrEnum):
    WEB = "web"
    LETTER = "letter"
    PHONE = "phone"
    EMAIL = "email"
    IN_PERSON = "in_person"


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"  # the clock is stopped: waiting for proof of identity or clarification
    ANSWERED = "answered"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class ReportKind(enum.StrEnum):
    """What a family tells the school's office (`FamilyReport`)."""

    MISSING_CHILD = "missing_child"  # a child of theirs is missing from their list
    DETAILS_WRONG = "details_wrong"  # the school holds their details wrongly


class Channel(enum.StrEnum):
    WEB = "web"
    PAPER = "paper"
    PHONE = "phone"
    EMAIL = "email"


# The channels that leave the person's answer in writing: their own answer on the web, a
# paper form, an email. A "yes" by phone is not written consent (the biometric rule).
WRITTEN_CHANNELS = frozenset({Channel.WEB.value, Channel.PAPER.value, Channel.EMAIL.value})


class RefusalAction(enum.StrEnum):
    """What a pupil told the school about a purpose under the biometric rule."""

    REFUSE = "refuse"  # refuses to take part, or otherwise objects
    LIFT = "lift"  # no longer refuses


class RefusalHow(enum.StrEnum):
    """How the pupil told the school: the Act asks no form, so both count."""

    IN_PERSON = "in_person"  # said so to a member of staff
    IN_WRITING = "in_writing"


class ActorType(enum.StrEnum):
    GUARDIAN = "guardian"
    STAFF = "staff"
    SYSTEM = "system"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class School(Model):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(Text)
    dpo_name: Mapped[str | None] = mapped_column(String(200))
    dpo_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How long after a pupil leaves the portal keeps the family's details before
    # `flask retention run` erases them (docs/follow-through.md, "Erasure").
    retention_months: Mapped[int] = mapped_column(Integer, default=12, server_default=text("12"))
    # Who is emailed about a new take-down or leaving task.
    task_emails: Mapped[str] = mapped_column(
        String(16), default=TaskEmails.ADMINS.value, server_default=TaskEmails.ADMINS.value
    )
    # Whether the daily job emails a parent or carer when an answer of theirs needs renewing
    # (portal/renewals.py; docs/follow-through.md, "Renewal reminders").
    renewal_reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Moved on by the database itself (triggers, migration 0017) whenever a purpose of the
    # school changes or a pupil joins, leaves or changes class: what each app process keeps
    # of the school (`portal.school_cache`) is good for one generation.
    generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))

    __table_args__ = (
        CheckConstraint("slug <> ''", name="slug_not_empty"),
        CheckConstraint("retention_months BETWEEN 1 AND 1200", name="retention_months"),
        CheckConstraint(_in("task_emails", TaskEmails), name="task_emails"),
    )

    def __repr__(self) -> str:
        return f"<School {self.slug}>"


class NoticeVersion(Model):
    """One published version of a school's privacy notice. Immutable once written."""

    __tablename__ = "notice_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    source_format: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What changed since the version before, in a sentence or two (for families and staff).
    summary: Mapped[str | None] = mapped_column(Text)
    # The staff user who published it (none when an operator used the CLI).
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # "The notice in brief": a short plain-text summary families read first, and its HTML,
    # rendered once when published as body_html is (none for versions without one).
    brief: Mapped[str | None] = mapped_column(Text)
    brief_html: Mapped[str | None] = mapped_column(Text)

    school: Mapped[School] = relationship()

    __table_args__ = (
        UniqueConstraint("school_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("source_format IN ('markdown', 'text')", name="source_format"),
    )


class NoticeTranslation(Model):
    """A school's translation of one version of its privacy notice into one language (not
    English, the version's own). Immutable once written, like the version."""

    __tablename__ = "notice_translations"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    notice_version_id: Mapped[int] = mapped_column(ForeignKey("notice_versions.id"))
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    source_format: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    brief: Mapped[str | None] = mapped_column(Text)
    brief_html: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    notice_version: Mapped[NoticeVersion] = relationship()

    __table_args__ = (
        UniqueConstraint("notice_version_id", "language"),
        CheckConstraint("source_format IN ('markdown', 'text')", name="source_format"),
        CheckConstraint("language <> 'en'", name="not_english"),
    )


class Purpose(Model):
    """One optional (or informational) processing activity of a school."""

    __tablename__ = "purposes"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    choice: Mapped[str] = mapped_column(String(16))
    lawful_basis: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(16), default=Scope.PUPIL.value)
    guardian_rule: Mapped[str] = mapped_column(
        String(32), default=GuardianRule.ANY_OBJECTION_BLOCKS.value
    )
    renewal: Mapped[str] = mapped_column(String(16), default=Renewal.NEVER.value)
    renewal_days: Mapped[int | None] = mapped_column(Integer)
    shared_with: Mapped[str | None] = mapped_column(Text)
    retention: Mapped[str | None] = mapped_column(Text)
    publishable: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The current wording version; every version's wording is kept in purpose_versions.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Working days within which a take-down is done (publishable purposes; None: the
    # portal's default, takedowns.DEFAULT_DAYS).
    takedown_days: Mapped[int | None] = mapped_column(Integer)
    # What happens to this purpose's data when a pupil leaves, and how fast (working days,
    # for remove and review) or for how long it is kept (months, for keep; None: until the
    # school's retention period ends).
    on_leaving: Mapped[str] = mapped_column(
        String(16), default=OnLeaving.KEEP.value, server_default=OnLeaving.KEEP.value
    )
    leaving_days: Mapped[int | None] = mapped_column(Integer)
    keep_months: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School] = relationship()
    versions: Mapped[list[PurposeVersion]] = relationship(
        back_populates="purpose", order_by="PurposeVersion.version"
    )

    __table_args__ = (
        UniqueConstraint("school_id", "key"),
        CheckConstraint(_in("choice", Choice), name="choice"),
        CheckConstraint(_in("lawful_basis", LawfulBasis), name="lawful_basis"),
        CheckConstraint(_in("scope", Scope), name="scope"),
        CheckConstraint(_in("guardian_rule", GuardianRule), name="guardian_rule"),
        CheckConstraint(_in("renewal", Renewal), name="renewal"),
        CheckConstraint(
            "(renewal = 'days' AND renewal_days > 0)"
            " OR (renewal <> 'days' AND renewal_days IS NULL)",
            name="renewal_days",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(_in("on_leaving", OnLeaving), name="on_leaving"),
        CheckConstraint(
            "takedown_days IS NULL OR takedown_days BETWEEN 0 AND 60", name="takedown_days"
        ),
        CheckConstraint(
            "leaving_days IS NULL OR leaving_days BETWEEN 0 AND 60", name="leaving_days"
        ),
        CheckConstraint(
            "keep_months IS NULL OR keep_months BETWEEN 0 AND 1200", name="keep_months"
        ),
    )


class PurposeVersion(Model):
    """The exact wording a purpose had at one version, so any decision can show what was said."""

    __tablename__ = "purpose_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    purpose: Mapped[Purpose] = relationship(back_populates="versions")

    __table_args__ = (UniqueConstraint("purpose_id", "version"),)


class PurposeTranslation(Model):
    """The title and wording of one version of a purpose in one language (not English)."""

    __tablename__ = "purpose_translations"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("purpose_id", "version", "language"),
        CheckConstraint("language <> 'en'", name="not_english"),
    )


class Pupil(Model):
    __tablename__ = "pupils"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    mis_id: Mapped[str] = mapped_column(String(64))
    forename: Mapped[str] = mapped_column(String(100))
    surname: Mapped[str] = mapped_column(String(100))
    year_group: Mapped[str] = mapped_column(String(16))
    class_name: Mapped[str] = mapped_column(String(64))
    on_roll: Mapped[bool] = mapped_column(Boolean, default=True)
    left_on: Mapped[date | None] = mapped_column(Date)
    # When `flask retention run` erased the names (the row stays: the ledger refers to it).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School] = relationship()
    links: Mapped[list[GuardianLink]] = relationship(back_populates="pupil")

    __table_args__ = (
        UniqueConstraint("school_id", "mis_id"),
        Index("ix_pupils_school_class", "school_id", "class_name"),
        CheckConstraint("on_roll OR left_on IS NOT NULL", name="left_has_date"),
    )

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"


class Guardian(Model):
    """A parent or carer: one person, however many schools they have children at. The email
    (stored lower-case) is how they sign in; none = paper only. The person has no name here:
    each school holds its own (`SchoolContact`, docs/architecture.md, "Contacts and names")."""

    __tablename__ = "guardians"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When `flask retention run` erased the email address (no school still keeps the person).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language they read the portal and their emails in (BCP 47, portal/languages.py;
    # none: English, or what their browser asks for). Set by a roster's `language` column
    # until they choose one themselves (`language_chosen`), which no import then changes.
    language: Mapped[str | None] = mapped_column(String(16))
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    links: Mapped[list[GuardianLink]] = relationship(back_populates="guardian")

    __table_args__ = (CheckConstraint("email IS NULL OR email = lower(email)", name="email_lower"),)


class SchoolContact(Model):
    """The name one school holds for a guardian, as that school's roster gives it. Written by
    that school's roster import only, so another school's roster never renames the person
    this school's staff see; every page, file and email that names a contact to a school's
    staff reads it from here."""

    __tablename__ = "school_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    forename: Mapped[str] = mapped_column(String(100))
    surname: Mapped[str] = mapped_column(String(100))
    # When `flask retention run` erased the name this school held.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("school_id", "guardian_id"),)

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"


class GuardianLink(Model):
    """A guardian's relationship to one pupil, as the school's roster records it."""

    __tablename__ = "guardian_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed with pupil_id (ix_guardian_links_school_pupil): the contacts of some pupils
    # of a school, such as a class.
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    relationship_label: Mapped[str] = mapped_column("relationship", String(64), default="")
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when a re-import no longer lists this contact for the pupil; the row is kept
    # because ledger events refer to the guardian.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    guardian: Mapped[Guardian] = relationship(back_populates="links")
    pupil: Mapped[Pupil] = relationship(back_populates="links")

    __table_args__ = (
        UniqueConstraint("guardian_id", "pupil_id"),
        Index("ix_guardian_links_school_pupil", "school_id", "pupil_id"),
    )

    @property
    def active(self) -> bool:
        return self.ended_at is None


class StaffUser(Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    school: Mapped[School] = relationship()

    __table_args__ = (
        UniqueConstraint("school_id", "email"),
        CheckConstraint(_in("role", Role), name="role"),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )


class LedgerHead(Model):
    """The head of one school's chain. Appends lock this row, so they are serialised per school."""

    __tablename__ = "ledger_heads"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # The Merkle tree's right edge at size `seq` (portal/ledger/tree.py): the roots of the
    # perfect subtrees that make up the tree, largest first, 32 bytes each; empty (or NULL)
    # for none. An append needs nothing else to add its leaf and the nodes it completes.
    tree: Mapped[bytes | None] = mapped_column(LargeBinary, default=b"")


class LedgerTreeNode(Model):
    """One complete node of a school's Merkle tree (RFC 6962) over its ledger events: the
    hash of the `2**level` leaves from `position * 2**level`. Level 0 holds the leaf hashes (leaf
    index = seq - 1). Written by the same transaction as the events, about two per event;
    never changed (`flask ledger rebuild` writes them again from the events)."""

    __tablename__ = "ledger_tree_nodes"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("level BETWEEN 0 AND 40", name="level"),
        CheckConstraint("position >= 0", name="position"),
    )


class LedgerCheckpoint(Model):
    """A signed checkpoint of one school's tree (C2SP tlog-checkpoint in a signed note),
    as `flask ledger checkpoint` or the daily job signed it. Public: the portal serves the
    latest one. The private key is never in the database; the verifier key is kept with the
    note so that the note can be checked and served."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    verifier_key: Mapped[str] = mapped_column(String(300))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("school_id", "size", "verifier_key"),
        CheckConstraint("size >= 0", name="size"),
    )


class ConsentEvent(Model):
    """One decision, appended to the school's hash chain. Never updated, never deleted, with
    one exception the database allows: the retention run may erase the note (and its salt) of
    a format-2 event, whose hash covers only the note's salted commitment (docs/ledger.md,
    "Format 2")."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    seq: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    # Indexed with purpose_id and seq (ix_consent_events_pupil_purpose_seq): one pupil's
    # decisions on one purpose, in order (the take-down check after each decision).
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    purpose_version: Mapped[int] = mapped_column(Integer)
    notice_version: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 1: the note's text is in the hash. 2: the hash covers `note_commitment`, the SHA-256 of
    # `note_salt` (hex) and the note, so the note can be erased and the chain still verify.
    format: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    note_salt: Mapped[str | None] = mapped_column(String(64))
    note_commitment: Mapped[str | None] = mapped_column(String(64))
    # An objection's outcome (upheld / not_upheld) names the objection event it answers.
    answers_seq: Mapped[int | None] = mapped_column(Integer)
    # The language (BCP 47) of the wording and notice the person saw when they decided on the
    # web ("en" while the portal's pages are in English); none when staff took it down.
    language: Mapped[str | None] = mapped_column(String(35))

    __table_args__ = (
        UniqueConstraint("school_id", "seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("format IN (1, 2)", name="format"),
        CheckConstraint(
            "format = 2 OR (note_commitment IS NULL AND answers_seq IS NULL AND language IS NULL)",
            name="format_1",
        ),
        CheckConstraint(_in("actor_type", ActorType), name="actor_type"),
        CheckConstraint(_in("decision", Decision), name="decision"),
        CheckConstraint(_in("channel", Channel), name="channel"),
        Index("ix_consent_events_school_occurred", "school_id", "occurred_at"),
        Index("ix_consent_events_pupil_purpose_seq", "pupil_id", "purpose_id", "seq"),
        # The outcome that answers an objection (objection review finds it by answers_seq).
        Index(
            "ix_consent_events_answers",
            "school_id",
            "answers_seq",
            sqlite_where=text("answers_seq IS NOT NULL"),
            postgresql_where=text("answers_seq IS NOT NULL"),
        ),
    )


class DecisionAxis(enum.StrEnum):
    """A guardian holds one answer (grant/withdraw) and one objection (object/lift) per subject."""

    ANSWER = "answer"
    OBJECTION = "objection"


class CurrentDecision(Model):
    """Projection: each guardian's latest decision per pupil (or per guardian) and purpose.

    Kept in the same transaction as each ledger append, and rebuildable from the ledger.
    """

    __tablename__ = "current_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("pupils.id"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    axis: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    purpose_version: Mapped[int] = mapped_column(Integer)
    notice_version: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    actor_type: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(_in("axis", DecisionAxis), name="axis"),
        CheckConstraint(_in("decision", Decision), name="decision"),
        Index(
            "uq_current_decisions_pupil",
            "school_id",
            "pupil_id",
            "purpose_id",
            "guardian_id",
            "axis",
            unique=True,
            sqlite_where=text("pupil_id IS NOT NULL"),
            postgresql_where=text("pupil_id IS NOT NULL"),
        ),
        Index(
            "uq_current_decisions_guardian",
            "school_id",
            "guardian_id",
            "purpose_id",
            "axis",
            unique=True,
            sqlite_where=text("pupil_id IS NULL"),
            postgresql_where=text("pupil_id IS NULL"),
        ),
    )


class PrincipalType(enum.StrEnum):
    GUARDIAN = "guardian"
    STAFF = "staff"


class SignInRequest(Model):
    """One emailed sign-in link and code. Neither is stored: the link's token and the code are
    derived from `nonce` with the secret key when the email is written, and only their
    SHA-256 / HMAC digests are kept to check what comes back. The nonce is erased (NULL) once
    the email is written, and when the request is used, superseded or found expired, so the
    database and the key together cannot rebuild a link that was sent (docs/security.md,
    promise 3)."""

    __tablename__ = "sign_in_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which request a browser is waiting on (kept in its session for the code form).
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    nonce: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(254), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)


class SignInChoice(Model):
    """Who a sign-in may act as, while the person chooses (an address that is a parent and
    staff, or staff at several schools). Held here, not in the cookie: the browser's session
    keeps a random id whose SHA-256 is `token_hash`, and choosing marks the row used with one
    conditional UPDATE, so the choice makes one session, within its few minutes
    (docs/security.md, promise 7)."""

    __tablename__ = "sign_in_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The accounts offered, as JSON: [[principal type, id, label], ...].
    options: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Model):
    """A signed-in session, held on the server so that signing out really ends it."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_type: Mapped[str] = mapped_column(String(16))
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A staff session's second factor (docs/second-factor.md): which one it last passed
    # ("totp", "passkey" or "recovery") and when. The emailed link or code, the first factor,
    # was passed at `created_at`.
    second_factor: Mapped[str | None] = mapped_column(String(16))
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(_in("principal_type", PrincipalType), name="principal_type"),
        CheckConstraint(
            "(principal_type = 'guardian' AND guardian_id IS NOT NULL AND staff_user_id IS NULL)"
            " OR (principal_type = 'staff' AND staff_user_id IS NOT NULL AND guardian_id IS NULL)",
            name="one_principal",
        ),
    )


class OutboxMessage(Model):
    """An email, written in the same transaction as what caused it, then delivered.

    `template` and `payload` describe the message; it is rendered when it is sent, so that
    secrets such as a sign-in link are never stored. A worker claims due rows with a lease,
    so two workers never send the same row. Rows that share a `coalesce_key` are claimed
    together, as soon as one of them is due, and sent as one email (a guardian's receipts).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    coalesce_key: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_due", "sent_at", "send_after"),)


class StaffTotp(Model):
    """A staff user's authenticator app (TOTP, RFC 6238). The shared secret is encrypted
    (AES-GCM, portal/second_factor/sealed.py); `last_step` is the time step of the last code
    accepted, so a code is accepted once. A row without `confirmed_at` is a set-up in
    progress: it counts only once a code from the app has been entered."""

    __tablename__ = "staff_totp"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    secret_sealed: Mapped[str] = mapped_column(String(200))
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffPasskey(Model):
    """A staff user's passkey (a WebAuthn credential): its id and public key, as registered,
    and the signature counter last seen (0 for synced passkeys, which do not count)."""

    __tablename__ = "staff_passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(100))
    transports: Mapped[str] = mapped_column(String(200), default="")
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffRecoveryCode(Model):
    """One of a staff user's ten single-use recovery codes, stored as an HMAC of the code."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAuthnChallenge(Model):
    """A WebAuthn challenge held on the server: single-use (`used_at`), expiring in minutes,
    for one staff user and one ceremony ("register" or "authenticate")."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    ceremony: Mapped[str] = mapped_column(String(16))
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("ceremony IN ('register', 'authenticate')", name="ceremony"),)


class StaffAuditEntry(Model):
    """One thing a staff user did that is not a consent decision: an export, a publication, a
    roster import, a change to a purpose or a staff user. Append-only, like the ledger (the
    database refuses UPDATE and DELETE); `detail` is JSON (which filter, which file, ...)."""

    __tablename__ = "staff_audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (Index("ix_staff_audit_log_school_time", "school_id", "occurred_at"),)


class TakedownTask(Model):
    """Something published must come down: a consent to a publishable purpose was withdrawn
    (or an objection made) for a pupil who had been `granted`/`allowed`. One per ledger event."""

    __tablename__ = "takedown_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    # The ledger event that caused a take-down; none for a task made by a pupil leaving.
    event_seq: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(
        String(16), default=TaskKind.TAKEDOWN.value, server_default=TaskKind.TAKEDOWN.value
    )
    # For a leaving task: what the purpose promised (remove or review).
    action: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The last day to do it (working days from `created_at`, by the purpose's setting).
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # What was removed and where, written by whoever marked it done.
    done_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("school_id", "event_seq", "purpose_id"),
        Index("ix_takedown_tasks_open", "school_id", "done_at"),
        # What was done for a child (its page, the history): found without reading every task.
        Index("ix_takedown_tasks_pupil", "pupil_id", "done_at"),
        CheckConstraint(
            "(done_at IS NULL AND done_by_id IS NULL) OR done_at IS NOT NULL", name="done"
        ),
        CheckConstraint(_in("kind", TaskKind), name="kind"),
        CheckConstraint(
            "(kind = 'takedown' AND event_seq IS NOT NULL)"
            " OR (kind = 'leaving' AND action IN ('remove', 'review'))",
            name="kind_fields",
        ),
    )


class InvitationBatch(Model):
    """One sending of sign-in invitations by an admin: to whom (`audience`, `class_name`) and
    how many. Its emails are outbox rows whose dedupe key names the batch and the guardian, so
    no guardian gets two copies of one batch."""

    __tablename__ = "invitation_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    audience: Mapped[str] = mapped_column(String(32))  # all | class | needs_answer
    class_name: Mapped[str | None] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("audience IN ('all', 'class', 'needs_answer')", name="audience"),
    )


class RightsRequest(Model):
    """A request by a family to use one of their data protection rights (access, erasure, ...),
    made on the rights page or logged by staff when it came another way. Its due date follows
    the ICO's one-month rule (`portal.deadlines`) and moves with pauses and an extension;
    every change is a `RightsRequestChange`."""

    __tablename__ = "rights_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    # The family in the portal, when known (a letter may come from someone not in it).
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id"), index=True)
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_contact: Mapped[str] = mapped_column(String(254), default="")
    kind: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.OPEN.value)
    paused_on: Mapped[date | None] = mapped_column(Date)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_months: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_told_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_rights_requests_school_status_due", "school_id", "status", "due_on"),
        CheckConstraint(_in("kind", RightsKind), name="kind"),
        CheckConstraint(_in("channel", RequestChannel), name="channel"),
        CheckConstraint(_in("status", RequestStatus), name="status"),
        CheckConstraint("paused_days >= 0", name="paused_days"),
        CheckConstraint("extension_months BETWEEN 0 AND 2", name="extension_months"),
        CheckConstraint("(status = 'paused') = (paused_on IS NOT NULL)", name="paused_has_date"),
    )


class RightsRequestChange(Model):
    """One thing that happened to a rights request: who (a staff user, the family, or the
    system), when, what, and the details as JSON. Append-only."""

    __tablename__ = "rights_request_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id"))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="{}")


class Erasure(Model):
    """What `flask retention run` erased, when, and why: one row per person or record."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # pupil, contact, guardian, event_note, task_note, request
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    fields: Mapped[str] = mapped_column(String(200))  # which columns, comma-separated
    reason: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_erasures_school_time", "school_id", "erased_at"),)


class PupilRefusal(Model):
    """A pupil's own refusal of a purpose under the biometric rule (or its lifting), as the
    pupil told a member of staff, who recorded it. The latest row for a pupil and purpose
    stands. Append-only: the database refuses UPDATE and DELETE, like the audit log. Not a
    ledger event: the ledger's events are decisions of a guardian (docs/consent-rules.md,
    "Biometric recognition", says why)."""

    __tablename__ = "pupil_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"))
    purpose_id: Mapped[int] = mapped_column(ForeignKey("purposes.id"))
    action: Mapped[str] = mapped_column(String(16))
    how: Mapped[str] = mapped_column(String(16))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_pupil_refusals_standing", "school_id", "pupil_id", "purpose_id", "id"),
        CheckConstraint(_in("action", RefusalAction), name="action"),
        CheckConstraint(_in("how", RefusalHow), name="how"),
    )


class RenewalReminder(Model):
    """When the daily job last emailed a parent or carer that answers of theirs at a school
    need renewing: one row per school and guardian, moved forward only when the last
    reminder is at least a fortnight old (a conditional upsert), so that however many
    workers run the job, nobody gets two reminders from a school within 14 days."""

    __tablename__ = "renewal_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"), index=True)
    reminded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("school_id", "guardian_id"),)


class BankHoliday(Model):
    """A day off in England and Wales added by an operator (`flask holidays add`), on top of
    the list shipped with the portal (portal/data/bank_holidays_england_and_wales.txt)."""

    __tablename__ = "bank_holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DailyRun(Model):
    """That a once-a-day job (the retention run, the reminders and the digest) has run on a
    day: the primary key lets exactly one of several workers claim each day."""

    __tablename__ = "daily_runs"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str | None] = mapped_column(Text)


class FamilyReport(Model):
    """A family's report to the school's office, made on the portal: a child missing from their
    list, or their details wrong, in their own words. A task in the staff's things to do until
    a staff user marks it done (with an entry in the audit log); the family sees whether it
    is done, never the note."""

    __tablename__ = "family_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id"))
    kind: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # One calendar month from the day it was made, on a working day (`deadlines.due_date`).
    due_on: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # What the office did, for the office: never shown to the family.
    done_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_family_reports_open", "school_id", "done_at"),
        # A family's own reports, newest first, and how many they made lately (the limit).
        Index("ix_family_reports_guardian_time", "guardian_id", "created_at"),
        CheckConstraint(_in("kind", ReportKind), name="kind"),
        CheckConstraint(
            "(done_at IS NULL AND done_by_id IS NULL) OR done_at IS NOT NULL", name="done"
        ),
    )
