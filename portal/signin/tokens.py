"""The secrets of a sign-in: a link's token and the code are derived from a random nonce with
the app's secret key when the email is written; only a SHA-256 of the token and an HMAC of the
code are stored, so the raw token is in no table, and the nonce is erased once the email is
written (docs/security.md, promises 3 and 4). An invitation's link is derived the same way,
under a key of its own (promise 22). A session's token is stored the same way
(`hash_token`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app


def new_nonce() -> str:
    """256 random bits, as 64 hex digits."""
    return secrets.token_hex(32)


def _secret(purpose: str) -> bytes:
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(key, purpose.encode("utf-8"), hashlib.sha256).digest()


def derive_token(nonce: str) -> str:
    digest = hmac.new(_secret("sign-in-link"), nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def derive_invitation_token(nonce: str) -> str:
    """An invitation's sign-in link (`invitation_links`): under a key of its own, so that no
    value is both a sign-in link's token and an invitation's."""
    digest = hmac.new(_secret("invitation-link"), nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def derive_code(nonce: str) -> str:
    digest = hmac.new(_secret("sign-in-code"), nonce.encode("ascii"), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_code(public_id: str, code: str) -> str:
    message = f"{public_id}:{code}".encode()
    return hmac.new(_secret("sign-in-code-check"), message, hashlib.sha256).hexdigest()


def digests(nonce: str, public_id: str) -> tuple[str, str]:
    """What request `public_id` stores to check the link and the code derived from `nonce`:
    (token_hash, code_hash)."""
    return hash_token(derive_token(nonce)), hash_code(public_id, derive_code(nonce))
