"""What a link or code does over time: expiry, superseding, forgery, wrong codes, races.

The clock is controlled by passing `now=` to `portal.signin`; pages are then checked
through the test client, which runs on the real clock.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import signin
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import SignInRequest
from portal.types import utcnow
from tests.support.client import csrf_token
from tests.support.mail import (
    ask_for_link,
    sign_in_code,
    sign_in_path,
    sign_in_requests,
    user_sessions,
)

LINK_LIFETIME = timedelta(minutes=15)


def request_at(address, when):
    """Ask for a link as if at `when`; returns (request row, token, code)."""
    outcome = signin.request_link(address, now=when)
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == outcome.public_id)
    ).one()
    return row, signin.derive_token(row.nonce), signin.derive_code(row.nonce)


def problem_page(client, token):
    page = client.get(f"/sign-in/link/{token}")
    assert page.status_code == 200
    assert "Continue to sign in" not in page.text
    return page.text


# --- expiry ------------------------------------------------------------------------------


def test_a_link_works_for_15_minutes_and_not_a_moment_longer(smtp_app, family):
    start = utcnow()
    _row, token, _code = request_at(family.email, start)
    with pytest.raises(signin.SignInError) as refused:
        signin.use_link(token, now=start + LINK_LIFETIME)
    assert refused.value.state == signin.LinkState.EXPIRED
    assert signin.link_state(token, now=start + LINK_LIFETIME) == signin.LinkState.EXPIRED
    assert user_sessions() == []

    principals = signin.use_link(token, now=start + LINK_LIFETIME - timedelta(seconds=1))
    assert [p.id for p in principals] == [family.guardian.id]


def test_the_code_expires_with_the_link(smtp_app, family):
    start = utcnow()
    row, _token, code = request_at(family.email, start)
    with pytest.raises(signin.SignInError) as refused:
        signin.use_code(row.public_id, code, now=start + LINK_LIFETIME + timedelta(minutes=1))
    assert refused.value.state == signin.LinkState.EXPIRED
    assert signin.use_code(row.public_id, code, now=start + timedelta(minutes=14))


def test_an_expired_link_says_so(smtp_app, smtp_client, family):
    _row, token, _code = request_at(family.email, utcnow() - LINK_LIFETIME - timedelta(seconds=1))
    text = problem_page(smtp_client, token)
    assert "This sign-in link has expired" in text
    assert "Sign-in links work for 15 minutes" in text
    assert 'href="/sign-in"' in text

    response = smtp_client.post(
        f"/sign-in/link/{token}", data={"csrf_token": csrf_token(smtp_client.get("/sign-in"))}
    )
    assert response.status_code == 200
    assert "This sign-in link has expired" in response.text
    assert user_sessions() == []


def test_a_configured_lifetime_above_15_minutes_is_capped(make_app, family):
    app = make_app(SIGN_IN_LINK_MINUTES=60)
    with app.app_context():
        start = utcnow()
        row, _token, _code = request_at(family.email, start)
        assert row.expires_at - row.created_at == LINK_LIFETIME


# --- a newer link replaces older ones --------------------------------------------------------


def test_a_newer_link_supersedes_the_older(smtp_app, smtp_client, smtp_server, family):
    first_browser, second_browser = smtp_app.test_client(), smtp_app.test_client()
    ask_for_link(first_browser, family.email)
    ask_for_link(second_browser, family.email)
    older, newer = smtp_server.wait_for(2)

    text = problem_page(smtp_client, sign_in_path(older).rsplit("/", 1)[1])
    assert "A newer sign-in link has been sent" in text
    # Its code is superseded too, in the browser that asked for it.
    page = first_browser.get("/sign-in/check-your-email")
    refused = first_browser.post(
        "/sign-in/code", data={"code": sign_in_code(older), "csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 400
    assert user_sessions() == []

    page = smtp_client.get(sign_in_path(newer))
    response = smtp_client.post(sign_in_path(newer), data={"csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/family"
    first, second = sign_in_requests()
    assert first.superseded_at is not None and first.used_at is None
    assert second.used_at is not None and second.superseded_at is None


def test_an_email_for_a_link_already_superseded_is_not_sent(smtp_app, smtp_server, family):
    """A retry of an old email would only deliver a dead link: it is skipped, not sent."""
    signin.request_link(family.email)
    signin.request_link(family.email)
    result = send_pending()
    assert (result.sent, result.skipped) == (1, 1)
    (received,) = smtp_server.wait_for(1)
    assert signin.link_state(sign_in_path(received).rsplit("/", 1)[1]) == signin.LinkState.VALID


# --- forged and mistyped links ---------------------------------------------------------------

FORGED = [
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "x",
    "not-a-token_at_all",
    "%00%ff",
    "%C3%A9t%C3%A9",
    "A" * 2000,
]


@pytest.mark.parametrize("token", FORGED, ids=range(len(FORGED)))
def test_a_forged_link_does_not_work(smtp_app, smtp_client, family, token):
    ask_for_link(smtp_app.test_client(), family.email)  # a real request exists beside it
    page = smtp_client.get(f"/sign-in/link/{token}")
    assert page.status_code == 200
    assert "This sign-in link does not work" in page.text
    assert smtp_client.head(f"/sign-in/link/{token}").status_code == 200
    response = smtp_client.post(
        f"/sign-in/link/{token}", data={"csrf_token": csrf_token(smtp_client.get("/sign-in"))}
    )
    assert response.status_code == 200
    assert "This sign-in link does not work" in response.text
    assert user_sessions() == []


def test_a_link_cut_short_by_an_email_program_does_not_work(
    smtp_app, smtp_client, smtp_server, family
):
    ask_for_link(smtp_client, family.email)
    (received,) = smtp_server.wait_for(1)
    path = sign_in_path(received)
    assert "This sign-in link does not work" in smtp_client.get(path[:-1]).text
    assert "Continue to sign in" in smtp_client.get(path).text


def test_a_link_signed_with_another_secret_key_does_not_work(make_app, family):
    """The token is derived with the secret key: the same nonce under another key is no link."""
    other = make_app(SECRET_KEY="another-secret-key-that-is-long-enough-9876543210")
    row, token, _code = request_at(family.email, utcnow())
    with other.app_context():
        forged = signin.derive_token(row.nonce)
    assert forged != token
    assert signin.link_state(forged) == signin.LinkState.UNKNOWN
    assert signin.link_state(token) == signin.LinkState.VALID


# --- wrong codes -----------------------------------------------------------------------------


def test_five_wrong_codes_stop_the_request_and_its_link(smtp_app, smtp_client, smtp_server, family):
    ask_for_link(smtp_client, family.email)
    (received,) = smtp_server.wait_for(1)
    code = sign_in_code(received)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page = smtp_client.get("/sign-in/check-your-email")
    for attempt in range(1, 6):
        response = smtp_client.post(
            "/sign-in/code", data={"code": wrong, "csrf_token": csrf_token(page)}
        )
        assert response.status_code == 400
        assert "The code is not right" in response.text
        (row,) = sign_in_requests()
        assert row.code_attempts == attempt

    response = smtp_client.post(
        "/sign-in/code", data={"code": code, "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 400
    assert "Too many wrong codes. Ask for a new link." in response.text
    assert smtp_client.get("/family").status_code == 302

    path = sign_in_path(received)
    text = problem_page(smtp_app.test_client(), path.rsplit("/", 1)[1])
    assert "This sign-in link does not work any more" in text
    assert "wrong code" in text
    other = smtp_app.test_client()
    refused = other.post(path, data={"csrf_token": csrf_token(other.get("/sign-in"))})
    assert "This sign-in link does not work any more" in refused.text
    assert user_sessions() == []


def test_a_malformed_code_is_a_form_error_and_costs_no_attempt(
    smtp_app, smtp_client, smtp_server, family
):
    ask_for_link(smtp_client, family.email)
    smtp_server.wait_for(1)
    page = smtp_client.get("/sign-in/check-your-email")
    for typed, error in [("", "Enter the 6-digit code"), ("12345", "The code is 6 digits")]:
        response = smtp_client.post(
            "/sign-in/code", data={"code": typed, "csrf_token": csrf_token(page)}
        )
        assert response.status_code == 400
        assert error in response.text
        assert "There is a problem" in response.text
    (row,) = sign_in_requests()
    assert row.code_attempts == 0


# --- two uses at once ------------------------------------------------------------------------


def _race(path, clients_and_tokens):
    barrier = threading.Barrier(len(clients_and_tokens))
    results = [None] * len(clients_and_tokens)

    def press_continue(index, client, token):
        barrier.wait()
        response = client.post(path, data={"csrf_token": token})
        results[index] = (response.status_code, response.headers.get("Location"), response.text)

    threads = [
        threading.Thread(target=press_continue, args=(index, client, token))
        for index, (client, token) in enumerate(clients_and_tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(result is not None for result in results), "a request did not finish"
    return results


@pytest.mark.parametrize("round_", range(3))  # a race: three tries
def test_two_continues_at_once_make_exactly_one_session(smtp_app, smtp_server, family, round_):
    ask_for_link(smtp_app.test_client(), family.email)
    (received,) = smtp_server.wait_for(1)
    path = sign_in_path(received)
    clients = [smtp_app.test_client() for _ in range(2)]
    tokens = [csrf_token(client.get(path)) for client in clients]

    results = _race(path, list(zip(clients, tokens, strict=True)))

    successes = [r for r in results if r[0] == 302 and r[1] == "/family"]
    refusals = [r for r in results if r[0] == 200 and "already been used" in r[2]]
    assert len(successes) == 1, results
    assert len(refusals) == 1, results
    (opened,) = user_sessions()
    assert opened.guardian_id == family.guardian.id
    assert sum(client.get("/family").status_code == 200 for client in clients) == 1
