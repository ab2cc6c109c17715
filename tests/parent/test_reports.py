"""Telling the school's office over HTTP (portal/parent/reports.py): "a child is missing from
my list" or "my details are wrong", to one of the family's schools, and the family's own
reports with whether the school has done them.

The world (tests/support/world.py): at Oak, Ada and Ben have parental responsibility for
A, Gran is A's contact without it; Ada and Dan for B; Eve for C. At Elm, Ada and Fay for X.
"""

from __future__ import annotations

from sqlalchemy import func, select

from portal import family_reports
from portal.extensions import db
from portal.models import FamilyReport
from tests.support.factories import make_staff
from tests.support.web import HTMX, post_form, text_of

NEW = "/family/reports/new"
MAKE = "/family/reports"
LIST = "/family/reports"


def count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(FamilyReport)) or 0


def test_a_family_at_two_schools_chooses_which_and_sees_the_report(world, signed_in):
    make_staff(world.elm.school, email="admin@elm.example", role="admin")
    ada = signed_in("ada")
    page = ada.get(f"{NEW}?school=elm-academy")
    assert page.status_code == 200
    # Both of Ada's schools to choose from, the one she came from chosen.
    assert 'value="elm-academy" checked' in page.text and 'value="oak-primary">' in page.text
    details = "Zara Test, class 1 Elm, is my daughter: she is not on my list."
    data = {"kind": "missing_child", "details": details}
    refused = post_form(ada, MAKE, data, page=page)
    assert refused.status_code == 400 and "Choose the school to tell" in text_of(refused.text)
    assert count() == 0

    response = post_form(ada, MAKE, {**data, "school": "elm-academy"}, page=page)
    assert response.status_code == 302
    report = db.session.scalars(select(FamilyReport)).one()
    assert response.headers["Location"] == f"{LIST}#report-{report.id}"
    assert (report.school_id, report.guardian_id, report.kind, report.details) == (
        world.elm.id,
        world.ada.id,
        "missing_child",
        details,
    )
    listing = text_of(ada.get(LIST).text)
    assert f"Sent to Elm Academy. Your reference is FR-{report.id}." in listing
    assert "A child is missing from my list School Elm Academy" in listing
    assert details in listing and "Status Waiting for the school" in listing

    # Done by the office: the family sees that it is done, and when; never the note.
    family_reports.mark_done(world.elm.staff.id, report.id, "Added Zara in the MIS")
    listing = text_of(ada.get(LIST).text)
    assert "Status Done by the school on" in listing and "Added Zara" not in listing


def test_a_family_at_one_school_tells_that_school(world, signed_in):
    eve = signed_in("eve")
    page = eve.get(NEW)
    assert 'name="school"' not in page.text and "Oak Primary School" in text_of(page.text)
    data = {"kind": "details_wrong", "details": "My surname is Evans."}
    assert post_form(eve, MAKE, data, page=page).status_code == 302
    assert db.session.scalars(select(FamilyReport.school_id)).one() == world.oak.id


def test_a_refused_report_is_shown_again_with_the_reason_and_nothing_is_sent(world, signed_in):
    eve = signed_in("eve")
    page = eve.get(NEW)
    for data, field, message in [
        ({"kind": "", "details": "x"}, "kind", "Choose what you want to tell the school"),
        ({"kind": "everything", "details": "x"}, "kind", "Choose what you want to tell"),
        ({"kind": "details_wrong", "details": ""}, "details", "Tell the school what is missing"),
        ({"kind": "details_wrong", "details": "x" * 1001}, "details", "1000 characters or fewer"),
        ({"kind": "details_wrong", "details": "a\x01b"}, "details", "cannot be kept"),
    ]:
        response = post_form(eve, MAKE, data, page=page)
        assert response.status_code == 400, data
        assert message in text_of(response.text), (data, text_of(response.text)[:300])
        assert "There is a problem" in response.text and f'href="#{field}"' in response.text
    assert count() == 0


def test_the_sixth_report_in_a_day_is_refused(world, signed_in):
    eve = signed_in("eve")
    page = eve.get(NEW)
    data = {"kind": "details_wrong", "details": "My surname is Evans."}
    for _ in range(family_reports.LIMIT):
        assert post_form(eve, MAKE, data, page=page).status_code == 302
    refused = post_form(eve, MAKE, data, page=page)
    assert refused.status_code == 429
    assert "You have sent 5 reports in the last day" in text_of(refused.text)
    assert count() == family_reports.LIMIT
    # Another person is not held back.
    dan = signed_in("dan")
    assert post_form(dan, MAKE, data, page=dan.get(NEW)).status_code == 302


def test_a_report_without_the_csrf_token_is_refused(world, signed_in):
    eve = signed_in("eve")
    response = eve.post(MAKE, data={"kind": "details_wrong", "details": "x"})
    assert response.status_code == 400
    assert count() == 0


def test_parents_see_only_their_own_reports(world, signed_in):
    family_reports.make(world.ada.id, world.oak.id, kind="details_wrong", details="Ada's own")
    assert "Ada&#39;s own" in signed_in("ada").get(LIST).text
    for name in ("ben", "eve"):
        listing = signed_in(name).get(LIST).text
        assert "Ada&#39;s own" not in listing and "FR-1" not in listing
        assert "You have not told the school about anything yet." in listing


def test_a_boosted_form_with_a_problem_gets_a_page(world, signed_in):
    eve = signed_in("eve")
    page = eve.get(NEW)
    headers = {**HTMX, "HX-Boosted": "true"}
    response = post_form(eve, MAKE, {"kind": ""}, page=page, headers=headers)
    assert response.status_code == 400 and response.headers["HX-Push-Url"] == "false"
    assert "Choose what you want to tell the school" in response.text


def test_the_report_pages_are_translated(signed_in, world):
    """The form (a refused one too) and the family's reports, in the pseudo-locale."""
    from tests.parent.test_translated import assert_translated, check, in_pseudo, world_data

    ada = in_pseudo(signed_in("ada"))
    check(ada, LIST)
    page = check(ada, NEW)
    # The fields' "Error:" comes from the staff's form macros, which are not translated yet.
    refused = post_form(ada, MAKE, {"kind": "", "details": ""}, page=page)
    assert refused.status_code == 400
    assert_translated(refused.text, world_data(), allowed=frozenset({"Error"}))
    wrote = "Zara is missing"
    data = {"kind": "missing_child", "details": wrote, "school": "elm-academy"}
    made = post_form(ada, MAKE, data, page=page)
    assert made.status_code == 302
    family_reports.mark_done(world.elm.staff.id, db.session.scalars(select(FamilyReport.id)).one())
    listing = ada.get(LIST)
    assert_translated(listing.text, [*world_data(), wrote, "FR-1"])
    assert "portal-saved" in listing.text
