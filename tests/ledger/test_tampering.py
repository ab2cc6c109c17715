"""Tampering is caught: `flask ledger verify` exits 1 and names the first broken seq
(docs/security.md, promise 16), while the other school's chain is reported intact.

Someone with enough rights drops the append-only triggers and edits the tables. Each case
changes one thing, checks that verify names the right seq, puts the thing back, and checks
that verify passes again (so the cases cannot leak into each other).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from portal import consent, ledger
from portal.extensions import db
from portal.models import ConsentEvent, CurrentDecision, LedgerHead
from tests.support.world import T0, decide, head_row

EVENTS = ConsentEvent.__table__
PROJECTION = CurrentDecision.__table__
HEADS = LedgerHead.__table__


@pytest.fixture
def chain(world):
    """Six events at Oak (seq 3 is a paper form with a note) and two at Elm."""
    oak, elm = world.oak, world.elm
    a, b, c, x = oak.pupils["A"], oak.pupils["B"], oak.pupils["C"], elm.pupils["X"]
    photos = oak.purposes["photos-website"]

    website, classes = photos, oak.purposes["class-photos"]
    decide(world.ada, website, "grant", pupil=a)
    decide(world.ben, website, "grant", pupil=a)
    decide(world.dan, website, "withdraw", pupil=b, staff=oak.staff,
           note="Form handed in at the office")  # fmt: skip
    decide(world.eve, classes, "object", pupil=c)
    decide(world.ada, oak.purposes["marketing-emails"], "grant")
    decide(world.ada, website, "withdraw", pupil=a)
    decide(world.fay, elm.purposes["photos-website"], "grant", pupil=x)
    decide(world.ada, elm.purposes["photos-website"], "grant", pupil=x)
    assert head_row(oak.id)[0] == 6 and head_row(elm.id)[0] == 2
    return world


@pytest.fixture
def unprotected(chain, is_postgres):
    """The chain, with the append-only triggers out of the way."""
    if is_postgres:
        db.session.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
    else:
        db.session.execute(text("DROP TRIGGER consent_events_no_update"))
        db.session.execute(text("DROP TRIGGER consent_events_no_delete"))
    db.session.commit()
    return chain


def run(statement: Any) -> None:
    db.session.execute(statement)
    db.session.commit()


def event(world, seq: int) -> dict[str, Any]:
    return dict(
        db.session.execute(
            select(EVENTS).where(EVENTS.c.school_id == world.oak.id, EVENTS.c.seq == seq)
        )
        .mappings()
        .one()
    )


def set_event(world, at_seq: int, **values: Any) -> None:
    run(
        update(EVENTS)
        .where(EVENTS.c.school_id == world.oak.id, EVENTS.c.seq == at_seq)
        .values(**values)
    )


def verify(runner, *args: str):
    return runner.invoke(args=["ledger", "verify", *args])


def assert_broken_at(runner, seq: int, problem: str = "") -> None:
    result = verify(runner)
    assert result.exit_code == 1, result.output
    assert f"oak-primary: BROKEN at seq {seq}: {problem}" in result.stderr, result.output
    assert "elm-academy: ok, 2 events" in result.stdout
    assert "All chains hold" not in result.output


def assert_holds(runner) -> None:
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "elm-academy: ok, 2 events\noak-primary: ok, 6 events\n"
        "All chains hold: 8 events in 2 school(s) (checked in "
    )
    assert result.stderr == ""


def flip(hex_digest: str, at: int = 10) -> str:
    return hex_digest[:at] + ("0" if hex_digest[at] != "0" else "1") + hex_digest[at + 1 :]


def test_an_untouched_chain_verifies(chain, runner):
    assert_holds(runner)
    one = verify(runner, "--school", "elm-academy")
    assert one.exit_code == 0
    assert one.stdout.startswith(
        "elm-academy: ok, 2 events\nAll chains hold: 2 events in 1 school(s) (checked in "
    )
    missing = verify(runner, "--school", "nowhere")
    assert missing.exit_code == 1 and "no school with the slug 'nowhere'" in missing.stderr


def test_changing_any_field_of_a_past_event_names_that_event(unprotected, runner, subtests):
    world = unprotected
    original = event(world, 3)
    assert (original["channel"], original["decision"]) == ("paper", "withdraw")
    changes = {
        "one letter of the note": {"note": "Form handed in at the offica"},
        "the note removed": {"note": None},
        "the channel": {"channel": "phone"},
        "the decision": {"decision": "grant"},
        "the guardian": {"guardian_id": world.ben.id},
        "the pupil": {"pupil_id": world.oak.pupils["A"].id},
        "the actor": {"actor_id": None},
        "the actor type": {"actor_type": "system"},
        "the purpose": {"purpose_id": world.oak.purposes["trip-videos"].id},
        "the wording version": {"purpose_version": 2},
        "the notice version": {"notice_version": None},
        "the time, by a microsecond": {
            "occurred_at": original["occurred_at"] + timedelta(microseconds=1)
        },
        "the previous hash": {"prev_hash": flip(original["prev_hash"])},
        "the hash": {"hash": flip(original["hash"])},
        "the hash, with a tab and a newline": {"hash": "ab\tcd\nef"},
        # Format 2 (docs/ledger.md): the hash covers the note's salted commitment.
        "the note's commitment": {"note_commitment": flip(original["note_commitment"])},
        "the note's salt": {"note_salt": flip(original["note_salt"])},
        "the format, as if written before": {
            "format": 1,
            "note_commitment": None,
            "note_salt": None,
        },
        "an answered objection added": {"answers_seq": 1},
        "the language": {"language": "pl"},
        "the language, with a quote": {"language": 'e"n'},
    }
    for name, values in changes.items():
        with subtests.test(msg=name):
            try:
                set_event(world, 3, **values)
                assert_broken_at(runner, 3)
            finally:
                set_event(world, 3, **{key: original[key] for key in values})
            assert_holds(runner)


def test_an_erased_note_still_verifies_and_is_counted(chain, runner, is_postgres):
    # The one UPDATE the append-only triggers allow: clearing a format-2 note and its salt.
    world = chain
    assert event(world, 3)["format"] == 2 and event(world, 3)["note"] is not None
    erased = ledger.erase_notes(db.session(), world.oak.id, [1, 2, 3])
    db.session.commit()
    assert (erased.erased, erased.kept_format_1) == (1, [])
    row = event(world, 3)
    assert (row["note"], row["note_salt"]) == (None, None)
    assert row["note_commitment"] is not None
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "oak-primary: ok, 6 events (1 notes erased)" in result.stdout


def test_the_triggers_allow_no_other_update(chain, subtests):
    world = chain
    for name, values in {
        "the note changed": {"note": "Something else"},
        "the note erased but the salt kept": {"note": None},
        "the note erased and the decision changed": {
            "note": None,
            "note_salt": None,
            "decision": "grant",
        },
        "the note erased and the commitment cleared": {
            "note": None,
            "note_salt": None,
            "note_commitment": None,
        },
    }.items():
        with subtests.test(msg=name):
            with pytest.raises(DBAPIError, match="append-only"):
                set_event(world, 3, **values)
            db.session.rollback()
            assert event(world, 3)["note"] == "Form handed in at the office"


def test_a_format_1_note_is_kept_and_reported(chain, runner):
    # Events written before format 2 carry the note's text in their hash: erasing it would
    # break the chain, so erase_notes keeps it and says so.
    world = chain
    row = event(world, 3)
    body = ledger.canonical(
        school_id=world.oak.id, seq=7, occurred_at=row["occurred_at"] + timedelta(seconds=1),
        actor_type=row["actor_type"], actor_id=row["actor_id"], guardian_id=row["guardian_id"],
        pupil_id=row["pupil_id"], purpose_id=row["purpose_id"],
        purpose_version=row["purpose_version"], notice_version=row["notice_version"],
        decision="withdraw", channel="paper", note="An old note",
    )  # fmt: skip
    head = head_row(world.oak.id)
    digest = ledger.chain_hash(head[1], body)
    values = {key: row[key] for key in row if key not in ("id",)}
    values.update(seq=7, occurred_at=row["occurred_at"] + timedelta(seconds=1), format=1,
                  note="An old note", note_salt=None, note_commitment=None,
                  prev_hash=head[1], hash=digest)  # fmt: skip
    run(insert(EVENTS).values(**values))
    run(update(HEADS).where(HEADS.c.school_id == world.oak.id).values(seq=7, hash=digest))
    # Written by hand, so the projection and the Merkle tree are brought up to it by hand.
    ledger.rebuild_projection()
    ledger.rebuild_tree()
    assert ledger.verify().ok
    erased = ledger.erase_notes(db.session(), world.oak.id, [3, 7])
    db.session.commit()
    assert (erased.erased, erased.kept_format_1) == (1, [7])
    assert event(world, 7)["note"] == "An old note"
    assert ledger.verify().ok


def test_deleting_an_event_names_it(unprotected, runner, subtests):
    world = unprotected
    for seq in (3, 1, 6):
        with subtests.test(msg=f"seq {seq}"):
            row = event(world, seq)
            run(delete(EVENTS).where(EVENTS.c.id == row["id"]))
            try:
                assert_broken_at(runner, seq)
            finally:
                run(insert(EVENTS).values(**row))
            assert_holds(runner)


def test_swapping_two_events_names_the_first(unprotected, runner):
    world = unprotected
    set_event(world, 2, seq=1000)
    set_event(world, 4, seq=2)
    set_event(world, 1000, seq=4)
    assert_broken_at(runner, 2, "prev_hash does not match")
    set_event(world, 2, seq=1000)
    set_event(world, 4, seq=2)
    set_event(world, 1000, seq=4)
    assert_holds(runner)


def test_editing_the_projection_names_the_decision(chain, runner, subtests):
    # The projection has no triggers: it is not the ledger, and verify checks it too.
    world = chain
    oak = world.oak.id

    def where(seq: int):
        return (PROJECTION.c.school_id == oak) & (PROJECTION.c.seq == seq)

    for seq, values in [
        (3, {"decision": "grant"}),
        (4, {"channel": "paper"}),
        (5, {"seq": 4}),
        (6, {"purpose_version": 2}),
    ]:
        with subtests.test(msg=f"edit the row of seq {seq}: {values}"):
            row = dict(db.session.execute(select(PROJECTION).where(where(seq))).mappings().one())
            run(update(PROJECTION).where(PROJECTION.c.id == row["id"]).values(**values))
            try:
                assert_broken_at(runner, seq, "the projection")
            finally:
                run(update(PROJECTION).where(PROJECTION.c.id == row["id"]).values(**row))
            assert_holds(runner)
    with subtests.test(msg="delete the row of seq 4"):
        row = dict(db.session.execute(select(PROJECTION).where(where(4))).mappings().one())
        run(delete(PROJECTION).where(PROJECTION.c.id == row["id"]))
        try:
            assert_broken_at(runner, 4, "the projection")
        finally:
            run(insert(PROJECTION).values(**row))
        assert_holds(runner)
    with subtests.test(msg="add a decision nobody made"):
        row = dict(db.session.execute(select(PROJECTION).where(where(3))).mappings().one())
        forged = {**row, "id": row["id"] + 1000, "guardian_id": world.ada.id, "decision": "grant"}
        run(insert(PROJECTION).values(**forged))
        try:
            assert_broken_at(runner, 3, "the projection")
        finally:
            run(delete(PROJECTION).where(PROJECTION.c.id == forged["id"]))
        assert_holds(runner)


def test_editing_the_head_names_the_seq(chain, runner, subtests):
    oak = chain.oak.id
    seq, digest = head_row(oak)
    for name, values, broken in [
        ("the hash", {"hash": flip(digest)}, 6),
        ("the seq, backwards", {"seq": 5}, 6),
        ("the seq, forwards", {"seq": 7}, 7),
    ]:
        with subtests.test(msg=name):
            run(update(HEADS).where(HEADS.c.school_id == oak).values(**values))
            try:
                assert_broken_at(runner, broken, "the chain head")
            finally:
                run(update(HEADS).where(HEADS.c.school_id == oak).values(seq=seq, hash=digest))
            assert_holds(runner)


def test_ledger_head_prints_each_schools_seq_and_hash(chain, runner):
    oak, elm = head_row(chain.oak.id), head_row(chain.elm.id)
    result = runner.invoke(args=["ledger", "head"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"elm-academy\t2\t{elm[1]}\noak-primary\t6\t{oak[1]}\n"
    one = runner.invoke(args=["ledger", "head", "--school", "oak-primary"])
    assert one.stdout == f"oak-primary\t6\t{oak[1]}\n"
    # The head is the last event's hash.
    assert oak[1] == db.session.scalar(
        select(EVENTS.c.hash).where(EVENTS.c.school_id == chain.oak.id, EVENTS.c.seq == 6)
    )


def test_rebuild_recomputes_a_lost_projection(chain, runner):
    world = chain
    pupils = [p.id for p in world.oak.pupils.values()]
    purposes = list(world.oak.purposes.values())
    before = consent.statuses(pupils, purposes, school_id=world.oak.id, now=T0)

    # The triggers are in place: the projection is not the ledger, and may be rebuilt.
    run(delete(PROJECTION).where(PROJECTION.c.school_id == world.oak.id))
    result = verify(runner)
    assert result.exit_code == 1
    assert "oak-primary: BROKEN" in result.stderr and "projection" in result.stderr

    rebuilt = runner.invoke(args=["ledger", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    # Oak: five (guardian, subject, purpose, axis) decisions in force; Elm: two.
    assert rebuilt.stdout == (
        "Rebuilt the projection: 7 current decisions.\nRebuilt the Merkle tree: 8 events.\n"
    )
    assert_holds(runner)
    after = consent.statuses(pupils, purposes, school_id=world.oak.id, now=T0)
    assert after == before

    one = runner.invoke(args=["ledger", "rebuild", "--school", "elm-academy"])
    assert one.stdout == (
        "Rebuilt the projection: 2 current decisions.\nRebuilt the Merkle tree: 2 events.\n"
    )
    assert_holds(runner)


@pytest.mark.postgres
def test_verify_reads_past_ranges_with_no_events(unprotected, runner, monkeypatch):
    """A gap wider than a batch (here: seq 6 moved to 100, batches of 2) leaves empty
    batches between the events; verify must still read every event, not stop at the gap."""
    import importlib

    verify_module = importlib.import_module("portal.ledger.verify")  # the module, not verify()
    monkeypatch.setattr(verify_module, "BATCH", 2)
    run(
        update(ConsentEvent)
        .where(ConsentEvent.school_id == unprotected.oak.id, ConsentEvent.seq == 6)
        .values(seq=100)
    )
    check = verify_module.verify_school(unprotected.oak.id, "oak-primary")
    assert check.events == 6
    assert (check.ok, check.seq) == (False, 6)
