"""Signing in as a parent does on a phone: Chromium at 390x844, with a real SMTP server.

The app behind `live_server` sends its email to an aiosmtpd server; the test reads the email
from there, opens the link, presses Continue and lands on the children page, then signs out.
Each page of the journey is checked with axe-core against WCAG 2.2 AA.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import invitations, signin
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import SignInRequest
from portal.types import utcnow
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    read_email,
)
from tests.support.factories import make_staff
from tests.support.mail import (
    make_family,
    sign_in_code,
    sign_in_link,
    sign_in_path,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def family(app: Any) -> Any:
    return make_family()


def test_a_parent_signs_in_with_the_emailed_link_and_signs_out(
    family, live_server, smtp_server, page, page_problems
):
    page_problems.allow(f"status of 400 (BAD REQUEST) ({live_server}/sign-in/code)")
    page.goto(live_server + "/sign-in")
    expect(h1(page, "Sign in")).to_be_visible()
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)

    page.get_by_label("Email address").fill(family.email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(h1(page, "Check your email")).to_be_visible()
    expect(page).to_have_url(live_server + "/sign-in/check-your-email")
    assert_no_axe_violations(page)

    # A code of the wrong shape: the error is shown, linked from a summary at the top.
    page.get_by_label("Code from the email").fill("12")
    page.get_by_role("button", name="Sign in").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(page.get_by_role("link", name="The code is 6 digits, like 123456")).to_be_visible()
    expect(page).to_have_title("Error: Check your email – School consent portal")
    assert_no_axe_violations(page)

    received = read_email(smtp_server)
    assert received.rcpt_tos == [family.email]
    assert sign_in_link(received).startswith("http://localhost/sign-in/link/")
    page.goto(live_server + sign_in_path(received))  # BASE_URL is not the test server's
    expect(h1(page, "Continue to sign in")).to_be_visible()
    assert_no_axe_violations(page)

    page.get_by_role("button", name="Continue").click()
    expect(h1(page, "Your children")).to_be_visible()
    expect(page).to_have_url(live_server + "/family")
    expect(page.get_by_role("heading", name="Robin Morgan")).to_be_visible()
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(h1(page, "You have signed out")).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto(live_server + "/family")
    expect(page).to_have_url(live_server + "/sign-in")
    expect(h1(page, "Sign in")).to_be_visible()


def test_a_parent_can_sign_in_with_the_code_instead(family, live_server, smtp_server, page):
    page.goto(live_server + "/sign-in")
    page.get_by_label("Email address").fill(family.email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(h1(page, "Check your email")).to_be_visible()

    received = read_email(smtp_server)
    page.get_by_label("Code from the email").fill(sign_in_code(received))
    page.get_by_role("button", name="Sign in").click()
    expect(h1(page, "Your children")).to_be_visible()
    expect(page.get_by_role("heading", name="Robin Morgan")).to_be_visible()


def test_an_expired_link_explains_itself(family, live_server, page):
    outcome = signin.request_link(family.email, now=utcnow() - timedelta(minutes=16))
    row = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == outcome.public_id)
    ).one()
    page.goto(f"{live_server}/sign-in/link/{signin.derive_token(row.nonce)}")
    expect(h1(page, "This sign-in link has expired")).to_be_visible()
    expect(page.get_by_text("Sign-in links work for 15 minutes")).to_be_visible()
    assert_no_axe_violations(page)

    page.get_by_role("link", name="Send me a new link").click()
    expect(h1(page, "Sign in")).to_be_visible()


def test_a_parent_goes_from_the_invitation_to_their_children_with_one_press(
    family, live_server, smtp_server, new_page
):
    """At 360×800: the invitation's link, Continue, the children (docs/security.md, promise
    22). Opened again in another browser, the used link offers a fresh sign-in email with
    one press, whose code signs in there."""
    admin = make_staff(family.school, email="head@oak.example.org", role="admin")
    invitations.send(admin, "all")
    received = read_email(smtp_server)
    assert received.rcpt_tos == [family.email]
    assert received.message["Subject"] == "Oak Primary School asks for your choices"
    link = sign_in_path(received)

    page = new_page(viewport={"width": 360, "height": 800})
    page.goto(live_server + link)  # BASE_URL is not the test server's
    expect(h1(page, "Continue to sign in")).to_be_visible()
    expect(page.get_by_text("This link from your invitation signs you in once")).to_be_visible()
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)
    page.get_by_role("button", name="Continue").click()
    expect(h1(page, "Your children")).to_be_visible()
    expect(page).to_have_url(live_server + "/family")
    expect(page.get_by_role("heading", name="Robin Morgan")).to_be_visible()
    assert_no_axe_violations(page)

    other = new_page(viewport={"width": 360, "height": 800})
    other.goto(live_server + link)
    expect(h1(other, "This invitation link has already been used")).to_be_visible()
    assert_no_axe_violations(other)
    assert_no_sideways_scrolling(other)
    other.get_by_role("button", name="Email me a sign-in link").click()
    expect(h1(other, "Check your email")).to_be_visible()
    send_pending()
    fresh = smtp_server.wait_for(2)[1]
    assert fresh.rcpt_tos == [family.email]
    other.get_by_label("Code from the email").fill(sign_in_code(fresh))
    other.get_by_role("button", name="Sign in").click()
    expect(h1(other, "Your children")).to_be_visible()
