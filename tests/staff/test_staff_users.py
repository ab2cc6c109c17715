"""Staff users: list, add, change role, deactivate (ending their sessions), the last-admin
guard, and who may do it."""

from __future__ import annotations

import html
import json
import re
import threading
from typing import Any

import pytest
from sqlalchemy import select

from portal import signin, staff_users
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import OutboxMessage, SignInRequest, StaffAuditEntry, StaffUser, UserSession
from portal.second_factor import totp
from tests.support.client import CheckedClient, csrf_token
from tests.support.factories import make_staff
from tests.support.mail import MailServer

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


def staff(email: str) -> StaffUser:
    db.session.remove()
    return db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def everyone() -> list[tuple[Any, ...]]:
    db.session.remove()
    return sorted(
        db.session.execute(
            select(
                StaffUser.school_id,
                StaffUser.email,
                StaffUser.name,
                StaffUser.role,
                StaffUser.active,
            )
        ).all()
    )


def audit(action: str) -> list[dict[str, Any]]:
    db.session.remove()
    return [
        json.loads(entry.detail)
        for entry in db.session.scalars(
            select(StaffAuditEntry)
            .where(StaffAuditEntry.action == action)
            .order_by(StaffAuditEntry.id)
        )
    ]


def post(client: CheckedClient, path: str, data: dict[str, str], **kw: Any) -> Any:
    page = client.get("/staff/users")
    return client.post(path, data={**data, "csrf_token": csrf_token(page)}, **kw)


def open_sessions(email: str) -> int:
    user = staff(email)
    return len(
        db.session.scalars(
            select(UserSession).where(
                UserSession.staff_user_id == user.id, UserSession.ended_at.is_(None)
            )
        ).all()
    )


# --- pages and access ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_the_list_plain_and_boosted(admin, headers):
    page = admin.get("/staff/users", headers=headers)
    assert page.status_code == 200
    assert '<h1 class="govuk-heading-l">Staff users</h1>' in page.text
    for email in ("admin@oak.example", "office@oak.example", "marketing@oak.example"):
        assert email in page.text
    assert "admin@elm.example" not in page.text and "office@elm.example" not in page.text
    assert 'Dana Okafor <span class="govuk-hint govuk-!-display-inline">(you)</span>' in page.text
    assert page.text.count('<strong class="govuk-tag govuk-tag--green">Active</strong>') == 3


def test_another_schools_admin_gets_404_for_oak_users(elm_admin, world):
    before = everyone()
    for email in ("office@oak.example", "admin@oak.example"):
        user_id = staff(email).id
        response = post(elm_admin, f"/staff/users/{user_id}/role", {"role": "marketing"})
        assert response.status_code == 404
        for data in ({}, {"confirm": "yes"}):
            response = post(elm_admin, f"/staff/users/{user_id}/deactivate", data)
            assert response.status_code == 404
    assert everyone() == before


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/staff/users", {"email": "new@oak.example", "name": "New Person", "role": "staff"}),
        ("/staff/users/{office}/role", {"role": "admin"}),
        ("/staff/users/{office}/deactivate", {"confirm": "yes"}),
    ],
)
def test_missing_csrf_is_refused_and_nothing_changes(admin, path, data):
    before = everyone()
    response = admin.post(path.format(office=staff("office@oak.example").id), data=data)
    assert response.status_code == 400
    assert everyone() == before
    assert audit("staff.add") == audit("staff.role") == audit("staff.deactivate") == []


# --- add -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_an_admin_adds_a_staff_user_who_can_then_sign_in(admin, world, headers):
    response = post(
        admin,
        "/staff/users",
        {"email": " New.Teacher@Oak.Example ", "name": " Nia Teacher ", "role": "staff"},
        headers=headers,
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/users#user-")
    user = staff("new.teacher@oak.example")
    assert (user.school_id, user.name, user.role, user.active) == (
        world.oak.id, "Nia Teacher", "staff", True,
    )  # fmt: skip
    page = admin.get(response.headers["Location"])
    assert "Nia Teacher was added as staff." in page.text
    assert [p.label for p in signin.principals_for("new.teacher@oak.example")] == [
        "Staff at Oak Primary School (staff)"
    ]
    [entry] = audit("staff.add")
    assert entry["email"] == "new.teacher@oak.example" and entry["role"] == "staff"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "OFFICE@oak.example", "name": "Again", "role": "staff"}, "email",
         "office@oak.example is already a staff user of this school"),
        ({"email": "not an email", "name": "X", "role": "staff"}, "email",
         "Enter an email address in the correct format"),
        ({"email": "", "name": "X", "role": "staff"}, "email", "Enter their email address"),
        ({"email": "x@oak.example", "name": "", "role": "staff"}, "name", "Enter their name"),
        ({"email": "x@oak.example", "name": "X"}, "role", "Choose a role"),
        ({"email": "x@oak.example", "name": "Sam\nBcc: evil@example.org", "role": "staff"},
         "name", "The name must be one line"),
        ({"email": "x@oak.example", "name": "X", "role": "owner"}, "role", "Not a valid choice"),
    ],
)  # fmt: skip
def test_adding_with_a_problem_says_so_beside_the_field(admin, data, field, message):
    before = everyone()
    response = post(admin, "/staff/users", data)
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert f'<a href="#{field}">{message}' in response.text  # the summary links to the field
    assert f'id="{field}-error"' in response.text  # and the message is beside it
    assert everyone() == before


def test_an_email_at_another_school_is_a_new_user_here(admin, world):
    response = post(admin, "/staff/users", {"email": "office@elm.example", "name": "Shared",
                                            "role": "staff"})  # fmt: skip
    assert response.status_code == 302
    assert ("office@elm.example", world.oak.id) in {
        (email, school) for school, email, *_ in everyone()
    }


# --- change role ---------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_an_admin_changes_a_role(admin, headers):
    office = staff("office@oak.example")
    response = post(admin, f"/staff/users/{office.id}/role", {"role": "marketing"},
                    headers=headers)  # fmt: skip
    assert response.status_code == 302
    assert staff("office@oak.example").role == "marketing"
    assert "Sam Taylor is now marketing." in admin.get(response.headers["Location"]).text
    assert audit("staff.role") == [
        {"user_id": office.id, "email": "office@oak.example", "from": "staff", "to": "marketing"}
    ]
    # The same role again changes and records nothing.
    post(admin, f"/staff/users/{office.id}/role", {"role": "marketing"})
    assert len(audit("staff.role")) == 1


def test_the_new_role_takes_effect_on_the_next_request(admin, office):
    assert office.get("/staff/users").status_code == 403
    post(admin, f"/staff/users/{staff('office@oak.example').id}/role", {"role": "admin"})
    assert office.get("/staff/users").status_code == 200


def test_a_role_form_with_a_problem_opens_that_users_form(admin):
    office = staff("office@oak.example")
    response = post(admin, f"/staff/users/{office.id}/role", {"role": "owner"})
    assert response.status_code == 400
    assert f'<a href="#user-{office.id}-role">Not a valid choice' in response.text
    assert f'id="user-{office.id}-role-error"' in response.text
    assert staff("office@oak.example").role == "staff"


# --- the last admin ------------------------------------------------------------------------


def test_the_last_admin_cannot_demote_or_deactivate_themselves(admin):
    me = staff("admin@oak.example")
    response = post(admin, f"/staff/users/{me.id}/role", {"role": "staff"})
    assert response.status_code == 400
    assert "you are the only active admin of the school" in response.text
    assert f'<a href="#user-{me.id}-role">' in response.text
    assert re.search(r'<details class="govuk-details[^"]*" open>', response.text)

    response = post(admin, f"/staff/users/{me.id}/deactivate", {"confirm": "yes"})
    assert response.status_code == 400
    assert "you are the only active admin of the school" in response.text
    me = staff("admin@oak.example")
    assert (me.role, me.active) == ("admin", True)
    assert audit("staff.role") == audit("staff.deactivate") == []
    assert admin.get("/staff/users").status_code == 200  # still signed in


def test_with_another_admin_an_admin_may_step_down(admin, world):
    make_staff(world.oak.school, email="head@oak.example", role="admin", name="Head Teacher")
    me = staff("admin@oak.example")
    response = post(admin, f"/staff/users/{me.id}/role", {"role": "staff"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff"
    assert staff("admin@oak.example").role == "staff"
    assert admin.get("/staff/users").status_code == 403
    # The other admin is now the last: they cannot step down.
    head = staff("head@oak.example")
    with pytest.raises(staff_users.LastAdmin):
        staff_users.change_role(head, head.id, "staff")


def test_an_admin_can_demote_another_admin_but_not_below_one(admin, world):
    make_staff(world.oak.school, email="head@oak.example", role="admin", name="Head Teacher")
    head = staff("head@oak.example")
    assert post(admin, f"/staff/users/{head.id}/role", {"role": "staff"}).status_code == 302
    assert staff("head@oak.example").role == "staff"


# --- deactivate ----------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_deactivating_asks_first_then_ends_the_users_sessions(admin, office, headers):
    user = staff("office@oak.example")
    assert office.get("/staff").status_code == 200
    assert open_sessions("office@oak.example") == 1
    path = f"/staff/users/{user.id}/deactivate"

    asked = post(admin, path, {}, headers=headers)
    assert asked.status_code == 200
    assert "Deactivate Sam Taylor?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert staff("office@oak.example").active  # nothing yet

    response = admin.post(path, data={"confirm": "yes", "csrf_token": csrf_token(asked)},
                          headers=headers)  # fmt: skip
    assert response.status_code == 302
    assert not staff("office@oak.example").active
    assert open_sessions("office@oak.example") == 0
    assert "Sam Taylor was deactivated and can no longer sign in. 1 open session ended." in (
        admin.get(response.headers["Location"]).text
    )
    [entry] = audit("staff.deactivate")
    assert entry == {"user_id": user.id, "email": "office@oak.example", "sessions_ended": 1}

    # Their next request is signed out, and they cannot sign in again.
    gone = office.get("/staff")
    assert gone.status_code == 302 and gone.headers["Location"] == "/sign-in"
    assert office.get("/staff", headers={"HX-Request": "true"}).headers["HX-Redirect"] == (
        "/sign-in"
    )
    assert signin.principals_for("office@oak.example") == []
    assert signin.request_link("office@oak.example").outbox_ids == []
    # The deactivated user is listed as such, without forms.
    listing = admin.get("/staff/users")
    assert '<strong class="govuk-tag govuk-tag--grey">Deactivated</strong>' in listing.text
    assert f"/staff/users/{user.id}/role" not in listing.text


def test_deactivating_again_changes_nothing(admin):
    user = staff("office@oak.example")
    post(admin, f"/staff/users/{user.id}/deactivate", {"confirm": "yes"})
    response = post(admin, f"/staff/users/{user.id}/deactivate", {"confirm": "yes"})
    assert response.status_code == 302
    assert "was already deactivated" in admin.get(response.headers["Location"]).text
    assert len(audit("staff.deactivate")) == 1


def test_a_deactivated_user_added_again_is_back(admin):
    user = staff("office@oak.example")
    post(admin, f"/staff/users/{user.id}/deactivate", {"confirm": "yes"})
    again = {"email": "office@oak.example", "name": "Sam Taylor", "role": "marketing"}
    response = post(admin, "/staff/users", again)
    assert response.status_code == 302
    back = staff("office@oak.example")
    assert (back.id, back.active, back.role) == (user.id, True, "marketing")
    assert "Sam Taylor is back, as marketing." in admin.get(response.headers["Location"]).text
    assert audit("staff.add")[-1]["reactivated"] is True


def test_an_admin_deactivating_themselves_is_signed_out(admin, world):
    make_staff(world.oak.school, email="head@oak.example", role="admin", name="Head Teacher")
    me = staff("admin@oak.example")
    page = post(admin, f"/staff/users/{me.id}/deactivate", {})
    assert "This is your own account" in page.text
    response = admin.post(f"/staff/users/{me.id}/deactivate",
                          data={"confirm": "yes", "csrf_token": csrf_token(page)})  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert not staff("admin@oak.example").active
    assert admin.get("/staff").headers["Location"] == "/sign-in"


def test_two_admins_demoting_each_other_at_the_same_moment_leave_one_admin(app, world):
    """The school's active admins are locked before the count: the second demotion waits for
    the first, then finds its actor the only admin left and is refused."""
    make_staff(world.oak.school, email="head@oak.example", role="admin", name="Head Teacher")
    ids = {email: staff(email).id for email in ("admin@oak.example", "head@oak.example")}
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def demote(actor_email: str, target_email: str) -> None:
        with app.app_context():
            try:
                actor = db.session.get(StaffUser, ids[actor_email])
                assert actor is not None
                barrier.wait(timeout=30)
                staff_users.change_role(actor, ids[target_email], "staff")
                outcome = "demoted"
            except staff_users.LastAdmin:
                outcome = "refused"
            except Exception as exc:  # reported below
                outcome = repr(exc)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [
        threading.Thread(target=demote, args=pair, daemon=True)
        for pair in (
            ("admin@oak.example", "head@oak.example"),
            ("head@oak.example", "admin@oak.example"),
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["demoted", "refused"], outcomes
    roles = sorted(staff(email).role for email in ids)
    assert roles == ["admin", "staff"]


def test_a_link_asked_for_before_deactivation_no_longer_signs_in(admin):
    user = staff("office@oak.example")
    asked = signin.request_link("office@oak.example")
    request = db.session.scalars(
        select(SignInRequest).where(SignInRequest.public_id == asked.public_id)
    ).one()
    token = signin.derive_token(request.nonce)
    post(admin, f"/staff/users/{user.id}/deactivate", {"confirm": "yes"})
    with pytest.raises(signin.SignInError):
        signin.use_link(token)


# --- the welcome email ---------------------------------------------------------------------


@pytest.fixture
def mail_server() -> Any:
    server = MailServer().start()
    yield server
    server.stop()


def deliver(make_app: Any, server: MailServer) -> int:
    """What the mail worker does, sending to the real SMTP server; how many it sent."""
    app = make_app(**server.app_config)
    with app.app_context():
        sent = send_pending().sent
        db.session.remove()
    return sent


def test_a_new_staff_user_is_emailed_a_welcome(admin, world, make_app, mail_server):
    """Added on the staff users page, a staff user is emailed (through the outbox, in
    English) who added them, the school, their role, how to sign in and that they set up a
    second factor at their first sign-in; the email carries no sign-in link."""
    data = {"email": "new.teacher@oak.example", "name": "Nia Teacher", "role": "staff"}
    response = post(admin, "/staff/users", data)
    page = admin.get(response.headers["Location"])
    assert "and have been emailed how." in page.text
    db.session.remove()
    [queued] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "staff_welcome")
    ).all()
    assert (queued.to_address, queued.school_id) == ("new.teacher@oak.example", world.oak.id)
    assert mail_server.messages == []  # queued with the change, sent by the worker

    assert deliver(make_app, mail_server) == 1
    (received,) = mail_server.wait_for(1)
    assert received.rcpt_tos == ["new.teacher@oak.example"]
    message = received.message
    assert message["Subject"] == "You have been added to the consent portal for Oak Primary School"
    assert message["Content-Language"] == "en-GB"
    for body in (received.text(), html.unescape(received.html())):
        words = " ".join(body.split())
        assert (
            "Nia Teacher, Dana Okafor has added you to the consent portal of Oak Primary School "
            "as a staff user: the photo check, pupils' records and take-downs." in words
        )
        assert "http://localhost/sign-in" in words and "new.teacher@oak.example" in words
        assert "The first time you sign in, you will set up a second factor" in words
        assert "a passkey" in words and "an authenticator app" in words
        assert "/sign-in/link/" not in words
    mail_server.assert_no_more(1)


def test_a_user_let_back_in_is_emailed_too(admin, world, make_app, mail_server):
    """A deactivated user added again is welcomed back, with their new role; one who kept a
    second factor is told it is asked for as before. Deactivated again before the email
    went, they are sent nothing."""
    user = staff("office@oak.example")
    secret = totp.start_set_up(user).secret
    assert totp.confirm_set_up(user, totp._totp(secret).now())
    db.session.commit()
    post(admin, f"/staff/users/{user.id}/deactivate", {"confirm": "yes"})
    post(admin, "/staff/users", {"email": "office@oak.example", "name": "Sam", "role": "admin"})
    assert deliver(make_app, mail_server) == 1
    (received,) = mail_server.wait_for(1)
    assert received.message["Subject"] == (
        "You can use the consent portal for Oak Primary School again"
    )
    words = " ".join(received.text().split())
    assert "Dana Okafor has let you back in to the consent portal of Oak Primary School" in words
    assert "as an admin user: everything, including staff users, the roster and invitations" in (
        words
    )
    assert (
        "you will be asked for your second factor (your passkey or authenticator app), as before"
        in words
    )
    assert "The first time you sign in" not in words

    post(admin, f"/staff/users/{user.id}/deactivate", {"confirm": "yes"})
    post(admin, "/staff/users", {"email": "office@oak.example", "name": "Sam", "role": "staff"})
    post(admin, f"/staff/users/{user.id}/deactivate", {"confirm": "yes"})
    assert deliver(make_app, mail_server) == 0
    mail_server.assert_no_more(1)
