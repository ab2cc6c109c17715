"""Marketing exports (docs/security.md, promises 18 and 19): the marketing list (consented
and not objected: the objection is absolute) and the suppression list, both streamed
attachments that need the right role and are recorded in the audit log, with cells that
cannot become formulas (tests/test_csv_files.py tests the cells themselves)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal import audit_log, consent, exports
from portal.errors import NotFound
from portal.extensions import db
from portal.models import StaffAuditEntry
from portal.types import LONDON
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_child, make_purpose_set
from tests.support.web import post_form
from tests.support.world import T0, decide

NEWSLETTER = """
[[purposes]]
key = "newsletter"
title = "The parents' newsletter"
description = "A monthly email about school news and events."
choice = "consent"
lawful_basis = "consent"
scope = "guardian"
marketing = true
"""


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.response).decode("utf-8-sig")
    response.close()
    return list(csv.reader(io.StringIO(body, newline="")))


def entries(action: str) -> list[StaffAuditEntry]:
    return list(
        db.session.scalars(
            select(StaffAuditEntry)
            .where(StaffAuditEntry.action == action)
            .order_by(StaffAuditEntry.id)
        )
    )


# --- who may download ----------------------------------------------------------------------


def test_marketing_and_admin_may_export_and_others_may_not(world, office, marketer, admin):
    page = office.get("/staff")
    assert office.get("/staff/exports").status_code == 403
    for path in ("/staff/exports/marketing-list", "/staff/exports/suppression-list"):
        assert post_form(office, path, {"purpose": "any"}, page=page).status_code == 403
    assert entries("export.marketing") == entries("export.suppression") == []
    for client in (marketer, admin):
        page = client.get("/staff/exports")
        assert page.status_code == 200
        for path in ("/staff/exports/marketing-list", "/staff/exports/suppression-list"):
            response = post_form(client, path, {"purpose": "any"}, page=page)
            assert response.status_code == 200 and response.mimetype == "text/csv"
            response.close()
    assert len(entries("export.marketing")) == len(entries("export.suppression")) == 2


def test_the_marketers_menu_has_only_the_exports(world, marketer):
    page = marketer.get("/staff/exports")
    assert 'href="/staff/exports" aria-current="page">Marketing exports' in page.text
    for other in ("/staff/ledger", "/staff/audit-log", "/staff/pupils"):
        assert f'href="{other}"' not in page.text
    assert marketer.get("/staff/audit-log").status_code == 403
    assert marketer.get("/staff/ledger").status_code == 403


def test_a_download_needs_a_csrf_token(world, marketer):
    for path in ("/staff/exports/marketing-list", "/staff/exports/suppression-list"):
        assert marketer.post(path, data={"purpose": "any"}).status_code == 400
    assert entries("export.marketing") == entries("export.suppression") == []


# --- the marketing list --------------------------------------------------------------------


@pytest.fixture
def marketing(world):
    """At Oak: Ada and Gran (a contact without parental responsibility) said yes; Ben said yes
    and then objected to direct marketing; Dan objected, then said yes, then lifted his
    objection; Eve said yes and then no. At Elm, Fay said yes."""
    oak, elm = world.oak, world.elm
    emails = oak.purposes["marketing-emails"]
    decide(world.ada, emails, "grant", now=T0)
    decide(world.gran, emails, "grant", now=T0)
    decide(world.ben, emails, "grant", now=T0)
    decide(world.ben, emails, "object", now=T0 + timedelta(days=1))
    decide(world.dan, emails, "object", now=T0)
    decide(world.dan, emails, "grant", now=T0 + timedelta(days=1))
    decide(world.dan, emails, "lift_objection", now=T0 + timedelta(days=2))
    decide(world.eve, emails, "grant", now=T0)
    decide(world.eve, emails, "withdraw", now=T0 + timedelta(hours=1))
    decide(world.fay, elm.purposes["marketing-emails"], "grant", now=T0)
    return world


def emails_on(rows: list[list[str]]) -> list[str]:
    return [row[1] for row in rows[1:]]


def test_the_marketing_list_has_who_consented_and_not_objected(marketing, marketer):
    page = marketer.get("/staff/exports")
    assert '<dd class="govuk-summary-list__value">3</dd>' in page.text  # may email
    assert '<dd class="govuk-summary-list__value">1</dd>' in page.text  # objected
    response = post_form(marketer, "/staff/exports/marketing-list", {"purpose": "any"},
                         page=page)  # fmt: skip
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).astimezone(LONDON).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="marketing-list-oak-primary-{today}.csv"'
    )
    rows = read_csv(response)
    assert rows == [
        ["name", "email", "school"],
        ["ada Test", "ada@example.org", "Oak Primary School"],
        ["dan Test", "dan@example.org", "Oak Primary School"],
        ["gran Test", "gran@example.org", "Oak Primary School"],  # by email address
    ]


def test_an_objector_never_appears(marketing, admin):
    """Ben consented and objected; then he says yes again: the objection still stands."""
    oak = marketing.oak
    decide(marketing.ben, oak.purposes["marketing-emails"], "grant", now=T0 + timedelta(days=3))
    page = admin.get("/staff/exports")
    rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    assert "ben@example.org" not in emails_on(rows)
    # The rule agrees with the consent rules that the parent's own page uses.
    statuses = consent.person_statuses(
        [g.id for g in marketing.guardians.values()],
        [oak.purposes["marketing-emails"]],
        school_id=oak.id,
    )
    granted = sorted(
        g.email
        for g in marketing.guardians.values()
        if statuses[(g.id, oak.purposes["marketing-emails"].id)].status == "granted"
    )
    assert emails_on(rows) == granted


def test_an_objection_to_a_retired_marketing_purpose_still_counts(world, admin):
    """Ben objected to the newsletter only; the newsletter is retired; he said yes to the
    fundraising emails. He is not on the fundraising list."""
    oak = world.oak
    purposes = make_purpose_set(oak.school, text=PURPOSES_OF_EVERY_KIND + NEWSLETTER)
    decide(world.ben, purposes["marketing-emails"], "grant", now=T0)
    decide(world.ben, purposes["newsletter"], "object", now=T0)
    decide(world.ada, purposes["marketing-emails"], "grant", now=T0)
    make_purpose_set(oak.school)  # without the newsletter: retired
    page = admin.get("/staff/exports")
    rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    assert emails_on(rows) == ["ada@example.org"]
    suppressed = read_csv(post_form(admin, "/staff/exports/suppression-list", {}, page=page))
    assert [row[0] for row in suppressed[1:]] == ["ben@example.org"]


def test_a_yes_to_older_wording_does_not_count(marketing, admin):
    reworded = PURPOSES_OF_EVERY_KIND.replace(
        "Emails about school fairs and fundraising appeals.",
        "Emails about school fairs, fundraising appeals and the summer ball.",
    )
    make_purpose_set(marketing.oak.school, text=reworded)
    decide(marketing.gran, marketing.oak.purposes["marketing-emails"], "grant")  # renewed
    page = admin.get("/staff/exports")
    rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    assert emails_on(rows) == ["gran@example.org"]


def test_a_contact_no_longer_at_the_school_is_not_listed(marketing, admin):
    make_child(marketing.oak.school, guardian_email="zed@example.org", mis_id="Z",
               guardian_forename="zed", guardian_surname="Test")  # fmt: skip
    zed = db.session.scalars(
        select(marketing.ada.__class__).where(marketing.ada.__class__.email == "zed@example.org")
    ).one()
    decide(zed, marketing.oak.purposes["marketing-emails"], "grant")
    assert "zed@example.org" in [r.email for r in exports.marketing_recipients(marketing.oak.id)]
    for link in zed.links:
        link.ended_at = datetime.now(UTC)
    db.session.commit()
    assert "zed@example.org" not in [
        r.email for r in exports.marketing_recipients(marketing.oak.id)
    ]


def test_several_marketing_purposes_can_be_chosen_one_at_a_time(world, admin, elm_admin):
    oak = world.oak
    purposes = make_purpose_set(oak.school, text=PURPOSES_OF_EVERY_KIND + NEWSLETTER)
    decide(world.ada, purposes["marketing-emails"], "grant", now=T0)
    decide(world.dan, purposes["newsletter"], "grant", now=T0)
    page = admin.get("/staff/exports")
    assert '<option value="any">Any marketing emails</option>' in page.text
    assert f'<option value="{purposes["newsletter"].id}">' in page.text
    for choice, expected in [
        ("any", ["ada@example.org", "dan@example.org"]),
        (str(purposes["marketing-emails"].id), ["ada@example.org"]),
        (str(purposes["newsletter"].id), ["dan@example.org"]),
    ]:
        rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": choice},
                                  page=page))  # fmt: skip
        assert emails_on(rows) == expected, choice
    details = [json.loads(e.detail) for e in entries("export.marketing")]
    assert details == [{"purpose": "any"}, {"purpose": "marketing-emails"},
                       {"purpose": "newsletter"}]  # fmt: skip
    # Another school's purpose: not found, and nothing recorded.
    elm_page = elm_admin.get("/staff/exports")
    response = post_form(elm_admin, "/staff/exports/marketing-list",
                         {"purpose": str(purposes["newsletter"].id)}, page=elm_page)  # fmt: skip
    assert response.status_code == 404
    # Not a purpose at all: explained.
    response = post_form(admin, "/staff/exports/marketing-list", {"purpose": "all"}, page=page)
    assert response.status_code == 400
    assert "Choose which marketing emails from the list" in response.text
    assert len(entries("export.marketing")) == 3


@pytest.mark.parametrize(
    "forename",
    ['=HYPERLINK("http://x","y")', "@SUM(1)", "+44 7700 900000", "-2+3"],
)
def test_a_formula_in_a_name_is_neutralised(world, marketer, forename):
    guardian, _ = make_child(world.oak.school, guardian_email="mallory@example.org",
                             mis_id="M", guardian_forename=forename,
                             guardian_surname="Test")  # fmt: skip
    decide(guardian, world.oak.purposes["marketing-emails"], "grant")
    page = marketer.get("/staff/exports")
    rows = read_csv(post_form(marketer, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    (row,) = [r for r in rows if r[1] == "mallory@example.org"]
    assert row[0] == f"'{forename} Test"
    assert row[0].startswith("'")


# --- the suppression list ------------------------------------------------------------------


def test_the_suppression_list_has_every_objector_and_since_when(marketing, marketer, elm_admin):
    decide(marketing.fay, marketing.elm.purposes["marketing-emails"], "object", now=T0)
    page = marketer.get("/staff/exports")
    response = post_form(marketer, "/staff/exports/suppression-list", {}, page=page)
    assert response.is_streamed
    today = datetime.now(UTC).astimezone(LONDON).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="suppression-list-oak-primary-{today}.csv"'
    )
    assert read_csv(response) == [
        ["email", "objected_since"],
        ["ben@example.org", "2025-10-07T09:30:00.000000Z"],
    ]
    elm = read_csv(post_form(elm_admin, "/staff/exports/suppression-list", {},
                             page=elm_admin.get("/staff/exports")))  # fmt: skip
    assert elm == [["email", "objected_since"], ["fay@example.org", "2025-10-06T09:30:00.000000Z"]]


# --- every export is recorded --------------------------------------------------------------


def test_every_export_is_recorded_and_shown_in_the_audit_log(marketing, marketer, admin):
    page = marketer.get("/staff/exports")
    before = datetime.now(UTC)
    response = post_form(marketer, "/staff/exports/marketing-list", {"purpose": "any"},
                         page=page)  # fmt: skip
    # Recorded before a byte of the file is read.
    (entry,) = entries("export.marketing")
    response.close()
    post_form(marketer, "/staff/exports/suppression-list", {}, page=page).close()
    (suppression,) = entries("export.suppression")
    staff_id = marketing.oak.school.id
    assert entry.school_id == suppression.school_id == staff_id
    assert entry.staff_user_id == suppression.staff_user_id
    assert entry.occurred_at >= before - timedelta(seconds=1)
    assert json.loads(entry.detail) == {"purpose": "any"}
    log = admin.get("/staff/audit-log")
    assert "Downloaded the marketing list" in log.text
    assert "Downloaded the suppression list" in log.text
    assert "Morgan Lee" in log.text
    assert "<dt>Purpose</dt><dd>any</dd>" in log.text
    assert log.text.index("Downloaded the suppression list") < log.text.index(
        "Downloaded the marketing list"
    )  # newest first
    assert audit_log.entries(staff_id).total == 2


def test_the_export_functions_refuse_another_schools_purpose(marketing):
    with pytest.raises(NotFound):
        list(
            exports.marketing_recipients(
                marketing.oak.id, purpose_id=marketing.elm.purposes["marketing-emails"].id
            )
        )
    assert db.session.scalar(select(func.count()).select_from(StaffAuditEntry)) == 0


def test_the_marketing_list_is_read_a_batch_of_guardians_at_a_time(marketing, monkeypatch):
    whole = list(exports.marketing_recipients(marketing.oak.id))
    monkeypatch.setattr(exports, "GUARDIAN_BATCH", 1)
    assert list(exports.marketing_recipients(marketing.oak.id)) == whole
    assert [r.email for r in whole] == ["ada@example.org", "dan@example.org", "gran@example.org"]


@pytest.mark.parametrize("purpose", ["²", "٣", "2147483648"])
def test_an_export_filter_that_is_not_an_id_is_an_error_not_a_crash(marketing, marketer, purpose):
    page = marketer.get("/staff/exports")
    response = post_form(marketer, "/staff/exports/marketing-list", {"purpose": purpose},
                         page=page)  # fmt: skip
    assert response.status_code == 400
    assert "Choose which marketing emails from the list" in response.text
