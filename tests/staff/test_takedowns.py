"""Take-downs: a withdrawal (or an objection) that stops a publishable purpose which was
permitted for a pupil makes a task and emails the admins, whoever records it; a first "no"
does not. Marking a task done records who and when, once.

The world (tests/ledger/conftest.py): at Oak, Ada and Ben have parental responsibility for
A; Ada and Dan for B; Eve for C. "photos-website" (any objection blocks) and "local-paper"
(latest wins) are publishable consent purposes; "class-photos" is an objection purpose that is
not publishable; the tests add "photos-newsletter", a publishable objection purpose.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import render_template
from sqlalchemy import select

from portal import choices, purposes, takedowns
from portal.extensions import db
from portal.mail import render
from portal.models import (
    OutboxMessage,
    Pupil,
    Purpose,
    StaffAuditEntry,
    StaffUser,
    TakedownTask,
)
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_staff
from tests.support.web import HTMX, post_form, text_of
from tests.support.world import T0, World, decide, snapshot

FRAGMENT = {**HTMX, "HX-Current-URL": "http://localhost/staff/take-downs"}
WEBSITE_A = "Take down: Photos on the school website — PupilA T. (3 Oak)"
NOTE = "Deleted from the website gallery"

NEWSLETTER = """
[[purposes]]
key = "photos-newsletter"
title = "Photos in the printed newsletter"
description = "Photos of school life in the termly newsletter sent home."
choice = "objection"
lawful_basis = "public_task"
publishable = true
"""


def tasks() -> list[TakedownTask]:
    db.session.expire_all()
    return list(db.session.scalars(select(TakedownTask).order_by(TakedownTask.id)))


def emails() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == takedowns.TEMPLATE)
            .order_by(OutboxMessage.id)
        )
    )


def staff_named(email: str) -> StaffUser:
    return db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- when a task appears -------------------------------------------------------------------


def test_a_withdrawal_after_a_yes_makes_a_task_and_emails_the_admins(world):
    oak = world.oak
    photos, a = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=a, now=at(0))
    assert tasks() == [] and emails() == []
    event = decide(world.ada, photos, "withdraw", pupil=a, now=at(5))

    [task] = tasks()
    assert (task.school_id, task.pupil_id, task.purpose_id) == (oak.id, a.id, photos.id)
    assert (task.event_seq, task.created_at) == (event.seq, at(5))
    assert task.done_at is None and task.done_by_id is None
    # One email to each active admin of the school: not staff, not marketing, not Elm.
    [email] = emails()
    assert email.to_address == "admin@oak.example" and email.school_id == oak.id
    assert json.loads(email.payload) == {"school_id": oak.id, "tasks": [task.id], "role": "admin"}

    rendered = render.render(takedowns.TEMPLATE, json.loads(email.payload))
    assert not isinstance(rendered, str), rendered
    assert rendered.subject == f"{WEBSITE_A} (Oak Primary School)"
    assert WEBSITE_A in rendered.text and WEBSITE_A in rendered.html
    assert "http://localhost/staff/take-downs" in rendered.text
    assert 'href="http://localhost/staff/take-downs"' in rendered.html
    assert "ada" not in rendered.text.lower()  # the email names the child, not the family


def test_every_active_admin_gets_the_email(world):
    oak = world.oak
    make_staff(oak.school, email="head@oak.example", role="admin", name="Hana Head")
    gone = make_staff(oak.school, email="former@oak.example", role="admin", name="Former")
    gone.active = False
    db.session.commit()
    photos, a = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=a, now=at(0))
    decide(world.ada, photos, "withdraw", pupil=a, now=at(1))
    assert sorted(e.to_address for e in emails()) == ["admin@oak.example", "head@oak.example"]


def test_a_first_no_makes_no_task(world):
    oak = world.oak
    decide(world.ada, oak.purposes["photos-website"], "withdraw", pupil=oak.pupils["A"])
    decide(world.ada, oak.purposes["local-paper"], "withdraw", pupil=oak.pupils["A"])
    assert tasks() == [] and emails() == []


def test_no_task_when_another_guardians_no_had_already_stopped_it(world):
    oak = world.oak
    photos, a = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ben, photos, "withdraw", pupil=a, now=at(0))
    decide(world.ada, photos, "grant", pupil=a, now=at(1))  # still withdrawn: Ben said no
    decide(world.ada, photos, "withdraw", pupil=a, now=at(2))
    assert tasks() == [] and emails() == []


def test_the_second_no_after_a_task_makes_no_second_task(world):
    oak = world.oak
    photos, a = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=a, now=at(0))
    decide(world.ben, photos, "grant", pupil=a, now=at(1))
    first = decide(world.ben, photos, "withdraw", pupil=a, now=at(2))  # granted -> withdrawn
    decide(world.ada, photos, "withdraw", pupil=a, now=at(3))  # already withdrawn
    assert [t.event_seq for t in tasks()] == [first.seq]
    # A fresh yes from both, then a no: a new task.
    decide(world.ada, photos, "grant", pupil=a, now=at(4))
    decide(world.ben, photos, "grant", pupil=a, now=at(5))
    again = decide(world.ada, photos, "withdraw", pupil=a, now=at(6))
    assert [t.event_seq for t in tasks()] == [first.seq, again.seq]


def test_latest_wins_a_later_no_stops_it(world):
    oak = world.oak
    paper, a = oak.purposes["local-paper"], oak.pupils["A"]
    now = datetime.now(UTC)  # within the purpose's 30-day renewal period
    decide(world.ada, paper, "grant", pupil=a, now=now)
    decide(world.ben, paper, "withdraw", pupil=a, now=now + timedelta(seconds=1))
    [task] = tasks()
    assert task.purpose_id == paper.id


def test_a_no_to_a_lapsed_yes_makes_no_task(world):
    """A yes past its renewal period no longer permitted anything."""
    oak = world.oak
    paper, a = oak.purposes["local-paper"], oak.pupils["A"]
    decide(world.ada, paper, "grant", pupil=a, now=at(0))
    decide(world.ada, paper, "withdraw", pupil=a, now=at(0) + timedelta(days=31))
    assert tasks() == []


def test_a_purpose_that_is_not_published_makes_no_task(world):
    oak = world.oak
    a = oak.pupils["A"]
    decide(world.ada, oak.purposes["trip-videos"], "grant", pupil=a, now=at(0))
    decide(world.ada, oak.purposes["trip-videos"], "withdraw", pupil=a, now=at(1))
    decide(world.ada, oak.purposes["class-photos"], "object", pupil=a, now=at(2))
    assert tasks() == [] and emails() == []


def test_an_objection_to_a_published_objection_purpose_makes_a_task(world):
    oak = world.oak
    purposes.load(oak.school, PURPOSES_OF_EVERY_KIND + NEWSLETTER)
    newsletter = db.session.scalars(
        select(Purpose).where(Purpose.school_id == oak.id, Purpose.key == "photos-newsletter")
    ).one()
    a = oak.pupils["A"]
    first = decide(world.ben, newsletter, "object", pupil=a, now=at(0))  # allowed -> objected
    [task] = tasks()
    assert (task.purpose_id, task.event_seq) == (newsletter.id, first.seq)
    decide(world.ada, newsletter, "object", pupil=a, now=at(1))  # already objected
    decide(world.ben, newsletter, "lift_objection", pupil=a, now=at(2))  # Ada's still stands
    decide(world.ada, newsletter, "lift_objection", pupil=a, now=at(3))  # allowed again
    again = decide(world.ada, newsletter, "object", pupil=a, now=at(4))
    assert [t.event_seq for t in tasks()] == [first.seq, again.seq]
    rendered = render.render(takedowns.TEMPLATE, json.loads(emails()[-1].payload))
    assert not isinstance(rendered, str)
    assert "Take down: Photos in the printed newsletter — PupilA T. (3 Oak)" in rendered.text


def test_a_pupil_who_left_makes_no_task(world):
    oak = world.oak
    photos, a = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=a, now=at(0))
    pupil = db.session.get(Pupil, a.id)
    pupil.on_roll, pupil.left_on = False, date(2025, 10, 6)
    db.session.commit()
    decide(world.ada, photos, "withdraw", pupil=a, now=at(1))
    assert tasks() == []


def test_brothers_and_sisters_in_one_decision_make_a_task_each_and_one_email(world):
    oak = world.oak
    photos = oak.purposes["photos-website"]
    a, b = oak.pupils["A"], oak.pupils["B"]
    choices.decide(world.ada.id, [a.id, b.id], photos.id, "grant", now=at(0))
    choices.decide(world.ada.id, [a.id, b.id], photos.id, "withdraw", now=at(1))
    found = tasks()
    assert sorted(t.pupil_id for t in found) == sorted([a.id, b.id])
    [email] = emails()
    assert json.loads(email.payload)["tasks"] == [t.id for t in found]
    rendered = render.render(takedowns.TEMPLATE, json.loads(email.payload))
    assert not isinstance(rendered, str)
    assert rendered.subject == "Take down: 2 things (Oak Primary School)"
    assert WEBSITE_A in rendered.text
    assert "Take down: Photos on the school website — PupilB T. (3 Oak)" in rendered.text


def test_a_withdrawal_on_paper_recorded_by_staff_makes_a_task(office, world):
    oak = world.oak
    photos, a = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=a, now=at(0))
    path = f"/staff/pupils/{a.id}"
    response = post_form(
        office,
        f"{path}/answers",
        {"guardian": world.ada.id, "purpose": photos.id, "decision": "withdraw",
         "channel": "paper"},
        page=office.get(path),
    )  # fmt: skip
    assert response.status_code == 302
    [task] = tasks()
    assert task.pupil_id == a.id
    assert len(emails()) == 1


def test_the_email_is_not_sent_once_the_task_is_done(world):
    oak = world.oak
    photos, a = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=a, now=at(0))
    decide(world.ada, photos, "withdraw", pupil=a, now=at(1))
    [task] = tasks()
    takedowns.mark_done(staff_named("admin@oak.example").id, task.id, "Deleted from the gallery")
    reason = render.render(takedowns.TEMPLATE, json.loads(emails()[0].payload))
    assert isinstance(reason, str) and "marked done" in reason


# --- the list and marking done -------------------------------------------------------------


def make_tasks(world: World) -> tuple[TakedownTask, TakedownTask]:
    """Two take-downs at Oak: PupilB's (older), then PupilA's."""
    oak = world.oak
    photos = oak.purposes["photos-website"]
    for pupil, minutes in ((oak.pupils["B"], 0), (oak.pupils["A"], 10)):
        decide(world.ada, photos, "grant", pupil=pupil, now=at(minutes))
        decide(world.ada, photos, "withdraw", pupil=pupil, now=at(minutes + 1))
    older, newer = tasks()
    return older, newer


@pytest.mark.parametrize("client_name", ["office", "admin"])
def test_the_list_shows_open_tasks_oldest_first(request, world, client_name):
    client = request.getfixturevalue(client_name)
    make_tasks(world)
    page = client.get("/staff/take-downs")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = text_of(page.text)
    assert "To do (2)" in text
    b = text.index("Take down: Photos on the school website — PupilB T. (3 Oak)")
    assert b < text.index(WEBSITE_A)
    assert "a parent or carer said no online" in text
    assert text.count("Mark as done") == 2
    assert f'href="/staff/pupils/{world.oak.pupils["A"].id}#record-purpose-' in page.text


def test_the_list_answers_htmx_with_the_list_only(office, world):
    make_tasks(world)
    page = office.get("/staff/take-downs", headers=FRAGMENT)
    assert page.status_code == 200
    assert page.text.lstrip().startswith('<div id="takedown-list"')
    assert "<h1" not in page.text


def test_marking_done_records_who_and_when_once(admin, world):
    _older, newer = make_tasks(world)
    page = admin.get("/staff/take-downs")
    before = snapshot(world.oak.id)
    response = post_form(admin, f"/staff/take-downs/{newer.id}/done", {"note": NOTE}, page=page)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/take-downs"
    done = db.session.get(TakedownTask, newer.id)
    dana = staff_named("admin@oak.example")
    assert done.done_by_id == dana.id and done.done_at is not None
    assert done.done_note == NOTE
    first_done_at = done.done_at
    assert snapshot(world.oak.id) == before  # the ledger is untouched
    [entry] = db.session.scalars(select(StaffAuditEntry)).all()
    assert (entry.action, entry.staff_user_id, entry.school_id) == (
        "takedown.done", dana.id, world.oak.id)  # fmt: skip
    assert json.loads(entry.detail)["task_id"] == newer.id

    page = admin.get("/staff/take-downs")
    text = text_of(page.text)
    assert f"Marked as done: {WEBSITE_A}." in text
    assert "To do (1)" in text
    assert f"Done {WEBSITE_A} Note: {NOTE} Reopen : {WEBSITE_A} Dana Okafor" in text
    assert text.count("Mark as done") == 1

    # Twice is harmless: the first who, when and note stand, no second audit entry.
    response = post_form(admin, f"/staff/take-downs/{newer.id}/done", {"note": "Other"}, page=page)
    assert response.status_code == 302
    done = db.session.get(TakedownTask, newer.id)
    assert (done.done_by_id, done.done_at, done.done_note) == (dana.id, first_done_at, NOTE)
    assert len(db.session.scalars(select(StaffAuditEntry)).all()) == 1
    assert "Already done:" in text_of(admin.get("/staff/take-downs").text)


def test_marking_done_by_htmx_gets_the_list_and_a_live_announcement(office, world):
    older, _newer = make_tasks(world)
    page = office.get("/staff/take-downs")
    response = post_form(office, f"/staff/take-downs/{older.id}/done", {"note": NOTE},
                         page=page, headers=FRAGMENT)  # fmt: skip
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="takedown-list"')
    saved = "Marked as done: Take down: Photos on the school website — PupilB T. (3 Oak)."
    assert f'<div id="portal-live" hx-swap-oob="innerHTML">{saved}</div>' in response.text
    assert "Sam Taylor" in text_of(response.text)
    assert db.session.get(TakedownTask, older.id).done_by_id == staff_named("office@oak.example").id


def test_marking_done_needs_the_csrf_token(office, world):
    older, _newer = make_tasks(world)
    response = office.post(f"/staff/take-downs/{older.id}/done")
    assert response.status_code == 400
    assert tasks()[0].done_at is None


def test_another_schools_task_answers_404(elm_admin, world):
    older, _newer = make_tasks(world)
    page = elm_admin.get("/staff/take-downs")
    assert page.status_code == 200
    assert "PupilB" not in page.text and "Nothing to take down." in text_of(page.text)
    response = post_form(elm_admin, f"/staff/take-downs/{older.id}/done", {}, page=page)
    assert response.status_code == 404
    response = post_form(elm_admin, "/staff/take-downs/999999/done", {}, page=page)
    assert response.status_code == 404
    assert tasks()[0].done_at is None
    assert db.session.scalars(select(StaffAuditEntry)).all() == []
    # Nor can Elm's admin open Oak's pupil from a task.
    assert elm_admin.get(f"/staff/pupils/{older.pupil_id}").status_code == 404


def test_the_dashboard_partial_lists_open_tasks(app, world):
    make_tasks(world)
    with app.test_request_context("/staff"):
        html = render_template(
            "staff/dashboard/_partials/takedowns.html",
            takedown_tasks=takedowns.open_tasks(world.oak.id),
        )
        empty = render_template(
            "staff/dashboard/_partials/takedowns.html",
            takedown_tasks=takedowns.open_tasks(world.elm.id),
        )
    assert "2 things must come down" in text_of(html) and WEBSITE_A in html
    assert "Nothing to take down." in text_of(empty)


# --- the note, reopening, due dates and leaving tasks on the list --------------------------


@pytest.mark.parametrize("headers", [{}, FRAGMENT], ids=["plain", "htmx"])
def test_a_missing_note_is_refused_with_a_message_and_nothing_changes(admin, world, headers):
    older, _newer = make_tasks(world)
    page = admin.get("/staff/take-downs")
    response = post_form(admin, f"/staff/take-downs/{older.id}/done", {"note": "  "},
                         page=page, headers=headers)  # fmt: skip
    assert response.status_code == 400
    text = text_of(response.text)
    assert "There is a problem" in text and "Write what you removed and where" in text
    assert f'href="#note-{older.id}"' in response.text
    assert f'id="note-{older.id}-error"' in response.text
    if headers:
        assert response.text.lstrip().startswith('<div id="takedown-list"')
        assert "<h1" not in response.text
    else:
        assert "<title>Error: Take-downs" in response.text
    assert all(t.done_at is None and t.done_note is None for t in tasks())
    assert db.session.scalars(select(StaffAuditEntry)).all() == []


def test_a_note_with_a_control_character_is_refused_and_kept_for_correcting(office, world):
    older, _newer = make_tasks(world)
    page = office.get("/staff/take-downs")
    response = post_form(office, f"/staff/take-downs/{older.id}/done",
                         {"note": "Deleted\x0bfrom the gallery"}, page=page)  # fmt: skip
    assert response.status_code == 400
    assert "control character" in text_of(response.text)
    assert tasks()[0].done_at is None


@pytest.mark.parametrize("headers", [{}, FRAGMENT], ids=["plain", "htmx"])
def test_a_task_done_today_can_be_reopened(office, world, headers):
    older, _newer = make_tasks(world)
    page = office.get("/staff/take-downs")
    post_form(office, f"/staff/take-downs/{older.id}/done", {"note": NOTE}, page=page)
    page = office.get("/staff/take-downs")
    assert "Reopen" in text_of(page.text)
    response = post_form(office, f"/staff/take-downs/{older.id}/reopen", {}, page=page,
                         headers=headers)  # fmt: skip
    if headers:
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div id="takedown-list"')
        assert "Reopened: Take down: Photos on the school website — PupilB T." in response.text
    else:
        assert response.status_code == 302
        assert "Reopened:" in text_of(office.get("/staff/take-downs").text)
    task = db.session.get(TakedownTask, older.id)
    assert (task.done_at, task.done_note) == (None, None)
    actions = [
        e.action for e in db.session.scalars(select(StaffAuditEntry).order_by(StaffAuditEntry.id))
    ]
    assert actions == ["takedown.done", "takedown.reopened"]


def test_a_task_done_on_an_earlier_day_cannot_be_reopened(office, world):
    older, _newer = make_tasks(world)
    takedowns.mark_done(staff_named("office@oak.example").id, older.id, NOTE,
                        now=datetime.now(UTC) - timedelta(days=2))  # fmt: skip
    page = office.get("/staff/take-downs")
    assert "Reopen" not in text_of(page.text)  # no button on a later day
    response = post_form(office, f"/staff/take-downs/{older.id}/reopen", {}, page=page)
    assert response.status_code == 400
    assert "can be reopened only on the day it was marked done" in text_of(response.text)
    task = db.session.get(TakedownTask, older.id)
    assert task.done_at is not None and task.done_note == NOTE


def test_the_list_shows_due_dates_and_marks_overdue_tasks(office, world):
    _older, newer = make_tasks(world)  # made on 6 October 2025: due 13 October 2025
    page = office.get("/staff/take-downs")
    text = text_of(page.text)
    assert "Due 13 October 2025 (overdue)" in text
    assert "2 tasks are overdue." in text
    assert text.count("Overdue") == 2
    assert 'class="portal-takedown portal-takedown--overdue"' in page.text
    # A task not yet due is not marked.
    task = db.session.get(TakedownTask, newer.id)
    task.due_on = date.today() + timedelta(days=30)
    db.session.commit()
    text = text_of(office.get("/staff/take-downs").text)
    assert "1 task is overdue." in text and text.count("Overdue") == 1


def test_the_dashboard_shows_how_many_tasks_are_overdue(office, world):
    make_tasks(world)
    text = text_of(office.get("/staff").text)
    assert "2 things must come down" in text and "2 are overdue." in text
    # Each overdue task is marked twice: in Things to do and in the take-downs summary.
    todo = text[text.index("Things to do") : text.index("Dashboard", text.index("Things to do"))]
    assert todo.count("Overdue") == 2 and text.count("Overdue") == 4


def test_leaving_tasks_are_listed_apart_and_done_with_a_note(admin, world):
    purpose = db.session.get(Purpose, world.oak.purposes["class-photos"].id)
    purpose.on_leaving, purpose.retention = "review", "Kept for the school year"
    db.session.commit()
    c = world.oak.pupils["C"]
    page = admin.get(f"/staff/pupils/{c.id}")
    response = post_form(admin, f"/staff/pupils/{c.id}/left",
                         {"day": "6", "month": "10", "year": "2025", "confirm": "y"},
                         page=page)  # fmt: skip
    assert response.status_code == 302
    page = admin.get("/staff/take-downs")
    text = html.unescape(text_of(page.text))
    wording_c = "Review PupilC T.'s class photos on display in school — Kept for the school year"
    assert "Pupils who left (1)" in text and wording_c in text
    assert "PupilC Test (3 Oak) left on 6 October 2025; the purpose says to review it." in text
    [task] = tasks()
    response = post_form(admin, f"/staff/take-downs/{task.id}/done",
                         {"note": "Took C's photo off the display board"}, page=page)  # fmt: skip
    assert response.status_code == 302
    assert db.session.get(TakedownTask, task.id).done_note == "Took C's photo off the display board"
