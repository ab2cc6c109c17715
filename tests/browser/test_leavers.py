"""A pupil leaves, in Chromium at a phone's size, with and without JavaScript: the admin of
the demo school imports a roster whose leaving_date column says Lily-Mae left, the tasks her
school's purposes promise appear on the task list, and the admin marks one done with a note
(a first try without a note is refused with the reason). axe-core finds nothing on any page
(it is a script, so it runs where scripts do: the pages without JavaScript are the same).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import demo
from portal.extensions import db
from portal.models import Pupil, TakedownTask
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    sign_in,
)

pytestmark = pytest.mark.browser

EXAMPLES = demo.EXAMPLES
REMOVE = "Remove Lily-Mae J.'s photos on the school website and social media"
REVIEW = "Review Lily-Mae J.'s class photos on display in school"


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


@pytest.mark.parametrize("java_script", [True, False], ids=["js", "no-js"])
def test_a_roster_marks_a_pupil_left_and_the_promised_task_is_done(
    school, live_server, smtp_server, new_page, page_problems, java_script
):
    page_problems.allow("the server responded with a status of 400 (BAD REQUEST)")
    page = new_page(java_script_enabled=java_script)

    def check(page: Any) -> None:
        # axe-core runs as a script in the page: only where scripts run. The pages without
        # JavaScript are the same markup, checked in the run with it.
        if java_script:
            assert_no_axe_violations(page)
            assert_no_sideways_scrolling(page)

    sign_in(page, live_server, smtp_server, demo.STAFF[demo.Role.ADMIN][0], home="Things to do")

    page.goto(live_server + "/staff/roster")
    page.locator("input[type=file]").set_input_files(str(EXAMPLES / "roster-leavers.csv"))
    page.get_by_role("button", name="Preview the import").click()
    expect(h1(page, "Check the roster import")).to_be_visible()
    expect(page.get_by_role("heading", name="Pupils to mark as left (1)")).to_be_visible()
    check(page)
    page.get_by_role("button", name=re.compile(r"^Import \d+ rows")).click()
    expect(page.get_by_role("heading", name="Pupils marked as left (1)")).to_be_visible()
    check(page)

    page.goto(live_server + "/staff/take-downs")
    expect(h1(page, "Take-downs")).to_be_visible()
    expect(page.get_by_role("heading", name="Pupils who left (2)")).to_be_visible()
    task = page.locator(".portal-takedown", has_text=REMOVE)
    expect(task).to_contain_text("left on 18 July 2025")
    expect(task).to_contain_text("Due ")
    check(page)

    # Without a note: refused, with the reason beside the note.
    task.get_by_role("button", name=re.compile("^Mark as done")).click()
    expect(page.get_by_role("alert")).to_contain_text("Write what you removed and where")
    check(page)
    db.session.remove()
    assert all(t.done_at is None for t in db.session.scalars(select(TakedownTask)))

    task = page.locator(".portal-takedown", has_text=REMOVE)
    task.get_by_label(re.compile("^What you removed, and where")).fill(
        "Deleted from the website gallery and the Facebook album"
    )
    task.get_by_role("button", name=re.compile("^Mark as done")).click()
    expect(page.locator(".portal-saved")).to_contain_text(f"Marked as done: {REMOVE}")
    expect(page.get_by_role("heading", name="Pupils who left (1)")).to_be_visible()
    expect(page.locator("#takedown-list")).to_contain_text(
        "Note: Deleted from the website gallery and the Facebook album"
    )
    expect(page.get_by_role("button", name=re.compile("^Reopen"))).to_be_visible()
    check(page)

    db.session.remove()
    lily = db.session.scalars(select(Pupil).where(Pupil.forename == "Lily-Mae")).one()
    assert not lily.on_roll and str(lily.left_on) == "2025-07-18"
    done = {t.action: t for t in db.session.scalars(select(TakedownTask))}
    assert done["remove"].done_note == "Deleted from the website gallery and the Facebook album"
    assert done["review"].done_at is None and REVIEW
