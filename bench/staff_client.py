"""A staff user's test client for the benchmarks, signed in as a browser signs in: the emailed
link and its POST, then the second factor, recorded as an authenticator app's code records it
(`second_factor.record_pass`). Every staff page needs both; a script that stopped at the link
would measure the page that asks for the second factor instead.

Imported by the scripts of bench/ (a script's own folder comes first on sys.path).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(page: str) -> str:
    """The CSRF token of a page's first form."""
    match = CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def staff_client(app: Any, email: str) -> Any:
    """A Flask test client signed in as the staff user of `email`, second factor passed."""
    from portal import second_factor, signin
    from portal.extensions import db
    from portal.models import SignInRequest

    with app.app_context():
        outcome = signin.request_link(email)
        row = db.session.scalars(
            select(SignInRequest).where(SignInRequest.public_id == outcome.public_id)
        ).one()
        assert row.nonce is not None
        path = f"/sign-in/link/{signin.derive_token(row.nonce)}"
        db.session.remove()
    client = app.test_client()
    response = client.post(path, data={"csrf_token": csrf(client.get(path).get_data(True))})
    assert response.status_code == 302, response.status_code
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None, "no session cookie after signing in"
    token = app.session_interface.get_signing_serializer(app).loads(cookie.value)["_user_id"]
    with app.test_request_context("/"):
        user = signin.load_session(token)
        assert user is not None and user.staff is not None, email
        second_factor.record_pass(user.staff, token, "totp")
        db.session.remove()
    return client
