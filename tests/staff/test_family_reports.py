"""Reports from families on the staff side (portal/staff/family_reports.py): the office reads
a family's report with who sent it and their children as the roster has them, and marks it
done, once, with an entry in the audit log. Who may use each route is in
tests/staff/test_roles.py.

tests/staff/conftest.py: at Oak, office@oak.example (staff), admin@oak.example (admin),
marketing@oak.example (marketing); at Elm, admin@elm.example.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from portal import family_reports
from portal.extensions import db
from portal.models import StaffAuditEntry
from tests.support.web import HTMX, post_form, text_of

DETAILS = "Sam Test, class 2 Elm, is my son and is not on my list."


def _report(world):
    return family_reports.make(world.ada.id, world.oak.id, kind="missing_child", details=DETAILS)


def test_the_office_reads_a_report_and_marks_it_done(world, office):
    report = _report(world)
    listing = office.get("/staff/family-reports")
    assert listing.status_code == 200
    item = text_of(listing.text)
    assert f"To do (1) FR-{report.id}: A child is missing from their list" in item
    assert "From ada Test" in item

    page = office.get(f"/staff/family-reports/{report.id}")
    text = text_of(page.text)
    assert f"Report FR-{report.id}" in text
    assert "From ada Test ada@example.org" in text
    assert "Their children here PupilA Test (3 Oak) PupilB Test (3 Oak)" in text
    assert f"What they wrote {DETAILS}" in text

    done = post_form(office, f"/staff/family-reports/{report.id}/done",
                     {"note": "Added Sam to the contacts in the MIS"}, page=page)  # fmt: skip
    assert done.status_code == 302
    assert done.headers["Location"] == f"/staff/family-reports/{report.id}"
    after = text_of(office.get(done.headers["Location"]).text)
    assert f"Marked as done: FR-{report.id}." in after
    assert "Done Done by Sam Taylor" in after
    assert "What the office did Added Sam to the contacts in the MIS" in after
    assert "Mark as done" not in after
    [entry] = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == "family_report.done")
    ).all()
    assert json.loads(entry.detail)["report_id"] == report.id
    # Gone from the list to do, and from the staff home page's things to do.
    listing = text_of(office.get("/staff/family-reports").text)
    assert "No reports to read." in listing and "Recently done" in listing
    assert "Reports from families" not in text_of(office.get("/staff").text).split("Things")[1]


def test_done_with_htmx_answers_with_the_region_and_the_live_region(world, admin):
    report = _report(world)
    page = admin.get(f"/staff/family-reports/{report.id}")
    response = post_form(admin, f"/staff/family-reports/{report.id}/done", {"note": ""},
                         page=page, headers=HTMX)  # fmt: skip
    assert response.status_code == 200
    assert response.text.startswith('<div id="family-report">')
    assert f'<div id="portal-live" hx-swap-oob="innerHTML">Marked as done: FR-{report.id}.' in (
        response.text
    )
    # Pressed again (another tab): nothing changes, and it says who did it first.
    again = post_form(admin, f"/staff/family-reports/{report.id}/done", {"note": "Again"},
                      page=page, headers=HTMX)  # fmt: skip
    assert f"Already done: FR-{report.id} (Dana Okafor)." in again.text
    assert (
        len(
            db.session.scalars(
                select(StaffAuditEntry).where(StaffAuditEntry.action == "family_report.done")
            ).all()
        )
        == 1
    )


def test_a_note_that_cannot_be_kept_is_refused_and_changes_nothing(world, office):
    report = _report(world)
    page = office.get(f"/staff/family-reports/{report.id}")
    refused = post_form(office, f"/staff/family-reports/{report.id}/done", {"note": "x" * 1001},
                        page=page)  # fmt: skip
    assert refused.status_code == 400
    assert "The note must be 1000 characters or fewer" in text_of(refused.text)
    assert 'href="#note"' in refused.text
    assert family_reports.get(world.oak.id, report.id).is_open


def test_the_home_page_lists_open_reports_under_things_to_do(world, office, admin, marketer):
    report = _report(world)
    for client in (office, admin):
        home = text_of(client.get("/staff").text)
        assert "Reports from families (1)" in home
        assert f"Read report FR-{report.id}: a child is missing from their list" in home
    menu = office.get("/staff").text
    assert 'href="/staff/family-reports"' in menu
    assert marketer.get("/staff/family-reports").status_code == 403
