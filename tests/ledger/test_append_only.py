"""The ledger table refuses UPDATE and DELETE, and TRUNCATE on PostgreSQL (docs/security.md,
promise 15)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import ledger
from portal.extensions import db
from tests.support.world import decide, event_rows, head_row


@pytest.fixture
def chain(world):
    for pupil in ("A", "B"):
        decide(
            world.ada,
            world.oak.purposes["photos-website"],
            "grant",
            pupil=world.oak.pupils[pupil],
            note=f"for {pupil}",
        )
    return world


def refused(sql: str, **params) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(sql), params)
    db.session.rollback()


STATEMENTS = {
    "update a note": "UPDATE consent_events SET note = 'changed' WHERE school_id = :s AND seq = 1",
    "update every decision": "UPDATE consent_events SET decision = 'withdraw' WHERE school_id = :s",
    "renumber": "UPDATE consent_events SET seq = seq + 100 WHERE school_id = :s",
    "delete one event": "DELETE FROM consent_events WHERE school_id = :s AND seq = 2",
    "delete a school's chain": "DELETE FROM consent_events WHERE school_id = :s",
    "delete everything": "DELETE FROM consent_events",
}


def test_updates_and_deletes_are_refused_and_change_nothing(chain, subtests):
    school_id = chain.oak.id
    before = event_rows(school_id)
    assert [row.note for row in before] == ["for A", "for B"]

    for name, sql in STATEMENTS.items():
        with subtests.test(msg=name):
            refused(sql, s=school_id)
            assert event_rows(school_id) == before

    assert ledger.verify().ok
    # The ledger still grows.
    event = decide(
        chain.eve, chain.oak.purposes["photos-website"], "grant", pupil=chain.oak.pupils["C"]
    )
    assert event.seq == 3 and head_row(school_id)[0] == 3


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(chain, is_postgres):
    assert is_postgres
    before = event_rows(chain.oak.id)
    refused("TRUNCATE consent_events")
    refused("TRUNCATE consent_events CASCADE")
    assert event_rows(chain.oak.id) == before
    assert ledger.verify().ok
