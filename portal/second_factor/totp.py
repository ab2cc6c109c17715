"""An authenticator app (TOTP, RFC 6238) as a staff user's second factor.

`pyotp` makes and checks the codes; what it does not do is remember which codes were used:
`verify()` alone accepts the same code again for as long as it is valid. So the time step of
the last accepted code is stored, and a code is accepted only for a later step, by one
conditional UPDATE (two presses at once accept it once). One step either side of now is
accepted, for a phone's clock that is a little out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, select, update

from .. import audit_log
from ..database import writing
from ..extensions import db
from ..models import StaffTotp, StaffUser
from ..types import utcnow
from .sealed import CannotOpen, seal, unseal

ISSUER = "School consent portal"
STEP_SECONDS = 30
WINDOW = 1  # steps either side of now
DIGITS = 6


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def normalise_code(code: str) -> str:
    """The digits of a code as typed: spaces and dashes are allowed between them."""
    return re.sub(r"[\s\-]", "", code or "")


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@dataclass(frozen=True)
class SetUp:
    """An authenticator app being set up: the secret as text and as a QR code (SVG)."""

    secret: str
    uri: str

    @property
    def grouped(self) -> str:
        return grouped(self.secret)

    def qr_svg(self) -> str:
        """The otpauth:// URI as an SVG QR code, made here (no outside service)."""
        qr = segno.make(self.uri, error="m")
        return str(
            qr.svg_inline(scale=4, dark="#0b0c0c", light="#ffffff", border=4, omitsize=False)
        )


def _uri(user: StaffUser, secret: str) -> str:
    school = user.school.name if user.school is not None else ""
    return _totp(secret).provisioning_uri(
        name=user.email, issuer_name=f"{ISSUER} ({school})" if school else ISSUER
    )


def has_app(staff_user_id: int) -> bool:
    return (
        db.session.scalar(
            select(StaffTotp.id).where(
                StaffTotp.staff_user_id == staff_user_id, StaffTotp.confirmed_at.is_not(None)
            )
        )
        is not None
    )


def pending_set_up(user: StaffUser) -> SetUp | None:
    """The set-up in progress for this user (the same secret until a code confirms it, so
    reloading the page does not change the QR code), or None. Reads only."""
    pending = db.session.scalars(
        select(StaffTotp)
        .where(StaffTotp.staff_user_id == user.id, StaffTotp.confirmed_at.is_(None))
        .order_by(StaffTotp.id.desc())
    ).first()
    if pending is None:
        return None
    secret = unseal(pending.secret_sealed, staff_user_id=user.id)
    return SetUp(secret, _uri(user, secret))


def start_set_up(user: StaffUser, *, now: datetime | None = None) -> SetUp:
    """Begin setting up an app with a new secret (an earlier set-up not finished is
    dropped); the app the user has, if any, keeps working until a code confirms this one."""
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    with writing() as session:
        session.execute(
            delete(StaffTotp).where(
                StaffTotp.staff_user_id == user.id, StaffTotp.confirmed_at.is_(None)
            )
        )
        session.add(
            StaffTotp(
                staff_user_id=user.id,
                secret_sealed=seal(secret, staff_user_id=user.id),
                created_at=now or utcnow(),
            )
        )
    return SetUp(secret, _uri(user, secret))


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step within the window whose code is `code`, or None."""
    code = normalise_code(code)
    if not re.fullmatch(rf"\d{{{DIGITS}}}", code):
        return None
    totp = _totp(secret)
    here = int(now.timestamp()) // STEP_SECONDS
    for step in (here, here - WINDOW, here + WINDOW):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def confirm_set_up(user: StaffUser, code: str, *, now: datetime | None = None) -> bool:
    """Confirm the set-up in progress with a code from the app: it replaces any app the user
    had before. False (and nothing changes) when the code is not right."""
    now = now or utcnow()
    with writing() as session:
        pending = session.scalars(
            select(StaffTotp)
            .where(StaffTotp.staff_user_id == user.id, StaffTotp.confirmed_at.is_(None))
            .order_by(StaffTotp.id.desc())
            .with_for_update()
        ).first()
        if pending is None:
            return False
        step = _matching_step(unseal(pending.secret_sealed, staff_user_id=user.id), code, now)
        if step is None:
            return False
        session.execute(
            delete(StaffTotp).where(StaffTotp.staff_user_id == user.id, StaffTotp.id != pending.id)
        )
        pending.confirmed_at, pending.last_step = now, step
        audit_log.record(user, "second_factor.enrol", detail={"factor": "totp"}, now=now)
    return True


def check(user: StaffUser, code: str, *, now: datetime | None = None) -> bool:
    """Whether `code` is a code from the user's app that has not been used: accepted once."""
    now = now or utcnow()
    row = db.session.scalars(
        select(StaffTotp).where(
            StaffTotp.staff_user_id == user.id, StaffTotp.confirmed_at.is_not(None)
        )
    ).first()
    if row is None:
        db.session.rollback()
        return False
    try:
        secret = unseal(row.secret_sealed, staff_user_id=user.id)
    except CannotOpen:
        # The key changed (SECRET_KEY without SECOND_FACTOR_KEY): the app cannot be checked
        # any more. Refused like a wrong code, and said in the log for the operator.
        current_app.logger.error(
            "staff user %s: their authenticator app's secret does not open with this key "
            "(was SECRET_KEY changed without SECOND_FACTOR_KEY?); reset their second factor",
            user.id,
        )
        db.session.rollback()
        return False
    step = _matching_step(secret, code, now)
    if step is None:
        db.session.rollback()
        return False
    with writing() as session:
        accepted = session.execute(
            update(StaffTotp)
            .where(
                StaffTotp.id == row.id,
                (StaffTotp.last_step.is_(None)) | (StaffTotp.last_step < step),
            )
            .values(last_step=step)
            .returning(StaffTotp.id)
        ).scalar_one_or_none()
    return accepted is not None


def remove(user: StaffUser) -> None:
    """Forget the user's app (in the caller's transaction)."""
    db.session.execute(delete(StaffTotp).where(StaffTotp.staff_user_id == user.id))
