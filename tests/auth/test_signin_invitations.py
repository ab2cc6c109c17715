"""Signing in from an invitation, with a real SMTP server (docs/security.md, promise 22).

An invitation carries a link that signs its parent or carer in with one press of Continue,
once, within 24 hours of being sent, and only as a parent or carer; opening it changes
nothing. Afterwards, for 30 days, it offers to email a fresh sign-in link to the invited
address with one press; then it is an expired link. Expired, used, superseded, forged and
cut links are refused politely, and no table or log line holds the token.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal import invitations, signin
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import GuardianLink, OutboxMessage, SignInRequest, StaffUser
from portal.types import utcnow
from portal.web.security import RedactSignInLinks
from tests.auth.test_signin_secrets import SMTP_SERVER_LOGGER, every_cell
from tests.support.client import csrf_token
from tests.support.factories import make_staff
from tests.support.mail import (
    ask_for_link,
    fresh,
    row_values,
    sign_in_code,
    sign_in_path,
    sign_in_requests,
    sign_in_token,
    user_sessions,
)

HEAD_TEACHER = "head@oak.example.org"
# Far enough apart that the same admin's sends are not taken for a double click.
SEND_GAP = invitations.REPEAT_WINDOW + timedelta(seconds=1)


@pytest.fixture
def admin(family):
    return make_staff(family.school, email=HEAD_TEACHER, role="admin", name="Pat Head")


def invite(admin, server, address, *, ago=timedelta(0)):
    """Send an invitation to every parent of the admin's school, `ago` in the past, as the
    mail worker would have then; the email that reached `address`."""
    when = utcnow() - ago
    before = len(server.messages)
    fresh()
    staff = db.session.get(StaffUser, admin.id)
    invitations.send(staff, "all", now=when)
    assert send_pending(now=when).sent >= 1
    arrived = server.wait_for(before + 1)[before:]
    (received,) = [m for m in arrived if m.rcpt_tos == [address]]
    assert received.message["Subject"] == "Oak Primary School asks for your choices"
    return received


def outbox_count():
    fresh()
    return len(db.session.scalars(select(OutboxMessage.id)).all())


def test_the_invitation_link_signs_the_parent_in_with_one_press(
    smtp_app, smtp_client, smtp_server, family, admin
):
    """The invitation's link opens the Continue page, and Continue opens the parent's
    children: one press. Opening it, as mail scanners do, changes nothing."""
    received = invite(admin, smtp_server, family.email)
    path = sign_in_path(received)
    link = smtp_app.config["BASE_URL"] + path
    assert len(sign_in_token(received)) >= 43  # 256 bits, base64url
    assert link in received.text()
    assert f'href="{link}"' in received.html()
    text = " ".join(received.text().split())
    assert "The link signs you in once, within 24 hours of this email being sent." in text
    assert "Please do not forward this email" in text

    before = [row_values(row) for row in sign_in_requests()]
    scanner = smtp_app.test_client()
    assert scanner.head(path).status_code == 200
    assert scanner.get(path).status_code == 200
    assert smtp_client.head(path).status_code == 200
    page = smtp_client.get(path)
    assert page.status_code == 200
    assert "Continue to sign in" in page.text
    assert "This link from your invitation signs you in once, as a parent or carer" in page.text
    assert [row_values(row) for row in sign_in_requests()] == before
    assert user_sessions() == []

    response = smtp_client.post(path, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/family"
    assert "Robin Morgan" in smtp_client.get("/family").text
    (session,) = user_sessions()
    assert (session.principal_type, session.guardian_id) == ("guardian", family.guardian.id)

    # Once: a second press, here or anywhere, is refused politely and signs nobody in.
    other = smtp_app.test_client()
    page = other.get(path)
    assert "This invitation link has already been used" in page.text
    assert "If you did not use this one yourself, contact the school." in page.text
    assert "Email me a sign-in link" in page.text
    again = other.post(path, data={"csrf_token": csrf_token(page)})
    assert again.status_code == 200
    assert "This invitation link has already been used" in again.text
    assert len(user_sessions()) == 1


def test_a_parent_who_is_also_staff_gets_the_parent_session(
    smtp_app, smtp_client, smtp_server, family, admin
):
    """An invitation's link never gives a staff session: a parent whose address is a staff
    user's too is signed in as the parent, without being asked which."""
    make_staff(family.school, email=family.email, role="admin", name="Alex Morgan")
    received = invite(admin, smtp_server, family.email)
    page = smtp_client.get(sign_in_path(received))
    response = smtp_client.post(sign_in_path(received), data={"csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/family"
    (session,) = user_sessions()
    assert session.principal_type == "guardian" and session.staff_user_id is None
    assert smtp_client.get("/staff").status_code == 403


def test_someone_no_longer_a_parent_is_not_signed_in_even_if_staff(
    smtp_app, smtp_client, smtp_server, family, admin
):
    """Removed from the roster after the invitation was sent: its link signs nobody in, not
    even the staff user the address also is."""
    make_staff(family.school, email=family.email, role="staff", name="Alex Morgan")
    received = invite(admin, smtp_server, family.email)
    with db.session.begin():
        db.session.execute(update(GuardianLink).values(ended_at=utcnow()))
    page = smtp_client.get(sign_in_path(received))
    response = smtp_client.post(sign_in_path(received), data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200
    assert "This sign-in link does not work" in response.text
    assert user_sessions() == []


def test_after_24_hours_the_link_emails_a_fresh_sign_in_link_with_one_press(
    smtp_app, smtp_client, smtp_server, family, admin
):
    """Read a day later, the invitation's link no longer signs in: it offers to email a
    fresh sign-in link to the invited address (without showing it), and that link or its
    code signs in."""
    received = invite(admin, smtp_server, family.email, ago=timedelta(hours=24, minutes=1))
    path = sign_in_path(received)
    before = ([row_values(row) for row in sign_in_requests()], outbox_count())
    assert smtp_client.head(path).status_code == 200
    page = smtp_client.get(path)
    assert page.status_code == 200
    assert "This invitation link has expired" in page.text
    assert "within 24 hours of the invitation being sent" in page.text
    assert "to the address this invitation was sent to. It works for 15 minutes." in page.text
    assert f'action="{path}/new-link"' in page.text
    assert family.email not in page.text
    assert ([row_values(row) for row in sign_in_requests()], outbox_count()) == before

    # Continue, from a page kept open since, signs nobody in.
    refused = smtp_client.post(path, data={"csrf_token": csrf_token(page)})
    assert "This invitation link has expired" in refused.text
    assert user_sessions() == []

    with smtp_client.post(f"{path}/new-link", data={"csrf_token": csrf_token(page)}) as asked:
        pass
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/sign-in/check-your-email"
    fresh_email = smtp_server.wait_for(2)[1]
    assert fresh_email.rcpt_tos == [family.email]
    assert fresh_email.message["Subject"] == "Your sign-in link for Oak Primary School"
    assert sign_in_token(fresh_email) != sign_in_token(received)

    # The invitation's link now gives way to the newer one.
    assert "A newer sign-in link has been sent" in smtp_app.test_client().get(path).text
    # The code works in the browser that pressed the button.
    waiting = smtp_client.get("/sign-in/check-your-email")
    response = smtp_client.post(
        "/sign-in/code",
        data={"code": sign_in_code(fresh_email), "csrf_token": csrf_token(waiting)},
    )
    assert response.headers["Location"] == "/family"
    assert "Robin Morgan" in smtp_client.get("/family").text


def test_the_link_signs_in_for_24_hours_and_renews_for_30_days(smtp_app, family):
    """To the microsecond: the link signs in until 24 hours after it was written, and may
    ask for a fresh email until 30 days after."""
    sent = utcnow() - timedelta(days=40)
    token = signin.make_link(family.email, now=sent).rsplit("/", 1)[1]

    def look(after):
        opened = signin.look_at(token, now=sent + after)
        return opened.state, opened.invitation, opened.renewable

    tick = timedelta(microseconds=1)
    assert look(timedelta(hours=24) - tick) == ("valid", True, False)
    assert look(timedelta(hours=24)) == ("expired", True, True)
    assert look(timedelta(days=30) - tick) == ("expired", True, True)
    assert look(timedelta(days=30)) == ("expired", True, False)
    with pytest.raises(signin.SignInError):
        signin.use_link(token, now=sent + timedelta(hours=24))
    with pytest.raises(signin.SignInError):
        signin.renew(token, now=sent + timedelta(days=30))
    assert signin.use_link(token, now=sent + timedelta(hours=24) - tick)[0].id == (
        family.guardian.id
    )


def test_an_invitation_older_than_30_days_is_an_expired_link(
    smtp_app, smtp_client, smtp_server, family, admin
):
    """After 30 days the link is expired like any other: the page says so and sends the
    person to the sign-in page; asking it for an email anyway is refused and sends none."""
    received = invite(admin, smtp_server, family.email, ago=timedelta(days=30, minutes=1))
    path = sign_in_path(received)
    page = smtp_client.get(path)
    assert "This invitation link has expired" in page.text
    assert "can be used for 30 days after the invitation was sent" in page.text
    assert "Email me a sign-in link" not in page.text and "/new-link" not in page.text
    assert 'href="/sign-in"' in page.text
    rows = len(sign_in_requests())
    token = csrf_token(smtp_client.get("/sign-in"))
    refused = smtp_client.post(f"{path}/new-link", data={"csrf_token": token})
    assert refused.status_code == 400
    assert "This invitation link has expired" in refused.text
    assert len(sign_in_requests()) == rows
    smtp_server.assert_no_more(1)


def test_the_newest_link_to_an_address_is_the_only_one_that_signs_in(
    smtp_app, smtp_client, smtp_server, family, admin
):
    """An invitation supersedes the address's earlier sign-in link and invitation, and a
    sign-in link asked for afterwards supersedes the invitation's (which then offers a
    fresh email)."""
    ask_for_link(smtp_client, family.email)
    (sign_in_email,) = smtp_server.wait_for(1)
    first = invite(admin, smtp_server, family.email, ago=SEND_GAP)
    assert "A newer sign-in link has been sent" in smtp_client.get(sign_in_path(sign_in_email)).text
    second = invite(admin, smtp_server, family.email)
    page = smtp_client.get(sign_in_path(first))
    assert "A newer sign-in link has been sent" in page.text
    assert "Only the latest link we emailed you signs you in." in page.text
    assert "Email me a sign-in link" in page.text
    assert "Continue to sign in" in smtp_client.get(sign_in_path(second)).text

    ask_for_link(smtp_client, family.email)
    smtp_server.wait_for(4)
    page = smtp_client.get(sign_in_path(second))
    assert "A newer sign-in link has been sent" in page.text
    refused = smtp_client.post(sign_in_path(second), data={"csrf_token": csrf_token(page)})
    assert "A newer sign-in link has been sent" in refused.text
    assert user_sessions() == []


@pytest.mark.parametrize("kind", ["forged", "cut short", "another key", "a sign-in link"])
def test_forged_and_broken_links_are_refused_politely(
    make_app, smtp_app, smtp_client, smtp_server, family, admin, kind
):
    """A link that is no invitation's signs nobody in, and cannot ask for an email: the
    page says it does not work and points to the sign-in page; nothing is written."""
    received = invite(admin, smtp_server, family.email)
    token = sign_in_token(received)
    if kind == "forged":
        token = "A" * 43
    elif kind == "cut short":
        token = token[:30]
    elif kind == "another key":
        other = make_app(SECRET_KEY="another-secret-key-" + "x7Qp" * 8)
        with other.app_context():
            token = signin.derive_invitation_token(signin.tokens.new_nonce())
    else:  # an ordinary sign-in link cannot ask for an email in its turn
        ask_for_link(smtp_client, family.email)
        token = sign_in_token(smtp_server.wait_for(2)[1])
    path = f"/sign-in/link/{token}"
    before = ([row_values(row) for row in sign_in_requests()], outbox_count())
    page = smtp_client.get(path)
    form = csrf_token(smtp_client.get("/sign-in"))
    if kind == "a sign-in link":
        assert "Continue to sign in" in page.text
        assert "from your invitation" not in page.text
    else:
        assert "This sign-in link does not work" in page.text
        assert "/new-link" not in page.text
        refused = smtp_client.post(path, data={"csrf_token": form})
        assert "This sign-in link does not work" in refused.text
    asked = smtp_client.post(f"{path}/new-link", data={"csrf_token": form})
    assert asked.status_code == 400
    assert ([row_values(row) for row in sign_in_requests()], outbox_count()) == before
    assert user_sessions() == []


def test_an_invitation_keeps_no_secret_and_has_no_code(
    smtp_app, smtp_client, smtp_server, family, admin, caplog
):
    """The token is in no table and no log line, before and after it is used; the request
    keeps no nonce, and no code signs in with it."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    received = invite(admin, smtp_server, family.email)
    token = sign_in_token(received)
    (row,) = [r for r in sign_in_requests() if signin.is_invitation(r.public_id)]
    assert row.nonce is None
    with pytest.raises(signin.SignInError):
        signin.use_code(row.public_id, "123456")

    def check(stage):
        for table, column, value in every_cell():
            assert token not in str(value), f"{stage}: the token is in {table}.{column}"

    check("after the invitation was sent")
    path = sign_in_path(received)
    page = smtp_client.get(path)
    smtp_client.post(path, data={"csrf_token": csrf_token(page)})
    smtp_client.get(path)  # used: the page with the button that asks for a fresh email
    check("after signing in")
    for record in caplog.records:
        if not record.name.startswith(SMTP_SERVER_LOGGER):
            assert token not in record.getMessage(), f"the token is in a log line of {record.name}"

    # The fresh email's address is redacted in access logs like the link itself.
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '"%s" %s', (f"POST {path}/new-link HTTP/1.1", 302),
        None,
    )  # fmt: skip
    RedactSignInLinks().filter(record)
    assert record.getMessage() == '"POST /sign-in/link/[redacted]/new-link HTTP/1.1" 302'


def test_fresh_emails_from_invitations_count_with_the_sign_in_page_per_address(make_app, family):
    """Asking from an invitation and on the sign-in page share one per-address limit, so a
    leaked invitation adds nothing to what anyone who knows the address can ask for."""
    app = make_app(SIGN_IN_LIMIT_PER_ADDRESS="2 per hour")
    with app.app_context():
        token = signin.make_link(family.email, now=utcnow() - timedelta(days=2)).rsplit("/", 1)[1]
        path = f"/sign-in/link/{token}"
        client = app.test_client()
        token = csrf_token(client.get(path))
        asked = {"email": family.email, "csrf_token": token}
        assert client.post(f"{path}/new-link", data={"csrf_token": token}).status_code == 302
        assert client.post("/sign-in", data=asked).status_code == 302
        limited = client.post(f"{path}/new-link", data={"csrf_token": token})
        assert limited.status_code == 429
        assert "Too many requests" in limited.text
        assert client.post("/sign-in", data=asked).status_code == 429
        fresh()
        assert len(db.session.scalars(select(SignInRequest)).all()) == 3  # the invitation's, two
