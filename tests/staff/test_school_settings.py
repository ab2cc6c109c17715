"""The school settings page (admins): the retention period, who is emailed about a new
take-down, and whether families are emailed when an answer needs renewing, saved with an
audit entry; bad input is refused with a clear message and changes nothing; the page lists the
retention run's latest erasures. Who may reach it is in the one role matrix
(tests/staff/test_roles.py)."""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text

from portal import retention
from portal.extensions import db
from portal.models import RightsRequest, School, StaffAuditEntry
from tests.support.web import HTMX, post_form
from tests.support.web import text_of as words_of
from tests.support.world import World


def text_of(page: str) -> str:
    return html.unescape(words_of(page))


PATH = "/staff/school-settings"
FRAGMENT = {**HTMX, "HX-Current-URL": f"http://localhost{PATH}"}
AS_THEY_ARE = {"retention_months": "12", "task_emails": "admins", "renewal_reminders": "on"}


def settings_of(school_id: int) -> tuple[int, str, bool]:
    db.session.expire_all()
    school = db.session.get(School, school_id)
    assert school is not None
    return (school.retention_months, school.task_emails, school.renewal_reminders)


def audit_entries() -> list[StaffAuditEntry]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(StaffAuditEntry).where(StaffAuditEntry.action == "school.settings")
        )
    )


def test_an_admin_sees_the_settings_explained_and_the_menu_links_them(admin, office, world):
    page = admin.get(PATH)
    assert page.status_code == 200
    words = text_of(page.text)
    assert (
        "How long after a pupil leaves the portal keeps the family's names, email addresses"
        " and notes" in words
    )
    assert 'value="12"' in page.text
    assert 'value="admins" checked' in page.text
    assert "Email families when an answer needs renewing" in words
    assert "never more than once a fortnight" in words
    assert 'value="on" checked' in page.text  # reminders are on unless the school turns them off
    assert "Nothing has been erased yet." in words
    assert f'href="{PATH}"' in admin.get("/staff").text
    assert f'href="{PATH}"' not in office.get("/staff").text


def test_saving_changes_the_settings_with_an_audit_entry(admin, world):
    page = admin.get(PATH)
    response = post_form(admin, PATH, {"retention_months": "24", "task_emails": "everyone",
                                       "renewal_reminders": "off"}, page=page)  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == PATH
    assert settings_of(world.oak.id) == (24, "everyone", False)
    shown = text_of(admin.get(PATH).text)
    assert "Saved. The portal keeps a family's details for 24 months after their pupil leaves" in (
        shown
    )
    assert "families are not emailed when an answer needs renewing" in shown
    (entry,) = audit_entries()
    assert entry.school_id == world.oak.id
    assert json.loads(entry.detail) == {
        "before": {"retention_months": 12, "task_emails": "admins", "renewal_reminders": True},
        "after": {"retention_months": 24, "task_emails": "everyone", "renewal_reminders": False},
    }
    assert settings_of(world.elm.id) == (12, "admins", True)


def test_renewal_reminders_can_be_turned_off_and_on_again(admin, world):
    """The setting alone: each change is saved and audited, and the page shows it."""
    page = admin.get(PATH)
    post_form(admin, PATH, {**AS_THEY_ARE, "renewal_reminders": "off"}, page=page)
    assert settings_of(world.oak.id) == (12, "admins", False)
    page = admin.get(PATH)
    assert 'value="off" checked' in page.text
    post_form(admin, PATH, {**AS_THEY_ARE, "renewal_reminders": "on"}, page=page)
    assert settings_of(world.oak.id) == (12, "admins", True)
    assert "at most once a fortnight" in text_of(admin.get(PATH).text)
    assert [json.loads(e.detail)["after"]["renewal_reminders"] for e in audit_entries()] == [
        False,
        True,
    ]


def test_htmx_gets_the_form_again_with_the_confirmation(admin, world):
    page = admin.get(PATH)
    response = post_form(admin, PATH, {"retention_months": "6", "task_emails": "none",
                                       "renewal_reminders": "on"},
                         page=page, headers=FRAGMENT)  # fmt: skip
    assert response.status_code == 200
    assert 'id="school-settings-form"' in response.text
    assert "<h1" not in response.text
    assert "for 6 months after their pupil leaves" in text_of(response.text)
    assert 'hx-swap-oob="innerHTML"' in response.text
    assert settings_of(world.oak.id) == (6, "none", True)


def test_saving_the_same_settings_changes_nothing(admin, world):
    page = admin.get(PATH)
    response = post_form(admin, PATH, AS_THEY_ARE, page=page)
    assert response.status_code == 302
    assert "Nothing changed" in text_of(admin.get(PATH).text)
    assert audit_entries() == []


@pytest.mark.parametrize(
    ("months", "emails", "reminders", "message"),
    [
        ("0", "admins", "on", "The period must be between 1 and 1,200 months"),
        ("1201", "admins", "on", "The period must be between 1 and 1,200 months"),
        ("twelve", "admins", "on", "Enter the period as a whole number of months, such as 12"),
        ("-3", "admins", "on", "Enter the period as a whole number of months, such as 12"),
        ("1.5", "admins", "on", "Enter the period as a whole number of months, such as 12"),
        ("", "admins", "on", "Enter a number of months, such as 12"),
        ("12", "everybody", "on", "Choose who is emailed about a new take-down"),
        ("12", "", "on", "Choose who is emailed about a new take-down"),
        ("12", "admins", "", "Choose whether families are reminded when an answer runs out"),
        ("12", "admins", "weekly", "Choose whether families are reminded when an answer runs out"),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    admin, world, months, emails, reminders, message
):
    page = admin.get(PATH)
    for headers in ({}, FRAGMENT):
        data = {"retention_months": months, "task_emails": emails, "renewal_reminders": reminders}
        response = post_form(admin, PATH, data, page=page, headers=headers)
        assert response.status_code == 400
        assert message in text_of(response.text)
        assert "There is a problem" in text_of(response.text)
    assert settings_of(world.oak.id) == (12, "admins", True)
    assert audit_entries() == []


def test_the_page_lists_the_latest_erasures_of_this_school_only(admin, world: World):
    for pupil in (world.oak.pupils["A"], world.elm.pupils["X"]):
        db.session.execute(
            text("UPDATE pupils SET on_roll = :f, left_on = :d WHERE id = :p"),
            {"f": False, "d": date(2024, 1, 10), "p": pupil.id},
        )
    db.session.commit()
    retention.run(datetime(2026, 3, 2, tzinfo=UTC))

    words = text_of(admin.get(PATH).text)

    assert "The most recent erasures, newest first" in words
    assert "A pupil's names and MIS id" in words
    assert "left 2024-01-10; retention 12 months" in words
    assert f"A pupil's names and MIS id {world.elm.pupils['X'].id} " not in words
    assert words.count("A pupil's names and MIS id") == 1


def test_staff_pages_and_exports_work_after_a_pupil_is_erased(admin, world: World):
    """What the retention run leaves (names and MIS id erased, ids kept) shows as "Name
    erased" on the pupil's record and in the list of pupils, and every page and file that
    names pupils or contacts still answers."""
    from tests.support.world import decide

    oak = world.oak
    a = oak.pupils["A"]
    decide(world.ben, oak.purposes["photos-website"], "grant", pupil=a, staff=oak.staff,
           note="Signed form")  # fmt: skip
    decide(world.ben, oak.purposes["photos-website"], "withdraw", pupil=a, staff=oak.staff)
    decide(world.gran, oak.purposes["marketing-emails"], "grant", staff=oak.staff)
    request = RightsRequest(
        school_id=oak.id, guardian_id=world.ben.id, requester_name="Ben Test",
        requester_contact="ben@example.org", kind="access", details="All about my son",
        channel="letter", received_on=date(2024, 2, 1), due_on=date(2024, 3, 1),
        status="answered", outcome="Sent by post", closed_on=date(2024, 2, 20),
        created_at=datetime(2024, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    db.session.add(request)
    db.session.execute(
        text("UPDATE pupils SET on_roll = :f, left_on = :d WHERE id = :p"),
        {"f": False, "d": date(2024, 1, 10), "p": a.id},
    )
    db.session.commit()
    request_id = request.id
    assert retention.run(datetime(2026, 3, 2, tzinfo=UTC)).erased > 0

    record = admin.get(f"/staff/pupils/{a.id}")
    assert record.status_code == 200
    assert '<h1 class="govuk-heading-l">Name erased</h1>' in record.text
    assert f"erased-{a.id}" in record.text
    assert "PupilA" not in record.text and "Signed form" not in record.text
    listing = admin.get("/staff/pupils?class_name=3+Oak")
    assert listing.status_code == 200 and "Name erased" in listing.text
    assert "PupilA" not in listing.text
    pages = (
        "/staff/ledger", "/staff/take-downs", "/staff/photo-check", "/staff/exports",
        "/staff/rights-requests", f"/staff/rights-requests/{request_id}", "/staff",
    )  # fmt: skip
    for path in pages:
        response = admin.get(path)
        assert response.status_code == 200, path
        assert "PupilA" not in response.text and "Ben Test" not in response.text, path
    page = admin.get("/staff/ledger")
    export = post_form(admin, "/staff/ledger/export", {}, page=page)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "PupilA" not in export.text
    assert "gran Test" not in export.text and "gran@example.org" not in export.text
    page = admin.get("/staff/exports")
    for path in ("/staff/exports/marketing-list", "/staff/exports/suppression-list"):
        response = post_form(admin, path, {"purpose": "any"}, page=page)
        assert response.status_code == 200 and response.mimetype == "text/csv", path
        assert "gran@example.org" not in response.text, path
