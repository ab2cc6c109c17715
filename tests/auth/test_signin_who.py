"""Who an address signs in as: a guardian of children at several schools, staff, or both."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from portal import ledger, signin
from portal.extensions import db
from portal.models import PrincipalType, StaffUser
from portal.types import utcnow
from tests.support.client import csrf_token
from tests.support.factories import make_child, make_purpose_set, make_school, make_staff
from tests.support.mail import ask_for_link, session_cookie, sign_in, user_sessions
from tests.support.web import pass_second_factor

BOTH = "sam.taylor@example.org"


def _options(page):
    return dict(re.findall(r'<input[^>]*value="([^"]+)"[^>]*>\s*<label[^>]*>\s*([^<]+?)\s*<', page))


def test_a_guardian_sees_children_at_two_schools_after_one_sign_in(
    smtp_app, smtp_client, smtp_server
):
    oak = make_school()
    elm = make_school(slug="elm-academy", name="Elm Academy")
    make_child(oak, guardian_email="pat@example.org", forename="Robin", mis_id="O1")
    make_child(elm, guardian_email="pat@example.org", forename="Kim", mis_id="E1")
    make_child(elm, guardian_email="other@example.org", forename="Lee", mis_id="E2")

    response = sign_in(smtp_client, smtp_server, "pat@example.org")
    assert response.headers["Location"] == "/family"
    (received,) = smtp_server.messages
    assert received.message["Subject"] == "Your sign-in link for Elm Academy and Oak Primary School"
    home = smtp_client.get("/family").text
    assert "Elm Academy" in home and "Oak Primary School" in home
    assert "Kim Morgan" in home and "Robin Morgan" in home
    assert "Lee Morgan" not in home
    assert len(user_sessions()) == 1


def test_a_contact_without_parental_responsibility_sees_no_children(
    smtp_app, smtp_client, smtp_server
):
    school = make_school()
    make_child(school, guardian_email="gran@example.org", parental_responsibility=False)
    sign_in(smtp_client, smtp_server, "gran@example.org")
    home = smtp_client.get("/family")
    assert home.status_code == 200
    assert "We could not find any children" in home.text
    assert "Robin Morgan" not in home.text


def _sign_in_as_both(app, server):
    client = app.test_client()
    response = sign_in(client, server, BOTH)
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in/choose"
    page = client.get("/sign-in/choose")
    assert page.status_code == 200
    assert "How do you want to sign in?" in page.text
    assert user_sessions() == [], "no session until a choice is made"
    assert client.get("/family").status_code == 302
    return client, page


def _both_kinds():
    school = make_school()
    make_child(school, guardian_email=BOTH, forename="Robin")
    make_staff(school, email=BOTH, role="staff", name="Sam Taylor")


def test_someone_who_is_staff_and_a_parent_chooses_staff(smtp_app, smtp_server):
    _both_kinds()
    client, page = _sign_in_as_both(smtp_app, smtp_server)
    options = _options(page.text)
    assert sorted(options.values()) == ["Parent or carer", "Staff at Oak Primary School (staff)"]
    staff_key = next(k for k, label in options.items() if label.startswith("Staff"))

    response = client.post(
        "/sign-in/choose", data={"principal": staff_key, "csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff"
    pass_second_factor(client)
    assert client.get("/staff").status_code == 200
    refused = client.get("/family")
    assert refused.status_code == 403
    assert "You cannot see this page" in refused.text
    (row,) = user_sessions()
    assert row.principal_type == "staff"
    # The choice is spent with the sign-in.
    assert client.get("/sign-in/choose").headers["Location"] == "/sign-in"


def test_someone_who_is_staff_and_a_parent_chooses_parent(smtp_app, smtp_server):
    _both_kinds()
    client, page = _sign_in_as_both(smtp_app, smtp_server)
    options = _options(page.text)
    guardian_key = next(k for k, label in options.items() if label == "Parent or carer")
    response = client.post(
        "/sign-in/choose", data={"principal": guardian_key, "csrf_token": csrf_token(page)}
    )
    assert response.headers["Location"] == "/family"
    assert "Robin Morgan" in client.get("/family").text
    assert client.get("/staff").status_code == 403
    (row,) = user_sessions()
    assert row.principal_type == "guardian"


def test_a_choice_that_was_not_offered_is_refused(smtp_app, smtp_server):
    _both_kinds()
    other_school = make_school(slug="elm-academy", name="Elm Academy")
    stranger = make_staff(other_school, email="head@elm.example.org", role="admin")
    client, page = _sign_in_as_both(smtp_app, smtp_server)
    for forged in (f"staff:{stranger.id}", "guardian:999999", ""):
        response = client.post(
            "/sign-in/choose", data={"principal": forged, "csrf_token": csrf_token(page)}
        )
        assert response.status_code == 400
        assert "There is a problem" in response.text
    assert user_sessions() == []
    assert client.get("/staff").status_code == 302


def test_a_choice_page_without_a_pending_choice_goes_back_to_sign_in(smtp_app, smtp_client):
    assert smtp_client.get("/sign-in/choose").headers["Location"] == "/sign-in"
    token = csrf_token(smtp_client.get("/sign-in"))
    response = smtp_client.post("/sign-in/choose", data={"principal": "x", "csrf_token": token})
    assert response.headers["Location"] == "/sign-in"


def _staff_key(page):
    return next(k for k, label in _options(page.text).items() if label.startswith("Staff"))


def test_a_copied_choice_cannot_be_replayed(smtp_app, smtp_server):
    """The pending choice is held on the server and used once (docs/security.md, promise 7):
    a copy of the cookie taken at the choose page makes no second session."""
    _both_kinds()
    client, page = _sign_in_as_both(smtp_app, smtp_server)
    copied = session_cookie(client, smtp_app)
    data = {"principal": _staff_key(page), "csrf_token": csrf_token(page)}
    response = client.post("/sign-in/choose", data=data)
    assert response.headers["Location"] == "/staff"
    (opened,) = user_sessions()

    for _ in range(4):
        replay = smtp_app.test_client()
        replay.set_cookie(smtp_app.config["SESSION_COOKIE_NAME"], copied)
        response = replay.post("/sign-in/choose", data=data)
        assert response.status_code == 302
        assert response.headers["Location"] == "/sign-in"
        assert replay.get("/sign-in/choose").headers["Location"] == "/sign-in"
        assert replay.get("/staff").status_code == 302
    assert [row.id for row in user_sessions()] == [opened.id]
    # The one who chose is still signed in (as staff: on to the second factor).
    assert client.get("/staff/second-factor/set-up").status_code == 200


@pytest.mark.parametrize("round_", range(3))  # a race: three tries
def test_two_choices_at_once_make_exactly_one_session(smtp_app, smtp_server, round_):
    _both_kinds()
    client, page = _sign_in_as_both(smtp_app, smtp_server)
    copied = session_cookie(client, smtp_app)
    data = {"principal": _staff_key(page), "csrf_token": csrf_token(page)}
    clients = [client, smtp_app.test_client()]
    clients[1].set_cookie(smtp_app.config["SESSION_COOKIE_NAME"], copied)
    barrier = threading.Barrier(2)
    results = [None, None]

    def choose(index):
        barrier.wait()
        response = clients[index].post("/sign-in/choose", data=data)
        results[index] = (response.status_code, response.headers.get("Location"), response.text)

    threads = [threading.Thread(target=choose, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(result is not None for result in results), "a request did not finish"
    assert sum(result[:2] == (302, "/staff") for result in results) == 1, results
    assert len(user_sessions()) == 1
    # One of them is signed in as staff (and asked for the second factor).
    assert sum(c.get("/staff/second-factor/set-up").status_code == 200 for c in clients) == 1


def test_a_choice_works_for_five_minutes_and_once(smtp_app):
    _both_kinds()
    start = utcnow()
    principals = signin.principals_for(BOTH)
    assert len(principals) == 2
    token = signin.offer_choice(principals, now=start)
    later = start + timedelta(seconds=signin.CHOICE_SECONDS)
    assert signin.pending_choice(token, now=later - timedelta(seconds=1)) == principals
    assert signin.pending_choice(token, now=later) is None
    with pytest.raises(signin.SignInError) as refused:
        signin.make_choice(token, principals[0].key, now=later)
    assert refused.value.state == signin.LinkState.EXPIRED

    staff = next(p for p in principals if p.type == PrincipalType.STAFF)
    assert signin.make_choice(token, staff.key, now=later - timedelta(seconds=1)) == staff
    with pytest.raises(signin.SignInError) as refused:
        signin.make_choice(token, staff.key, now=later - timedelta(seconds=1))
    assert refused.value.state == signin.LinkState.USED
    assert signin.pending_choice(token, now=start) is None
    assert signin.pending_choice("forged", now=start) is None
    assert signin.pending_choice(None, now=start) is None


def test_a_deactivated_staff_users_session_stops_working(smtp_app, smtp_client, smtp_server):
    school = make_school()
    user = make_staff(school, email="office@oak.example.org")
    sign_in(smtp_client, smtp_server, "office@oak.example.org")
    pass_second_factor(smtp_client)
    assert smtp_client.get("/staff").status_code == 200

    db.session.execute(update(StaffUser).where(StaffUser.id == user.id).values(active=False))
    db.session.commit()
    response = smtp_client.get("/staff")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"
    # And they cannot sign in again: the address is now unknown.
    fresh_client = smtp_app.test_client()
    ask_for_link(fresh_client, "office@oak.example.org")
    smtp_server.assert_no_more(1, settle=0.1)


def test_staff_land_on_their_school_and_its_ledger_head(smtp_app, smtp_client, smtp_server):
    school = make_school()
    make_school(slug="elm-academy", name="Elm Academy")
    make_staff(school, email="office@oak.example.org", name="Sam Taylor", role="admin")
    purposes = make_purpose_set(school)
    guardian, pupil = make_child(school, guardian_email="pat@example.org")
    ledger.record(
        actor=ledger.Actor.guardian(guardian),
        guardian=guardian,
        pupil=pupil,
        purpose=purposes["photos-website"],
        decision="grant",
        channel="web",
    )
    (head,) = ledger.heads(school)
    assert head.seq == 1

    response = sign_in(smtp_client, smtp_server, "office@oak.example.org")
    assert response.headers["Location"] == "/staff"
    pass_second_factor(smtp_client)
    page = smtp_client.get("/staff")
    assert page.status_code == 200
    assert "Oak Primary School" in page.text
    assert "Elm Academy" not in page.text
    assert "Sam Taylor (admin)" in page.text
    assert re.search(r'summary-list__value">\s*1\s*<', page.text)
    assert head.hash in page.text
