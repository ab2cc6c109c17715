"""The school settings page in Chromium, on a phone, with and without JavaScript: the admin
of the demo school shortens the retention period, sees a clear message for a period out of
range, and saves; axe-core finds nothing on the page, its error state or its confirmation
(with JavaScript, where axe-core can run)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from portal import demo
from portal.extensions import db
from portal.models import School
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    sign_in,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_an_admin_changes_the_retention_period(school, live_server, smtp_server, new_page, js,
                                               page_problems):  # fmt: skip
    page_problems.allow("the server responded with a status of 400 (BAD REQUEST)")
    page = new_page(java_script_enabled=js)

    def check(page: Any) -> None:
        # axe-core runs as a script in the page: only where scripts run. The page without
        # JavaScript is the same markup, checked in the run with it.
        if js:
            assert_no_axe_violations(page)
            assert_no_sideways_scrolling(page)

    sign_in(page, live_server, smtp_server, demo.STAFF[demo.Role.ADMIN][0], home="Things to do")
    page.goto(live_server + "/staff/school-settings")
    expect(h1(page, "School settings")).to_be_visible()
    expect(page.get_by_text("Nothing has been erased yet.")).to_be_visible()
    check(page)

    months = page.get_by_label("How many months after a pupil leaves")
    months.fill("0")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The period must be between 1 and 1,200 months"
    )
    check(page)

    page.get_by_label("How many months after a pupil leaves").fill("18")
    page.get_by_label("The school's admins and staff").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".portal-saved")).to_contain_text("for 18 months after their pupil leaves")
    check(page)

    db.session.expire_all()
    saved = db.session.get(School, school.id)
    assert saved is not None
    assert (saved.retention_months, saved.task_emails) == (18, "everyone")
