"""A pupil's own refusal of biometric recognition, recorded by staff on the pupil's record
(docs/consent-rules.md, "Biometric recognition"): the status then says "Not allowed: the
pupil refused" whatever the parents said, every refusal and lifting is kept (append-only),
and bad input changes nothing. Who may reach the pages is in the one role matrix
(tests/staff/test_roles.py).

The world (tests/staff/conftest.py): at Oak, Ada and Ben have parental responsibility for
pupil A, Ada and Dan for B. Oak adds fingerprint recognition from its template.
"""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from portal import consent, purposes
from portal.extensions import db
from portal.models import PupilRefusal, Purpose
from tests.support.web import post_form
from tests.support.web import text_of as words_of
from tests.support.world import World, decide


def text_of(page: str) -> str:
    return html.unescape(words_of(page))


@pytest.fixture
def fingerprints(world: World) -> Purpose:
    template = purposes.template("biometric-recognition")
    return purposes.create(world.oak.id, template.entry, staff=world.oak.staff, template=template)


def refusals_path(world: World, key: str = "A") -> str:
    return f"/staff/pupils/{world.oak.pupils[key].id}/refusals"


def said(purpose: Purpose, action: str, how: str) -> dict[str, object]:
    """The form as the browser sends it (the one biometric purpose is a hidden field)."""
    return {"purpose": purpose.id, "action": action, "how": how}


def rows() -> int:
    return db.session.scalar(select(func.count()).select_from(PupilRefusal)) or 0


def test_a_refusal_recorded_by_staff_stops_it_whatever_the_parents_said(office, world,
                                                                        fingerprints):  # fmt: skip
    a = world.oak.pupils["A"]
    decide(world.ada, fingerprints, "grant", pupil=a)
    record = office.get(f"/staff/pupils/{a.id}")
    assert "Record that PupilA refuses" in text_of(record.text)
    assert f'href="{refusals_path(world)}"' in record.text

    page = office.get(refusals_path(world))
    assert page.status_code == 200
    words = text_of(page.text)
    assert "The pupil's own view of biometric recognition" in words
    assert "PupilA has not refused it." in words
    response = post_form(office, refusals_path(world), said(fingerprints, "refuse", "in_person"),
                         page=page)  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/pupils/{a.id}"

    record = text_of(office.get(f"/staff/pupils/{a.id}").text)
    assert (
        "Recorded: PupilA refuses “Fingerprint recognition for school meals and the library”"
        in (record)
    )
    assert "Not allowed: the pupil refused" in record
    assert "PupilA refused, so the school must not do this, whatever the parents said." in record
    assert consent.status_for(a, fingerprints).status is consent.Status.PUPIL_REFUSED
    page = text_of(office.get(refusals_path(world)).text)
    assert "Refuses since" in page and "Told a member of staff" in page
    assert "Sam Taylor" in page or "office@oak.example" in page  # who recorded it


def test_lifting_a_refusal_lets_the_parents_answers_count_again(admin, world, fingerprints):
    a = world.oak.pupils["A"]
    decide(world.ada, fingerprints, "grant", pupil=a)
    page = admin.get(refusals_path(world))
    first = post_form(admin, refusals_path(world), said(fingerprints, "refuse", "in_writing"),
                      page=page)  # fmt: skip
    admin.get(first.headers["Location"])  # the record shows (and takes) its confirmation
    page = admin.get(refusals_path(world))
    response = post_form(admin, refusals_path(world), said(fingerprints, "lift", "in_person"),
                         page=page)  # fmt: skip
    assert response.status_code == 302
    assert "Recorded: PupilA no longer refuses" in text_of(
        admin.get(response.headers["Location"]).text
    )
    assert consent.status_for(a, fingerprints).status is consent.Status.GRANTED
    history = text_of(admin.get(refusals_path(world)).text)
    assert history.index("No longer refuses") < history.index("Refuses In writing")  # newest first
    assert rows() == 2


def test_the_same_thing_twice_records_nothing(office, world, fingerprints):
    page = office.get(refusals_path(world))
    first = post_form(office, refusals_path(world), said(fingerprints, "refuse", "in_person"),
                      page=page)  # fmt: skip
    office.get(first.headers["Location"])
    response = post_form(office, refusals_path(world), said(fingerprints, "refuse", "in_person"),
                         page=page)  # fmt: skip
    assert "Nothing changed" in text_of(office.get(response.headers["Location"]).text)
    assert rows() == 1
    # Lifting what was never refused changes nothing either.
    page = office.get(refusals_path(world, "B"))
    post_form(office, refusals_path(world, "B"), said(fingerprints, "lift", "in_person"), page=page)
    assert rows() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"how": "in_person"}, "Choose what the pupil said"),
        ({"action": "refuse"}, "Choose how the pupil said it"),
        ({"action": "shrug", "how": "in_person"}, "Choose what the pupil said"),
        ({"action": "refuse", "how": "by pigeon"}, "Choose how the pupil said it"),
        (
            {"action": "refuse", "how": "in_person", "purpose": "photos"},
            "Choose which use the pupil means",
        ),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(office, world, fingerprints, data,
                                                          message):  # fmt: skip
    page = office.get(refusals_path(world))
    posted = {"purpose": str(fingerprints.id), **data}
    response = post_form(office, refusals_path(world), posted, page=page)
    assert response.status_code == 400
    assert message in text_of(response.text) and "There is a problem" in text_of(response.text)
    assert rows() == 0


def test_only_a_biometric_purpose_of_the_school_takes_a_refusal(office, elm_admin, world,
                                                                fingerprints):  # fmt: skip
    page = office.get(refusals_path(world))
    photos = world.oak.purposes["photos-website"]
    response = post_form(office, refusals_path(world),
                         {"purpose": photos.id, "action": "refuse", "how": "in_person"},
                         page=page)  # fmt: skip
    assert response.status_code == 400
    assert "a pupil's own refusal is recorded only for it" in text_of(response.text)
    # Another school's pupil, or another school's purpose, is not found.
    elm_page = elm_admin.get("/staff/pupils")
    assert elm_admin.get(refusals_path(world)).status_code == 404
    response = post_form(elm_admin, refusals_path(world),
                         {"purpose": fingerprints.id, "action": "refuse", "how": "in_person"},
                         page=elm_page)  # fmt: skip
    assert response.status_code == 404
    elm_pupil = world.elm.pupils["X"].id
    response = post_form(office, f"/staff/pupils/{elm_pupil}/refusals",
                         {"purpose": fingerprints.id, "action": "refuse", "how": "in_person"},
                         page=page)  # fmt: skip
    assert response.status_code == 404
    assert rows() == 0


def test_a_school_without_a_biometric_purpose_has_nothing_to_record(office, world):
    words = text_of(office.get(refusals_path(world)).text)
    assert "The school has no purpose that follows the biometric rule" in words


def test_the_refusals_are_append_only(office, world, fingerprints):
    page = office.get(refusals_path(world))
    post_form(office, refusals_path(world), said(fingerprints, "refuse", "in_person"), page=page)
    for statement in ("UPDATE pupil_refusals SET action = 'lift'", "DELETE FROM pupil_refusals"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalars(select(PupilRefusal.action)).all() == ["refuse"]
