"""Asking for a link tells nobody whether an address is known (docs/security.md, promise 5)."""

from __future__ import annotations

import email_validator
import pytest

from portal import emails
from portal.extensions import db
from portal.models import GuardianLink, OutboxMessage
from portal.types import utcnow
from tests.support.client import csrf_token
from tests.support.mail import (
    ask_for_link,
    fresh,
    session_cookie,
    session_data,
    sign_in_requests,
    without_per_request_values,
)

UNKNOWN = "nobody.here@example.org"


def _ask(app, address):
    client = app.test_client()
    response = ask_for_link(client, address)
    page = client.get(response.headers["Location"])
    return client, response, page


def test_known_and_unknown_addresses_get_the_same_answer(smtp_app, smtp_server, family):
    known_client, known, known_page = _ask(smtp_app, family.email)
    unknown_client, unknown, unknown_page = _ask(smtp_app, UNKNOWN)

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/sign-in/check-your-email"
    assert known.get_data() == unknown.get_data()
    assert sorted(known.headers.keys()) == sorted(unknown.headers.keys())
    assert known_page.status_code == unknown_page.status_code == 200
    assert without_per_request_values(known_page.text) == without_per_request_values(
        unknown_page.text
    )
    assert "If this address is registered with a school on this portal" in known_page.text

    # Both browsers hold a pending request of the same shape.
    known_pending = session_data(smtp_app, session_cookie(known_client, smtp_app))
    unknown_pending = session_data(smtp_app, session_cookie(unknown_client, smtp_app))
    assert known_pending.keys() == unknown_pending.keys()
    assert len(known_pending["sign_in_request"]) == len(unknown_pending["sign_in_request"])

    # Only the known address gets an email and a request row.
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == [family.email]
    smtp_server.assert_no_more(1)
    (row,) = sign_in_requests()
    assert row.email == family.email
    fresh()
    assert [m.to_address for m in db.session.query(OutboxMessage)] == [family.email]

    # The unknown browser's code form answers like a wrong code, and counts nothing.
    refused = unknown_client.post(
        "/sign-in/code", data={"code": "123456", "csrf_token": csrf_token(unknown_page)}
    )
    assert refused.status_code == 400
    assert "The code is not right" in refused.text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your email address"),
        ("not an address", "Enter an email address in the correct format"),
        ("a@b", "Enter an email address in the correct format"),
        ("x" * 250 + "@example.org", "254 characters or fewer"),
    ],
)
def test_a_malformed_address_is_a_form_error(smtp_app, smtp_client, smtp_server, typed, message):
    token = csrf_token(smtp_client.get("/sign-in"))
    response = smtp_client.post("/sign-in", data={"email": typed, "csrf_token": token})
    assert response.status_code == 400
    assert message in response.text
    assert "There is a problem" in response.text
    assert response.text.count("<title>Error: Sign in") == 1
    assert sign_in_requests() == []
    smtp_server.assert_no_more(0, settle=0.05)


def test_an_over_long_address_is_refused_before_it_is_parsed(
    smtp_app, smtp_client, smtp_server, monkeypatch
):
    """Under the 64 KiB body limit, a 60,000-character address is still no address: the form
    refuses it on its length alone, before email_validator (or the rate limiter's key, which
    normalises the address too) reads it."""

    def must_not_parse(*args, **kwargs):
        raise AssertionError("email_validator was called for a 60,000-character address")

    monkeypatch.setattr(email_validator, "validate_email", must_not_parse)
    monkeypatch.setattr(emails, "validate_email", must_not_parse)
    token = csrf_token(smtp_client.get("/sign-in"))
    address = "a" * (60_000 - len("@example.org")) + "@example.org"
    response = smtp_client.post("/sign-in", data={"email": address, "csrf_token": token})
    assert response.status_code == 400
    assert "Email address must be 254 characters or fewer" in response.text
    assert "There is a problem" in response.text
    assert "Enter an email address in the correct format" not in response.text
    assert sign_in_requests() == []
    smtp_server.assert_no_more(0, settle=0.05)


def test_a_guardian_whose_links_have_ended_is_unknown(smtp_app, smtp_server, family):
    for link in db.session.query(GuardianLink):
        link.ended_at = utcnow()
    db.session.commit()
    _client, response, _page = _ask(smtp_app, family.email)
    assert response.status_code == 302
    assert sign_in_requests() == []
    smtp_server.assert_no_more(0, settle=0.05)
