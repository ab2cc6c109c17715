"""Objection review (portal/objections.py, docs/follow-through.md "Objection review"): an
objection stops the processing at once, admins are emailed with a due date, an admin records
the outcome as a ledger event that answers the objection, the family is emailed it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal import consent, ledger, objections, photo_check, todo
from portal.extensions import db
from portal.models import ConsentEvent, OutboxMessage
from tests.support.factories import make_staff
from tests.support.world import decide, snapshot


@pytest.fixture
def reviewed(world):
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin", name="Dana O")
    return world, admin


def outbox(template: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
    )


@pytest.mark.parametrize(
    ("objected", "due"),
    [
        (datetime(2026, 1, 31, 10, tzinfo=UTC), date(2026, 3, 2)),  # 28 Feb is a Saturday
        (datetime(2027, 1, 31, 10, tzinfo=UTC), date(2027, 3, 1)),  # 28 Feb 2027 is a Sunday
        (datetime(2026, 11, 25, 10, tzinfo=UTC), date(2026, 12, 29)),  # Christmas, Boxing Day
        (datetime(2026, 3, 31, 23, 30, tzinfo=UTC), date(2026, 5, 1)),  # 1 April in London
    ],
    ids=["31-january", "a-sunday", "christmas-day", "london-date"],
)
def test_the_review_is_due_one_calendar_month_later_on_a_working_day(objected, due, app):
    assert objections.due_on(objected) == due


def test_an_objection_stops_it_at_once_and_emails_every_admin(reviewed):
    world, _admin = reviewed
    classes, c = world.oak.purposes["class-photos"], world.oak.pupils["C"]
    event = decide(world.eve, classes, "object", pupil=c, note="We are in a refuge")

    status = consent.status_for(c, classes)
    assert status.status == consent.Status.UNDER_REVIEW and not status.permits
    assert photo_check.reason_for(status) == "objection under review"
    sent = outbox(objections.REVIEW_TEMPLATE)
    assert [m.to_address for m in sent] == ["admin@oak.example"]
    assert json.loads(sent[0].payload) == {"school_id": world.oak.id, "seq": event.seq}
    [waiting] = objections.open_objections(world.oak.id)
    assert (waiting.seq, waiting.reasons, waiting.open) == (event.seq, "We are in a refuge", True)
    assert waiting.due_on == objections.due_on(event.occurred_at)
    # Things to do: for admins, with the due date; not for staff or marketing.
    [item] = objections.todo_items(world.oak.id, date.today(), "admin")
    assert (item.kind, item.due_on, item.values) == (
        "objection",
        waiting.due_on,
        {"seq": event.seq},
    )
    assert objections.todo_items(world.oak.id, date.today(), "staff") == []
    assert isinstance(item, todo.Item)


def test_an_objection_to_direct_marketing_is_absolute_and_never_reviewed(reviewed):
    world, _ = reviewed
    decide(world.ada, world.oak.purposes["marketing-emails"], "object")
    assert outbox(objections.REVIEW_TEMPLATE) == []
    assert objections.open_objections(world.oak.id) == []


def test_not_upheld_is_a_ledger_event_that_answers_the_objection_and_tells_the_family(reviewed):
    world, admin = reviewed
    classes, c = world.oak.purposes["class-photos"], world.oak.pupils["C"]
    asked = decide(world.eve, classes, "object", pupil=c)

    outcome = objections.record_outcome(
        admin.id, world.oak.id, asked.seq, upheld=False,
        reasons="Class photos stay inside the school and are never shared.",
    )  # fmt: skip

    assert (outcome.decision, outcome.answers_seq, outcome.actor_id) == (
        "not_upheld",
        asked.seq,
        admin.id,
    )
    assert outcome.actor_type == "staff" and outcome.guardian_id == world.eve.id
    assert outcome.note_commitment is not None and outcome.format == 2
    assert consent.status_for(c, classes).status == consent.Status.ALLOWED
    [told] = outbox(objections.OUTCOME_TEMPLATE)
    assert told.to_address == "eve@example.org"
    assert objections.open_objections(world.oak.id) == []
    [done] = objections.answered_objections(world.oak.id)
    assert (done.outcome, done.outcome_reasons) == (
        "not_upheld",
        "Class photos stay inside the school and are never shared.",
    )
    assert ledger.verify().ok
    # The family may object again: a new review.
    again = decide(world.eve, classes, "object", pupil=c)
    assert consent.status_for(c, classes).status == consent.Status.UNDER_REVIEW
    assert [o.seq for o in objections.open_objections(world.oak.id)] == [again.seq]


def test_upheld_keeps_it_stopped_and_an_objection_is_answered_once(reviewed):
    world, admin = reviewed
    classes, c = world.oak.purposes["class-photos"], world.oak.pupils["C"]
    asked = decide(world.eve, classes, "object", pupil=c)
    objections.record_outcome(admin.id, world.oak.id, asked.seq, upheld=True, reasons="")
    assert consent.status_for(c, classes).status == consent.Status.OBJECTED

    before = snapshot(world.oak.id)
    with pytest.raises(objections.OutcomeRefused, match="already been answered"):
        objections.record_outcome(admin.id, world.oak.id, asked.seq, upheld=False, reasons="x")
    assert snapshot(world.oak.id) == before


def test_bad_outcomes_are_refused_and_change_nothing(reviewed):
    world, admin = reviewed
    classes, c = world.oak.purposes["class-photos"], world.oak.pupils["C"]
    asked = decide(world.eve, classes, "object", pupil=c)
    before = snapshot(world.oak.id, world.elm.id)
    for upheld, reasons, words in [
        (False, "", "compelling grounds"),
        (False, "x" * (objections.MAX_REASONS + 1), "characters or fewer"),
        (False, "nul\x00here", "cannot be stored"),
    ]:
        with pytest.raises(objections.OutcomeRefused, match=words):
            objections.record_outcome(admin.id, world.oak.id, asked.seq, upheld=upheld,
                                      reasons=reasons)  # fmt: skip
    # Staff who are not admins, and admins of another school, cannot record one.
    office = world.oak.staff
    with pytest.raises(Exception, match="admin"):
        objections.record_outcome(office.id, world.oak.id, asked.seq, upheld=True, reasons="")
    elm_admin = make_staff(world.elm.school, email="admin@elm.example", role="admin")
    with pytest.raises(Exception, match=r"no such objection|admin"):
        objections.record_outcome(elm_admin.id, world.elm.id, asked.seq, upheld=True, reasons="")
    assert snapshot(world.oak.id, world.elm.id) == before
    assert outbox(objections.OUTCOME_TEMPLATE) == []


def test_the_ledger_refuses_outcomes_that_do_not_answer_the_standing_objection(reviewed):
    world, admin = reviewed
    classes, c = world.oak.purposes["class-photos"], world.oak.pupils["C"]
    first = decide(world.eve, classes, "object", pupil=c)
    decide(world.eve, classes, "lift_objection", pupil=c)
    before = snapshot(world.oak.id)
    cases = {
        "a lifted objection": dict(decision="upheld", answers_seq=first.seq, channel="web"),
        "no objection named": dict(decision="upheld", answers_seq=None, channel="web"),
        "on paper": dict(decision="upheld", answers_seq=first.seq, channel="paper"),
    }
    for name, case in cases.items():
        with pytest.raises(ledger.LedgerError):
            ledger.record(actor=ledger.Actor.staff(admin), guardian=world.eve, pupil=c,
                          purpose=classes, **case)  # fmt: skip
        assert snapshot(world.oak.id) == before, name
    again = decide(world.eve, classes, "object", pupil=c)
    with pytest.raises(ledger.LedgerError, match="only the school's staff"):
        ledger.record(actor=ledger.Actor.guardian(world.eve), guardian=world.eve, pupil=c,
                      purpose=classes, decision="not_upheld", channel="web",
                      answers_seq=again.seq)  # fmt: skip
    with pytest.raises(ledger.LedgerError, match="does not fit"):
        ledger.record(actor=ledger.Actor.staff(admin), guardian=world.ada,
                      purpose=world.oak.purposes["marketing-emails"], decision="upheld",
                      channel="web", answers_seq=again.seq)  # fmt: skip


def test_a_review_email_is_not_sent_once_the_objection_is_answered(reviewed):
    world, admin = reviewed
    classes, c = world.oak.purposes["class-photos"], world.oak.pupils["C"]
    asked = decide(world.eve, classes, "object", pupil=c)
    [message] = outbox(objections.REVIEW_TEMPLATE)
    context, _ = objections.review_email_context(json.loads(message.payload), asked.occurred_at)
    assert context is not None and context["review_url"].endswith(f"/staff/objections/{asked.seq}")
    objections.record_outcome(admin.id, world.oak.id, asked.seq, upheld=True, reasons="")
    context, why = objections.review_email_context(json.loads(message.payload), asked.occurred_at)
    assert context is None and "answered" in why
    [told] = outbox(objections.OUTCOME_TEMPLATE)
    context, _ = objections.outcome_email_context(json.loads(told.payload), asked.occurred_at)
    assert context is not None and context["upheld"] and context["child"] == "PupilC"
    assert context["ico_url"].startswith("https://ico.org.uk/")
    assert db.session.scalar(select(ConsentEvent.answers_seq).where(
        ConsentEvent.decision == "upheld")) == asked.seq  # fmt: skip
