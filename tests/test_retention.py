"""The retention run (portal/retention/, docs/retention.md): what it erases once a pupil left
more than the school's retention period ago, what it keeps, and that the ledger still
verifies afterwards.

The world (tests/support/world.py): Oak has pupils A (ada, ben, gran), B (ada, dan) and C
(eve); Elm has X (ada, fay).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, text, update

from portal import ledger, retention
from portal.extensions import db
from portal.models import (
    ConsentEvent,
    Erasure,
    Guardian,
    OutboxMessage,
    Pupil,
    RightsRequest,
    RightsRequestChange,
    School,
    SchoolContact,
    SignInRequest,
    TakedownTask,
    UserSession,
)
from tests.support.world import World, decide

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
LONG_AGO = date(2024, 7, 19)  # more than 12 months before NOW
RECENTLY = date(2025, 12, 19)  # within 12 months of NOW


def leave(pupil: Pupil, on: date) -> None:
    db.session.execute(
        text("UPDATE pupils SET on_roll = :f, left_on = :d WHERE id = :p"),
        {"f": False, "d": on, "p": pupil.id},
    )
    db.session.commit()


def contact(school_id: int, guardian: Guardian) -> SchoolContact:
    return db.session.scalars(
        select(SchoolContact).where(
            SchoolContact.school_id == school_id, SchoolContact.guardian_id == guardian.id
        )
    ).one()


def note_of(school_id: int, seq: int) -> str | None:
    return db.session.scalar(
        select(ConsentEvent.note).where(
            ConsentEvent.school_id == school_id, ConsentEvent.seq == seq
        )
    )


def rights_request(school_id: int, guardian: Guardian, status: str) -> RightsRequest:
    request = RightsRequest(
        school_id=school_id,
        guardian_id=guardian.id,
        requester_name="Ben Test",
        requester_contact="ben@example.org",
        kind="access",
        details="Everything you hold about my son",
        channel="letter",
        received_on=date(2024, 6, 1),
        due_on=date(2024, 7, 1),
        status=status,
        outcome="Sent a copy" if status == "answered" else None,
        closed_on=date(2024, 6, 20) if status == "answered" else None,
        created_at=datetime(2024, 6, 1, tzinfo=UTC),
    )
    db.session.add(request)
    db.session.commit()
    return request


def session_for(guardian: Guardian) -> UserSession:
    row = UserSession(
        token_hash=f"{guardian.id:064d}",
        principal_type="guardian",
        guardian_id=guardian.id,
        created_at=NOW - timedelta(hours=1),
        last_seen_at=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(days=1),
    )
    db.session.add(row)
    db.session.commit()
    return row


def erasures() -> list[tuple[str, int]]:
    db.session.expire_all()
    return sorted((e.subject_type, e.subject_id) for e in db.session.scalars(select(Erasure)))


def reload(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def test_a_pupil_who_left_long_ago_is_erased_and_the_ledger_still_verifies(world: World):
    oak = world.oak
    a, c = oak.pupils["A"], oak.pupils["C"]
    photos = oak.purposes["photos-website"]
    first = decide(
        world.ben, photos, "grant", pupil=a, staff=oak.staff, note="Signed form, blue pen"
    )
    second = decide(
        world.ben, photos, "withdraw", pupil=a, staff=oak.staff, note="Phoned the office"
    )
    kept = decide(world.eve, photos, "grant", pupil=c, staff=oak.staff, note="Eve's paper form")
    marketing = decide(world.gran, oak.purposes["marketing-emails"], "grant", staff=oak.staff,
                       note="Gran asked at the fair")  # fmt: skip
    db.session.execute(
        text("UPDATE takedown_tasks SET done_at = :t, done_note = 'Removed from the gallery'"
             " WHERE pupil_id = :p"),
        {"t": NOW - timedelta(days=400), "p": a.id},
    )  # fmt: skip
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(TakedownTask)) == 1
    leave(a, LONG_AGO)

    report = retention.run(NOW)

    oak_report = next(s for s in report.schools if s.school_id == oak.id)
    assert oak_report.error is None
    assert oak_report.pupils == 1
    pupil = reload(a)
    assert (pupil.forename, pupil.surname, pupil.mis_id) == ("", "", f"erased-{a.id}")
    assert pupil.erased_at == NOW
    assert note_of(oak.id, first.seq) is None and note_of(oak.id, second.seq) is None
    assert note_of(oak.id, kept.seq) == "Eve's paper form"
    # Gran and Ben are contacts of A alone: their names, and Gran's own decision's note, go.
    assert note_of(oak.id, marketing.seq) is None
    assert contact(oak.id, world.ben).full_name.strip() == ""
    assert contact(oak.id, world.gran).erased_at == NOW
    assert reload(world.ben).email is None and reload(world.gran).email is None
    # Ada has B at Oak (on roll), Eve has C: both untouched.
    assert contact(oak.id, world.ada).full_name == "ada Test"
    assert reload(world.ada).email == "ada@example.org"
    assert contact(oak.id, world.eve).erased_at is None
    task = db.session.scalars(select(TakedownTask)).one()
    assert task.done_note is None and task.done_at is not None
    assert oak_report.event_notes == 3 and oak_report.task_notes == 1
    assert oak_report.kept_format_1 == []
    verification = ledger.verify()
    assert verification.ok, verification
    assert ("pupil", a.id) in erasures()
    reasons = {e.reason for e in db.session.scalars(select(Erasure))}
    assert reasons == {"left 2024-07-19; retention 12 months"}


def test_a_second_run_erases_nothing_new(world: World):
    oak = world.oak
    decide(world.ben, oak.purposes["photos-website"], "grant", pupil=oak.pupils["A"],
           staff=oak.staff, note="Signed form")  # fmt: skip
    leave(oak.pupils["A"], LONG_AGO)
    first = retention.run(NOW)
    assert first.erased > 0
    before = erasures()

    second = retention.run(NOW + timedelta(days=1))

    assert second.erased == 0
    assert all(s.counts() == "nothing" for s in second.schools)
    assert erasures() == before


def test_a_dry_run_erases_nothing_and_says_what_a_run_would(world: World):
    oak = world.oak
    a = oak.pupils["A"]
    decide(world.ben, oak.purposes["photos-website"], "grant", pupil=a, staff=oak.staff,
           note="Signed form")  # fmt: skip
    leave(a, LONG_AGO)

    dry = retention.run(NOW, dry_run=True)

    assert dry.dry_run and dry.erased > 0
    assert reload(a).forename == "PupilA" and reload(a).erased_at is None
    assert reload(world.ben).email == "ben@example.org"
    assert erasures() == []
    real = retention.run(NOW)
    assert [s.counts() for s in real.schools] == [s.counts() for s in dry.schools]


def test_a_pupil_within_the_period_and_other_schools_are_untouched(world: World):
    oak, elm = world.oak, world.elm
    leave(oak.pupils["A"], RECENTLY)
    leave(elm.pupils["X"], LONG_AGO)
    db.session.execute(text("UPDATE schools SET retention_months = 36 WHERE id = :s"),
                       {"s": elm.id})  # fmt: skip
    db.session.commit()

    report = retention.run(NOW)

    assert report.erased == 0
    assert reload(oak.pupils["A"]).forename == "PupilA"
    assert reload(elm.pupils["X"]).forename == "PupilX"
    # One day past the period, it goes (36 months after 19 July 2024 is 19 July 2027).
    assert (
        retention.run(datetime(2027, 7, 19, 12, tzinfo=UTC), school_slug="elm-academy").erased == 0
    )
    later = retention.run(datetime(2027, 7, 20, 12, tzinfo=UTC), school_slug=elm.school.slug)
    assert [s.slug for s in later.schools] == [elm.school.slug]
    assert reload(elm.pupils["X"]).erased_at is not None
    assert reload(oak.pupils["A"]).erased_at is None  # --school: only Elm


def test_an_email_is_kept_while_another_school_keeps_the_person(world: World):
    oak, elm = world.oak, world.elm
    leave(oak.pupils["A"], LONG_AGO)
    leave(oak.pupils["B"], LONG_AGO)
    session_for(world.ada)

    report = retention.run(NOW)

    oak_report = next(s for s in report.schools if s.school_id == oak.id)
    # Oak erases the name it held for Ada; Elm (X on roll) keeps her, so her address stays.
    assert contact(oak.id, world.ada).erased_at is not None
    assert contact(elm.id, world.ada).full_name == "ada Test"
    assert reload(world.ada).email == "ada@example.org"
    assert reload(world.ada).erased_at is None
    assert oak_report.kept_elsewhere == 1
    assert db.session.scalar(select(UserSession.ended_at)) is None

    # X leaves Elm and its period passes: now nobody keeps Ada.
    leave(elm.pupils["X"], LONG_AGO)
    retention.run(NOW)
    assert reload(world.ada).email is None
    assert db.session.scalar(select(UserSession.ended_at)) == NOW
    assert contact(elm.id, world.ada).erased_at == NOW
    assert ledger.verify().ok


def test_an_open_rights_request_is_kept_until_it_is_closed(world: World):
    oak = world.oak
    open_request = rights_request(oak.id, world.ben, "open")
    closed_request = rights_request(oak.id, world.ben, "answered")
    answered = {"outcome": "Sent Ben a copy by post", "closed_on": "2024-06-20"}
    made = {"kind": "access", "child": "PupilA Test", "pupil_id": oak.pupils["A"].id}
    for request, action, detail in (
        (closed_request, "made", made), (closed_request, "answered", answered),
        (open_request, "made", made),
    ):  # fmt: skip
        db.session.add(
            RightsRequestChange(school_id=oak.id, request_id=request.id, action=action,
                                occurred_at=NOW - timedelta(days=600), detail=json.dumps(detail))
        )  # fmt: skip
    db.session.commit()
    leave(oak.pupils["A"], LONG_AGO)

    report = retention.run(NOW)

    oak_report = next(s for s in report.schools if s.school_id == oak.id)
    assert oak_report.kept_open_requests == [open_request.id]
    assert oak_report.requests == 1
    closed = reload(closed_request)
    assert (closed.requester_name, closed.requester_contact, closed.details) == ("", "", "")
    assert closed.outcome is None and closed.erased_at == NOW
    still = reload(open_request)
    assert still.requester_name == "Ben Test" and still.erased_at is None
    history = {
        (change.request_id, change.action): json.loads(change.detail)
        for change in db.session.scalars(select(RightsRequestChange))
    }
    assert history[(closed_request.id, "answered")] == {"outcome": None, "closed_on": "2024-06-20"}
    assert history[(closed_request.id, "made")]["child"] is None
    assert history[(closed_request.id, "made")]["pupil_id"] == oak.pupils["A"].id
    assert history[(open_request.id, "made")]["child"] == "PupilA Test"
    assert any("still open" in line for line in oak_report.kept())

    still.status, still.closed_on, still.outcome = "answered", date(2026, 3, 10), "Sent"
    db.session.commit()
    again = retention.run(NOW + timedelta(days=10))
    assert next(s for s in again.schools if s.school_id == oak.id).requests == 1
    assert reload(open_request).details == ""


def test_sign_ins_and_emails_to_an_erased_address_go(world: World, app):
    from portal.mail import outbox

    oak = world.oak
    leave(oak.pupils["A"], LONG_AGO)
    outbox.enqueue(to_address="ben@example.org", template="receipt", payload={"x": 1},
                   school_id=oak.id, now=NOW)  # fmt: skip
    sent = outbox.enqueue(to_address="ben@example.org", template="receipt",
                          payload={"child": "A"}, school_id=oak.id, now=NOW)  # fmt: skip
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == sent.id).values(sent_at=NOW))
    other = outbox.enqueue(to_address="eve@example.org", template="receipt", payload={},
                           school_id=oak.id, now=NOW)  # fmt: skip
    db.session.add(
        SignInRequest(public_id="p" * 32, email="ben@example.org", token_hash="t" * 64,
                      code_hash="c" * 64, created_at=NOW, expires_at=NOW + timedelta(minutes=15))
    )  # fmt: skip
    db.session.commit()
    session_for(world.ben)

    retention.run(NOW)

    db.session.expire_all()
    columns = (OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.payload)
    rows = db.session.execute(select(*columns).order_by(OutboxMessage.id)).all()
    assert [(r.to_address, r.payload) for r in rows if r.id == sent.id] == [("", "{}")]
    assert other.id in {r.id for r in rows}
    assert "ben@example.org" not in {r.to_address for r in rows}
    assert db.session.scalar(select(func.count()).select_from(SignInRequest)) == 0
    assert db.session.scalar(select(UserSession.ended_at)) == NOW
    fields = db.session.scalar(select(Erasure.fields).where(Erasure.subject_type == "guardian"))
    assert fields is not None and "email" in fields and "outbox" in fields


def test_a_school_that_fails_leaves_the_others_done(world: World, monkeypatch):
    from portal.retention import erase as module

    oak, elm = world.oak, world.elm
    leave(oak.pupils["A"], LONG_AGO)
    leave(elm.pupils["X"], LONG_AGO)
    real = module._erase_pupils

    def failing(session, report, *args):
        real(session, report, *args)
        if report.school_id == oak.id:
            raise RuntimeError("disk full")

    monkeypatch.setattr(module, "_erase_pupils", failing)
    report = retention.run(NOW)

    assert [s.slug for s in report.failed] == [oak.school.slug]
    assert "disk full" in (report.failed[0].error or "")
    assert reload(oak.pupils["A"]).erased_at is None
    assert reload(elm.pupils["X"]).erased_at == NOW
    assert "failed in oak-primary" in report.summary()


def test_the_period_counts_calendar_months_from_the_day_they_left(world: World):
    oak = world.oak
    leave(oak.pupils["A"], date(2025, 1, 31))
    db.session.execute(text("UPDATE schools SET retention_months = 1 WHERE id = :s"),
                       {"s": oak.id})  # fmt: skip
    db.session.commit()
    # 31 January + 1 month = 28 February 2025: kept that day, erased the day after.
    assert retention.run(datetime(2025, 2, 28, 12, tzinfo=UTC)).erased == 0
    assert retention.run(datetime(2025, 3, 1, 12, tzinfo=UTC)).erased > 0
    assert db.session.get(School, oak.id).retention_months == 1


def test_the_command_says_what_it_erased_and_kept_and_a_dry_run_erases_nothing(world, runner):
    oak = world.oak
    open_request = rights_request(oak.id, world.ben, "open")
    leave(oak.pupils["A"], LONG_AGO)

    dry = runner.invoke(args=["retention", "run", "--school", "oak-primary", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert "oak-primary (retention 12 months): would erase 1 pupil" in dry.output
    assert "Dry run: nothing was erased." in dry.output
    assert "elm-academy" not in dry.output
    assert reload(oak.pupils["A"]).erased_at is None
    assert erasures() == []

    done = runner.invoke(args=["retention", "run"])

    assert done.exit_code == 0, done.output
    assert "oak-primary (retention 12 months): erased 1 pupil, 2 contacts' names" in done.output
    assert f"still open (ids {open_request.id})" in done.output
    assert "elm-academy (retention 12 months): erased nothing" in done.output
    assert reload(oak.pupils["A"]).erased_at is not None


def test_the_command_refuses_an_unknown_school(world, runner):
    result = runner.invoke(args=["retention", "run", "--school", "no-such-school"])
    assert result.exit_code != 0
    assert "no-such-school" in result.output
    assert erasures() == []


def test_the_daily_job_runs_the_retention_run_once_a_day(world):
    from portal import daily

    leave(world.oak.pupils["A"], LONG_AGO)
    assert "retention" in daily.jobs()

    ran = daily.run_due(NOW, only="retention")

    assert [item.job for item in ran] == ["retention"]
    assert ran[0].summary.startswith("erased 5 record(s) in 1 of 2 school(s)")
    assert reload(world.oak.pupils["A"]).erased_at == NOW
    assert daily.run_due(NOW + timedelta(hours=1), only="retention") == []


def append_format_1(school_id: int, like: ConsentEvent, note: str) -> int:
    """Append an event as the portal wrote them before format 2: the note's text in the hash."""
    events = db.metadata.tables["consent_events"]
    heads = db.metadata.tables["ledger_heads"]
    seq, prev = db.session.execute(
        select(heads.c.seq, heads.c.hash).where(heads.c.school_id == school_id)
    ).one()
    occurred_at = like.occurred_at + timedelta(seconds=1)
    fields = {
        "school_id": school_id, "seq": seq + 1, "occurred_at": occurred_at,
        "actor_type": like.actor_type, "actor_id": like.actor_id,
        "guardian_id": like.guardian_id, "pupil_id": like.pupil_id,
        "purpose_id": like.purpose_id, "purpose_version": like.purpose_version,
        "notice_version": like.notice_version, "decision": "withdraw", "channel": "paper",
        "note": note,
    }  # fmt: skip
    digest = ledger.chain_hash(prev, ledger.canonical(**fields))
    db.session.execute(events.insert().values(**fields, format=1, prev_hash=prev, hash=digest))
    db.session.execute(
        heads.update().where(heads.c.school_id == school_id).values(seq=seq + 1, hash=digest)
    )
    db.session.commit()
    # Written by hand, so the projection and the Merkle tree are brought up to it by hand.
    ledger.rebuild_projection()
    ledger.rebuild_tree()
    return int(seq + 1)


def test_a_format_1_note_is_kept_and_reported_once(world: World, runner):
    oak = world.oak
    a = oak.pupils["A"]
    newer = decide(world.ben, oak.purposes["photos-website"], "grant", pupil=a, staff=oak.staff,
                   note="Signed form")  # fmt: skip
    old = append_format_1(oak.id, newer, "Told us at the gate, before the portal changed")
    assert ledger.verify().ok
    leave(a, LONG_AGO)

    result = runner.invoke(args=["retention", "run", "--school", "oak-primary"])

    assert result.exit_code == 0, result.output
    assert f"written in format 1, whose text is part of the chain's hash (entries {old})" in (
        result.output
    )
    assert note_of(oak.id, newer.seq) is None
    assert note_of(oak.id, old) == "Told us at the gate, before the portal changed"
    assert ("event_note", old) not in erasures() and ("event_note", newer.seq) in erasures()
    assert ledger.verify().ok
    again = retention.run(NOW + timedelta(days=1))
    assert again.erased == 0 and all(s.kept_format_1 == [] for s in again.schools)
