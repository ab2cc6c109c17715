"""Passkeys (WebAuthn) as a staff user's second factor, with py_webauthn.

The browser's ceremony is started by asking for options: a challenge is made, and kept on
the server as its SHA-256 with the user, the ceremony and an expiry (CHALLENGE_SECONDS). The
browser's answer names the challenge it signed (in clientDataJSON); that challenge is then
taken once, by one conditional UPDATE, before py_webauthn checks the answer against it, the
relying party id and the origin (both from BASE_URL). The signature counter must go up,
except for a passkey that always says 0 (synced passkeys do).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, func, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import InvalidJSONStructure, WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import audit_log
from ..database import writing
from ..extensions import db
from ..models import StaffPasskey, StaffUser, WebAuthnChallenge
from ..text import single_line_problem
from ..types import utcnow
from .sealed import keyed_hash

CHALLENGE_SECONDS = 300
MAX_NAME = 100
RP_NAME = "School consent portal"


class PasskeyError(Exception):
    """The browser's answer was refused; the message says why, for the log and the page."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party() -> RelyingParty:
    """The relying party id (the host name) and the origin, from BASE_URL."""
    parts = urlsplit(current_app.config["BASE_URL"])
    return RelyingParty(parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}")


def user_handle(staff_user_id: int) -> bytes:
    """The WebAuthn user id: stable for the user, and no personal data (RFC: "opaque")."""
    return bytes.fromhex(keyed_hash("webauthn-user", str(staff_user_id)))


def _hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def passkeys_of(staff_user_id: int) -> list[StaffPasskey]:
    return list(
        db.session.scalars(
            select(StaffPasskey)
            .where(StaffPasskey.staff_user_id == staff_user_id)
            .order_by(StaffPasskey.created_at, StaffPasskey.id)
        )
    )


def count(staff_user_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(StaffPasskey)
            .where(StaffPasskey.staff_user_id == staff_user_id)
        )
        or 0
    )


def _descriptors(passkeys: list[StaffPasskey]) -> list[PublicKeyCredentialDescriptor]:
    descriptors = []
    for passkey in passkeys:
        transports = []
        for name in filter(None, passkey.transports.split(",")):
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue  # a transport this version of py_webauthn does not know
        descriptors.append(
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(passkey.credential_id), transports=transports or None
            )
        )
    return descriptors


def _hold(user: StaffUser, ceremony: str, challenge: bytes, now: datetime) -> None:
    """Keep a new challenge for the user; their challenges that are used or out of time
    are deleted (so the table holds at most the few made in the last minutes)."""
    with writing() as session:
        session.execute(
            delete(WebAuthnChallenge).where(
                WebAuthnChallenge.staff_user_id == user.id,
                (WebAuthnChallenge.expires_at <= now) | WebAuthnChallenge.used_at.is_not(None),
            )
        )
        session.add(
            WebAuthnChallenge(
                staff_user_id=user.id,
                ceremony=ceremony,
                challenge_hash=_hash(challenge),
                created_at=now,
                expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
            )
        )


def _take(user: StaffUser, ceremony: str, client_data_json: bytes, now: datetime) -> bytes:
    """The challenge the browser signed, taken once: it must be one we made for this user
    and this ceremony, unused and in time."""
    try:
        challenge = parse_client_data_json(client_data_json).challenge
    except (InvalidJSONStructure, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("the answer's client data cannot be read") from exc
    with writing() as session:
        taken = session.execute(
            update(WebAuthnChallenge)
            .where(
                WebAuthnChallenge.challenge_hash == _hash(challenge),
                WebAuthnChallenge.staff_user_id == user.id,
                WebAuthnChallenge.ceremony == ceremony,
                WebAuthnChallenge.used_at.is_(None),
                WebAuthnChallenge.expires_at > now,
            )
            .values(used_at=now)
            .returning(WebAuthnChallenge.id)
        ).scalar_one_or_none()
    if taken is None:
        raise PasskeyError("the challenge is unknown, used already or too old")
    return challenge


# --- registering a passkey ------------------------------------------------------------------


def registration_options(user: StaffUser, *, now: datetime | None = None) -> str:
    """Options for navigator.credentials.create(), as JSON; the challenge is held."""
    now = now or utcnow()
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_id=user_handle(user.id),
        user_name=user.email,
        user_display_name=user.name or user.email,
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(passkeys_of(user.id)),
    )
    _hold(user, "register", options.challenge, now)
    return options_to_json(options)


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "Enter a name for this passkey, such as the device it is on"
    if len(name.strip()) > MAX_NAME:
        return f"The name must be {MAX_NAME} characters or fewer"
    if wrong := single_line_problem(name.strip()):
        return f"The name {wrong}"
    return None


def register(
    user: StaffUser, answer: str | dict[str, Any], *, name: str, now: datetime | None = None
) -> StaffPasskey:
    """Check the browser's answer to `registration_options` and keep the new passkey."""
    now = now or utcnow()
    if problem := name_problem(name):
        raise PasskeyError(problem)
    try:
        credential = parse_registration_credential_json(answer)
    except (InvalidJSONStructure, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("the browser's answer cannot be read") from exc
    challenge = _take(user, "register", credential.response.client_data_json, now)
    rp = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except WebAuthnException as exc:
        raise PasskeyError(str(exc)) from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    transports = ",".join(t.value for t in (credential.response.transports or []))
    with writing() as session:
        if session.scalar(
            select(StaffPasskey.id).where(StaffPasskey.credential_id == credential_id)
        ):
            raise PasskeyError("this passkey is registered already")
        passkey = StaffPasskey(
            staff_user_id=user.id,
            credential_id=credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            name=name.strip(),
            transports=transports,
            backed_up=bool(verified.credential_backed_up),
            created_at=now,
        )
        session.add(passkey)
        session.flush()
        audit_log.record(
            user,
            "second_factor.enrol",
            detail={"factor": "passkey", "passkey_id": passkey.id, "name": passkey.name},
            now=now,
        )
    return passkey


# --- signing in with a passkey -------------------------------------------------------------


def authentication_options(user: StaffUser, *, now: datetime | None = None) -> str | None:
    """Options for navigator.credentials.get() with the user's passkeys, as JSON (the
    challenge is held); None when the user has no passkey."""
    now = now or utcnow()
    passkeys = passkeys_of(user.id)
    if not passkeys:
        return None
    options = generate_authentication_options(
        rp_id=relying_party().id,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(passkeys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _hold(user, "authenticate", options.challenge, now)
    return options_to_json(options)


def authenticate(
    user: StaffUser, answer: str | dict[str, Any], *, now: datetime | None = None
) -> StaffPasskey:
    """Check the browser's answer to `authentication_options`: one of this user's passkeys
    signed our challenge, for our origin, with a counter that went up (or stays 0)."""
    now = now or utcnow()
    try:
        credential = parse_authentication_credential_json(answer)
    except (InvalidJSONStructure, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("the browser's answer cannot be read") from exc
    challenge = _take(user, "authenticate", credential.response.client_data_json, now)
    passkey = db.session.scalars(
        select(StaffPasskey).where(
            StaffPasskey.staff_user_id == user.id,
            StaffPasskey.credential_id == bytes_to_base64url(credential.raw_id),
        )
    ).first()
    if passkey is None:
        db.session.rollback()
        raise PasskeyError("this passkey is not one of yours")
    rp = relying_party()
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except WebAuthnException as exc:
        db.session.rollback()
        raise PasskeyError(str(exc)) from exc
    # The counter only goes up (a copy of the passkey used in between loses the race), or
    # stays 0 for a passkey that does not count.
    counter_moves = (
        StaffPasskey.sign_count == 0
        if verified.new_sign_count == 0
        else StaffPasskey.sign_count < verified.new_sign_count
    )
    with writing() as session:
        moved = session.execute(
            update(StaffPasskey)
            .where(StaffPasskey.id == passkey.id, counter_moves)
            .values(sign_count=verified.new_sign_count, last_used_at=now)
            .returning(StaffPasskey.id)
        ).scalar_one_or_none()
        if moved is None:
            raise PasskeyError("the passkey's counter did not go up")
    return passkey


def remove(user: StaffUser, passkey_id: int, *, now: datetime | None = None) -> StaffPasskey:
    """Remove one of the user's own passkeys (the caller checks another factor remains)."""
    with writing() as session:
        passkey = session.scalars(
            select(StaffPasskey).where(
                StaffPasskey.id == passkey_id, StaffPasskey.staff_user_id == user.id
            )
        ).first()
        if passkey is None:
            raise PasskeyError("no such passkey")
        session.delete(passkey)
        audit_log.record(
            user,
            "second_factor.remove",
            detail={"factor": "passkey", "passkey_id": passkey.id, "name": passkey.name},
            now=now,
        )
    return passkey


def remove_all(user: StaffUser) -> None:
    """Forget every passkey and challenge of the user (in the caller's transaction)."""
    db.session.execute(delete(StaffPasskey).where(StaffPasskey.staff_user_id == user.id))
    db.session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.staff_user_id == user.id))
