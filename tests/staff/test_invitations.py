"""Invitations and reminders: the audiences, one outbox row per guardian and batch (the
database refuses a second), real delivery by SMTP, and the progress page polled by htmx."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from portal import choices, invitations
from portal.extensions import db
from portal.mail import outbox, render
from portal.mail.delivery import send_pending
from portal.models import (
    GuardianLink,
    InvitationBatch,
    OutboxMessage,
    Pupil,
    StaffAuditEntry,
    StaffUser,
)
from portal.types import utcnow
from tests.support.client import CheckedClient, csrf_token
from tests.support.factories import make_child
from tests.support.mail import MailServer, free_port
from tests.support.world import decide

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
FRAGMENT = {"HX-Request": "true", "HX-Current-URL": "http://localhost/staff/invitations/1"}
# Oak's guardians with parental responsibility and an email (gran has no responsibility).
OAK_INVITED = {"ada@example.org", "ben@example.org", "dan@example.org", "eve@example.org"}


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app: Any, mail_server: MailServer) -> Flask:
    """The portal as the mail worker runs it, sending to the real SMTP server."""
    app: Flask = make_app(**mail_server.app_config)
    return app


def deliver(app: Flask) -> Any:
    """What `flask mail send-pending` does, in that app."""
    with app.app_context():
        return send_pending()


def send(client: CheckedClient, data: dict[str, str], **kw: Any) -> Any:
    page = client.get("/staff/invitations")
    return client.post("/staff/invitations", data={**data, "csrf_token": csrf_token(page)}, **kw)


def batches() -> list[InvitationBatch]:
    db.session.remove()
    return list(db.session.scalars(select(InvitationBatch).order_by(InvitationBatch.id)))


def rows(batch_id: int | None = None) -> list[OutboxMessage]:
    db.session.remove()
    query = select(OutboxMessage).where(OutboxMessage.template == "invitation")
    if batch_id is not None:
        query = query.where(OutboxMessage.dedupe_key.like(f"invite:{batch_id}:%"))
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def batch_id_of(response: Any) -> int:
    match = re.fullmatch(r"/staff/invitations/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def sent_line(text: str) -> str:
    match = re.search(r"<strong>(\d+ of \d+ sent)</strong>([^<]*)", text)
    assert match, text
    return match.group(1) + match.group(2)


# --- pages and access ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_the_invitations_page_plain_and_boosted(admin, headers):
    page = admin.get("/staff/invitations", headers=headers)
    assert page.status_code == 200
    assert "Invite parents and carers" in page.text
    assert "All parents and carers (4 parents and carers)" in page.text
    assert '<option value="3 Oak">3 Oak (4 parents and carers)</option>' in page.text
    assert "No invitations have been sent yet." in page.text


@pytest.mark.parametrize("who", ["office", "marketer"])
def test_other_roles_are_refused_everywhere(request, admin, who):
    sent = send(admin, {"audience": "all"})
    batch_id = batch_id_of(sent)
    client = request.getfixturevalue(who)
    assert client.get("/staff/invitations").status_code == 403
    assert client.get(f"/staff/invitations/{batch_id}").status_code == 403
    assert client.get(f"/staff/invitations/{batch_id}", headers=FRAGMENT).status_code == 403
    token = csrf_token(client.get("/staff/invitations"))
    response = client.post("/staff/invitations", data={"audience": "all", "csrf_token": token})
    assert response.status_code == 403
    assert len(batches()) == 1


def test_another_schools_admin_gets_404_for_a_batch(admin, elm_admin):
    batch_id = batch_id_of(send(admin, {"audience": "all"}))
    assert elm_admin.get(f"/staff/invitations/{batch_id}").status_code == 404
    assert elm_admin.get(f"/staff/invitations/{batch_id}", headers=FRAGMENT).status_code == 404
    assert elm_admin.get("/staff/invitations/999999").status_code == 404
    assert "Invitations sent" in elm_admin.get("/staff/invitations").text
    assert "No invitations have been sent yet." in elm_admin.get("/staff/invitations").text


def test_missing_csrf_is_refused_and_nothing_is_queued(admin):
    response = admin.post("/staff/invitations", data={"audience": "all"})
    assert response.status_code == 400
    assert batches() == [] and rows() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose who should get the invitation"),
        ({"audience": "class"}, "Choose a class"),
        ({"audience": "class", "class_name": "9 Nowhere"}, "Choose one of the classes listed"),
        ({"audience": "everyone"}, "Not a valid choice"),
    ],
)
def test_a_form_with_a_problem_is_shown_again_with_the_reason(admin, data, message):
    response = send(admin, data)
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert response.text.count(message) >= 2  # in the summary and beside the field
    assert batches() == []


# --- sending -------------------------------------------------------------------------------


def test_every_guardian_of_the_school_gets_exactly_one_email(admin, world, mail_app,
                                                             mail_server):  # fmt: skip
    response = send(admin, {"audience": "all"})
    assert response.status_code == 302
    batch_id = batch_id_of(response)
    [batch] = batches()
    assert (batch.id, batch.school_id, batch.audience, batch.total) == (
        batch_id, world.oak.id, "all", 4,
    )  # fmt: skip
    queued = rows(batch_id)
    assert {r.to_address for r in queued} == OAK_INVITED
    assert {r.dedupe_key for r in queued} == {
        invitations.dedupe_key(batch_id, world.guardians[a.split("@")[0]].id) for a in OAK_INVITED
    }
    # Queued, not sent: the mail worker sends them.
    assert mail_server.messages == []

    result = deliver(mail_app)
    assert (result.sent, result.failed) == (4, 0)
    received = mail_server.wait_for(4)
    assert sorted(address for m in received for address in m.rcpt_tos) == sorted(OAK_INVITED)
    tokens = set()
    for message in received:
        [to] = message.rcpt_tos
        text, html = message.text(), message.html()
        assert message.message["Subject"] == "Oak Primary School asks for your choices"
        for body in (text, html):
            assert "Oak Primary School" in body
            assert "http://localhost/sign-in" in body
            assert to in body  # "sign in ... with this email address"
            # A link of its own, that signs them in (tests/auth/test_signin_invitations.py).
            link = r"http://localhost/sign-in/link/([A-Za-z0-9_-]{43})\b"
            (token,) = set(re.findall(link, body))
            tokens.add(token)
            # Nothing about any child, nor any other family.
            for other in (OAK_INVITED | {"gran@example.org", "fay@example.org"}) - {to}:
                assert other not in body
            assert "PupilA" not in body and "PupilB" not in body and "PupilC" not in body
        assert "sign in at any time at http://localhost/sign-in with this email address" in (
            " ".join(text.split())
        )
    assert len(tokens) == 4, "each person's invitation has a link of its own"

    # A second pass sends nothing more.
    again = deliver(mail_app)
    assert (again.claimed, again.sent) == (0, 0)
    mail_server.assert_no_more(4)

    [entry] = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == "invitations.send")
    ).all()
    assert json.loads(entry.detail) == {
        "batch_id": batch_id, "audience": "all", "class": None, "total": 4,
    }  # fmt: skip


def test_the_database_refuses_a_second_copy_of_a_batch_to_one_guardian(admin, world):
    batch_id = batch_id_of(send(admin, {"audience": "all"}))
    with pytest.raises(IntegrityError):
        outbox.enqueue(
            to_address="ada@example.org",
            template="invitation",
            payload={"batch_id": batch_id, "guardian_id": world.ada.id},
            school_id=world.oak.id,
            dedupe_key=invitations.dedupe_key(batch_id, world.ada.id),
        )
    db.session.rollback()
    assert len(rows(batch_id)) == 4


def test_a_class_audience_reaches_only_that_class(admin, world, mail_app, mail_server):
    make_child(world.oak.school, guardian_email="kim@example.org", mis_id="K", class_name="4 Ash")
    response = send(admin, {"audience": "class", "class_name": "4 Ash"})
    batch_id = batch_id_of(response)
    assert {r.to_address for r in rows(batch_id)} == {"kim@example.org"}
    deliver(mail_app)
    [message] = mail_server.wait_for(1)
    assert message.rcpt_tos == ["kim@example.org"]
    assert batches()[0].class_name == "4 Ash"

    # A guardian with children in two classes gets one email per batch, whichever class.
    make_child(world.oak.school, guardian_email="ada@example.org", mis_id="L", class_name="4 Ash")
    later = batch_id_of(send(admin, {"audience": "all"}))
    assert sorted(r.to_address for r in rows(later)) == sorted(OAK_INVITED | {"kim@example.org"})


def test_guardians_without_responsibility_a_current_link_or_a_pupil_on_roll_are_left_out(
    admin, world
):
    # Eve's link ends; C has no other contact. Dan's child B leaves (Ada still has A).
    db.session.execute(
        update(GuardianLink)
        .where(GuardianLink.guardian_id == world.eve.id)
        .values(ended_at=utcnow())
    )
    db.session.commit()
    db.session.execute(
        update(Pupil)
        .where(Pupil.id == world.oak.pupils["B"].id)
        .values(on_roll=False, left_on=utcnow().date())
    )
    db.session.commit()
    batch_id = batch_id_of(send(admin, {"audience": "all"}))
    assert {r.to_address for r in rows(batch_id)} == {"ada@example.org", "ben@example.org"}


def test_needs_answer_leaves_out_guardians_who_answered_everything(admin, world):
    oak = world.oak
    consent_purposes = ["photos-website", "local-paper", "trip-videos"]
    # Eve said yes to everything for C, but "local paper" lapses after 30 days.
    for key in consent_purposes:
        when = utcnow() - timedelta(days=40 if key == "local-paper" else 0)
        decide(world.eve, oak.purposes[key], "grant", pupil=oak.pupils["C"], now=when)
    # Ada answered everything for both her children (no is an answer too).
    for pupil in ("A", "B"):
        for key in consent_purposes:
            decision = "withdraw" if key == "trip-videos" else "grant"
            decide(world.ada, oak.purposes[key], decision, pupil=oak.pupils[pupil])
    # Ben answered one of three; Dan nothing.
    decide(world.ben, oak.purposes["photos-website"], "grant", pupil=oak.pupils["A"])

    expected = {"ben@example.org", "dan@example.org", "eve@example.org"}
    batch_id = batch_id_of(send(admin, {"audience": "needs_answer"}))
    assert {r.to_address for r in rows(batch_id)} == expected

    # The same rule as the family summary each guardian sees.
    summary_says = set()
    for name in ("ada", "ben", "dan", "eve", "gran"):
        for group in choices.family_summary(world.guardians[name].id):
            if group.school.id == oak.id and any(
                not child.all_answered for child in group.children
            ):
                summary_says.add(f"{name}@example.org")
    assert summary_says == expected
    assert "Reminder: Oak Primary School is waiting for your choices" in (
        render.render("invitation", json.loads(rows(batch_id)[0].payload)).subject
    )


def test_nobody_to_invite_is_said_and_nothing_is_queued(admin, world):
    oak = world.oak
    for name, pupils in (("ada", "AB"), ("ben", "A"), ("dan", "B"), ("eve", "C")):
        for pupil in pupils:
            for key in ("photos-website", "local-paper", "trip-videos"):
                decide(world.guardians[name], oak.purposes[key], "withdraw",
                       pupil=oak.pupils[pupil])  # fmt: skip
    response = send(admin, {"audience": "needs_answer"})
    assert response.status_code == 400
    assert "Nobody to invite" in response.text
    assert batches() == [] and rows() == []


# --- double submission ---------------------------------------------------------------------


def test_a_double_submit_makes_one_batch(admin):
    page = admin.get("/staff/invitations")
    data = {"audience": "all", "csrf_token": csrf_token(page)}
    first = admin.post("/staff/invitations", data=data)
    second = admin.post("/staff/invitations", data=data, headers=BOOSTED)
    assert first.status_code == second.status_code == 302
    assert batch_id_of(first) == batch_id_of(second)
    assert len(batches()) == 1 and len(rows()) == 4
    shown = admin.get(second.headers["Location"])
    assert "This invitation was sent a moment ago: it has not been sent again." in shown.text

    # Another audience is another batch; the same audience again after a minute, too.
    assert batch_id_of(send(admin, {"audience": "class", "class_name": "3 Oak"})) != (
        batch_id_of(first)
    )
    db.session.execute(
        update(InvitationBatch).values(created_at=utcnow() - invitations.REPEAT_WINDOW)
    )
    db.session.commit()
    assert batch_id_of(send(admin, {"audience": "all"})) not in {batch_id_of(first)}
    assert len(batches()) == 3


# --- progress ------------------------------------------------------------------------------


def test_the_progress_page_polls_until_the_batch_is_sent(admin, mail_app, mail_server):
    batch_id = batch_id_of(send(admin, {"audience": "all"}))
    path = f"/staff/invitations/{batch_id}"

    for headers in ({}, BOOSTED):
        page = admin.get(path, headers=headers)
        assert page.status_code == 200 and page.text.startswith("<!DOCTYPE html>")
        assert "4 invitations are on the way" in page.text or headers
        assert sent_line(page.text) == "0 of 4 sent"
        assert 'hx-trigger="click, every 2s"' in page.text
        assert f'href="{path}" hx-get="{path}"' in page.text  # a real link: Refresh
    fragment = admin.get(path, headers=FRAGMENT)
    assert fragment.status_code == 200
    assert not fragment.text.lstrip().startswith("<!DOCTYPE")
    assert fragment.text.lstrip().startswith('<div id="invitation-progress"')
    assert "every 2s" in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]

    deliver(mail_app)
    mail_server.wait_for(4)
    fragment = admin.get(path, headers=FRAGMENT)
    assert sent_line(fragment.text) == "4 of 4 sent"
    assert "hx-trigger" not in fragment.text and "hx-get" not in fragment.text  # stops
    assert 'hx-swap-oob="innerHTML"' in fragment.text  # announced when done
    page = admin.get(path)
    assert sent_line(page.text) == "4 of 4 sent" and "hx-trigger" not in page.text
    # The list of earlier batches shows it too.
    listing = admin.get("/staff/invitations")
    assert f'href="{path}"' in listing.text
    assert "4 of 4 sent" in listing.text and "Done" in listing.text


def test_failures_are_shown_and_retried(admin, make_app):
    batch_id = batch_id_of(send(admin, {"audience": "all"}))
    down = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    result = deliver(down)
    assert (result.sent, result.failed) == (0, 4)
    path = f"/staff/invitations/{batch_id}"
    page = admin.get(path)
    assert sent_line(page.text) == "0 of 4 sent, 4 failed (will retry)"
    assert 'hx-trigger="click, every 30s"' in page.text  # only retries are waiting
    listing = admin.get("/staff/invitations")
    assert "0 of 4 sent, 4 failed (will retry)" in listing.text


def test_someone_no_longer_a_contact_when_it_is_sent_is_not_sent_one(admin, world, mail_app,
                                                                      mail_server):  # fmt: skip
    batch_id = batch_id_of(send(admin, {"audience": "all"}))
    db.session.execute(
        update(GuardianLink)
        .where(GuardianLink.guardian_id == world.eve.id)
        .values(ended_at=utcnow())
    )
    db.session.commit()
    result = deliver(mail_app)
    assert result.sent == 3  # (the admin's own sign-in email, already used, is skipped too)
    assert invitations.progress(world.oak.id, batch_id).skipped == 1
    mail_server.wait_for(3)
    mail_server.assert_no_more(3)
    page = admin.get(f"/staff/invitations/{batch_id}")
    assert sent_line(page.text) == "3 of 4 sent"
    assert "1 not sent: no longer a parent or carer" in page.text
    assert "hx-trigger" not in page.text  # done


def test_progress_counts_only_this_batchs_rows(admin, world):
    first = batch_id_of(send(admin, {"audience": "all"}))
    second = batch_id_of(send(admin, {"audience": "class", "class_name": "3 Oak"}))
    # Mark the second batch's rows sent, as the worker would.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.like(f"invite:{second}:%"))
        .values(sent_at=utcnow())
    )
    db.session.commit()
    assert invitations.progress(world.oak.id, first).sent == 0
    assert invitations.progress(world.oak.id, second).sent == 4
    assert db.session.scalar(select(func.count()).select_from(InvitationBatch)) == 2


def test_two_sends_at_the_same_moment_make_one_batch(app, world):
    """A double click whose two requests arrive together: the second waits for the first
    (the staff user's row is locked; SQLite has one writer) and then sees its batch."""
    admin_id = db.session.scalars(
        select(StaffUser.id).where(StaffUser.email == "admin@oak.example")
    ).one()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        with app.app_context():
            try:
                staff = db.session.get(StaffUser, admin_id)
                assert staff is not None
                barrier.wait(timeout=30)
                batch = invitations.send(staff, "all")
                outcome = f"sent {batch.id}"
            except invitations.RecentBatch as repeat:
                outcome = f"repeat of {repeat.batch.id}"
            except Exception as exc:  # reported below
                outcome = repr(exc)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    [batch] = batches()
    assert sorted(outcomes) == sorted([f"sent {batch.id}", f"repeat of {batch.id}"]), outcomes
    assert len(rows()) == 4
