"""Signing in by the emailed link and by the code, with a real SMTP server (docs/security.md,
promises 1–3)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from portal.extensions import db
from portal.models import OutboxMessage, SignInRequest
from tests.support.client import csrf_token
from tests.support.factories import make_school, make_staff
from tests.support.mail import (
    ask_for_link,
    fresh,
    row_values,
    session_cookie,
    sign_in_code,
    sign_in_link,
    sign_in_path,
    sign_in_requests,
    user_sessions,
)


def test_the_sign_in_email(smtp_app, smtp_client, smtp_server, family):
    response = ask_for_link(smtp_client, "  Alex.Morgan@EXAMPLE.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in/check-your-email"

    (received,) = smtp_server.wait_for(1)
    message = received.message
    assert received.rcpt_tos == [family.email]
    assert message["To"] == family.email
    assert message["From"] == smtp_app.config["MAIL_DEFAULT_SENDER"]
    assert message["Subject"] == "Your sign-in link for Oak Primary School"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"

    text, html = received.text(), received.html()
    link = sign_in_link(received)
    base_url = smtp_app.config["BASE_URL"]
    assert link.startswith(f"{base_url}/sign-in/link/")
    assert len(urlsplit(link).path.rsplit("/", 1)[1]) >= 43  # 256 bits, base64url
    code = sign_in_code(received)
    for part in (text, html):
        assert link in part
        assert code in part
        assert "Oak Primary School" in part
        assert "If you did not ask to sign in, you can ignore this email" in part
        assert "15 minutes" in part, "the email says how long the link works"
    assert f'href="{link}"' in html
    assert "<img" not in html.lower()
    for part in (text, html):
        for url in re.findall(r"https?://[^\s\"'<>]+", part):
            assert url.startswith(base_url + "/"), f"an external address in the email: {url}"
    smtp_server.assert_no_more(1)


def test_opening_the_link_changes_nothing_and_continue_signs_in_once(
    smtp_app, smtp_client, smtp_server, family
):
    ask_for_link(smtp_client, family.email)
    (received,) = smtp_server.wait_for(1)
    path = sign_in_path(received)
    (before,) = [row_values(row) for row in sign_in_requests()]

    # What mail scanners do: HEAD and GET, more than once, from elsewhere and from here.
    scanner = smtp_app.test_client()
    assert scanner.head(path).status_code == 200
    assert scanner.get(path).status_code == 200
    assert smtp_client.head(path).status_code == 200
    page = smtp_client.get(path)
    assert page.status_code == 200
    assert "Continue to sign in" in page.text
    assert f'action="{path}"' in page.text  # the button posts back to the link
    assert [row_values(row) for row in sign_in_requests()] == [before]
    assert user_sessions() == []

    response = smtp_client.post(path, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/family"
    home = smtp_client.get("/family")
    assert home.status_code == 200
    assert "Your children" in home.text
    assert "Robin Morgan" in home.text
    (used,) = sign_in_requests()
    assert used.used_at is not None
    (opened,) = user_sessions()
    assert opened.guardian_id == family.guardian.id and opened.ended_at is None

    again = smtp_client.get(path)
    assert again.status_code == 200
    assert "This sign-in link has already been used" in again.text
    assert "Continue to sign in" not in again.text
    again = smtp_client.post(path, data={"csrf_token": csrf_token(home)})
    assert "This sign-in link has already been used" in again.text

    # Someone else with the link (a forwarded email, a scanner that presses buttons).
    other = smtp_app.test_client()
    assert "This sign-in link has already been used" in other.get(path).text
    refused = other.post(path, data={"csrf_token": csrf_token(other.get("/sign-in"))})
    assert refused.status_code == 200
    assert "This sign-in link has already been used" in refused.text
    assert other.get("/family").status_code == 302
    assert len(user_sessions()) == 1
    smtp_server.assert_no_more(1)


def test_the_code_signs_in_only_the_browser_that_asked(smtp_app, smtp_server, family):
    asker = smtp_app.test_client()
    ask_for_link(asker, family.email)
    (received,) = smtp_server.wait_for(1)
    code = sign_in_code(received)
    page = asker.get("/sign-in/check-your-email")
    assert page.status_code == 200
    assert "Code from the email" in page.text
    before_sign_in = session_cookie(asker, smtp_app)

    # A browser that did not ask has no pending request: the right code does nothing there.
    stranger = smtp_app.test_client()
    assert stranger.get("/sign-in/check-your-email").headers["Location"] == "/sign-in"
    token = csrf_token(stranger.get("/sign-in"))
    refused = stranger.post("/sign-in/code", data={"code": code, "csrf_token": token})
    assert refused.status_code == 400
    assert "The code is not right" in refused.text
    assert stranger.get("/family").status_code == 302
    (request,) = sign_in_requests()
    assert request.used_at is None and request.code_attempts == 0

    # Typed with a space in the middle, as people copy it.
    spaced = f"{code[:3]} {code[3:]}"
    response = asker.post("/sign-in/code", data={"code": spaced, "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/family"
    assert "Robin Morgan" in asker.get("/family").text
    assert len(user_sessions()) == 1

    # The same code again: from the signed-in browser (nothing pending any more) ...
    token = csrf_token(asker.get("/family"))
    again = asker.post("/sign-in/code", data={"code": code, "csrf_token": token})
    assert again.status_code == 400
    assert "The code is not right" in again.text
    # ... and from a copy of that browser's cookie from before it signed in.
    replay = smtp_app.test_client()
    replay.set_cookie(smtp_app.config["SESSION_COOKIE_NAME"], before_sign_in)
    again = replay.post("/sign-in/code", data={"code": code, "csrf_token": csrf_token(page)})
    assert again.status_code == 400
    assert replay.get("/family").status_code == 302
    assert len(user_sessions()) == 1

    # And the link of that request is spent too.
    assert "already been used" in smtp_app.test_client().get(sign_in_path(received)).text


def test_the_email_is_sent_after_the_answer(smtp_app, smtp_client, smtp_server, family):
    """The person does not wait for the mail server: delivery starts when the response is
    closed, and the outbox row is marked sent."""
    token = csrf_token(smtp_client.get("/sign-in"))
    response = smtp_client.post("/sign-in", data={"email": family.email, "csrf_token": token})
    assert response.status_code == 302
    smtp_server.assert_no_more(0, settle=0.1)
    response.close()
    smtp_server.wait_for(1)
    fresh()
    (row,) = db.session.query(OutboxMessage).all()
    assert row.sent_at is not None and row.attempts == 0 and row.last_error is None


def test_staff_get_the_same_kind_of_email(smtp_app, smtp_client, smtp_server):
    school = make_school(slug="elm-academy", name="Elm Academy")
    make_staff(school, email="office@elm.example.org")
    ask_for_link(smtp_client, "office@elm.example.org")
    (received,) = smtp_server.wait_for(1)
    assert received.message["Subject"] == "Your sign-in link for Elm Academy"
    assert sign_in_code(received)


def test_a_request_row_keeps_no_secret(smtp_app, smtp_client, smtp_server, family):
    ask_for_link(smtp_client, family.email)
    (received,) = smtp_server.wait_for(1)
    (row,) = sign_in_requests()
    assert isinstance(row, SignInRequest)
    assert row.email == family.email
    assert (row.expires_at - row.created_at).total_seconds() == 15 * 60
    token = sign_in_path(received).rsplit("/", 1)[1]
    assert row.token_hash != token and len(row.token_hash) == 64
    assert row.code_hash != sign_in_code(received)
