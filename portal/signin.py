"""Sign-in by emailed link or code, and server-side sessions (SECURITY.md items 1–9).

- A link's token and the code are derived from a random nonce with the secret key when the
  email is written; only a SHA-256 of the token and an HMAC of the code are stored, so the raw
  token is in no table. A link works once, for at most 15 minutes, and a newer link for the
  same address supersedes older ones. Using a link is an atomic UPDATE ... WHERE used_at IS
  NULL, so two concurrent uses give exactly one session.
- The code is bound to the request that made it: the browser that asked for the link keeps
  the request's public id in its session and can type the code there; attempts are counted.
- Every write is a conditional UPDATE or an INSERT that is right whatever happened since
  the reads that decided it; `begin_write` takes SQLite's write lock first.
- Sessions live in the database: signing out ends the row, so a replayed cookie is useless;
  idle and absolute lifetimes are enforced when the session is loaded.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from . import emails
from .database import begin_write
from .extensions import db
from .mail import outbox
from .models import (
    Guardian,
    GuardianLink,
    PrincipalType,
    School,
    SignInRequest,
    StaffUser,
    UserSession,
)
from .types import utcnow

LAST_SEEN_RESOLUTION = timedelta(seconds=60)


class LinkState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"  # forged, mistyped, or never issued
    TOO_MANY_ATTEMPTS = "too_many_attempts"


class SignInError(Exception):
    def __init__(self, state: LinkState):
        super().__init__(state.value)
        self.state = state


@dataclass(frozen=True)
class Principal:
    """Someone a sign-in can act as: a guardian, or a staff user at one school."""

    type: PrincipalType
    id: int
    label: str

    @property
    def key(self) -> str:
        return f"{self.type.value}:{self.id}"


def _secret(purpose: str) -> bytes:
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(key, purpose.encode("utf-8"), hashlib.sha256).digest()


def derive_token(nonce: str) -> str:
    digest = hmac.new(_secret("sign-in-link"), nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def derive_code(nonce: str) -> str:
    digest = hmac.new(_secret("sign-in-code"), nonce.encode("ascii"), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_code(public_id: str, code: str) -> str:
    message = f"{public_id}:{code}".encode()
    return hmac.new(_secret("sign-in-code-check"), message, hashlib.sha256).hexdigest()


def principals_for(email: str) -> list[Principal]:
    """Everyone this address may sign in as: a guardian with a current link to a pupil, and
    each active staff account."""
    found: list[Principal] = []
    guardian = db.session.scalars(
        select(Guardian).where(
            Guardian.email == email,
            Guardian.id.in_(
                select(GuardianLink.guardian_id).where(GuardianLink.ended_at.is_(None))
            ),
        )
    ).first()
    if guardian is not None:
        found.append(Principal(PrincipalType.GUARDIAN, guardian.id, "Parent or carer"))
    for staff, school_name in db.session.execute(
        select(StaffUser, School.name)
        .join(School, School.id == StaffUser.school_id)
        .where(StaffUser.email == email, StaffUser.active.is_(True))
        .order_by(School.name)
    ):
        found.append(
            Principal(PrincipalType.STAFF, staff.id, f"Staff at {school_name} ({staff.role})")
        )
    return found


@dataclass(frozen=True)
class LinkRequest:
    public_id: str  # what the asking browser keeps, known address or not
    outbox_ids: list[int]


def request_link(address: str, *, now: datetime | None = None) -> LinkRequest:
    """Ask for a sign-in email. The answer looks the same whether the address is known."""
    now = now or utcnow()
    public_id = secrets.token_urlsafe(16)
    try:
        email = emails.normalise(address)
    except emails.InvalidEmail:
        return LinkRequest(public_id, [])
    try:
        principals = principals_for(email)
        if not principals:
            db.session.rollback()
            return LinkRequest(public_id, [])
        begin_write(db.session())
        db.session.execute(
            update(SignInRequest)
            .where(
                SignInRequest.email == email,
                SignInRequest.used_at.is_(None),
                SignInRequest.superseded_at.is_(None),
            )
            .values(superseded_at=now)
        )
        nonce = secrets.token_hex(32)
        minutes = min(15, int(current_app.config["SIGN_IN_LINK_MINUTES"]))
        db.session.add(
            SignInRequest(
                public_id=public_id,
                nonce=nonce,
                email=email,
                token_hash=hash_token(derive_token(nonce)),
                code_hash=hash_code(public_id, derive_code(nonce)),
                created_at=now,
                expires_at=now + timedelta(minutes=minutes),
                code_attempts=0,
            )
        )
        message = outbox.enqueue(
            to_address=email,
            template="sign_in",
            payload={"request": public_id},
            school_id=None,  # one person, who may be known to several schools
            now=now,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return LinkRequest(public_id, [message.id])


def link_state(token: str, *, now: datetime | None = None) -> LinkState:
    """What a link would do now. Reads only: opening a link changes nothing."""
    now = now or utcnow()
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.token_hash == hash_token(token))
    ).first()
    return _state(row, now)


def _state(row: SignInRequest | None, now: datetime) -> LinkState:
    if row is None:
        return LinkState.UNKNOWN
    if row.used_at is not None:
        return LinkState.USED
    if row.superseded_at is not None:
        return LinkState.SUPERSEDED
    if row.expires_at <= now:
        return LinkState.EXPIRED
    if row.code_attempts >= current_app.config["SIGN_IN_CODE_ATTEMPTS"]:
        return LinkState.TOO_MANY_ATTEMPTS
    return LinkState.VALID


def _consume(condition: object, now: datetime) -> str | None:
    """Mark one usable request used, atomically; return its email, or None."""
    begin_write(db.session())
    result = db.session.execute(
        update(SignInRequest)
        .where(
            condition,  # type: ignore[arg-type]
            SignInRequest.used_at.is_(None),
            SignInRequest.superseded_at.is_(None),
            SignInRequest.expires_at > now,
            SignInRequest.code_attempts < current_app.config["SIGN_IN_CODE_ATTEMPTS"],
        )
        .values(used_at=now)
        .returning(SignInRequest.email)
    )
    email = result.scalar_one_or_none()
    db.session.commit()
    return email


def use_link(token: str, *, now: datetime | None = None) -> list[Principal]:
    """Use a link once. Raises SignInError saying why it cannot be used."""
    now = now or utcnow()
    try:
        email = _consume(SignInRequest.token_hash == hash_token(token), now)
    except Exception:
        db.session.rollback()
        raise
    if email is None:
        raise SignInError(link_state(token, now=now))
    return _principals_or_fail(email)


def use_code(public_id: str | None, code: str, *, now: datetime | None = None) -> list[Principal]:
    """Use the code typed in the browser that asked for it. Wrong codes are counted."""
    now = now or utcnow()
    code = "".join(code.split())
    row = (
        db.session.scalars(
            select(SignInRequest).where(SignInRequest.public_id == public_id)
        ).first()
        if public_id
        else None
    )
    state = _state(row, now)
    if row is None or state != LinkState.VALID:
        db.session.rollback()
        raise SignInError(state if row is not None else LinkState.UNKNOWN)
    try:
        if not hmac.compare_digest(row.code_hash, hash_code(row.public_id, code)):
            begin_write(db.session())
            db.session.execute(
                update(SignInRequest)
                .where(SignInRequest.id == row.id)
                .values(code_attempts=SignInRequest.code_attempts + 1)
            )
            db.session.commit()
            raise SignInError(LinkState.UNKNOWN)
        email = _consume(SignInRequest.id == row.id, now)
    except SignInError:
        raise
    except Exception:
        db.session.rollback()
        raise
    if email is None:
        raise SignInError(LinkState.USED)
    return _principals_or_fail(email)


def _principals_or_fail(email: str) -> list[Principal]:
    principals = principals_for(email)
    if not principals:  # removed from the roster or deactivated since the email was sent
        raise SignInError(LinkState.UNKNOWN)
    return principals


# --- sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """The person behind a session (Flask-Login's user)."""

    token: str
    principal_type: PrincipalType
    guardian: Guardian | None
    staff: StaffUser | None

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
    try:
        begin_write(db.session())
        db.session.add(
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
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return token


# The session row with the person behind it, in one query: the guardian, or the staff user
# and their school (which every staff page shows). Built once with a bound parameter, so
# SQLAlchemy compiles it once per process.
_SESSION = (
    select(
        UserSession.id,
        UserSession.principal_type,
        UserSession.ended_at,
        UserSession.expires_at,
        UserSession.last_seen_at,
        Guardian,
        StaffUser,
        School,
    )
    .outerjoin(Guardian, Guardian.id == UserSession.guardian_id)
    .outerjoin(StaffUser, StaffUser.id == UserSession.staff_user_id)
    .outerjoin(School, School.id == StaffUser.school_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


def load_session(token: str, *, now: datetime | None = None) -> SignedIn | None:
    """The person behind a session token, if the session is still open and in time. One
    query (and, at most once a minute, an update of when it was last used)."""
    now = now or utcnow()
    row = db.session.execute(_SESSION, {"token_hash": hash_token(token)}).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    principal_type = PrincipalType(row.principal_type)
    idle, _absolute = _lifetimes(principal_type)
    if now - row.last_seen_at >= idle:
        end_session(token, now=now)
        return None
    guardian: Guardian | None = None
    staff: StaffUser | None = None
    if principal_type == PrincipalType.GUARDIAN:
        guardian = row.Guardian
        if guardian is None:
            return None
    else:
        staff = row.StaffUser
        if staff is None or not staff.active:
            return None
        # The identity map holds objects weakly: attach the school to the staff user, or
        # `staff.school` would read it again.
        set_committed_value(staff, "school", row.School)
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        try:
            begin_write(db.session())
            db.session.execute(
                update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    return SignedIn(token, principal_type, guardian, staff)


def end_session(token: str, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    try:
        begin_write(db.session())
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == hash_token(token), UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


# --- the sign-in email (registered by portal.wiring) ---------------------------------------


def _schools_of(email: str) -> list[str]:
    guardian_schools = select(School.name).where(
        School.id.in_(
            select(GuardianLink.school_id)
            .join(Guardian, Guardian.id == GuardianLink.guardian_id)
            .where(Guardian.email == email, GuardianLink.ended_at.is_(None))
        )
    )
    staff_schools = select(School.name).where(
        School.id.in_(select(StaffUser.school_id).where(StaffUser.email == email, StaffUser.active))
    )
    names = set(db.session.scalars(guardian_schools)) | set(db.session.scalars(staff_schools))
    return sorted(names)


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == payload["request"])
    ).first()
    if row is None:
        return None, "the sign-in request no longer exists"
    state = _state(row, now)
    if state != LinkState.VALID:
        return None, f"not sent: the link was {state.value} before it could be sent"
    token = derive_token(row.nonce)
    schools = _schools_of(row.email)
    return {
        "link": f"{current_app.config['BASE_URL']}/sign-in/link/{token}",
        "code": derive_code(row.nonce),
        # To the nearest minute: sent a second after it was asked for, a 15-minute link
        # "works for the next 15 minutes" (not 14), as the check-your-email page says.
        "minutes": max(1, round((row.expires_at - now).total_seconds() / 60)),
        "school_names": schools,
        "schools_text": " and ".join(schools) if len(schools) < 3 else "your schools",
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""


TEMPLATE = "sign_in"
SUBJECT = "Your sign-in link for {schools_text}"


def log_line(context: dict[str, Any]) -> str:
    """What the log says when mail goes to the outbox folder (development): the link."""
    return f"sign-in link: {context['link']} (code {context['code']})"
