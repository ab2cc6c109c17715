"""The admins' objection pages (portal/staff/objections.py): the list with due dates, one
objection's page, and recording the outcome without and with htmx; refused input changes
nothing. Roles are in tests/staff/test_roles.py."""

from __future__ import annotations

from sqlalchemy import select

from portal import consent
from portal.extensions import db
from portal.models import OutboxMessage
from tests.support.web import HTMX, post_form, text_of
from tests.support.world import decide, snapshot


def object_to_class_photos(world, note="We are in a refuge"):
    return decide(world.eve, world.oak.purposes["class-photos"], "object",
                  pupil=world.oak.pupils["C"], note=note)  # fmt: skip


def test_the_list_shows_each_open_objection_with_its_due_date(world, admin):
    asked = object_to_class_photos(world)
    page = admin.get("/staff/objections")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "To review (1)" in words
    assert "Class photos on display in school" in words and "PupilC" in words
    assert f'href="/staff/objections/{asked.seq}"' in page.text
    assert "Due by" in words
    one = admin.get(f"/staff/objections/{asked.seq}")
    assert one.status_code == 200
    assert "We are in a refuge" in one.text and "Record the outcome" in one.text
    assert "objection under review" in one.text


def test_not_upheld_without_javascript_redirects_with_a_confirmation(world, admin):
    asked = object_to_class_photos(world)
    page = admin.get(f"/staff/objections/{asked.seq}")
    response = post_form(
        admin, f"/staff/objections/{asked.seq}",
        {"outcome": "not_upheld", "reasons": "Photos stay on the boards inside school."},
        page=page,
    )  # fmt: skip
    assert response.status_code == 302 and response.location.endswith("/staff/objections")
    listing = admin.get(response.location)
    assert "is not upheld. The family has been told." in listing.text
    assert "No objections to review." in listing.text and "Not upheld" in listing.text
    pupil, purpose = world.oak.pupils["C"], world.oak.purposes["class-photos"]
    assert consent.status_for(pupil, purpose).status == consent.Status.ALLOWED
    told = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "objection_outcome")
    ).all()
    assert [m.to_address for m in told] == ["eve@example.org"]


def test_upheld_with_htmx_answers_with_the_list_and_the_live_region(world, admin):
    asked = object_to_class_photos(world)
    page = admin.get(f"/staff/objections/{asked.seq}")
    response = post_form(admin, f"/staff/objections/{asked.seq}", {"outcome": "upheld"},
                         page=page, headers=HTMX)  # fmt: skip
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="objection-list">')
    assert 'hx-swap-oob="innerHTML">Recorded:' in response.text
    pupil, purpose = world.oak.pupils["C"], world.oak.purposes["class-photos"]
    assert consent.status_for(pupil, purpose).status == consent.Status.OBJECTED


def test_a_refused_outcome_shows_why_and_changes_nothing(world, admin):
    asked = object_to_class_photos(world)
    page = admin.get(f"/staff/objections/{asked.seq}")
    before = snapshot(world.oak.id)
    for data, words in [
        ({"outcome": "not_upheld", "reasons": ""}, "Write the compelling grounds"),
        ({"reasons": "no choice made"}, "Choose whether the objection is upheld"),
        ({"outcome": "maybe"}, "Not a valid choice"),
    ]:
        response = post_form(admin, f"/staff/objections/{asked.seq}", data, page=page)
        assert response.status_code == 400, data
        assert "There is a problem" in response.text and words in response.text, data
        assert snapshot(world.oak.id) == before
    missing = admin.post(f"/staff/objections/{asked.seq}", data={"outcome": "upheld"})
    assert missing.status_code == 400 and snapshot(world.oak.id) == before
    # Answered once: a second answer is refused with the reason.
    post_form(admin, f"/staff/objections/{asked.seq}", {"outcome": "upheld"}, page=page)
    again = post_form(admin, f"/staff/objections/{asked.seq}", {"outcome": "upheld"}, page=page)
    assert again.status_code == 400 and "already been answered" in again.text


def test_the_parent_sees_the_review_and_then_the_outcome(world, admin, app):
    from tests.support.web import sign_in_as

    asked = object_to_class_photos(world)
    parent = app.test_client()
    sign_in_as(parent, "eve@example.org", home="/family")
    child = f"/family/children/{world.oak.pupils['C'].id}"
    words = text_of(parent.get(child).text)
    assert "The school has stopped this for PupilC while it looks at your objection" in words
    assert "will tell you the outcome by" in words
    page = admin.get(f"/staff/objections/{asked.seq}")
    post_form(admin, f"/staff/objections/{asked.seq}",
              {"outcome": "not_upheld", "reasons": "Photos stay on the boards inside school."},
              page=page)  # fmt: skip
    words = text_of(parent.get(child).text)
    assert "Objection not upheld" in words
    assert "Photos stay on the boards inside school." in words
    assert "complain to the Information Commissioner's Office" in words
    assert "I object" in words  # they may object again
    history = text_of(parent.get("/family/history").text)
    assert "Objection not upheld" in history and "Photos stay on the boards" in history
