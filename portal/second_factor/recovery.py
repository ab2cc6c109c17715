"""Recovery codes: ten single-use codes, shown once when they are made and stored only as
HMACs (portal/second_factor/sealed.py). Each is 12 characters from an alphabet without look-
alikes (60 bits), shown in three groups of four; case, spaces and dashes do not matter."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import delete, func, select, update

from .. import audit_log
from ..database import writing
from ..extensions import db
from ..models import StaffRecoveryCode, StaffUser
from ..types import utcnow
from .sealed import keyed_hash

COUNT = 10
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i
LENGTH = 12
PURPOSE = "recovery-code"


def _normalise(code: str) -> str:
    return re.sub(r"[\s\-]", "", (code or "").lower())


def _hash(user_id: int, code: str) -> str:
    return keyed_hash(PURPOSE, f"{user_id}:{_normalise(code)}")


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def looks_like_code(text: str) -> bool:
    return len(_normalise(text)) == LENGTH and set(_normalise(text)) <= set(ALPHABET)


def make(user: StaffUser, *, now: datetime | None = None) -> list[str]:
    """New codes for the user; any earlier ones stop working. In the caller's transaction
    (the caller commits); the codes are returned to be shown once and never stored."""
    now = now or utcnow()
    codes = [_new_code() for _ in range(COUNT)]
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == user.id))
    db.session.add_all(
        StaffRecoveryCode(staff_user_id=user.id, code_hash=_hash(user.id, c), created_at=now)
        for c in codes
    )
    audit_log.record(user, "second_factor.recovery_codes", detail={"count": COUNT}, now=now)
    return codes


def make_now(user: StaffUser, *, now: datetime | None = None) -> list[str]:
    """`make` in a transaction of its own."""
    with writing():
        return make(user, now=now)


def left(staff_user_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(StaffRecoveryCode)
            .where(
                StaffRecoveryCode.staff_user_id == staff_user_id,
                StaffRecoveryCode.used_at.is_(None),
            )
        )
        or 0
    )


def use(user: StaffUser, code: str, *, now: datetime | None = None) -> int | None:
    """Use one of the user's codes, once: returns how many are left, or None when the code
    is not one of theirs (or was used already)."""
    now = now or utcnow()
    if not looks_like_code(code):
        return None
    with writing() as session:
        used = session.execute(
            update(StaffRecoveryCode)
            .where(
                StaffRecoveryCode.staff_user_id == user.id,
                StaffRecoveryCode.code_hash == _hash(user.id, code),
                StaffRecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .returning(StaffRecoveryCode.id)
        ).scalar_one_or_none()
        if used is None:
            return None
        remaining = left(user.id)
        audit_log.record(
            user, "second_factor.recovery_code_used", detail={"left": remaining}, now=now
        )
    return remaining
