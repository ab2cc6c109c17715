"""Rights requests, the domain (`portal.rights_requests`): the due date when a request is made
or logged, stopping and restarting the clock, the extension and its limits, the history of
every change, the daily reminders, the queue of things to do, and the family's file, each
scoped to one school and one family."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal import rights_requests
from portal.errors import NotFound
from portal.extensions import db
from portal.models import (
    OutboxMessage,
    RightsRequest,
    RightsRequestChange,
    StaffAuditEntry,
)
from tests.support.factories import make_staff
from tests.support.world import decide


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def admin(world):
    return make_staff(world.oak.school, email="admin@oak.example", role="admin", name="Dana Okafor")


@pytest.fixture
def elm_admin(world):
    return make_staff(world.elm.school, email="admin@elm.example", role="admin", name="Eli Admin")


def made(world, day: date, *, kind: str = "access", guardian=None, school=None) -> RightsRequest:
    guardian = guardian or world.ada
    school = school or world.oak
    return rights_requests.make(guardian.id, school.id, kind=kind, details="", now=at(day))


def changes(request_id: int) -> list[RightsRequestChange]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(RightsRequestChange)
            .where(RightsRequestChange.request_id == request_id)
            .order_by(RightsRequestChange.id)
        )
    )


def row(request_id: int) -> RightsRequest:
    db.session.expire_all()
    found = db.session.get(RightsRequest, request_id)
    assert found is not None
    return found


def outbox(template: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
    )


# --- the due date ----------------------------------------------------------------------------


def test_a_request_made_on_31_january_is_due_on_the_last_day_of_february(world):
    request = made(world, date(2025, 1, 31))
    assert request.received_on == date(2025, 1, 31)
    assert request.due_on == date(2025, 2, 28)
    assert request.status == "open"
    assert request.channel == "web"
    assert request.requester_contact == "ada@example.org"


def test_the_day_received_is_londons_day():
    # 23:30 UTC on 31 May is 00:30 on 1 June in London (summer time).
    assert rights_requests.today_in_london(datetime(2025, 5, 31, 23, 30, tzinfo=UTC)) == date(
        2025, 6, 1
    )


def test_a_due_date_on_a_bank_holiday_moves_to_the_next_working_day(world):
    # Received Monday 25 November 2024: one month is 25 December, then 26 December, both bank
    # holidays: due Friday 27 December (docs/legal.md, section 9).
    request = made(world, date(2024, 11, 25))
    assert request.due_on == date(2024, 12, 27)


def test_making_a_request_emails_the_admins_and_a_receipt_to_the_family(world, admin):
    request = made(world, date(2025, 3, 3))
    to_admins = outbox(rights_requests.ADMIN_TEMPLATE)
    assert [m.to_address for m in to_admins] == ["admin@oak.example"]
    assert json.loads(to_admins[0].payload) == {"event": "new", "request_id": request.id}
    receipts = outbox(rights_requests.FAMILY_TEMPLATE)
    assert [m.to_address for m in receipts] == ["ada@example.org"]
    assert [c.action for c in changes(request.id)] == ["made"]
    assert changes(request.id)[0].guardian_id == world.ada.id


def test_a_family_can_only_ask_a_school_that_lists_them(world):
    with pytest.raises(NotFound):
        made(world, date(2025, 3, 3), guardian=world.eve, school=world.elm)
    with pytest.raises(rights_requests.RightsRequestError) as refused:
        rights_requests.make(
            world.ada.id, world.oak.id, kind="access", details="",
            pupil_id=world.oak.pupils["C"].id, now=at(date(2025, 3, 3)),
        )  # fmt: skip
    assert refused.value.field == "pupil"
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.make(world.ada.id, world.oak.id, kind="everything", details="")
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.make(world.ada.id, world.oak.id, kind="access", details="x" * 5001)
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.make(world.ada.id, world.oak.id, kind="access", details="a\x07b")
    assert db.session.scalar(select(func.count()).select_from(RightsRequest)) == 0


def test_staff_log_a_request_with_the_date_it_was_received(world, admin):
    logged = rights_requests.log(
        admin.id,
        received_on=date(2025, 1, 31),
        channel="letter",
        requester_name="Ben Test",
        requester_contact="12 High Street",
        guardian_email="BEN@example.org",
        kind="erasure",
        details="Please delete the photos of A.",
        now=at(date(2025, 2, 4)),
    )
    assert (logged.received_on, logged.due_on) == (date(2025, 1, 31), date(2025, 2, 28))
    assert logged.guardian_id == world.ben.id
    assert logged.created_by_id == admin.id
    (change,) = changes(logged.id)
    assert (change.action, change.staff_user_id) == ("logged", admin.id)


@pytest.mark.parametrize(
    ("received_on", "guardian_email", "field"),
    [
        (date(2025, 2, 5), "", "received_on"),  # tomorrow
        (date(2024, 2, 1), "", "received_on"),  # more than a year ago
        (None, "", "received_on"),
        (date(2025, 2, 1), "fay@example.org", "guardian_email"),  # Elm's, not Oak's
        (date(2025, 2, 1), "not an address", "guardian_email"),
    ],
)
def test_a_bad_logged_request_is_refused_and_nothing_is_written(
    world, admin, received_on, guardian_email, field
):
    with pytest.raises(rights_requests.RightsRequestError) as refused:
        rights_requests.log(
            admin.id, received_on=received_on, channel="phone", requester_name="Someone",
            requester_contact="01234 567890", guardian_email=guardian_email, kind="access",
            details="All of it", now=at(date(2025, 2, 4)),
        )  # fmt: skip
    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(RightsRequest)) == 0


def test_only_admins_log_requests(world):
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.log(
            world.oak.staff.id, received_on=date(2025, 2, 1), channel="phone",
            requester_name="Someone", requester_contact="x", kind="access", details="All",
            now=at(date(2025, 2, 4)),
        )  # fmt: skip


# --- the clock: pause, resume, extend ----------------------------------------------------------


def test_stopping_the_clock_adds_the_days_back(world, admin):
    request = made(world, date(2025, 3, 3))  # Monday: due Thursday 3 April
    assert request.due_on == date(2025, 4, 3)
    rights_requests.pause(admin.id, request.id, reason="identity", now=at(date(2025, 3, 10)))
    paused = row(request.id)
    assert (paused.status, paused.paused_on) == ("paused", date(2025, 3, 10))
    rights_requests.resume(admin.id, request.id, now=at(date(2025, 3, 17)))
    resumed = row(request.id)
    assert (resumed.status, resumed.paused_on, resumed.paused_days) == ("open", None, 7)
    assert resumed.due_on == date(2025, 4, 10)
    # A second stop adds to the first.
    rights_requests.pause(admin.id, request.id, reason="clarification", now=at(date(2025, 3, 20)))
    rights_requests.resume(admin.id, request.id, now=at(date(2025, 3, 22)))
    assert (row(request.id).paused_days, row(request.id).due_on) == (9, date(2025, 4, 14))


def test_an_extension_counts_from_the_day_received(world, admin):
    request = made(world, date(2025, 1, 31))
    rights_requests.extend(
        admin.id, request.id, months=1, reason="Many records", now=at(date(2025, 2, 10))
    )
    assert row(request.id).due_on == date(2025, 3, 31)
    rights_requests.extend(
        admin.id, request.id, months=2, reason="Even more", now=at(date(2025, 2, 11))
    )
    extended = row(request.id)
    # Three months from 31 January: 30 April (not two months after 28 February).
    assert (extended.due_on, extended.extension_months) == (date(2025, 4, 30), 2)
    assert extended.extension_told_on == date(2025, 2, 11)
    # The family is in the portal: they are told by email, once per extension.
    events = [json.loads(m.payload)["event"] for m in outbox(rights_requests.FAMILY_TEMPLATE)]
    assert events == ["received", "extended-1", "extended-2"]


def test_an_extension_after_the_first_month_is_refused(world, admin):
    request = made(world, date(2025, 1, 31))  # the first month ends on 28 February
    before = changes(request.id)
    with pytest.raises(rights_requests.RightsRequestError, match="Too late"):
        rights_requests.extend(
            admin.id, request.id, months=2, reason="Complex", now=at(date(2025, 3, 3))
        )
    assert (row(request.id).extension_months, row(request.id).due_on) == (0, date(2025, 2, 28))
    assert len(changes(request.id)) == len(before)


def test_extending_a_request_from_outside_the_portal_needs_the_day_they_were_told(world, admin):
    logged = rights_requests.log(
        admin.id, received_on=date(2025, 1, 6), channel="letter", requester_name="A Neighbour",
        requester_contact="3 Elm Road", kind="access", details="CCTV", now=at(date(2025, 1, 7)),
    )  # fmt: skip
    with pytest.raises(rights_requests.RightsRequestError) as refused:
        rights_requests.extend(
            admin.id, logged.id, months=1, reason="Complex", now=at(date(2025, 1, 20))
        )
    assert refused.value.field == "told_on"
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.extend(
            admin.id, logged.id, months=1, reason="Complex", told_on=date(2025, 1, 21),
            now=at(date(2025, 1, 20)),
        )  # fmt: skip
    rights_requests.extend(
        admin.id, logged.id, months=1, reason="Complex", told_on=date(2025, 1, 17),
        now=at(date(2025, 1, 20)),
    )  # fmt: skip
    assert (row(logged.id).extension_told_on, row(logged.id).due_on) == (
        date(2025, 1, 17),
        date(2025, 3, 6),
    )
    assert outbox(rights_requests.FAMILY_TEMPLATE) == []


def test_nonsense_transitions_are_refused_and_change_nothing(world, admin):
    request = made(world, date(2025, 3, 3))
    with pytest.raises(rights_requests.RightsRequestError, match="running"):
        rights_requests.resume(admin.id, request.id, now=at(date(2025, 3, 4)))
    rights_requests.pause(admin.id, request.id, reason="identity", now=at(date(2025, 3, 4)))
    with pytest.raises(rights_requests.RightsRequestError, match="already stopped"):
        rights_requests.pause(admin.id, request.id, reason="identity", now=at(date(2025, 3, 5)))
    rights_requests.answer(admin.id, request.id, outcome="Sent the file", now=at(date(2025, 3, 6)))
    count = len(changes(request.id))
    for action in (
        lambda: rights_requests.answer(admin.id, request.id, outcome="Again"),
        lambda: rights_requests.refuse(admin.id, request.id, reasons="No"),
        lambda: rights_requests.withdraw(admin.id, request.id),
        lambda: rights_requests.pause(admin.id, request.id, reason="identity"),
        lambda: rights_requests.extend(admin.id, request.id, months=1, reason="x"),
    ):
        with pytest.raises(rights_requests.RightsRequestError, match="closed"):
            action()
    closed = row(request.id)
    assert (closed.status, closed.outcome, closed.closed_on) == (
        "answered",
        "Sent the file",
        date(2025, 3, 6),
    )
    assert closed.paused_on is None
    assert len(changes(request.id)) == count
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.answer(admin.id, made(world, date(2025, 3, 3)).id, outcome="  ")


def test_every_change_is_recorded_with_who_and_when(world, admin):
    request = made(world, date(2025, 1, 31))
    rights_requests.pause(admin.id, request.id, reason="identity", now=at(date(2025, 2, 3), 9))
    rights_requests.resume(admin.id, request.id, now=at(date(2025, 2, 5), 11))
    rights_requests.extend(
        admin.id, request.id, months=1, reason="Many", now=at(date(2025, 2, 6), 12)
    )
    rights_requests.refuse(
        admin.id, request.id, reasons="Manifestly excessive", now=at(date(2025, 2, 7), 13)
    )
    found = changes(request.id)
    assert [(c.action, c.staff_user_id, c.guardian_id, c.occurred_at) for c in found] == [
        ("made", None, world.ada.id, at(date(2025, 1, 31))),
        ("paused", admin.id, None, at(date(2025, 2, 3), 9)),
        ("resumed", admin.id, None, at(date(2025, 2, 5), 11)),
        ("extended", admin.id, None, at(date(2025, 2, 6), 12)),
        ("refused", admin.id, None, at(date(2025, 2, 7), 13)),
    ]
    assert json.loads(found[2].detail)["days_added"] == 2
    assert json.loads(found[4].detail)["outcome"] == "Manifestly excessive"
    shown = rights_requests.get(world.oak.id, request.id)
    assert [c.who for c in shown.changes] == ["ada Test"] + ["Dana Okafor"] * 4


# --- reminders -----------------------------------------------------------------------------------


def test_reminders_go_once_a_week_before_and_once_when_overdue(world, admin):
    make_staff(world.oak.school, email="second@oak.example", role="admin", name="Sam Second")
    request = made(world, date(2025, 3, 3))  # due 3 April
    paused = made(world, date(2025, 3, 3), kind="erasure")
    rights_requests.pause(admin.id, paused.id, reason="identity", now=at(date(2025, 3, 4)))
    rights_requests.send_reminders(date(2025, 3, 26), at(date(2025, 3, 26)))  # 8 days before
    assert _reminders() == []
    summary = rights_requests.send_reminders(date(2025, 3, 27), at(date(2025, 3, 27)))
    assert "2 reminder(s)" in summary
    assert _reminders() == [
        ("soon", request.id, "admin@oak.example"),
        ("soon", request.id, "second@oak.example"),
    ]
    rights_requests.send_reminders(date(2025, 3, 27), at(date(2025, 3, 27)))
    rights_requests.send_reminders(date(2025, 3, 28), at(date(2025, 3, 28)))
    assert len(_reminders()) == 2
    rights_requests.send_reminders(date(2025, 4, 4), at(date(2025, 4, 4)))
    rights_requests.send_reminders(date(2025, 4, 5), at(date(2025, 4, 5)))
    assert _reminders()[2:] == [
        ("overdue", request.id, "admin@oak.example"),
        ("overdue", request.id, "second@oak.example"),
    ]
    # Elm's admins hear nothing of Oak's requests.
    assert all(to.endswith("@oak.example") for _e, _r, to in _reminders())


def _reminders() -> list[tuple[str, int, str]]:
    found = []
    for message in outbox(rights_requests.ADMIN_TEMPLATE):
        payload = json.loads(message.payload)
        if payload["event"] != "new":
            found.append((payload["event"], payload["request_id"], message.to_address))
    return found


def test_a_reminder_of_a_request_closed_before_it_is_sent_is_not_sent(app, world, admin):
    request = made(world, date(2025, 3, 3))
    rights_requests.send_reminders(date(2025, 3, 28), at(date(2025, 3, 28)))
    rights_requests.answer(admin.id, request.id, outcome="Done", now=at(date(2025, 3, 28)))
    (reminder,) = [m for m in outbox(rights_requests.ADMIN_TEMPLATE) if "soon" in m.payload]
    context, reason = rights_requests.admin_context(
        json.loads(reminder.payload), at(date(2025, 3, 28))
    )
    assert context is None and "closed" in reason


# --- scoping and the queue -----------------------------------------------------------------------


def test_another_schools_request_is_not_found(world, admin, elm_admin):
    request = made(world, date(2025, 3, 3))
    with pytest.raises(NotFound):
        rights_requests.get(world.elm.id, request.id)
    with pytest.raises(NotFound):
        rights_requests.pause(elm_admin.id, request.id, reason="identity")
    with pytest.raises(NotFound):
        rights_requests.build_family_file(elm_admin.id, request.id)
    with pytest.raises(NotFound):
        rights_requests.get_for_guardian(world.ben.id, request.id)
    assert [r.id for r in rights_requests.open_requests(world.elm.id)] == []
    assert [r.id for r in rights_requests.of_guardian(world.ben.id)] == []
    assert row(request.id).status == "open"


def test_the_queue_holds_open_and_paused_requests_for_admins(world, admin):
    first = made(world, date(2025, 3, 3))
    second = made(world, date(2025, 3, 5), kind="erasure")
    done = made(world, date(2025, 3, 5), kind="objection")
    rights_requests.pause(admin.id, second.id, reason="identity", now=at(date(2025, 3, 6)))
    rights_requests.withdraw(admin.id, done.id, now=at(date(2025, 3, 6)))
    items = rights_requests.things_to_do(world.oak.id, date(2025, 3, 22), "admin")
    assert [(i.kind, i.values, i.endpoint, i.opened_on, i.due_on, i.detail) for i in items] == [
        ("request", {"request_id": first.id}, "staff.rights_request", date(2025, 3, 3),
         date(2025, 4, 3), "Access — 12 days left"),
        ("request", {"request_id": second.id}, "staff.rights_request", date(2025, 3, 5),
         date(2025, 4, 7), "Erasure — paused"),
    ]  # fmt: skip
    assert rights_requests.things_to_do(world.oak.id, date(2025, 3, 22), "staff") == []
    assert rights_requests.things_to_do(world.elm.id, date(2025, 3, 22), "admin") == []


# --- the family's file ------------------------------------------------------------------------


def test_the_family_file_holds_everything_of_this_family_at_this_school_and_nothing_else(
    world, admin
):
    oak, elm = world.oak, world.elm
    decide(world.ada, oak.purposes["photos-website"], "grant", pupil=oak.pupils["A"])
    decide(world.ben, oak.purposes["photos-website"], "withdraw", pupil=oak.pupils["A"])
    decide(world.eve, oak.purposes["photos-website"], "grant", pupil=oak.pupils["C"])
    decide(world.ada, elm.purposes["photos-website"], "grant", pupil=elm.pupils["X"])
    decide(
        world.ada, oak.purposes["photos-website"], "grant", pupil=oak.pupils["B"],
        staff=oak.staff, note="Signed form in the office file",
    )  # fmt: skip
    elm_request = made(world, date(2025, 3, 3), school=elm)
    request = made(world, date(2025, 3, 3))
    other = made(world, date(2025, 3, 3), guardian=world.eve)

    built = rights_requests.build_family_file(admin.id, request.id, as_format="json")
    data = built.as_json()
    text = json.dumps(data)
    assert data["email"] == "ada@example.org"
    assert data["name"] == "ada Test"
    assert data["school"] == "Oak Primary School"
    assert sorted(c["name"] for c in data["children"]) == ["PupilA Test", "PupilB Test"]
    decisions = [(d["child"], d["decision"], d["by"]) for d in data["decisions"]]
    assert decisions == [
        ("PupilA Test", "Yes (agreed)", "you"),
        ("PupilA Test", "No (said no, or withdrew agreement)", "another parent or carer"),
        ("PupilB Test", "Yes (agreed)", "school staff, for you (paper)"),
    ]
    first = data["decisions"][0]
    assert first["purpose_version"] == 1 and first["wording"]
    assert first["notice_version"] == 1
    assert data["decisions"][2]["note"] == "Signed form in the office file"
    assert [q["reference"] for q in data["requests"]] == [rights_requests.reference(request.id)]
    assert data["requests"][0]["history"][0]["what"] == "Made on the portal"
    assert data["emails"] and all(e["to"] == "ada@example.org" for e in data["emails"])
    # Nothing of another family or another school.
    for absent in ("ben@example.org", "eve@example.org", "PupilC", "PupilX", "Elm Academy",
                   rights_requests.reference(elm_request.id),
                   rights_requests.reference(other.id)):  # fmt: skip
        assert absent not in text, absent
    # Building it is recorded: the audit log and the request's history.
    db.session.expire_all()
    (entry,) = db.session.scalars(select(StaffAuditEntry)).all()
    assert (entry.action, entry.staff_user_id, entry.school_id) == (
        "rights_request.family_file",
        admin.id,
        oak.id,
    )
    assert json.loads(entry.detail) == {
        "format": "json",
        "guardian_id": world.ada.id,
        "request_id": request.id,
    }
    assert changes(request.id)[-1].action == "file_built"


def test_the_family_file_is_only_for_an_access_request_of_a_family_in_the_portal(world, admin):
    erasure = made(world, date(2025, 3, 3), kind="erasure")
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.build_family_file(admin.id, erasure.id)
    letter = rights_requests.log(
        admin.id, received_on=date(2025, 3, 3), channel="letter", requester_name="Someone",
        requester_contact="x", kind="access", details="All", now=at(date(2025, 3, 4)),
    )  # fmt: skip
    with pytest.raises(rights_requests.RightsRequestError):
        rights_requests.build_family_file(admin.id, letter.id)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(StaffAuditEntry)) == 0


def test_days_left_are_negative_when_overdue(world):
    request = made(world, date(2025, 3, 3))
    shown = rights_requests.get(world.oak.id, request.id)
    assert shown.days_left(date(2025, 4, 1)) == 2
    assert shown.days_left(date(2025, 4, 6)) == -3
    assert shown.overdue(date(2025, 4, 6)) and not shown.overdue(date(2025, 4, 3))
    assert shown.days_left_words(date(2025, 4, 6)) == "overdue by 3 days"
    assert shown.due_on - timedelta(days=31) == date(2025, 3, 3)


# --- the emails ------------------------------------------------------------------------------


def test_the_emails_say_what_happened_and_when_it_is_due(world, admin):
    from portal.mail import render

    request = made(world, date(2025, 3, 3))
    rights_requests.refuse(
        admin.id, request.id, reasons="We hold nothing more.", now=at(date(2025, 3, 4))
    )
    reference = rights_requests.reference(request.id)
    new = render.render(rights_requests.ADMIN_TEMPLATE, {"request_id": request.id, "event": "new"})
    # The request was refused before the admins' email went: it is not sent.
    assert isinstance(new, str) and "closed" in new
    receipt = render.render(
        rights_requests.FAMILY_TEMPLATE, {"request_id": request.id, "event": "received"}
    )
    refused = render.render(
        rights_requests.FAMILY_TEMPLATE, {"request_id": request.id, "event": "refused"}
    )
    assert not isinstance(receipt, str) and not isinstance(refused, str)
    assert receipt.subject == f"Your request to Oak Primary School ({reference}): received"
    assert "3 April 2025" in receipt.text and "3 April 2025" in receipt.html
    assert "We hold nothing more." in refused.text
    assert "ico.org.uk/make-a-complaint" in refused.text
    assert "ico.org.uk/make-a-complaint" in refused.html

    open_one = made(world, date(2025, 3, 3), kind="erasure")
    soon = render.render(
        rights_requests.ADMIN_TEMPLATE,
        {"request_id": open_one.id, "event": "soon"},
        now=at(date(2025, 3, 27)),
    )
    assert not isinstance(soon, str)
    assert soon.subject == "Rights request due in 7 days: Erasure (Oak Primary School)"
    assert f"/staff/rights-requests/{open_one.id}" in soon.text
