"""The sign-in link in an invitation (docs/security.md, promise 22): from the invitation to
the parent's children with one press of Continue, while the link is fresh; a fresh sign-in
email with one press when it is not.

An invitation is written by the mail worker (`invitations.email_context`), and the link is
made then (`make_link`): a sign-in request for the invited address, kept in
`sign_in_requests` like any other, whose public id starts with `INVITATION_PREFIX`. Its
token is derived from a random nonce under a key of its own (`tokens.derive_invitation_token`)
and only the token's SHA-256 is stored; the nonce is never stored, since the email is
written at the moment the request is made. No code goes with it: the request's code check
value is an HMAC of a random value nobody is told.

Such a link:

- opens the same Continue page as a sign-in link, and opening it changes nothing (promise 1);
- signs in once, within `SIGNS_IN_FOR` (24 hours) of the email being written, and only
  while it is the newest link emailed to the address (it supersedes the address's older
  links, and any newer one supersedes it);
- signs in only as the parent or carer the address is, never as a staff user, even when the
  address is a staff user's too (`links.use_link`);
- once it no longer signs in (used, expired, or superseded), and for `RENEWABLE_FOR` (30
  days) after it was sent, opening it offers to email a fresh sign-in link to the invited
  address with one press (`renew`): what anyone could do by typing that address on the
  sign-in page, with the same limits, so a forwarded or leaked old invitation lets nobody
  in. After that it is an expired link like any other.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import insert, select, text, update

from ..database import writing
from ..extensions import db
from ..models import SignInRequest
from ..types import utcnow
from .links import (
    INVITATION_PREFIX,
    LinkRequest,
    LinkState,
    SignInError,
    accept_request,
    is_invitation,
    state_of,
)
from .tokens import derive_invitation_token, hash_code, hash_token, new_nonce

SIGNS_IN_FOR = timedelta(hours=24)
RENEWABLE_FOR = timedelta(days=30)


def signs_in_hours() -> int:
    return int(SIGNS_IN_FOR.total_seconds() // 3600)


def renewable_days() -> int:
    return RENEWABLE_FOR.days


def make_link(email: str, *, now: datetime | None = None) -> str:
    """The sign-in link for an invitation being written to `email` (normalised), as a full
    address. Its request supersedes the address's unused ones, as any newer link does, in a
    transaction of its own; the token itself is stored nowhere."""
    now = now or utcnow()
    public_id = INVITATION_PREFIX + secrets.token_urlsafe(16)
    token = derive_invitation_token(new_nonce())
    with writing() as session:
        if session.get_bind().dialect.name == "postgresql":
            # The mail worker writes a hundred invitations a second: this commit does not
            # wait for the disk (it would double the cost of each email). A crash of the
            # database within the second after leaves that email's link saying it does not
            # work, and the person signs in by typing their address: nothing worse.
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        session.execute(
            update(SignInRequest)
            .where(
                SignInRequest.email == email,
                SignInRequest.used_at.is_(None),
                SignInRequest.superseded_at.is_(None),
            )
            .values(superseded_at=now, nonce=None)
        )
        session.execute(
            insert(SignInRequest).values(
                public_id=public_id,
                nonce=None,  # the email is written now: nothing to derive later
                email=email,
                token_hash=hash_token(token),
                # No code is sent with an invitation: check against one nobody knows.
                code_hash=hash_code(public_id, secrets.token_hex(32)),
                created_at=now,
                expires_at=now + SIGNS_IN_FOR,
                code_attempts=0,
            )
        )
    return f"{current_app.config['BASE_URL']}/sign-in/link/{token}"


@dataclass(frozen=True)
class OpenedLink:
    """What opening a link at /sign-in/link/<token> finds."""

    state: LinkState
    invitation: bool = False  # the link of an invitation
    # An invitation's link that no longer signs in, but may still email a fresh sign-in
    # link to the invited address (`renew`).
    renewable: bool = False


def _row(token: str) -> SignInRequest | None:
    return db.session.scalars(
        select(SignInRequest).where(SignInRequest.token_hash == hash_token(token))
    ).first()


def _renewable(row: SignInRequest, now: datetime) -> bool:
    return now < row.created_at + RENEWABLE_FOR


def look_at(token: str, *, now: datetime | None = None) -> OpenedLink:
    """What a link would do now, and whether it is an invitation's. Reads only."""
    now = now or utcnow()
    row = _row(token)
    state = state_of(row, now)
    if row is None or not is_invitation(row.public_id):
        return OpenedLink(state)
    renewable = state != LinkState.VALID and _renewable(row, now)
    return OpenedLink(state, invitation=True, renewable=renewable)


def renew(token: str, *, now: datetime | None = None, language: str | None = None) -> LinkRequest:
    """Email a fresh sign-in link to the address an invitation's link was sent to, as the
    sign-in page would (`accept_request`: the same work, the same email, which supersedes
    the invitation's link). SignInError when the token is no invitation's, or its
    invitation is older than RENEWABLE_FOR."""
    now = now or utcnow()
    row = _row(token)
    if row is None or not is_invitation(row.public_id):
        db.session.rollback()
        raise SignInError(LinkState.UNKNOWN)
    if not _renewable(row, now):
        db.session.rollback()
        raise SignInError(LinkState.EXPIRED)
    return accept_request(row.email, now=now, language=language)


def address_of(token: str) -> str | None:
    """The address an invitation's link was sent to (for the per-address rate limit of
    `renew`), or None."""
    row = _row(token)
    return row.email if row is not None and is_invitation(row.public_id) else None
