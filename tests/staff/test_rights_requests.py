"""Rights requests in the staff workspace over HTTP (admins): the list with days left, logging
a request that came another way, a request's page with its history, each action with and
without htmx, refused input and transitions that change nothing, and the family's file."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from portal import rights_requests
from portal.extensions import db
from portal.models import RightsRequest, RightsRequestChange, StaffAuditEntry, StaffUser
from portal.types import utcnow
from tests.support.web import HTMX, PLAIN, post_form, text_of

LIST = "/staff/rights-requests"
NEW = "/staff/rights-requests/new"


def path(request_id: int, action: str = "") -> str:
    return f"/staff/rights-requests/{request_id}" + (f"/{action}" if action else "")


def state() -> tuple[int, int, list[tuple[str, str, int, int]]]:
    """Every request's status, due date and counts: a refused action leaves it as it was."""
    db.session.expire_all()
    rows = db.session.scalars(select(RightsRequest).order_by(RightsRequest.id)).all()
    return (
        db.session.scalar(select(func.count()).select_from(RightsRequest)) or 0,
        db.session.scalar(select(func.count()).select_from(RightsRequestChange)) or 0,
        [(r.status, r.due_on.isoformat(), r.paused_days, r.extension_months) for r in rows],
    )


def today():
    return rights_requests.today_in_london(utcnow())


def made(world, kind: str = "access") -> RightsRequest:
    return rights_requests.make(world.ada.id, world.oak.id, kind=kind, details="All of it")


def test_the_list_shows_days_left_and_marks_the_overdue_first(admin, world):
    fresh = made(world)
    dana = db.session.scalars(select(StaffUser).where(StaffUser.email == "admin@oak.example")).one()
    old = rights_requests.log(
        dana.id, received_on=today() - timedelta(days=40), channel="letter",
        requester_name="Grace Old", requester_contact="1 Lane", kind="erasure", details="Delete",
    )  # fmt: skip
    page = admin.get(LIST)
    words = text_of(page.text)
    assert "overdue by" in words and "days left" in words
    assert words.index(rights_requests.reference(old.id)) < words.index(
        rights_requests.reference(fresh.id)
    )
    assert "portal-rights-request--overdue" in page.text
    assert 'aria-current="page"' in page.text  # the menu marks the page


def test_an_admin_logs_a_request_that_came_by_letter(admin, world):
    page = admin.get(NEW)
    received = today() - timedelta(days=3)
    response = post_form(
        admin, "/staff/rights-requests",
        {"received_on": received.strftime("%d/%m/%Y"), "channel": "letter",
         "requester_name": "Ben Test", "requester_contact": "ben@example.org",
         "guardian_email": "ben@example.org", "kind": "rectification",
         "details": "The spelling of A's name"},
        page=page,
    )  # fmt: skip
    assert response.status_code == 302
    logged = db.session.scalars(select(RightsRequest)).one()
    assert response.headers["Location"] == path(logged.id)
    assert (logged.received_on, logged.channel, logged.guardian_id) == (
        received,
        "letter",
        world.ben.id,
    )
    shown = text_of(admin.get(response.headers["Location"]).text)
    assert f"Logged {rights_requests.reference(logged.id)}" in shown
    assert f"Due {rights_requests.day_words(logged.due_on)}" in shown
    assert "Logged by staff" in shown and "Dana Okafor" in shown


def test_a_bad_logged_request_gets_a_message_and_changes_nothing(admin, world):
    page = admin.get(NEW)
    good = {"received_on": today().isoformat(), "channel": "phone", "requester_name": "Someone",
            "requester_contact": "01234", "guardian_email": "", "kind": "access",
            "details": "Everything"}  # fmt: skip
    before = state()
    for change, message in [
        ({"received_on": (today() + timedelta(days=1)).isoformat()}, "cannot be in the future"),
        ({"received_on": (today() - timedelta(days=400)).isoformat()}, "within the last year"),
        ({"received_on": "31/02/2025"}, "must be a real date"),
        ({"received_on": ""}, "Enter the date"),
        ({"channel": "web"}, "Choose how the request came"),
        ({"requester_name": ""}, "Enter the name of the person asking"),
        ({"requester_name": "Two\nlines"}, "must be one line"),
        ({"guardian_email": "fay@example.org"}, "No parent or carer of this school"),
        ({"kind": "nonsense"}, "Choose what"),
        ({"details": ""}, "Enter what they asked for"),
    ]:
        response = post_form(admin, "/staff/rights-requests", {**good, **change}, page=page)
        assert response.status_code == 400, change
        assert message in text_of(response.text), (change, text_of(response.text)[:400])
        assert "There is a problem" in response.text
    assert state() == before


def test_each_action_works_without_javascript(admin, world):
    request = made(world)
    page = admin.get(path(request.id))
    assert "Made on the portal" in text_of(page.text)
    for action, data, message, status in [
        ("pause", {"pause_reason": "identity"}, "The clock is stopped", "paused"),
        ("resume", {}, "The clock is running again", "open"),
        ("extend", {"months": "2", "extend_reason": "Many records"}, "Extended", "open"),
        ("answer", {"outcome": "Sent by post"}, "Marked as answered", "answered"),
    ]:
        response = post_form(admin, path(request.id, action), data, page=page, headers=PLAIN)
        assert response.status_code == 302, (action, text_of(response.text)[:300])
        assert response.headers["Location"] == path(request.id)
        assert message in text_of(admin.get(path(request.id)).text)
        db.session.expire_all()
        assert db.session.get(RightsRequest, request.id).status == status
    shown = text_of(admin.get(path(request.id)).text)
    for words in ("Clock stopped", "Clock restarted", "Extended: By 2 months", "Answered"):
        assert words in shown


def test_htmx_gets_the_region_and_the_confirmation(admin, world):
    request = made(world)
    page = admin.get(path(request.id))
    response = post_form(
        admin, path(request.id, "pause"), {"pause_reason": "clarification"}, page=page,
        headers=HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="rights-request"')
    assert 'hx-swap-oob="innerHTML"' in response.text and "The clock is stopped" in response.text
    assert "<h1" not in response.text
    # A refused action answers htmx with the region and the reason, and changes nothing.
    before = state()
    refused = post_form(
        admin, path(request.id, "pause"), {"pause_reason": "identity"}, page=page, headers=HTMX
    )
    assert refused.status_code == 400
    assert "already stopped" in text_of(refused.text)
    assert state() == before


def test_nonsense_transitions_get_a_message_and_change_nothing(admin, world):
    request = made(world)
    page = admin.get(path(request.id))
    before = state()
    for action, data, message in [
        ("resume", {}, "nothing to restart"),
        ("pause", {"pause_reason": "holiday"}, "Choose why the clock is stopped"),
        ("extend", {"months": "3", "extend_reason": "x"}, "1 or 2 months"),
        ("extend", {"months": "1", "extend_reason": ""}, "Enter why it needs longer"),
        ("answer", {"outcome": ""}, "Enter what the school did"),
        ("refuse", {"reasons": " "}, "Enter the reasons"),
    ]:
        response = post_form(admin, path(request.id, action), data, page=page)
        assert response.status_code == 400, action
        assert message in text_of(response.text), (action, text_of(response.text)[:400])
        assert "There is a problem" in response.text
    assert state() == before
    post_form(admin, path(request.id, "withdraw"), {}, page=page)
    before = state()
    response = post_form(admin, path(request.id, "answer"), {"outcome": "Late"}, page=page)
    assert response.status_code == 400
    assert "This request is closed: it was withdrawn" in text_of(response.text)
    assert state() == before


def test_an_action_without_the_csrf_token_is_refused(admin, world):
    request = made(world)
    before = state()
    for action, data in [("pause", {"pause_reason": "identity"}), ("answer", {"outcome": "x"})]:
        assert admin.post(path(request.id, action), data=data).status_code == 400
    assert admin.post("/staff/rights-requests", data={"kind": "access"}).status_code == 400
    assert state() == before


def test_the_family_file_as_a_page_and_as_json(admin, world):
    request = made(world)
    page = admin.get(path(request.id))
    built = post_form(admin, path(request.id, "family-file"), {}, page=page)
    assert built.status_code == 200
    words = text_of(built.text)
    assert f"The family's file for {rights_requests.reference(request.id)}" in words
    assert "ada@example.org" in words and "PupilA Test" in words and "PupilX" not in words
    download = post_form(admin, path(request.id, "family-file/download"), {}, page=page)
    assert download.status_code == 200
    assert download.mimetype == "application/json"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(download.get_data(as_text=True))
    assert data["email"] == "ada@example.org" and data["school"] == "Oak Primary School"
    db.session.expire_all()
    formats = [json.loads(e.detail)["format"] for e in db.session.scalars(select(StaffAuditEntry))]
    assert formats == ["page", "json"]


def test_no_family_file_for_another_kind_of_request(admin, world):
    request = made(world, kind="erasure")
    page = admin.get(path(request.id))
    assert "Build the family" not in page.text
    response = post_form(admin, path(request.id, "family-file"), {}, page=page)
    assert response.status_code == 400
    assert "for access requests" in text_of(response.text)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(StaffAuditEntry)) == 0


def test_another_schools_request_answers_404(elm_admin, world):
    request = made(world)
    assert elm_admin.get(path(request.id)).status_code == 404
    assert rights_requests.reference(request.id) not in elm_admin.get(LIST).text
