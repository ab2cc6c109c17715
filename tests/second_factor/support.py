"""Helpers for the second-factor tests: signing in by the emailed link alone (the first
factor, without the shortcut that marks the second as passed), reading the session's row and
the staff audit log."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from portal import signin
from portal.extensions import db
from portal.models import SignInRequest, StaffAuditEntry, UserSession
from tests.support.client import CheckedClient, csrf_token


def sign_in_by_link(client: CheckedClient, address: str, *, home: str = "/staff") -> Any:
    """Open the emailed link and press Continue, as tests/support/web.py `sign_in_as` does,
    but stop there: a staff session has not passed its second factor yet."""
    outcome = signin.request_link(address)
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == outcome.public_id)
    ).one()
    path = f"/sign-in/link/{signin.derive_token(row.nonce)}"
    page = client.get(path)
    response = client.post(path, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == home, response.headers["Location"]
    return response


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
