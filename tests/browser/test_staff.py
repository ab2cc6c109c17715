"""The staff workspace in Chromium: the office on a phone, the data protection lead at a desk.

On the demo school. The office signs in from the emailed link (a real SMTP server), runs the
photo check for class 3 Oak on a phone, opens the record of a child who must not appear and
records the answer her mother gave on paper; the ledger then verifies. The admin visits every
page of the workspace at a desk. axe-core finds nothing on any of them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import choices, demo, references
from portal.extensions import db
from portal.models import Guardian, Pupil, Purpose, SchoolContact
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    sign_in,
)
from tests.support.world import event_rows

pytestmark = pytest.mark.browser

WEBSITE = "Photos on the school website and social media"
DESK = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False}
EXAMPLES = demo.EXAMPLES


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    # Farah said yes to the website for Amira; nobody has answered for Zoë yet.
    farah = db.session.scalars(
        select(Guardian)
        .join(SchoolContact, SchoolContact.guardian_id == Guardian.id)
        .where(SchoolContact.school_id == result.id, SchoolContact.forename == "Farah")
    ).one()
    amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one()
    website = db.session.scalars(select(Purpose).where(Purpose.key == "photos-website")).one()
    choices.decide(farah.id, [amira.id], website.id, "grant")
    return result


def test_the_office_checks_a_class_and_records_a_paper_answer(
    school, live_server, smtp_server, page, runner
):
    sign_in(page, live_server, smtp_server, demo.STAFF[demo.Role.STAFF][0], home="Things to do")
    expect(page).to_have_url(live_server + "/staff")
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)

    page.get_by_role("navigation", name="Staff menu").get_by_role(
        "link", name="Photo check"
    ).click()
    expect(h1(page, "Photo check")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label(WEBSITE).check()
    page.get_by_label("Class", exact=True).select_option("3 Oak")
    page.get_by_role("button", name="Check", exact=True).click()
    results = page.locator("#photo-check-results")
    expect(results).to_contain_text("must not appear")
    # The child who must not appear comes first, with the reason in words.
    children = results.locator(".portal-photo-child")
    expect(children.first).to_contain_text("Zoë")
    expect(children.first).to_contain_text("no response")
    expect(children.nth(1)).to_contain_text("Amira")
    expect(children.nth(1)).to_contain_text(re.compile("may appear", re.I))
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)

    # Zoë's record: her mother's paper form said yes.
    results.get_by_role("link", name=re.compile("Zoë")).click()
    expect(h1(page, "Zoë O'Brien")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Siobhan O'Brien (Mother)").check()
    page.get_by_label("Which choice").select_option(label=f"{WEBSITE} (consent)")
    page.get_by_label("Yes, agrees").check()
    page.get_by_label("On a paper form").check()
    page.get_by_label("Note (optional)").fill("Signed form in the office file")
    page.get_by_role("button", name="Record the answer").click()
    expect(page.locator("#portal-live")).to_contain_text("Siobhan")
    expect(page.get_by_text("Signed form in the office file")).to_be_visible()
    assert_no_axe_violations(page)

    db.session.remove()
    rows = event_rows(school.id)
    assert [(r.decision, r.channel, r.actor_type, r.note) for r in rows] == [
        ("grant", "web", "guardian", None),
        ("grant", "paper", "staff", "Signed form in the office file"),
    ]
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output

    # The photo check now lets Zoë appear too.
    page.goto(live_server + "/staff/photo-check")
    page.get_by_label(WEBSITE).check()
    page.get_by_label("Class", exact=True).select_option("3 Oak")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.locator("#photo-check-results")).to_contain_text("0 of 2 must not appear")


def test_every_staff_page_is_accessible(school, live_server, smtp_server, new_page, page_problems):
    page_problems.allow("the server responded with a status of 400 (BAD REQUEST)")
    page = new_page(**DESK)
    sign_in(page, live_server, smtp_server, demo.STAFF[demo.Role.ADMIN][0], home="Things to do")
    pupil = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one()
    purpose = db.session.scalars(select(Purpose).where(Purpose.key == "photos-press")).one()
    pages = {
        "/staff": "Things to do",
        "/staff/photo-check": "Photo check",
        "/staff/pupils": "Pupils",
        f"/staff/pupils/{pupil.id}": "Amira Hussain",
        "/staff/take-downs": "Take-downs",
        "/staff/ledger": "Consent ledger",
        "/staff/notice": "Privacy notice",
        "/staff/purposes": "Purposes",
        "/staff/purposes/new": None,
        f"/staff/purposes/{purpose.id}/edit": None,
        f"/staff/purposes/{purpose.id}/retire": None,
        "/staff/roster": "Import the roster",
        "/staff/invitations": "Invite parents and carers",
        "/staff/users": "Staff users",
        "/staff/exports": "Marketing exports",
        "/staff/audit-log": "Audit log",
    }
    for path, heading in pages.items():
        page.goto(live_server + path)
        if heading:
            expect(h1(page, heading)).to_be_visible()
        else:
            expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_no_axe_violations(page)

    # Pages that answer a form: the photo check's answer and its print sheet, a notice
    # preview, a roster preview, the ledger check, a form with errors.
    page.goto(live_server + "/staff/photo-check")
    page.get_by_label(WEBSITE).check()
    page.get_by_label("Class", exact=True).select_option("3 Oak")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.locator("#photo-check-results")).to_contain_text("Amira")
    assert_no_axe_violations(page)
    query = page.url.split("?", 1)[1]
    page.goto(f"{live_server}/staff/photo-check/print?{query}")
    expect(page.get_by_text("Check again before publishing")).to_be_visible()
    assert_no_axe_violations(page)

    page.goto(live_server + "/staff/photo-check?action=check")
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    assert_no_axe_violations(page)

    page.goto(live_server + "/staff/notice")
    page.get_by_label("What changed", exact=False).fill("We now explain class photos.")
    page.get_by_role("button", name="Preview", exact=True).click()
    expect(page.get_by_role("button", name=re.compile("^Publish as version"))).to_be_visible()
    assert_no_axe_violations(page)

    page.goto(live_server + "/staff/roster")
    page.locator("input[type=file]").set_input_files(str(EXAMPLES / "roster-example.csv"))
    page.get_by_role("button", name="Preview the import").click()
    expect(h1(page, "Check the roster import")).to_be_visible()
    assert_no_axe_violations(page)

    page.goto(live_server + "/staff/ledger")
    page.get_by_role("button", name=re.compile("^Verify")).click()
    expect(page.locator("#verify")).to_contain_text("Intact")
    assert_no_axe_violations(page)

    # Find a reference, as a family reads it out: found, then with a wrong check.
    first = event_rows(school.id)[0]
    said = references.reference(school.slug, first.seq, first.hash).lower().replace("-", " ")
    page.goto(live_server + "/staff/ledger")
    page.get_by_label("Reference", exact=True).fill(said)
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#reference-found")).to_contain_text(first.hash)
    assert_no_axe_violations(page)
    wrong = "0000" if first.hash[:4] != "0000" else "1111"
    page.get_by_label("Reference", exact=True).fill(f"{first.seq}-{wrong}")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#reference-error")).to_contain_text("check the last four characters")
    assert_no_axe_violations(page)
