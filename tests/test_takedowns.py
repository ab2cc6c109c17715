"""Tasks, the domain (portal/takedowns/): due dates in working days from the London date a
task is made, the note required to mark one done, reopening the same day only, who is
emailed (the school's `task_emails`), the daily digest of overdue tasks, leaving tasks, what
families are told, and the queue of things to do.

The world (tests/support/world.py): at Oak, Ada and Ben decide for pupil A, Ada and Dan for B;
"photos-website" is a publishable consent purpose (any objection blocks).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal import daily, takedowns, todo
from portal.database import writing
from portal.extensions import db
from portal.mail import render
from portal.models import (
    OutboxMessage,
    Pupil,
    Purpose,
    School,
    StaffAuditEntry,
    StaffUser,
    TakedownTask,
)
from portal.takedowns import digest
from tests.support.factories import make_staff
from tests.support.world import World, decide

NOTE = "Deleted from the website gallery"


@pytest.fixture
def oak(world: World) -> World:
    """The world with an admin at Oak (Dana) and one at Elm."""
    make_staff(world.oak.school, email="admin@oak.example", role="admin", name="Dana Okafor")
    make_staff(world.elm.school, email="admin@elm.example", role="admin", name="Eli Admin")
    return world


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def tasks() -> list[TakedownTask]:
    db.session.expire_all()
    return list(db.session.scalars(select(TakedownTask).order_by(TakedownTask.id)))


def outbox(template: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
    )


def staff_id(email: str) -> int:
    return db.session.scalars(select(StaffUser.id).where(StaffUser.email == email)).one()


def withdraw_at(world: World, when: datetime, pupil: str = "A") -> TakedownTask:
    """A yes, then a no a minute later ending at `when`: the take-down it makes."""
    photos, child = world.oak.purposes["photos-website"], world.oak.pupils[pupil]
    decide(world.ada, photos, "grant", pupil=child, now=when - timedelta(minutes=1))
    decide(world.ada, photos, "withdraw", pupil=child, now=when)
    return [t for t in tasks() if t.pupil_id == child.id][-1]


def set_purpose(world: World, key: str, **values: object) -> Purpose:
    purpose = db.session.get(Purpose, world.oak.purposes[key].id)
    for name, value in values.items():
        setattr(purpose, name, value)
    db.session.commit()
    return purpose


# --- due dates -----------------------------------------------------------------------------


def test_a_take_down_made_on_a_friday_is_due_the_friday_after(oak):
    task = withdraw_at(oak, utc(2025, 10, 10, 10, 0))  # Friday 10 October
    assert task.due_on == date(2025, 10, 17)  # the portal's default: 5 working days
    assert takedowns.DEFAULT_DAYS == 5


def test_the_london_date_counts_not_the_utc_one(oak):
    # 23:30 UTC on Friday 10 October is 00:30 on Saturday in London: counted from Monday.
    task = withdraw_at(oak, utc(2025, 10, 10, 23, 30))
    assert task.due_on == date(2025, 10, 20)


def test_the_count_skips_christmas_and_boxing_day(oak):
    # Thursday 18 December 2025: Fri 19, Mon 22, Tue 23, Wed 24, then Mon 29 (25 and 26 off).
    task = withdraw_at(oak, utc(2025, 12, 18, 11, 0))
    assert task.due_on == date(2025, 12, 29)


def test_the_purpose_sets_its_own_working_days(oak):
    set_purpose(oak, "photos-website", takedown_days=1)
    task = withdraw_at(oak, utc(2025, 10, 10, 10, 0))  # Friday: one working day is Monday
    assert task.due_on == date(2025, 10, 13)


# --- marking done, the note and reopening --------------------------------------------------


@pytest.mark.parametrize(
    "note, words",
    [
        ("", "Write what you removed and where"),
        ("   \n  ", "Write what you removed and where"),
        ("Deleted\x07", "control character"),
        ("x" * (takedowns.MAX_NOTE + 1), "characters or fewer"),
        ("\n".join(["a line"] * 6), "lines or fewer"),
    ],
)
def test_a_task_is_done_only_with_a_note_that_can_be_kept(oak, note, words):
    task = withdraw_at(oak, utc(2025, 10, 6, 10, 0))
    with pytest.raises(takedowns.NoteProblem, match=words):
        takedowns.mark_done(staff_id("admin@oak.example"), task.id, note)
    [after] = tasks()
    assert (after.done_at, after.done_by_id, after.done_note) == (None, None, None)
    assert db.session.scalars(select(StaffAuditEntry)).all() == []


def test_marking_done_keeps_the_note_and_records_it_in_the_audit_log(oak):
    task = withdraw_at(oak, utc(2025, 10, 6, 10, 0))
    done = takedowns.mark_done(
        staff_id("office@oak.example"), task.id, "  Deleted from the gallery\r\nand the blog  ",
        now=utc(2025, 10, 7, 9, 0),
    )  # fmt: skip
    assert done.changed and done.task.done_note == "Deleted from the gallery\nand the blog"
    [entry] = db.session.scalars(select(StaffAuditEntry)).all()
    assert entry.action == "takedown.done"
    assert json.loads(entry.detail)["task_id"] == task.id


def test_a_task_can_be_reopened_the_same_day_only(oak):
    first, second = withdraw_at(oak, utc(2025, 10, 6, 10, 0)), None
    admin = staff_id("admin@oak.example")
    # Done at 22:00 UTC (23:00 in London), reopened at 22:50 UTC: still that day in London.
    takedowns.mark_done(admin, first.id, NOTE, now=utc(2025, 10, 6, 22, 0))
    again = takedowns.reopen(admin, first.id, now=utc(2025, 10, 6, 22, 50))
    assert again.changed and again.task.done_at is None and again.task.done_note is None
    actions = [
        e.action for e in db.session.scalars(select(StaffAuditEntry).order_by(StaffAuditEntry.id))
    ]
    assert actions == ["takedown.done", "takedown.reopened"]

    # Done again at 22:55 UTC; at 23:05 UTC it is already the next day in London: refused.
    takedowns.mark_done(admin, first.id, NOTE, now=utc(2025, 10, 6, 22, 55))
    with pytest.raises(takedowns.CannotReopen, match="marked done on 6 October 2025"):
        takedowns.reopen(admin, first.id, now=utc(2025, 10, 6, 23, 5))
    [after] = tasks()
    assert after.done_at is not None and after.done_note == NOTE
    assert second is None
    assert db.session.scalars(select(StaffAuditEntry)).all()[-1].action == "takedown.done"


def test_reopening_an_open_task_changes_nothing(oak):
    task = withdraw_at(oak, utc(2025, 10, 6, 10, 0))
    outcome = takedowns.reopen(staff_id("admin@oak.example"), task.id)
    assert not outcome.changed
    assert db.session.scalars(select(StaffAuditEntry)).all() == []


# --- who is emailed about a new task ------------------------------------------------------


@pytest.mark.parametrize(
    "setting, expected",
    [
        ("admins", ["admin@oak.example"]),
        ("everyone", ["admin@oak.example", "office@oak.example"]),
        ("none", []),
    ],
)
def test_the_schools_task_emails_setting_says_who_is_emailed(oak, setting, expected):
    make_staff(oak.oak.school, email="marketing@oak.example", role="marketing", name="Morgan")
    school = db.session.get(School, oak.oak.id)
    school.task_emails = setting
    db.session.commit()
    withdraw_at(oak, utc(2025, 10, 6, 10, 0))
    assert sorted(m.to_address for m in outbox(takedowns.TEMPLATE)) == expected


def test_the_email_to_staff_says_why_they_get_it(oak):
    school = db.session.get(School, oak.oak.id)
    school.task_emails = "everyone"
    db.session.commit()
    withdraw_at(oak, utc(2025, 10, 6, 10, 0))
    mail = {m.to_address: m for m in outbox(takedowns.TEMPLATE)}
    rendered = render.render(takedowns.TEMPLATE, json.loads(mail["office@oak.example"].payload))
    assert not isinstance(rendered, str)
    assert "because you are staff of Oak Primary School" in rendered.text
    assert "due 13 October 2025" in rendered.text


# --- the daily digest ----------------------------------------------------------------------


def test_the_digest_sends_one_email_per_admin_not_one_per_task_and_once_a_day(oak):
    make_staff(oak.oak.school, email="head@oak.example", role="admin", name="Hana Head")
    withdraw_at(oak, utc(2025, 10, 6, 10, 0), pupil="A")  # due 13 October
    withdraw_at(oak, utc(2025, 10, 6, 11, 0), pupil="B")  # due 13 October
    assert digest.send_digest(date(2025, 10, 13), utc(2025, 10, 13, 6)) == "no overdue tasks"
    assert outbox(digest.TEMPLATE) == []

    summary = digest.send_digest(date(2025, 10, 14), utc(2025, 10, 14, 6))
    assert summary == "2 overdue task(s) at 1 school(s): 2 digest email(s) to admins queued"
    sent = outbox(digest.TEMPLATE)
    assert sorted(m.to_address for m in sent) == ["admin@oak.example", "head@oak.example"]
    assert all(len(json.loads(m.payload)["tasks"]) == 2 for m in sent)
    assert {m.dedupe_key for m in sent} == {
        f"takedown-digest:{oak.oak.id}:{staff_id(a)}:2025-10-14"
        for a in ("admin@oak.example", "head@oak.example")
    }
    rendered = render.render(digest.TEMPLATE, json.loads(sent[0].payload))
    assert not isinstance(rendered, str)
    assert rendered.subject == "2 overdue tasks (Oak Primary School)"
    assert "Take down: Photos on the school website — PupilA T. (3 Oak)" in rendered.text
    assert "due 13 October 2025" in rendered.text

    # Run again the same day: nothing more. The next day: one more each.
    digest.send_digest(date(2025, 10, 14), utc(2025, 10, 14, 18))
    assert len(outbox(digest.TEMPLATE)) == 2
    digest.send_digest(date(2025, 10, 15), utc(2025, 10, 15, 6))
    assert len(outbox(digest.TEMPLATE)) == 4


def test_the_digest_is_a_daily_job_and_skips_what_was_done(oak, app):
    task = withdraw_at(oak, utc(2025, 10, 6, 10, 0))
    assert digest.JOB in daily.jobs()
    [ran] = daily.run_due(utc(2025, 10, 20, 6), only=digest.JOB)
    assert "1 overdue task(s) at 1 school(s)" in ran.summary
    assert daily.run_due(utc(2025, 10, 20, 7), only=digest.JOB) == []  # once a day
    [mail] = outbox(digest.TEMPLATE)
    assert mail.to_address == "admin@oak.example"  # Elm has nothing overdue
    takedowns.mark_done(staff_id("admin@oak.example"), task.id, NOTE)
    reason = render.render(digest.TEMPLATE, json.loads(mail.payload))
    assert isinstance(reason, str) and "marked done" in reason


# --- leaving -------------------------------------------------------------------------------


def leave(world: World, pupil: str, on: date) -> Pupil:
    found = db.session.get(Pupil, world.oak.pupils[pupil].id)
    found.on_roll, found.left_on = False, on
    db.session.commit()
    return found


def test_leaving_makes_tasks_only_for_remove_and_review_purposes_and_only_once(oak):
    set_purpose(oak, "photos-website", on_leaving="remove", leaving_days=2,
                retention="Removed when a pupil leaves")  # fmt: skip
    set_purpose(oak, "class-photos", on_leaving="review")
    set_purpose(oak, "trip-videos", on_leaving="keep", keep_months=6)
    pupil = leave(oak, "A", date(2025, 10, 10))
    now = utc(2025, 10, 10, 15, 0)  # a Friday
    with writing() as session:
        made = takedowns.on_leaving(session, oak.oak.id, [pupil.id], now=now)
    assert len(made) == 2
    by_purpose = {t.purpose_id: t for t in tasks()}
    website = by_purpose[oak.oak.purposes["photos-website"].id]
    display = by_purpose[oak.oak.purposes["class-photos"].id]
    assert set(by_purpose) == {website.purpose_id, display.purpose_id}
    assert (website.kind, website.action, website.event_seq) == ("leaving", "remove", None)
    assert website.due_on == date(2025, 10, 14)  # two working days from Friday
    assert (display.action, display.due_on) == ("review", date(2025, 10, 17))  # default 5
    [mail] = outbox(takedowns.TEMPLATE)
    rendered = render.render(takedowns.TEMPLATE, json.loads(mail.payload))
    assert not isinstance(rendered, str)
    assert (
        "Remove PupilA T.'s photos on the school website — Removed when a pupil leaves"
        in rendered.text
    )
    assert "Review PupilA T.'s class photos on display in school" in rendered.text

    # Again (a second import, a second click): no second open task, no second email.
    with writing() as session:
        assert takedowns.on_leaving(session, oak.oak.id, [pupil.id], now=now) == []
    assert len(tasks()) == 2 and len(outbox(takedowns.TEMPLATE)) == 1


def test_a_pupil_on_roll_or_of_another_school_gets_no_leaving_task(oak):
    set_purpose(oak, "photos-website", on_leaving="remove")
    with writing() as session:
        assert takedowns.on_leaving(session, oak.oak.id, [oak.oak.pupils["A"].id]) == []
        assert takedowns.on_leaving(session, oak.elm.id, [oak.oak.pupils["A"].id]) == []
    assert tasks() == []


def test_a_leaving_task_is_done_with_a_note_like_a_take_down(oak):
    set_purpose(oak, "photos-website", on_leaving="remove")
    pupil = leave(oak, "A", date(2025, 10, 10))
    with writing() as session:
        [task] = takedowns.on_leaving(session, oak.oak.id, [pupil.id])
    with pytest.raises(takedowns.NoteProblem):
        takedowns.mark_done(staff_id("admin@oak.example"), task.id, "")
    done = takedowns.mark_done(staff_id("admin@oak.example"), task.id, NOTE)
    assert done.task.done_note == NOTE and done.task.kind == "leaving"


# --- what families are told, and the queue of things to do ----------------------------------


def test_families_are_told_the_fact_and_the_day_never_the_note(oak):
    task = withdraw_at(oak, utc(2025, 3, 3, 10, 0))
    takedowns.mark_done(staff_id("admin@oak.example"), task.id, "Removed from Mrs Smith's blog",
                        now=utc(2025, 3, 3, 23, 30))  # 3 March in London (GMT)  # fmt: skip
    [outcome] = takedowns.done_for([oak.oak.pupils["A"].id])
    assert outcome.sentence == (
        "The school removed <bdi>PupilA</bdi>'s photos on the school website on 3 March 2025."
    )
    assert "Smith" not in repr(outcome)
    assert takedowns.done_for([oak.oak.pupils["B"].id]) == []


def test_open_tasks_are_things_to_do_for_admins_and_staff_not_marketing(oak, app):
    set_purpose(oak, "class-photos", on_leaving="review")
    withdraw_at(oak, utc(2025, 10, 6, 10, 0))
    pupil = leave(oak, "B", date(2025, 10, 6))
    with writing() as session:
        takedowns.on_leaving(session, oak.oak.id, [pupil.id], now=utc(2025, 10, 6, 12, 0))
    with app.test_request_context():
        items = todo.items(oak.oak.id, date(2025, 10, 20), "staff")
        assert todo.items(oak.oak.id, date(2025, 10, 20), "marketing") == []
        assert [i.title for i in todo.items(oak.oak.id, date(2025, 10, 20), "admin")] == [
            i.title for i in items
        ]
    # The queue's order: oldest first, then due soonest; on the same day and due date, the
    # source's own order (the take-down, made at 10:00, before the leaving task, at 12:00).
    assert [(i.kind, i.endpoint, i.opened_on, i.due_on, i.title) for i in items] == [
        ("takedown", "staff.takedowns", date(2025, 10, 6), date(2025, 10, 13),
         "Take down: Photos on the school website — PupilA T. (3 Oak)"),
        ("leaving", "staff.takedowns", date(2025, 10, 6), date(2025, 10, 13),
         "Review PupilB T.'s class photos on display in school"),
    ]  # fmt: skip
    assert all(i.overdue(date(2025, 10, 20)) for i in items)


def test_a_pupil_whose_names_were_erased_is_named_so_in_a_task():
    assert takedowns.short_name("", "") == "Name erased"
    assert takedowns.wording("Photos", "", "", "3 Oak") == "Take down: Photos — Name erased (3 Oak)"
    assert takedowns.short_name("Amira", "Hussain") == "Amira H."
