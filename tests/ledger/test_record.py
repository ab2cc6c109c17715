"""Recording decisions: what `ledger.record` refuses, and what it writes, atomically.

Every refusal is a LedgerError and writes nothing: the events, the projection and the chain
head of both schools are compared before and after, straight from the tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from portal import ledger, roster
from portal.extensions import db
from portal.mail import outbox
from portal.models import (
    GENESIS_HASH,
    ConsentEvent,
    CurrentDecision,
    Guardian,
    LedgerHead,
    OutboxMessage,
)
from tests.support.factories import make_staff
from tests.support.world import T0, decide, event_rows, head_row, projection_rows, snapshot

Actor = ledger.Actor


def test_record_refuses_and_writes_nothing(world, subtests):
    oak, elm = world.oak, world.elm
    a, c, x = oak.pupils["A"], oak.pupils["C"], elm.pupils["X"]
    photos, marketing = oak.purposes["photos-website"], oak.purposes["marketing-emails"]
    # Some history first, so that "nothing written" compares a real chain and projection.
    decide(world.ada, photos, "grant", pupil=a)
    decide(world.ada, marketing, "object")
    # Ben's link to pupil A ends: the roster no longer lists him.
    header = ",".join(roster.REQUIRED_COLUMNS)
    roster.import_roster(
        oak.school,
        f"{header}\nA,PupilA,Test,3,3 Oak,ada,Test,ada@example.org,"
        "Parent,yes\nA,PupilA,Test,3,3 Oak,gran,Test,gran@example.org,Gran,no\n",
    )
    former = make_staff(oak.school, email="former@oak.example")
    former.active = False
    db.session.commit()

    def own(guardian: Guardian, **kw: Any) -> dict[str, Any]:
        return {"actor": Actor.guardian(guardian), "guardian": guardian, "channel": "web", **kw}

    def by_staff(staff, guardian: Guardian, channel: str = "paper", **kw: Any) -> dict[str, Any]:
        return {"actor": Actor.staff(staff), "guardian": guardian, "channel": channel, **kw}

    p = oak.purposes
    cases = {
        "guardian without parental responsibility": (
            own(world.gran, pupil=a, purpose=photos, decision="grant"),
            "parental responsibility",
        ),
        "guardian whose link was ended": (
            own(world.ben, pupil=a, purpose=photos, decision="grant"),
            "parental responsibility",
        ),
        "guardian with no link to that pupil": (
            own(world.eve, pupil=a, purpose=photos, decision="grant"),
            "parental responsibility",
        ),
        "a pupil of another school": (
            own(world.ada, pupil=x, purpose=photos, decision="grant"),
            "not at this purpose's school",
        ),
        "object on a consent purpose": (
            own(world.ada, pupil=a, purpose=photos, decision="object"),
            "does not fit",
        ),
        "grant on an objection purpose": (
            own(world.eve, pupil=c, purpose=p["class-photos"], decision="grant"),
            "does not fit",
        ),
        "withdraw on an objection purpose": (
            own(world.eve, pupil=c, purpose=p["class-photos"], decision="withdraw"),
            "does not fit",
        ),
        "a purpose that offers no choice": (
            own(world.eve, pupil=c, purpose=p["school-census"], decision="grant"),
            "information only",
        ),
        "object to a purpose that offers no choice": (
            own(world.eve, pupil=c, purpose=p["school-census"], decision="object"),
            "information only",
        ),
        "a guardian-level purpose given a pupil": (
            own(world.ada, pupil=a, purpose=marketing, decision="grant"),
            "not per child",
        ),
        "a per-child purpose without a pupil": (
            own(world.ada, purpose=photos, decision="grant"),
            "name the pupil",
        ),
        "a guardian-level purpose for someone not linked to the school": (
            own(world.fay, purpose=marketing, decision="grant"),
            "not a contact",
        ),
        "a guardian acting for another guardian": (
            {**own(world.ben, pupil=a, purpose=photos, decision="grant"), "guardian": world.ada},
            "own decisions",
        ),
        "a guardian acting for another guardian with responsibility": (
            {
                **own(world.dan, pupil=oak.pupils["B"], purpose=photos, decision="grant"),
                "guardian": world.ada,
            },
            "own decisions",
        ),
        "a guardian's own decision by paper": (
            {**own(world.ada, pupil=a, purpose=photos, decision="grant"), "channel": "paper"},
            "on the web",
        ),
        "a staff user of another school": (
            by_staff(elm.staff, world.ada, pupil=a, purpose=photos, decision="withdraw"),
            "only active staff of this school",
        ),
        "a staff user who is no longer active": (
            by_staff(former, world.ada, pupil=a, purpose=photos, decision="withdraw"),
            "only active staff of this school",
        ),
        "staff using channel web": (
            by_staff(oak.staff, world.ada, "web", pupil=a, purpose=photos, decision="withdraw"),
            "paper, by phone or by email",
        ),
        "staff lifting a marketing objection": (
            by_staff(oak.staff, world.ada, purpose=marketing, decision="lift_objection"),
            "only the person who objected",
        ),
        "an unknown channel": (
            {**own(world.ada, pupil=a, purpose=photos, decision="grant"), "channel": "fax"},
            "unknown channel",
        ),
        "an unknown decision": (
            own(world.ada, pupil=a, purpose=photos, decision="maybe"),
            "unknown decision",
        ),
        "a wording version the purpose never had": (
            own(world.ada, pupil=a, purpose=photos, decision="grant", purpose_version=2),
            "no wording version 2",
        ),
        "a notice version the school never published": (
            own(world.ada, pupil=a, purpose=photos, decision="grant", notice_version=9),
            "no notice version 9",
        ),
        "a note longer than 2000 characters": (
            own(world.ada, pupil=a, purpose=photos, decision="grant", note="x" * 2001),
            "longer than 2000",
        ),
        "a note with a NUL character": (
            own(world.ada, pupil=a, purpose=photos, decision="grant", note="a\x00b"),
            "note",
        ),
        "a note with a lone surrogate": (
            own(world.ada, pupil=a, purpose=photos, decision="grant", note="a\ud83db"),
            "note",
        ),
        "a purpose that does not exist": (
            own(world.ada, pupil=a, purpose=99_999, decision="grant"),
            "no such purpose",
        ),
        "a guardian who does not exist": (
            {**own(world.ada, pupil=a, purpose=photos, decision="grant"), "guardian": 99_999},
            "no such guardian",
        ),
    }
    for name, (kwargs, message) in cases.items():
        with subtests.test(msg=name):
            before = snapshot(oak.id, elm.id)
            with pytest.raises(ledger.LedgerError, match=message):
                ledger.record(**kwargs)
            assert snapshot(oak.id, elm.id) == before
            assert not db.session.new and not db.session.dirty
    # And the chains still hold.
    assert ledger.verify().ok
    assert head_row(oak.id)[0] == 2


def test_record_refuses_to_commit_the_callers_pending_changes(world):
    before = snapshot(world.oak.id)
    db.session.add(Guardian(email="pending@example.org"))
    with pytest.raises(ledger.LedgerError, match="commit pending changes first"):
        decide(
            world.ada, world.oak.purposes["photos-website"], "grant", pupil=world.oak.pupils["A"]
        )
    db.session.rollback()
    assert snapshot(world.oak.id) == before
    assert (
        db.session.scalar(select(func.count()).where(Guardian.email == "pending@example.org")) == 0
    )


def test_record_refuses_a_time_without_a_zone(world):
    before = snapshot(world.oak.id)
    with pytest.raises(ValueError, match="timezone"):
        decide(
            world.ada,
            world.oak.purposes["photos-website"],
            "grant",
            pupil=world.oak.pupils["A"],
            now=datetime(2025, 10, 1, 12),
        )
    assert snapshot(world.oak.id) == before


def test_staff_may_close_an_objection_that_is_not_about_marketing(world):
    c = world.oak.pupils["C"]
    classes = world.oak.purposes["class-photos"]
    decide(world.eve, classes, "object", pupil=c)
    event = decide(
        world.eve,
        classes,
        "lift_objection",
        pupil=c,
        staff=world.oak.staff,
        channel="email",
        note="Reviewed with the family",
    )
    assert (event.seq, event.actor_type, event.actor_id) == (2, "staff", world.oak.staff.id)


def test_a_recorded_decision_is_chained_and_projected(world):
    a = world.oak.pupils["A"]
    photos = world.oak.purposes["photos-website"]

    first = decide(world.ada, photos, "grant", pupil=a, note="  Happy for photos  ", now=T0)

    assert (first.seq, first.prev_hash, first.occurred_at) == (1, GENESIS_HASH, T0)
    assert first.note == "Happy for photos"
    assert (first.purpose_version, first.notice_version) == (1, 1)
    assert (first.actor_type, first.actor_id, first.guardian_id) == (
        "guardian",
        world.ada.id,
        world.ada.id,
    )
    assert first.hash == ledger.chain_hash(GENESIS_HASH, ledger.event_canonical(first))
    assert head_row(world.oak.id) == (1, first.hash)
    assert head_row(world.elm.id) == (0, GENESIS_HASH)
    assert projection_rows(world.oak.id) == {
        (world.ada.id, a.id, photos.id, "answer", "grant", 1, 1, "web", "guardian", 1)
    }

    second = decide(
        world.ada,
        photos,
        "withdraw",
        pupil=a,
        staff=world.oak.staff,
        channel="phone",
        note="   ",
        now=T0 + timedelta(hours=1),
    )

    assert (second.seq, second.prev_hash, second.note) == (2, first.hash, None)
    assert head_row(world.oak.id) == (2, second.hash)
    # The projection row is replaced, not duplicated.
    assert projection_rows(world.oak.id) == {
        (world.ada.id, a.id, photos.id, "answer", "withdraw", 1, 1, "phone", "staff", 2)
    }
    assert [row.seq for row in event_rows(world.oak.id)] == [1, 2]
    assert ledger.verify().ok


def test_an_objection_and_an_answer_are_separate_projection_rows(world):
    marketing = world.oak.purposes["marketing-emails"]
    for decision in ("grant", "object"):
        decide(world.ada, marketing, decision)
    rows = {(r[1], r[3], r[4]) for r in projection_rows(world.oak.id)}
    assert rows == {(None, "answer", "grant"), (None, "objection", "object")}


def committed_count(sql: str, **params: Any) -> int:
    """Count through a separate connection: only what was committed is visible there."""
    with db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_before_commit_rows_commit_with_the_event(world):
    seen: list[list[int]] = []

    def add_receipt(session, events):
        seen.append([e.seq for e in events])
        outbox.enqueue(to_address="ada@example.org", template="receipt",
                       payload={"seq": events[0].seq, "hash": events[0].hash},
                       school_id=events[0].school_id)  # fmt: skip

    decide(
        world.ada,
        world.oak.purposes["photos-website"],
        "grant",
        pupil=world.oak.pupils["A"],
        before_commit=add_receipt,
    )

    assert seen == [[1]]  # the events were written (they have their seq) before the callback
    assert (
        committed_count("SELECT count(*) FROM consent_events WHERE school_id = :s", s=world.oak.id)
        == 1
    )
    assert committed_count("SELECT count(*) FROM outbox WHERE template = 'receipt'") == 1
    assert committed_count("SELECT seq FROM ledger_heads WHERE school_id = :s", s=world.oak.id) == 1


def test_a_crash_before_commit_leaves_no_half_written_decision(world):
    a = world.oak.pupils["A"]
    photos = world.oak.purposes["photos-website"]
    decide(world.ada, photos, "grant", pupil=a)
    before = snapshot(world.oak.id)
    inside: list[int] = []

    def crash(session, events):
        outbox.enqueue(to_address="ada@example.org", template="receipt",
                       payload={"seq": events[0].seq}, school_id=events[0].school_id)  # fmt: skip
        # The event, the projection change and the outbox row are all in the transaction...
        inside.append(session.scalar(select(func.count()).select_from(OutboxMessage)))
        inside.append(session.scalar(select(func.count()).select_from(ConsentEvent)))
        inside.append(session.scalar(select(CurrentDecision.seq)))
        inside.append(
            session.scalar(select(LedgerHead.seq).where(LedgerHead.school_id == world.oak.id))
        )
        raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError, match="the process died here"):
        decide(world.ada, photos, "withdraw", pupil=a, before_commit=crash)

    assert inside == [1, 2, 2, 2]
    # ... and none of them survived.
    assert snapshot(world.oak.id) == before
    assert committed_count("SELECT count(*) FROM outbox") == 0
    assert committed_count("SELECT count(*) FROM consent_events") == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    # The chain carries on from where it was: no gap.
    event = decide(world.ada, photos, "withdraw", pupil=a)
    assert event.seq == 2
    assert ledger.verify().ok


def test_record_many_writes_one_event_per_child_with_consecutive_seqs(world):
    a, b = world.oak.pupils["A"], world.oak.pupils["B"]
    photos = world.oak.purposes["photos-website"]
    decide(world.eve, photos, "grant", pupil=world.oak.pupils["C"])

    events = ledger.record_many(
        [
            ledger.DecisionRequest(world.ada.id, photos.id, "grant", pupil_id=pupil.id)
            for pupil in (a, b)
        ],
        actor=Actor.guardian(world.ada),
        channel="web",
        now=T0,
    )

    assert [(e.seq, e.pupil_id) for e in events] == [(2, a.id), (3, b.id)]
    assert events[1].prev_hash == events[0].hash
    assert {e.occurred_at for e in events} == {T0}
    assert head_row(world.oak.id) == (3, events[1].hash)
    projected = {(row[1], row[4], row[9]) for row in projection_rows(world.oak.id)}
    assert {(a.id, "grant", 2), (b.id, "grant", 3)} <= projected
    assert ledger.verify().ok


@pytest.mark.parametrize("count", [2, ledger.append.TOGETHER + 1])
def test_a_batch_that_decides_one_subject_twice_projects_its_last_decision(world, count):
    """The projection keeps each subject's newest decision, however the batch is written
    (one statement on PostgreSQL up to TOGETHER events, several above; always several on
    SQLite), and every event comes back with the id it was stored under."""
    a = world.oak.pupils["A"]
    photos = world.oak.purposes["photos-website"]
    answers = ["grant" if index % 2 == 0 else "withdraw" for index in range(count)]

    events = ledger.record_many(
        [
            ledger.DecisionRequest(world.ada.id, photos.id, answer, pupil_id=a.id)
            for answer in answers
        ],
        actor=Actor.guardian(world.ada),
        channel="web",
        now=T0,
    )

    assert [e.decision for e in events] == answers
    assert [e.seq for e in events] == list(range(1, count + 1))
    stored = dict(
        db.session.execute(
            select(ConsentEvent.seq, ConsentEvent.id).where(ConsentEvent.school_id == world.oak.id)
        ).all()
    )
    assert {e.seq: e.id for e in events} == stored
    (row,) = [r for r in projection_rows(world.oak.id) if r[:2] == (world.ada.id, a.id)]
    assert (row[4], row[9]) == (answers[-1], count)
    assert head_row(world.oak.id) == (count, events[-1].hash)
    assert ledger.verify().ok


def test_record_many_is_all_or_nothing(world):
    a, c = world.oak.pupils["A"], world.oak.pupils["C"]
    photos = world.oak.purposes["photos-website"]
    before = snapshot(world.oak.id)
    with pytest.raises(ledger.LedgerError, match="parental responsibility"):
        ledger.record_many(
            [
                ledger.DecisionRequest(world.ada.id, photos.id, "grant", pupil_id=a.id),
                ledger.DecisionRequest(world.ada.id, photos.id, "grant", pupil_id=c.id),
            ],
            actor=Actor.guardian(world.ada),
            channel="web",
        )
    assert snapshot(world.oak.id) == before
    assert ledger.record_many([], actor=Actor.guardian(world.ada), channel="web") == []


def test_record_many_with_two_decisions_on_one_subject_projects_the_last(world):
    a = world.oak.pupils["A"]
    photos = world.oak.purposes["photos-website"]
    events = ledger.record_many(
        [
            ledger.DecisionRequest(world.ada.id, photos.id, decision, pupil_id=a.id)
            for decision in ("grant", "withdraw")
        ],
        actor=Actor.guardian(world.ada),
        channel="web",
    )
    assert [e.seq for e in events] == [1, 2]
    assert {(r[4], r[9]) for r in projection_rows(world.oak.id)} == {("withdraw", 2)}
    assert ledger.verify().ok


def test_a_decision_names_the_wording_and_notice_the_person_saw(world):
    from tests.support.factories import make_notice

    make_notice(world.oak.school, source="A second version of the notice.")
    event = decide(
        world.ada,
        world.oak.purposes["photos-website"],
        "grant",
        pupil=world.oak.pupils["A"],
        notice_version=1,
    )
    assert (event.notice_version, event.purpose_version) == (1, 1)
    latest = decide(
        world.ada, world.oak.purposes["photos-website"], "grant", pupil=world.oak.pupils["A"]
    )
    assert latest.notice_version == 2


def test_a_retired_purpose_takes_no_new_agreement_but_can_still_be_withdrawn(world):
    oak = world.oak
    photos, pupil = oak.purposes["photos-website"], oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=pupil)
    photos.active = False
    db.session.commit()
    before = snapshot(oak.id)
    with pytest.raises(ledger.LedgerError, match="no longer in use"):
        decide(world.ada, photos, "grant", pupil=pupil)
    assert snapshot(oak.id) == before
    event = decide(world.ada, photos, "withdraw", pupil=pupil)
    assert event.decision == "withdraw"


def test_checks_read_the_committed_purpose_not_a_stale_copy_in_the_session(world):
    oak = world.oak
    photos, pupil = oak.purposes["photos-website"], oak.pupils["A"]
    # Another process retires the purpose; this session still holds the old object.
    db.session.execute(text("UPDATE purposes SET active = false WHERE id = :id"), {"id": photos.id})
    db.session.commit()
    assert photos.active is True  # the session's copy is stale (expire_on_commit is off)
    with pytest.raises(ledger.LedgerError, match="no longer in use"):
        decide(world.ada, photos, "grant", pupil=pupil)
