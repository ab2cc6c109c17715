"""Secrets kept encrypted at rest: an authenticator app's shared secret is sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from SECOND_FACTOR_KEY, or from SECRET_KEY when
that is not set. The staff user's id is the associated data, so a sealed secret copied to
another user's row does not open. Recovery codes are kept as HMACs under another key derived
the same way, so a copy of the database alone cannot test guesses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

VERSION = "v1"


class CannotOpen(Exception):
    """The sealed value was made with another key, or changed."""


def derived_key(purpose: str) -> bytes:
    config = current_app.config
    master = (config.get("SECOND_FACTOR_KEY") or config["SECRET_KEY"]).encode("utf-8")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"consent-portal second factor",
        info=purpose.encode("ascii"),
    ).derive(master)


def seal(plain: str, *, staff_user_id: int) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(derived_key("totp-secret")).encrypt(
        nonce, plain.encode("utf-8"), str(staff_user_id).encode("ascii")
    )
    return VERSION + ":" + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(value: str, *, staff_user_id: int) -> str:
    version, _, encoded = value.partition(":")
    if version != VERSION:
        raise CannotOpen(f"unknown sealing {version!r}")
    raw = base64.urlsafe_b64decode(encoded.encode("ascii"))
    try:
        plain = AESGCM(derived_key("totp-secret")).decrypt(
            raw[:12], raw[12:], str(staff_user_id).encode("ascii")
        )
    except Exception as exc:  # cryptography's InvalidTag
        raise CannotOpen("the secret does not open with this key") from exc
    return plain.decode("utf-8")


def keyed_hash(purpose: str, message: str) -> str:
    return hmac.new(derived_key(purpose), message.encode("utf-8"), hashlib.sha256).hexdigest()
