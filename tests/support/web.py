"""Tests of the parent journey's pages over HTTP (the browser journeys are in tests/browser)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, update

from portal import signin
from portal.extensions import db
from portal.models import SignInRequest, UserSession
from portal.types import utcnow
from tests.support.client import CheckedClient, csrf_token

PLAIN: dict[str, str] = {}
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/family"}


def sign_in_as(
    client: CheckedClient, address: str, *, home: str = "/family", second_factor: bool = True
) -> Any:
    """Sign in by the emailed link without sending the email (the sign-in tests send it):
    the link is derived from the request row, as the email would carry it. A staff session
    is then marked as having passed its second factor, unless `second_factor` is False."""
    outcome = signin.request_link(address)
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == outcome.public_id)
    ).one()
    path = f"/sign-in/link/{signin.derive_token(row.nonce)}"
    page = client.get(path)
    response = client.post(path, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == home, response.headers["Location"]
    if home.startswith("/staff") and second_factor:
        pass_second_factor(client)
    return response


def pass_second_factor(client: CheckedClient) -> None:
    """Mark the client's staff session as having passed its second factor now, as checking a
    code or a passkey does (tests/auth/test_second_factor*.py go through the real pages; the
    other staff tests start from a session that has passed)."""
    with client.session_transaction() as stored:
        token = stored["_user_id"]
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == signin.hash_token(token))
        .values(second_factor="totp", second_factor_at=utcnow())
    )
    db.session.commit()


def post_form(client: CheckedClient, path: str, data: dict[str, Any], *,
              page: Any, headers: dict[str, str] | None = None) -> Any:  # fmt: skip
    """POST `data` with the CSRF token of `page`, as the browser would send the form."""
    return client.post(path, data={**data, "csrf_token": csrf_token(page)}, headers=headers or {})


def text_of(html: str) -> str:
    """A page's words as a person reads them: the tags gone, white space folded. A name's
    `<bdi>` is part of the word around it ("<bdi>PupilA</bdi>'s" is "PupilA's")."""
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"</?bdi>", "", html)).split())


def say(tag: str, message: str, **values: Any) -> str:
    """`message` as the app says it in the language `tag` (its catalogue, or the pseudo-locale),
    so that a test does not repeat a translation a reviewer may change. Needs an app context."""
    from flask import current_app
    from flask_babel import gettext

    from portal.languages import in_language

    with current_app.test_request_context("/"), in_language(tag):
        return str(gettext(message, **values))
