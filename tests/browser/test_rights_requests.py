"""A rights request in Chromium on a phone, with and without JavaScript.

On the demo school: Farah Hussain signs in, asks on the school's rights page to see what the
school holds, and gets the confirmation with the due date. The school's admin sees the request
and its due date, builds the family's file, and marks the request answered; Farah then sees
the answer. Every page is checked with axe-core.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import demo, rights_requests
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import RightsRequest
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    sign_in,
)

pytestmark = pytest.mark.browser

FARAH = "farah.hussain@example.org"
ADMIN = demo.STAFF[demo.Role.ADMIN][0]


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


@pytest.mark.parametrize("js", [True, False], ids=["with-js", "without-js"])
def test_a_parent_asks_and_the_school_answers(school, live_server, smtp_server, new_page, js):
    def check(page: Any, *, sideways: bool = False) -> None:
        # axe-core runs as a script in the page: only where scripts run. The pages without
        # JavaScript are the same markup, checked in the run with it.
        if js:
            assert_no_axe_violations(page)
            if sideways:
                assert_no_sideways_scrolling(page)

    parent = new_page(java_script_enabled=js)
    sign_in(parent, live_server, smtp_server, FARAH)

    parent.goto(f"{live_server}/schools/{demo.SLUG}/your-rights")
    expect(h1(parent, "Your rights over your family's information")).to_be_visible()
    check(parent)
    parent.get_by_label("See what the school holds").check()
    parent.get_by_label("Tell the school more (optional)").fill("Every photo of Amira you hold.")
    parent.get_by_role("button", name=f"Send the request to {school.name}").click()
    expect(h1(parent, "See what the school holds")).to_be_visible()
    expect(parent.get_by_text("Request sent")).to_be_visible()
    db.session.expire_all()
    request = db.session.scalars(select(RightsRequest)).one()
    due = rights_requests.day_words(request.due_on)
    reference = rights_requests.reference(request.id)
    expect(parent.locator("main")).to_contain_text(f"must answer by {due}")
    expect(parent.locator("main")).to_contain_text(reference)
    check(parent, sideways=True)

    # The admin's email and Farah's receipt go before the admin's sign-in email.
    send_pending()
    sent = smtp_server.wait_for(3)
    assert {message.rcpt_tos[0] for message in sent[1:]} == {ADMIN, FARAH}

    staff = new_page(java_script_enabled=js)
    sign_in(staff, live_server, smtp_server, ADMIN, home="Things to do")
    staff.get_by_role("navigation", name="Staff menu").get_by_role(
        "link", name="Rights requests"
    ).click()
    expect(h1(staff, "Rights requests")).to_be_visible()
    expect(staff.locator(f"#request-{request.id}")).to_contain_text(f"Due {due}")
    check(staff, sideways=True)

    staff.get_by_role("link", name=f"{reference}: Access").click()
    expect(h1(staff, f"Rights request {reference}")).to_be_visible()
    expect(staff.locator("main")).to_contain_text("Every photo of Amira you hold.")
    check(staff)

    staff.get_by_role("button", name="Build the family's file").click()
    expect(h1(staff, f"The family's file for {reference}")).to_be_visible()
    expect(staff.locator("main")).to_contain_text(FARAH)
    expect(staff.locator("main")).to_contain_text("Amira")
    check(staff, sideways=True)

    staff.get_by_role("link", name="Back to the request").click()
    expect(h1(staff, f"Rights request {reference}")).to_be_visible()
    staff.get_by_label("What the school did or sent").fill("We gave you the file in person.")
    staff.get_by_role("button", name="Mark as answered").click()
    expect(staff.locator("#rights-request")).to_contain_text("Marked as answered.")
    expect(staff.locator("#rights-request")).to_contain_text("Answered")
    check(staff)

    parent.goto(f"{live_server}/family/rights-requests")
    expect(h1(parent, "Your requests")).to_be_visible()
    expect(parent.locator(f"#request-{request.id}")).to_contain_text("Answered")
    check(parent)
    parent.get_by_role("link", name="See what the school holds").click()
    expect(parent.locator("main")).to_contain_text("We gave you the file in person.")
    check(parent)
