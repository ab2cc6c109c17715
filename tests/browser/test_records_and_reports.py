"""A record to keep and a report to the office, in Chromium: the parent at 360×800, the
office at 1280×800, every page state checked with axe-core.

On the demo school: Farah Hussain has said yes to photos on the website for Amira, and Imran
(Amira's father) no to photos in the press. Farah opens Amira's record, which must print on
A4 without the site's header, footer or links (print emulation, and a PDF kept under
test-artefacts/pdf/), as must the history. From the record she tells the school a child is
missing from her list (a refused form first). The school's office (a staff user) finds the
report among its things to do, reads it and marks it done; Farah then sees it done.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import demo
from portal.extensions import db
from portal.models import Guardian, Pupil, Purpose, SchoolContact
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    sign_in,
)
from tests.support.world import decide as record

pytestmark = pytest.mark.browser

FARAH = "farah.hussain@example.org"
OFFICE = demo.STAFF[demo.Role.STAFF][0]
PHONE = {"viewport": {"width": 360, "height": 800}}
DESK = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}
PDFS = Path(__file__).resolve().parents[2] / "test-artefacts" / "pdf"
WEBSITE = "Photos on the school website and social media"
PRESS = "Photos and names in the local press"
MISSING = "Zainab Hussain, class 1 Elm, is my daughter and is not on my list."


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


def _people(school: Any) -> tuple[Any, Any, Any, dict[str, Any]]:
    guardians = dict(
        db.session.execute(
            select(SchoolContact.forename, Guardian)
            .join(Guardian, Guardian.id == SchoolContact.guardian_id)
            .where(SchoolContact.school_id == school.id)
        ).all()
    )
    amira = db.session.scalars(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.forename == "Amira")
    ).one()
    found = {
        p.key: p for p in db.session.scalars(select(Purpose).where(Purpose.school_id == school.id))
    }
    return guardians["Farah"], guardians["Imran"], amira, found


def assert_prints_as_a_document(page: Any, name: str) -> Path:
    """In print emulation: no header, footer, back link or button; the page's own words
    stay. The PDF Chromium makes of it (A4, as the page's CSS asks) is kept."""
    page.emulate_media(media="print")
    try:
        for hidden in (
            "header.portal-header",
            "footer.govuk-footer",
            ".govuk-back-link",
            ".govuk-button",
            ".portal-no-print",
        ):
            for found in page.locator(hidden).all():
                expect(found).to_be_hidden()
        expect(page.locator("main h1")).to_be_visible()
        PDFS.mkdir(parents=True, exist_ok=True)
        path = PDFS / f"{name}.pdf"
        page.pdf(path=str(path), prefer_css_page_size=True, print_background=False)
    finally:
        page.emulate_media(media="screen")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 2_000
    # Every page is A4: 210 × 297 mm, 595.3 × 841.9 points (Chromium rounds to its pixels).
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    assert boxes and all(
        abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes
    ), boxes
    return path


def test_a_record_to_keep_and_a_report_to_the_office(
    school, live_server, smtp_server, new_page, page_problems
):
    # The refused form is answered with a 400, which Chromium logs.
    page_problems.allow(f"status of 400 (BAD REQUEST) ({live_server}/family/reports)")
    farah, imran, amira, purposes = _people(school)
    record(farah, purposes["photos-website"], "grant", pupil=amira)
    record(imran, purposes["photos-press"], "withdraw", pupil=amira)

    parent = new_page(**PHONE)
    sign_in(parent, live_server, smtp_server, FARAH)

    # Amira's record: where each choice stands, each answer with who, never named.
    parent.goto(f"{live_server}/family/children/{amira.id}/record")
    expect(h1(parent, "A record of Amira Hussain's answers")).to_be_visible()
    website = parent.get_by_role("region", name=WEBSITE, exact=True)
    expect(website).to_contain_text("Where it stands: Yes: the school may do this.")
    expect(website).to_contain_text("You, online")
    press = parent.get_by_role("region", name=PRESS, exact=True)
    expect(press).to_contain_text("Another person with parental responsibility, online")
    expect(parent.locator("main")).not_to_contain_text("Imran")
    expect(parent.get_by_role("region", name="Contact the school")).to_contain_text(
        "office@riverside-primary.example.org"
    )
    assert_no_axe_violations(parent)
    assert_no_sideways_scrolling(parent)
    assert_prints_as_a_document(parent, "record-360x800")

    # The history prints the same way, each fingerprint in full.
    parent.goto(f"{live_server}/family/history")
    expect(h1(parent, "What you told us")).to_be_visible()
    assert_no_axe_violations(parent)
    parent.emulate_media(media="print")
    expect(parent.locator(".portal-print-only").first).to_be_visible()
    parent.emulate_media(media="screen")
    assert_prints_as_a_document(parent, "history-360x800")

    # From the record: tell the school a child is missing from the list.
    parent.goto(f"{live_server}/family/children/{amira.id}/record")
    parent.get_by_role(
        "link", name="Tell the school a child is missing from your list, or your details are wrong"
    ).click()
    expect(h1(parent, "Tell the school something is missing or wrong")).to_be_visible()
    assert_no_axe_violations(parent)
    assert_no_sideways_scrolling(parent)
    parent.get_by_role("button", name="Send to the school").click()
    expect(parent.get_by_role("alert")).to_contain_text("Choose what you want to tell the school")
    assert_no_axe_violations(parent)
    parent.get_by_label("A child is missing from my list").check()
    parent.get_by_label("What is missing or wrong?").fill(MISSING)
    parent.get_by_role("button", name="Send to the school").click()
    expect(h1(parent, "What you have told the school")).to_be_visible()
    expect(parent.locator("main")).to_contain_text("Sent to Riverside Primary School.")
    expect(parent.locator("main")).to_contain_text("Waiting for the school")
    assert_no_axe_violations(parent)

    # The office: among its things to do, on its own page, marked done.
    office = new_page(**DESK)
    sign_in(office, live_server, smtp_server, OFFICE, home="Things to do")
    expect(office.locator("main")).to_contain_text("Reports from families (1)")
    office.get_by_role("navigation", name="Staff menu").get_by_role(
        "link", name="Reports from families"
    ).click()
    expect(h1(office, "Reports from families")).to_be_visible()
    assert_no_axe_violations(office)
    office.get_by_role("link", name="A child is missing from their list").click()
    expect(office.locator("main")).to_contain_text(MISSING)
    expect(office.locator("main")).to_contain_text("Amira Hussain (3 Oak)")
    assert_no_axe_violations(office)
    office.get_by_label("What the office did (optional)").fill("Added Zainab in the MIS.")
    office.get_by_role("button", name="Mark as done").click()
    expect(office.locator("#family-report")).to_contain_text("Marked as done")
    expect(office.locator("#family-report")).to_contain_text("Added Zainab in the MIS.")
    assert_no_axe_violations(office)

    parent.reload()
    expect(parent.locator("main")).to_contain_text("Done by the school on")
    expect(parent.locator("main")).not_to_contain_text("Added Zainab")
