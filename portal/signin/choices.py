"""Choosing who to act as, when a sign-in may act as more than one account (docs/security.md,
promise 7).

The choice is held on the server, not in the cookie: a row with the accounts offered, found by
the SHA-256 of a random id that the browser's session keeps. Making the choice is one
conditional UPDATE ... WHERE used_at IS NULL AND expires_at > now, as using a link is, so a
copy of the cookie, or two presses at once, make one session.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..database import writing
from ..extensions import db
from ..models import PrincipalType, SignInChoice
from ..types import utcnow
from .links import LinkState, Principal, SignInError
from .tokens import hash_token

CHOICE_SECONDS = 300


def offer_choice(principals: list[Principal], *, now: datetime | None = None) -> str:
    """Hold a choice between these accounts for CHOICE_SECONDS; returns the id for the
    browser's session."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    options = [[p.type.value, p.id, p.label, p.school, p.role] for p in principals]
    with writing() as session:
        session.add(
            SignInChoice(
                token_hash=hash_token(token),
                options=json.dumps(options),
                created_at=now,
                expires_at=now + timedelta(seconds=CHOICE_SECONDS),
            )
        )
    return token


def _options(stored: str) -> list[Principal]:
    """The accounts offered: each [type, id, label, school, role] (a choice held before the
    school and role were kept has only the first three)."""
    return [
        Principal(PrincipalType(kind), int(id_), label, *rest)
        for kind, id_, label, *rest in json.loads(stored)
    ]


def pending_choice(token: str | None, *, now: datetime | None = None) -> list[Principal] | None:
    """The accounts of a choice that can still be made, or None (no such choice, made
    already, or too late). Reads only."""
    if not token:
        return None
    now = now or utcnow()
    row = db.session.scalars(
        select(SignInChoice).where(SignInChoice.token_hash == hash_token(token))
    ).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return _options(row.options)


def make_choice(token: str, key: str, *, now: datetime | None = None) -> Principal:
    """Make the choice, once: the account whose `key` was chosen. Raises SignInError (USED,
    EXPIRED or UNKNOWN) when the choice cannot be made, or the key was not offered (then the
    choice is left as it was)."""
    now = now or utcnow()
    token_hash = hash_token(token)
    row = db.session.scalars(
        select(SignInChoice).where(SignInChoice.token_hash == token_hash)
    ).first()
    chosen = next((p for p in _options(row.options) if p.key == key), None) if row else None
    if row is None or chosen is None:
        db.session.rollback()
        raise SignInError(LinkState.UNKNOWN)
    with writing() as session:
        made = session.execute(
            update(SignInChoice)
            .where(
                SignInChoice.id == row.id,
                SignInChoice.used_at.is_(None),
                SignInChoice.expires_at > now,
            )
            .values(used_at=now)
            .returning(SignInChoice.id)
        ).scalar_one_or_none()
    if made is None:
        raise SignInError(LinkState.EXPIRED if row.expires_at <= now else LinkState.USED)
    return chosen
