"""Objection review in Chromium, at 390x844, with and without JavaScript, on the demo school.

A mother objects to class photos on display ("we are in a refuge") from her phone. The
school's admin receives the email (a real SMTP server), opens Things to do, and records that
the objection is not upheld, with reasons. The mother receives the outcome by email and sees
it on her child's page, with her right to complain to the ICO. axe-core finds nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from portal import demo
from portal.extensions import db
from portal.mail.delivery import send_pending
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    sign_in,
)

pytestmark = pytest.mark.browser

FARAH = "farah.hussain@example.org"
ADMIN = demo.STAFF[demo.Role.ADMIN][0]
DISPLAY = "Class photos on display inside school"
REASONS = "The photos stay inside the school building, which visitors enter only by appointment."


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


def emails_to(smtp_server: Any, address: str) -> list[Any]:
    return [m for m in smtp_server.messages if address in m.rcpt_tos]


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_objection_is_reviewed_and_the_family_told(school, live_server, smtp_server,
                                                      new_page, js):  # fmt: skip
    def check(page: Any) -> None:
        if js:  # axe-core runs as a script: only where scripts run (same markup otherwise)
            assert_no_axe_violations(page)
            assert_no_sideways_scrolling(page)

    parent = new_page(java_script_enabled=js)
    sign_in(parent, live_server, smtp_server, FARAH)
    parent.get_by_role("link", name=re.compile("Amira")).first.click()
    expect(h1(parent, "Amira Hussain")).to_be_visible()
    card = parent.get_by_role("region", name=DISPLAY, exact=True)
    card.get_by_label("Why are you objecting? (optional)").fill("We are in a refuge.")
    card.get_by_role("button", name=re.compile("^I object")).click()
    card = parent.get_by_role("region", name=DISPLAY, exact=True)
    expect(card).to_contain_text("while it looks at your objection")
    expect(card).to_contain_text("will tell you the outcome by")
    check(parent)

    # The admin is emailed, with the date the review is due.
    send_pending()
    smtp_server.wait_for(len(smtp_server.messages))
    [review] = [m for m in emails_to(smtp_server, ADMIN)
                if m.message["Subject"].startswith("An objection to review by")]  # fmt: skip
    assert "We are in a refuge." in review.text() and "/staff/objections/" in review.text()

    admin = new_page(java_script_enabled=js)
    sign_in(admin, live_server, smtp_server, ADMIN, home="Things to do")
    todo = admin.locator("#things-to-do")
    expect(todo).to_contain_text("Objections to review (1)")
    check(admin)
    todo.get_by_role("link", name=re.compile("objection: " + DISPLAY)).click()
    expect(h1(admin, f"Farah Hussain objects: {DISPLAY}")).to_be_visible()
    expect(admin.get_by_text("We are in a refuge.")).to_be_visible()
    check(admin)
    admin.get_by_label(re.compile("Not upheld: the school")).check()
    admin.get_by_label("Reasons, for the family").fill(REASONS)
    admin.get_by_role("button", name="Record the outcome").click()
    expect(h1(admin, "Objections")).to_be_visible()
    expect(
        admin.get_by_text(re.compile("is not upheld. The family has been told."))
    ).to_be_visible()
    check(admin)

    # The family is told: by email, and on the child's page.
    before = len(emails_to(smtp_server, FARAH))
    send_pending()
    outcome = [
        m
        for m in smtp_server.wait_for(len(smtp_server.messages))
        if FARAH in m.rcpt_tos and "outcome of your objection" in m.message["Subject"]
    ]
    assert len(outcome) == 1 and len(emails_to(smtp_server, FARAH)) > before
    text = outcome[0].text()
    assert "did not uphold your objection" in text and REASONS in text
    assert "Information Commissioner's Office" in text
    parent.reload()
    card = parent.get_by_role("region", name=DISPLAY, exact=True)
    expect(card).to_contain_text("Objection not upheld")
    expect(card).to_contain_text(REASONS)
    expect(card.get_by_role("link", name=re.compile("complain to the Information"))).to_be_visible()
    expect(card.get_by_role("button", name=re.compile("^I object"))).to_be_visible()
    check(parent)
