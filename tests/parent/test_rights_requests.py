"""A family's rights requests over HTTP: the form on the school's rights page (for a signed-in
parent or carer of that school only), making a request, the confirmation with the due date
and reference, and their own requests (nobody else's)."""

from __future__ import annotations

from sqlalchemy import func, select

from portal import rights_requests
from portal.extensions import db
from portal.models import OutboxMessage, RightsRequest
from tests.support.factories import make_staff
from tests.support.web import HTMX, post_form, text_of

RIGHTS = "/schools/oak-primary/your-rights"
NEW = "/family/schools/oak-primary/rights-requests/new"
MAKE = "/family/schools/oak-primary/rights-requests"


def count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(RightsRequest)) or 0


def test_the_rights_page_offers_the_form_only_to_a_parent_of_that_school(client, world, signed_in):
    anonymous = client.get(RIGHTS)
    assert "Send the request to" not in anonymous.text
    assert "sign in" in text_of(anonymous.text)
    ada = signed_in("ada")
    page = ada.get(RIGHTS)
    words = text_of(page.text)
    assert "Send the request to Oak Primary School" in words
    for kind in rights_requests.KINDS:
        assert str(rights_requests.KIND_WORDS[kind]) in words
    # Ada has two children at Oak: she may say which one it is about, and not Elm's child.
    assert "PupilA Test" in words and "PupilB Test" in words and "PupilX" not in words
    fay = signed_in("fay")  # Elm only
    assert "Send the request to" not in fay.get(RIGHTS).text


def test_a_parent_makes_a_request_and_sees_the_due_date_and_reference(world, signed_in):
    make_staff(world.oak.school, email="admin@oak.example", role="admin")
    ada = signed_in("ada")
    page = ada.get(RIGHTS)
    response = post_form(
        ada, MAKE,
        {"kind": "access", "pupil": str(world.oak.pupils["A"].id), "details": "All photos of A"},
        page=page,
    )  # fmt: skip
    assert response.status_code == 302
    request = db.session.scalars(select(RightsRequest)).one()
    assert response.headers["Location"] == f"/family/rights-requests/{request.id}"
    confirmation = text_of(ada.get(response.headers["Location"]).text)
    reference = rights_requests.reference(request.id)
    assert "Request sent" in confirmation and reference in confirmation
    assert f"must answer by {rights_requests.day_words(request.due_on)}" in confirmation
    assert "About PupilA Test" in confirmation
    assert (request.guardian_id, request.kind, request.details) == (
        world.ada.id,
        "access",
        "All photos of A",
    )
    sent = db.session.execute(
        select(OutboxMessage.template, OutboxMessage.to_address).where(
            OutboxMessage.template != "sign_in"
        )
    ).all()
    assert sorted(sent) == [
        ("rights_request", "admin@oak.example"),
        ("rights_request_family", "ada@example.org"),
    ]
    listing = text_of(ada.get("/family/rights-requests").text)
    assert reference in listing and "Open" in listing
    assert "Make a request to Elm Academy" in listing  # Ada chooses the school


def test_a_bad_request_is_shown_again_with_the_reason_and_nothing_is_made(world, signed_in):
    ada = signed_in("ada")
    page = ada.get(NEW)
    for data, message in [
        ({"kind": "", "details": "x"}, "Choose what you are asking for"),
        ({"kind": "everything", "details": "x"}, "Choose what you are asking for"),
        ({"kind": "access", "details": "x" * 5001}, "5000 characters or fewer"),
        ({"kind": "access", "details": "a\x01b"}, "control character"),
        ({"kind": "access", "pupil": str(world.oak.pupils["C"].id)}, "Choose one of your children"),
        ({"kind": "access", "pupil": "²"}, "Choose one of your children"),
    ]:
        response = post_form(ada, MAKE, data, page=page)
        assert response.status_code == 400, data
        assert message in text_of(response.text), (data, text_of(response.text)[:300])
        assert "There is a problem" in response.text
    assert count() == 0


def test_a_request_without_the_csrf_token_is_refused(world, signed_in):
    ada = signed_in("ada")
    response = ada.post(MAKE, data={"kind": "access"})
    assert response.status_code == 400
    assert count() == 0


def test_a_parent_of_another_school_cannot_ask_this_one(world, signed_in):
    fay = signed_in("fay")
    page = fay.get("/family/rights-requests")
    assert fay.get(NEW).status_code == 404
    assert post_form(fay, MAKE, {"kind": "access"}, page=page).status_code == 404
    assert count() == 0


def test_parents_see_only_their_own_requests(world, signed_in):
    ada, ben = signed_in("ada"), signed_in("ben")
    made = rights_requests.make(world.ada.id, world.oak.id, kind="erasure", details="Photos")
    assert ada.get(f"/family/rights-requests/{made.id}").status_code == 200
    assert ben.get(f"/family/rights-requests/{made.id}").status_code == 404
    assert rights_requests.reference(made.id) not in ben.get("/family/rights-requests").text


def test_the_family_sees_the_answer(world, signed_in):
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin")
    made = rights_requests.make(world.ada.id, world.oak.id, kind="access", details="")
    rights_requests.answer(admin.id, made.id, outcome="We posted the file to you.")
    page = text_of(signed_in("ada").get(f"/family/rights-requests/{made.id}").text)
    assert "Answered" in page and "We posted the file to you." in page
    assert "Admin" not in page  # staff are "the school" to the family


def test_the_footer_links_to_the_requests(world, signed_in):
    assert 'href="/family/rights-requests"' in signed_in("ada").get("/family").text


def test_htmx_boosted_form_gets_a_page(world, signed_in):
    ada = signed_in("ada")
    page = ada.get(NEW)
    headers = {**HTMX, "HX-Boosted": "true"}
    response = post_form(ada, MAKE, {"kind": ""}, page=page, headers=headers)
    assert response.status_code == 400
    assert response.headers.get("HX-Push-Url") == "false"
    assert count() == 0
