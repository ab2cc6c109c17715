"""A second factor for staff users (docs/second-factor.md).

Parents sign in with the emailed link alone; a staff user, who sees a whole school, must also
pass a second factor before any staff page answers:

- `passkeys`: WebAuthn credentials (py_webauthn), the phishing-resistant choice;
- `totp`: an authenticator app's six-digit codes (pyotp), each accepted once;
- `recovery`: ten single-use codes, for a lost phone or passkey;
- `sealed`: the app's secret encrypted at rest, and the codes' HMACs.

This module holds the policy: which factors a user has, what a session has passed and when
(`user_sessions.second_factor_at`), whether that is fresh enough for the riskiest actions
(FRESH_MINUTES), and resetting a user's factors when they have lost them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from .. import audit_log
from ..database import writing
from ..errors import NotFound, PortalError
from ..extensions import db
from ..mail import outbox
from ..models import (
    Role,
    School,
    StaffPasskey,
    StaffRecoveryCode,
    StaffTotp,
    StaffUser,
    UserSession,
)
from ..signin.tokens import hash_token
from ..types import utcnow
from . import passkeys, recovery, totp

__all__ = [
    "FRESH_MINUTES",
    "METHODS",
    "RESET_SUBJECT",
    "RESET_TEMPLATE",
    "Factors",
    "ResetRefused",
    "factors_of",
    "is_fresh",
    "passkeys",
    "record_failure",
    "record_pass",
    "recovery",
    "required",
    "reset",
    "reset_by_operator",
    "reset_email_context",
    "totp",
]

FRESH_MINUTES = 10
METHODS = ("passkey", "totp", "recovery")
RESET_TEMPLATE = "second_factor_reset"
RESET_SUBJECT = "Your second factor for {school_name} was reset"


def required() -> bool:
    """Whether staff must pass a second factor (STAFF_SECOND_FACTOR; always in production)."""
    return bool(current_app.config.get("STAFF_SECOND_FACTOR", True))


@dataclass(frozen=True)
class Factors:
    """What a staff user can use as a second factor."""

    app: bool
    passkeys: list[passkeys.StaffPasskey]
    recovery_codes_left: int

    @property
    def enrolled(self) -> bool:
        """A factor they can sign in with (recovery codes only stand in for one)."""
        return self.app or bool(self.passkeys)

    @property
    def count(self) -> int:
        return int(self.app) + len(self.passkeys)


def factors_of(staff_user_id: int) -> Factors:
    return Factors(
        totp.has_app(staff_user_id),
        passkeys.passkeys_of(staff_user_id),
        recovery.left(staff_user_id),
    )


def summaries(school_id: int) -> dict[int, str]:
    """Each staff user's second factors in words, for the staff users page: "2 passkeys and
    an authenticator app", or nothing for a user who has none yet. Two queries."""
    keys: dict[int, int] = dict(
        db.session.execute(  # type: ignore[arg-type]
            select(StaffPasskey.staff_user_id, func.count())
            .join(StaffUser, StaffUser.id == StaffPasskey.staff_user_id)
            .where(StaffUser.school_id == school_id)
            .group_by(StaffPasskey.staff_user_id)
        ).all()
    )
    apps = set(
        db.session.scalars(
            select(StaffTotp.staff_user_id)
            .join(StaffUser, StaffUser.id == StaffTotp.staff_user_id)
            .where(StaffUser.school_id == school_id, StaffTotp.confirmed_at.is_not(None))
        )
    )
    words: dict[int, str] = {}
    for user_id in set(keys) | apps:
        parts = []
        if n := keys.get(user_id, 0):
            parts.append("a passkey" if n == 1 else f"{n} passkeys")
        if user_id in apps:
            parts.append("an authenticator app")
        words[user_id] = " and ".join(parts).capitalize()
    return words


def record_pass(
    user: StaffUser, session_token: str, method: str, *, now: datetime | None = None,
    detail: dict[str, object] | None = None,
) -> None:  # fmt: skip
    """The session passed a second factor now: it may see the school, and the riskiest
    actions for FRESH_MINUTES. Recorded in the staff audit log."""
    if method not in METHODS:
        raise ValueError(f"unknown second factor {method!r}")
    now = now or utcnow()
    with writing() as session:
        session.execute(
            update(UserSession)
            .where(
                UserSession.token_hash == hash_token(session_token),
                UserSession.staff_user_id == user.id,
                UserSession.ended_at.is_(None),
            )
            .values(second_factor=method, second_factor_at=now)
        )
        audit_log.record(
            user, "second_factor.use", detail={"factor": method, **(detail or {})}, now=now
        )


def record_failure(
    user: StaffUser, method: str, reason: str, *, now: datetime | None = None
) -> None:
    """A wrong code or a refused passkey, in the staff audit log."""
    with writing():
        audit_log.record(
            user, "second_factor.failure", detail={"factor": method, "reason": reason}, now=now
        )


def is_fresh(passed_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether a second factor passed at `passed_at` is recent enough for the riskiest
    actions (exports, roster import, staff user changes, resets)."""
    if not required():
        return True
    if passed_at is None:
        return False
    return (now or utcnow()) - passed_at <= timedelta(minutes=FRESH_MINUTES)


# --- a lost factor -------------------------------------------------------------------------


class ResetRefused(PortalError):
    """A reset the portal refuses (one's own factors, or not an admin)."""


@dataclass(frozen=True)
class Reset:
    user: StaffUser
    sessions_ended: int


def _reset(user: StaffUser, actor: StaffUser | None, now: datetime, by: str) -> Reset:
    """Forget every factor of `user`, end their sessions and email them (in the caller's
    transaction)."""
    totp.remove(user)
    passkeys.remove_all(user)
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == user.id))
    ended = db.session.execute(
        update(UserSession)
        .where(UserSession.staff_user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    count = int(ended.rowcount or 0)  # type: ignore[attr-defined]
    audit_log.record(
        actor,
        "second_factor.reset",
        school_id=user.school_id,
        detail={"user_id": user.id, "email": user.email, "sessions_ended": count, "by": by},
        now=now,
    )
    outbox.enqueue(
        to_address=user.email,
        template=RESET_TEMPLATE,
        payload={"staff_user_id": user.id, "by": by},
        school_id=user.school_id,
        now=now,
    )
    return Reset(user, count)


def reset(actor: StaffUser, user_id: int, *, now: datetime | None = None) -> Reset:
    """An admin resets another staff user's second factor (never their own): the user
    sets one up again at their next sign-in."""
    now = now or utcnow()
    if actor.role != Role.ADMIN:
        raise ResetRefused("Only an admin can reset a second factor")
    if actor.id == user_id:
        raise ResetRefused(
            "You cannot reset your own second factor: ask another admin of the school, "
            "or use one of your recovery codes"
        )
    with writing():
        user = db.session.scalars(
            select(StaffUser)
            .where(StaffUser.id == user_id, StaffUser.school_id == actor.school_id)
            .with_for_update()
        ).first()
        if user is None:
            raise NotFound("no such staff user")
        return _reset(user, actor, now, by=actor.name or actor.email)


def reset_by_operator(slug: str, email: str, *, now: datetime | None = None) -> Reset:
    """`flask staff reset-factor`: for the last admin, who has no other admin to ask."""
    now = now or utcnow()
    with writing():
        user = db.session.scalars(
            select(StaffUser)
            .join(School, School.id == StaffUser.school_id)
            .where(School.slug == slug, StaffUser.email == email.strip().lower())
            .with_for_update()
        ).first()
        if user is None:
            raise NotFound(f"no staff user {email} at {slug}")
        return _reset(user, None, now, by="the portal's operator")


def reset_email_context(
    payload: dict[str, object], now: datetime
) -> tuple[dict[str, object] | None, str]:
    user = db.session.get(StaffUser, int(payload["staff_user_id"]))  # type: ignore[call-overload]
    if user is None:
        return None, "the staff user no longer exists"
    base = str(current_app.config["BASE_URL"])
    return {
        "school_name": user.school.name,
        "name": user.name or user.email,
        "by": payload.get("by", ""),
        "sign_in_url": f"{base}/sign-in",
    }, ""
