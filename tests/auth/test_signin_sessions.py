"""Sessions: renewed at sign-in, ended on the server at sign-out, idle and absolute limits,
cookie flags (docs/security.md, promises 7 and 8)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from portal import signin
from portal.extensions import db
from portal.models import PrincipalType, UserSession
from portal.types import utcnow
from tests.support.client import csrf_token
from tests.support.factories import make_school, make_staff
from tests.support.mail import (
    ask_for_link,
    make_family,
    session_cookie,
    session_data,
    sign_in,
    sign_in_with_email,
    user_sessions,
)


def _replay(app, cookie_value):
    """A fresh browser holding a copy of someone's session cookie."""
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_value)
    return thief


def _set_session(**values):
    db.session.execute(update(UserSession).values(**values))
    db.session.commit()


def test_sign_out_ends_the_session_on_the_server(smtp_app, smtp_client, smtp_server, family):
    assert sign_in(smtp_client, smtp_server, family.email).status_code == 302
    signed_in_cookie = session_cookie(smtp_client, smtp_app)
    assert _replay(smtp_app, signed_in_cookie).get("/family").status_code == 200

    page = smtp_client.get("/family")
    assert "Sign out" in page.text
    response = smtp_client.post("/sign-out", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/signed-out"
    signed_out = smtp_client.get("/signed-out")
    assert "You have signed out" in signed_out.text
    assert "Sign out" not in signed_out.text

    (row,) = user_sessions()
    assert row.ended_at is not None
    replayed = _replay(smtp_app, signed_in_cookie).get("/family")
    assert replayed.status_code == 302
    assert replayed.headers["Location"] == "/sign-in"
    assert smtp_client.get("/family").status_code == 302


def test_sign_out_needs_a_post_with_the_csrf_token(smtp_app, smtp_client, smtp_server, family):
    sign_in(smtp_client, smtp_server, family.email)
    assert smtp_client.get("/sign-out").status_code == 405
    refused = smtp_client.post("/sign-out", data={})
    assert refused.status_code == 400
    assert "Your form has expired" in refused.text
    assert smtp_client.get("/family").status_code == 200
    (row,) = user_sessions()
    assert row.ended_at is None


def test_the_session_is_renewed_at_sign_in(smtp_app, smtp_client, smtp_server, family):
    ask_for_link(smtp_client, family.email)
    before = session_cookie(smtp_client, smtp_app)
    assert "sign_in_request" in session_data(smtp_app, before)
    (received,) = smtp_server.wait_for(1)
    sign_in_with_email(smtp_client, received)
    after = session_cookie(smtp_client, smtp_app)
    assert after != before
    data = session_data(smtp_app, after)
    assert "sign_in_request" not in data
    assert "csrf_token" not in data  # a new CSRF token is made for the new session
    # The cookie names a server-side session, not a person.
    (row,) = user_sessions()
    assert str(family.guardian.id) != data["_user_id"]
    assert len(data["_user_id"]) >= 43
    assert row.token_hash == signin.hash_token(data["_user_id"]) != data["_user_id"]

    # A cookie planted before sign-in (session fixation) does not become signed in.
    assert _replay(smtp_app, before).get("/family").status_code == 302
    assert smtp_client.get("/family").status_code == 200


def test_signing_in_again_ends_the_previous_session(smtp_app, smtp_client, smtp_server, family):
    sign_in(smtp_client, smtp_server, family.email)
    first_cookie = session_cookie(smtp_client, smtp_app)
    # A new link, asked for elsewhere, opened in the browser that is still signed in.
    ask_for_link(smtp_app.test_client(), family.email)
    sign_in_with_email(smtp_client, smtp_server.wait_for(2)[1])
    first, second = user_sessions()
    assert first.ended_at is not None
    assert second.ended_at is None
    assert _replay(smtp_app, first_cookie).get("/family").status_code == 302
    assert smtp_client.get("/family").status_code == 200


def test_an_idle_session_ends(make_app, mail_servers):
    server = mail_servers()
    app = make_app(PARENT_SESSION_IDLE_MINUTES=5, **server.app_config)
    with app.app_context():
        family = make_family()
        client = app.test_client()
        sign_in(client, server, family.email)

        # Seen four minutes ago: still signed in, and seen again now.
        _set_session(last_seen_at=utcnow() - timedelta(minutes=4))
        assert client.get("/family").status_code == 200
        (row,) = user_sessions()
        assert utcnow() - row.last_seen_at < timedelta(minutes=1)

        _set_session(last_seen_at=utcnow() - timedelta(minutes=5, seconds=1))
        response = client.get("/family")
        assert response.status_code == 302
        assert response.headers["Location"] == "/sign-in"
        (row,) = user_sessions()
        assert row.ended_at is not None
        # Coming back does not revive it.
        _set_session(last_seen_at=utcnow())
        assert client.get("/family").status_code == 302


def test_a_session_ends_at_its_absolute_limit(smtp_app, smtp_client, smtp_server, family):
    sign_in(smtp_client, smtp_server, family.email)
    (row,) = user_sessions()
    assert row.expires_at - row.created_at == timedelta(hours=12)
    _set_session(expires_at=utcnow() - timedelta(seconds=1))
    response = smtp_client.get("/family")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"


def test_staff_sessions_are_shorter_than_parents(smtp_app, smtp_server):
    def minutes(who, limit):
        return smtp_app.config[f"{who}_SESSION_{limit}_MINUTES"]

    assert minutes("STAFF", "IDLE") < minutes("PARENT", "IDLE")
    assert minutes("STAFF", "MAX") < minutes("PARENT", "MAX")
    assert (minutes("STAFF", "IDLE"), minutes("STAFF", "MAX")) == (20, 8 * 60)
    assert (minutes("PARENT", "IDLE"), minutes("PARENT", "MAX")) == (60, 12 * 60)

    family = make_family()
    make_staff(make_school(slug="elm-academy", name="Elm Academy"), email="office@elm.example.org")
    parent_client, staff_client = smtp_app.test_client(), smtp_app.test_client()
    sign_in(parent_client, smtp_server, family.email)
    sign_in(staff_client, smtp_server, "office@elm.example.org")
    parent, staff = user_sessions()
    assert parent.principal_type == "guardian" and staff.principal_type == "staff"
    assert staff.expires_at - staff.created_at == timedelta(hours=8)
    assert parent.expires_at - parent.created_at == timedelta(hours=12)

    # Both idle for 21 minutes: the staff session has ended, the parent's has not.
    _set_session(last_seen_at=utcnow() - timedelta(minutes=21))
    assert staff_client.get("/staff").status_code == 302
    assert parent_client.get("/family").status_code == 200


def _set_cookie_headers(response, name):
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def test_cookie_flags(smtp_app, smtp_client, smtp_server, family):
    response = ask_for_link(smtp_client, family.email)
    (pending,) = _set_cookie_headers(response, "session")
    (received,) = smtp_server.wait_for(1)
    response = sign_in_with_email(smtp_client, received)
    (signed_in,) = _set_cookie_headers(response, "session")
    for header in (pending, signed_in):
        attributes = [part.strip().lower() for part in header.split(";")]
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "path=/" in attributes
        assert not any(a.startswith(("expires=", "max-age=")) for a in attributes), (
            "the session cookie lasts only as long as the browser"
        )
    assert not [h for h in response.headers.getlist("Set-Cookie") if "remember" in h]


def test_cookie_flags_in_production(make_app, mail_servers):
    server = mail_servers()
    app = make_app(
        SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-session", **server.app_config
    )
    with app.app_context():
        family = make_family()
        client = app.test_client()
        response = sign_in(client, server, family.email)
        assert response.headers["Location"] == "/family"
        (header,) = _set_cookie_headers(response, "__Host-session")
        attributes = [part.strip().lower() for part in header.split(";")]
        assert "secure" in attributes
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        # What the __Host- prefix requires: Secure, Path=/ and no Domain.
        assert "path=/" in attributes
        assert not any(a.startswith("domain=") for a in attributes)
        assert client.get("/family").status_code == 200


def test_a_guardians_token_chooses_the_guardians_statement_and_the_row_decides(
    smtp_app, smtp_client, smtp_server, family
):
    """A guardian's token starts with the guardian prefix, and their session is read with a
    guardian's columns only; a token without it (from before the prefix) is still read; and
    the prefix never makes a staff user's session a guardian's."""
    sign_in(smtp_client, smtp_server, family.email)
    token = session_data(smtp_app, session_cookie(smtp_client, smtp_app))["_user_id"]
    assert token.startswith(signin.sessions.GUARDIAN_PREFIX)
    with smtp_app.test_request_context("/"):
        user = signin.load_session(token)
        assert user is not None and user.is_guardian and user.staff is None
        assert user.guardian.id == family.guardian.id
        assert user.guardian.email == family.guardian.email
        assert signin.load_session(signin.sessions.GUARDIAN_PREFIX + "not-a-token") is None

        # A guardian's session from before the prefix: the statement for either reads it.
        old = "x" * 43
        db.session.execute(update(UserSession).values(token_hash=signin.hash_token(old)))
        db.session.commit()
        before = signin.load_session(old)
        assert before is not None and before.is_guardian
        assert before.guardian.id == family.guardian.id

        # A staff user's session whose token someone gave the prefix is not a guardian's.
        staff = make_staff(make_school(slug="elm-academy", name="Elm Academy"))
        staff_token = signin.start_session(signin.Principal(PrincipalType.STAFF, staff.id, "test"))
        assert not staff_token.startswith(signin.sessions.GUARDIAN_PREFIX)
        assert signin.load_session(staff_token).is_staff
        forged = signin.sessions.GUARDIAN_PREFIX + staff_token
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == signin.hash_token(staff_token))
            .values(token_hash=signin.hash_token(forged))
        )
        db.session.commit()
        assert signin.load_session(forged) is None
