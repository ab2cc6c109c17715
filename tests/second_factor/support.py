"""Helpers for the second-factor tests: signing in by the emailed link alone (the first
factor, without the shortcut that marks the second as passed), reading the session's row and
the staff audit log."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from portal import signin
from portal.extensions import db
from portal.models import StaffAuditEntry, UserSession
from tests.support.client import CheckedClient
from tests.support.web import sign_in_as


def sign_in_by_link(client: CheckedClient, address: str, *, home: str = "/staff") -> Any:
    """Open the emailed link and press Continue, and stop there: a staff session has not
    passed its second factor yet. Returns the Continue press's response."""
    return sign_in_as(client, address, home=home, second_factor=False)


def session_row(client: CheckedClient) -> UserSession:
    """The server's row of the client's session, as committed now."""
    with client.session_transaction() as stored:
        token = stored["_user_id"]
    db.session.expire_all()
    return db.session.scalars(
        select(UserSession).where(UserSession.token_hash == signin.hash_token(token))
    ).one()


def audit(action: str) -> list[dict[str, Any]]:
    """The details of the staff audit log's entries for `action`, oldest first."""
    db.session.expire_all()
    entries = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == action).order_by(StaffAuditEntry.id)
    )
    return [json.loads(entry.detail) for entry in entries]
