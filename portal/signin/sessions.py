"""Server-side sessions (docs/security.md, promise 7): a session lives in the database, so
signing out ends the row and a replayed cookie is useless; idle and absolute lifetimes are
enforced when the session is loaded."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..database import read, writing
from ..extensions import db
from ..models import Guardian, PrincipalType, School, StaffUser, UserSession
from ..types import utcnow
from .links import Principal
from .tokens import hash_token

LAST_SEEN_RESOLUTION = timedelta(seconds=60)

# A guardian's session token starts with this, so that their session is read by a statement
# that names a guardian's columns only (`_GUARDIAN_SESSION`), as plain rows: no staff user or
# school made into objects, on every parent page. The prefix only chooses the statement: the
# row's own principal type decides who this is, and a token without it (a staff user's, or a
# guardian's from before) is read by the statement for either (`_SESSION`). Not a secret: a
# token's 32 random bytes follow it.
GUARDIAN_PREFIX = "g."


@dataclass(frozen=True)
class GuardianIdentity:
    """What a parent's pages need of the signed-in guardian, read with the session (three
    columns, not the whole row as an object)."""

    id: int
    language: str | None
    language_chosen: bool
    email: str | None = None  # where their receipts go


@dataclass(frozen=True)
class SignedIn:
    """The person behind a session (Flask-Login's user)."""

    token: str
    principal_type: PrincipalType
    guardian: GuardianIdentity | None
    staff: StaffUser | None
    # The second factor this (staff) session passed last, and when (portal/second_factor).
    second_factor: str | None = None
    second_factor_at: datetime | None = None
    # A staff user's school's generation, read with the session (portal/school_cache.py).
    school_generation: int = -1

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.token

    @property
    def is_guardian(self) -> bool:
        return self.principal_type == PrincipalType.GUARDIAN

    @property
    def is_staff(self) -> bool:
        return self.principal_type == PrincipalType.STAFF


def _lifetimes(principal_type: PrincipalType) -> tuple[timedelta, timedelta]:
    config = current_app.config
    prefix = "STAFF" if principal_type == PrincipalType.STAFF else "PARENT"
    return (
        timedelta(minutes=int(config[f"{prefix}_SESSION_IDLE_MINUTES"])),
        timedelta(minutes=int(config[f"{prefix}_SESSION_MAX_MINUTES"])),
    )


def start_session(principal: Principal, *, now: datetime | None = None) -> str:
    """Open a server-side session for a principal; returns the token for the cookie."""
    now = now or utcnow()
    _idle, absolute = _lifetimes(principal.type)
    token = secrets.token_urlsafe(32)
    if principal.type == PrincipalType.GUARDIAN:
        token = GUARDIAN_PREFIX + token
    with writing() as session:
        session.add(
            UserSession(
                token_hash=hash_token(token),
                principal_type=principal.type.value,
                guardian_id=principal.id if principal.type == PrincipalType.GUARDIAN else None,
                staff_user_id=principal.id if principal.type == PrincipalType.STAFF else None,
                created_at=now,
                last_seen_at=now,
                expires_at=now + absolute,
            )
        )
    return token


# The session row's columns with the guardian's id, language and email (none for staff).
_GUARDIAN_COLUMNS = (
    UserSession.id,
    UserSession.principal_type,
    UserSession.ended_at,
    UserSession.expires_at,
    UserSession.last_seen_at,
    UserSession.second_factor,
    UserSession.second_factor_at,
    Guardian.id.label("guardian_id"),
    Guardian.language,
    Guardian.language_chosen,
    Guardian.email.label("guardian_email"),
)
# The session row with the person behind it, in one query: the guardian's id, language and email,
# or the staff user and their school (which every staff page shows). Built once with a bound
# parameter, so SQLAlchemy compiles it once per process.
_SESSION = (
    select(
        *_GUARDIAN_COLUMNS,
        StaffUser,
        School,
        # Fresh from the database, whatever the School object holds (portal.school_cache).
        School.generation.label("school_generation"),
    )
    .outerjoin(Guardian, Guardian.id == UserSession.guardian_id)
    .outerjoin(StaffUser, StaffUser.id == UserSession.staff_user_id)
    .outerjoin(School, School.id == StaffUser.school_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


# A guardian's session (a token with GUARDIAN_PREFIX): the same row, the guardian's columns.
_GUARDIAN_SESSION = (
    select(*_GUARDIAN_COLUMNS)
    .outerjoin(Guardian, Guardian.id == UserSession.guardian_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


def load_session(token: str, *, now: datetime | None = None) -> SignedIn | None:
    """The person behind a session token, if the session is still open and in time. One
    query (and, at most once a minute, an update of when it was last used)."""
    now = now or utcnow()
    if token.startswith(GUARDIAN_PREFIX):
        row = read(_GUARDIAN_SESSION, {"token_hash": hash_token(token)}).first()
        if row is not None and row.principal_type != PrincipalType.GUARDIAN:
            return None
    else:
        row = db.session.execute(_SESSION, {"token_hash": hash_token(token)}).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    principal_type = PrincipalType(row.principal_type)
    idle, _absolute = _lifetimes(principal_type)
    if now - row.last_seen_at >= idle:
        end_session(token, now=now)
        return None
    guardian: GuardianIdentity | None = None
    staff: StaffUser | None = None
    generation = -1  # a guardian's pages read their schools' generations with the family
    if principal_type == PrincipalType.GUARDIAN:
        if row.guardian_id is None:
            return None
        guardian = GuardianIdentity(
            row.guardian_id, row.language, bool(row.language_chosen), row.guardian_email
        )
    else:
        staff = row.StaffUser
        if staff is None or not staff.active:
            return None
        # The identity map holds objects weakly: attach the school to the staff user, or
        # `staff.school` would read it again.
        set_committed_value(staff, "school", row.School)
        generation = row.school_generation
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        with writing() as session:
            session.execute(
                update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
            )
    return SignedIn(
        token,
        principal_type,
        guardian,
        staff,
        row.second_factor,
        row.second_factor_at,
        generation,
    )


def end_session(token: str, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    with writing() as session:
        session.execute(
            update(UserSession)
            .where(UserSession.token_hash == hash_token(token), UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )
