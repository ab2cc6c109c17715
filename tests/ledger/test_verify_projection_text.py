"""The projection as verify reads it on PostgreSQL: one text value per school, its text
columns escaped, so that no value, however it was tampered with, can pass for other rows;
read through the same feed as the events (docs/security.md, promise 16)."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import delete, insert, select, text, update

from portal import ledger
from portal.extensions import db
from portal.models import CurrentDecision
from tests.support.world import decide

PROJECTION = CurrentDecision.__table__
verify_module = importlib.import_module("portal.ledger.verify")  # the module, not verify()


@pytest.fixture
def decisions(world):
    oak = world.oak
    photos, classes = oak.purposes["photos-website"], oak.purposes["class-photos"]
    decide(world.ada, photos, "grant", pupil=oak.pupils["A"])
    decide(world.ben, photos, "grant", pupil=oak.pupils["A"])
    decide(world.dan, photos, "withdraw", pupil=oak.pupils["B"], staff=oak.staff)
    decide(world.eve, classes, "object", pupil=oak.pupils["C"])
    decide(world.ada, oak.purposes["marketing-emails"], "grant")
    decide(world.fay, world.elm.purposes["photos-website"], "grant", pupil=world.elm.pupils["X"])
    return world


def row_of(world, seq: int) -> dict:
    return dict(
        db.session.execute(
            select(PROJECTION).where(
                PROJECTION.c.school_id == world.oak.id, PROJECTION.c.seq == seq
            )
        )
        .mappings()
        .one()
    )


def put(statement) -> None:
    db.session.execute(statement)
    db.session.commit()


def oak_result():
    result = ledger.verify()
    elm = next(s for s in result.schools if s.slug == "elm-academy")
    assert elm.ok and elm.events == 1
    return next(s for s in result.schools if s.slug == "oak-primary")


def as_text(row: dict) -> str:
    """A projection row as the database writes it for verify (before escaping)."""
    return "\t".join(
        "\\N" if v is None else str(v)
        for v in (
            row["guardian_id"], row["pupil_id"], row["purpose_id"], row["axis"],
            row["decision"], row["purpose_version"], row["notice_version"], row["channel"],
            row["seq"], row["actor_type"],
            row["decided_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
    )  # fmt: skip


def test_the_untouched_projection_verifies(decisions):
    assert oak_result().ok


@pytest.mark.postgres
def test_a_row_smuggled_into_a_value_is_not_read_as_a_row(decisions):
    """The row of seq 4 is deleted and its text put, after a line feed, into the channel of
    the row of seq 3: read naively, the two lines would be the genuine rows again. (Someone
    with the rights to do this can widen the column first.)"""
    put(text("ALTER TABLE current_decisions ALTER COLUMN channel TYPE text"))
    three, four = row_of(decisions, 3), row_of(decisions, 4)
    put(delete(PROJECTION).where(PROJECTION.c.id == four["id"]))
    put(
        update(PROJECTION)
        .where(PROJECTION.c.id == three["id"])
        .values(channel=three["channel"] + "\n" + as_text(four))
    )
    try:
        found = oak_result()
        assert not found.ok
        assert found.seq == 3 and "the projection" in (found.problem or "")
    finally:
        put(update(PROJECTION).where(PROJECTION.c.id == three["id"]).values(**three))
        put(insert(PROJECTION).values(**four))
    assert oak_result().ok


@pytest.mark.parametrize(
    "channel", ["pa\tper", "pa\nper", "paper\\", "\\N", "paper\\t", "\\\\n", "pa\rper"]
)
def test_any_text_in_a_projection_value_is_read_back_as_it_is(decisions, channel):
    """Both ways of reading the projection (the text value on PostgreSQL, rows elsewhere)
    give the same values, escapes and all; and verify names the changed row."""
    three = row_of(decisions, 3)
    put(update(PROJECTION).where(PROJECTION.c.id == three["id"]).values(channel=channel))
    try:
        school = decisions.oak.id
        rows = sorted(verify_module._projection_as_text_generic(school), key=str)
        assert next(r for r in rows if r[8] == "3")[7] == channel
        if db.session.get_bind().dialect.name == "postgresql":
            assert sorted(verify_module._projection_as_text_postgresql(school), key=str) == rows
        found = oak_result()
        assert (found.ok, found.seq) == (False, 3)
    finally:
        put(update(PROJECTION).where(PROJECTION.c.id == three["id"]).values(**three))
    assert oak_result().ok


def test_verify_school_alone_reads_for_itself(decisions):
    """Outside `verify` (no feed), one school's check reads its own events, head and
    projection."""
    check = verify_module.verify_school(decisions.oak.id, "oak-primary")
    assert check.ok and check.events == 5
