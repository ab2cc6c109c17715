"""Purpose templates, a pupil's own refusal and the renewal-reminder setting in Chromium, at a
desk (1280×800), on the demo school. The admin adds fingerprint recognition from its template
(never asked for a lawful basis), records that a pupil refuses it, sees the pupil's record say
"Not allowed: the pupil refused", and turns the renewal reminders off on the school settings
page. axe-core finds nothing on any page or state on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import consent, demo
from portal.extensions import db
from portal.models import Pupil, Purpose, School
from tests.support.browser import assert_no_axe_violations, h1, sign_in

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "screenshots"
TEMPLATE = "Biometric recognition for school meals or the library (fingerprint)"


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


def keep(page: Any, name: str) -> None:
    """A screenshot of the whole page among the test artefacts."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"staff-{name}.png"), full_page=True)


def test_an_admin_adds_a_purpose_from_a_template_records_a_refusal_and_turns_reminders_off(
    school, live_server, smtp_server, new_page, page_problems
):
    page_problems.allow("the server responded with a status of 400 (BAD REQUEST)")
    page = new_page(**DESK)
    sign_in(page, live_server, smtp_server, demo.STAFF[demo.Role.ADMIN][0], home="Things to do")

    # The chooser: common purposes, each with its choice and lawful basis.
    page.goto(live_server + "/staff/purposes")
    page.get_by_role("button", name="Add a purpose").click()
    expect(h1(page, "Add a purpose")).to_be_visible()
    expect(page.get_by_text("Information only; lawful basis: Public task")).to_be_visible()
    assert_no_axe_violations(page)
    keep(page, "purpose-templates")

    # The template's form: the wording to check; the lawful basis is set, not asked.
    page.get_by_role("link", name=TEMPLATE).click()
    expect(page.get_by_text("Set by the template")).to_be_visible()
    expect(page.locator("#template-settings")).to_contain_text("Protection of Freedoms Act 2012")
    expect(page.get_by_role("group", name="Lawful basis")).to_have_count(0)
    assert_no_axe_violations(page)
    keep(page, "purpose-from-template")
    page.get_by_label("Title").fill("Fingerprints at lunch and in the library")
    page.get_by_role("button", name="Add purpose").click()
    expect(page.get_by_text("“Fingerprints at lunch and in the library” is added")).to_be_visible()

    db.session.expire_all()
    fingerprints = db.session.scalars(
        select(Purpose).where(Purpose.key == "biometric-recognition")
    ).one()
    assert (fingerprints.lawful_basis, fingerprints.guardian_rule) == ("consent", "biometric")

    # The pupil's own refusal, recorded by the admin, stops it whatever the parents said.
    amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one()
    page.goto(f"{live_server}/staff/pupils/{amira.id}")
    page.get_by_role("link", name="Record that Amira refuses").click()
    expect(h1(page, "The pupil's own view of biometric recognition")).to_be_visible()
    assert_no_axe_violations(page)
    keep(page, "pupil-refusals")
    page.get_by_role("button", name="Record what Amira said").click()  # nothing chosen
    expect(page.get_by_role("alert")).to_contain_text("Choose what the pupil said")
    assert_no_axe_violations(page)
    page.get_by_label("Refuses, or objects").check()
    page.get_by_label("Told a member of staff").check()
    page.get_by_role("button", name="Record what Amira said").click()
    expect(h1(page, "Amira Hussain")).to_be_visible()
    expect(page.get_by_text("Recorded: Amira refuses")).to_be_visible()
    section = page.locator(f"#record-purpose-{fingerprints.id}")
    expect(section).to_contain_text("Not allowed: the pupil refused")
    assert_no_axe_violations(page)
    keep(page, "pupil-record-refused")
    db.session.rollback()  # read what the server committed since
    assert consent.status_for(amira, fingerprints).status is consent.Status.PUPIL_REFUSED

    # The renewal reminders: on by default, turned off on the settings page.
    page.goto(live_server + "/staff/school-settings")
    expect(h1(page, "School settings")).to_be_visible()
    reminders = page.get_by_role("group", name="Email families when an answer needs renewing")
    expect(reminders.get_by_label("Yes: email them, at most once a fortnight")).to_be_checked()
    assert_no_axe_violations(page)
    reminders.get_by_label("No: the school reminds families itself").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".portal-saved")).to_contain_text(
        "families are not emailed when an answer needs renewing"
    )
    assert_no_axe_violations(page)
    keep(page, "school-settings-reminders-off")
    db.session.rollback()
    saved = db.session.get(School, school.id)
    assert saved is not None and saved.renewal_reminders is False
