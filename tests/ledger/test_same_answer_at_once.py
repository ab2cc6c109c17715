"""Twenty identical answers at the same moment record one decision, and the chain's order is
its time order (both decided under the school's chain lock), on PostgreSQL's real locks."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import func, select

from portal import choices
from portal.extensions import db
from portal.models import ConsentEvent, Guardian, OutboxMessage
from tests.support.world import OAK_FAMILIES, build_school, event_rows

THREADS = 20
JOIN_TIMEOUT = 60


def at_once(app, count, work) -> list[str]:
    """Run `work(n)` in `count` threads released together; return the failures."""
    barrier = threading.Barrier(count)
    failures: list[str] = []

    def run(n: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=JOIN_TIMEOUT)
                work(n)
            except Exception as exc:  # collected and reported by the caller
                failures.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not [t for t in threads if t.is_alive()], "writers still running"
    return failures


@pytest.fixture
def oak(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 5, "max_overflow": 0})
    with app.app_context():
        setup = build_school(
            "oak-primary", "Oak Primary School", OAK_FAMILIES, "office@oak.example"
        )
        ada = db.session.scalars(select(Guardian).where(Guardian.email == "ada@example.org")).one()
        ids = {
            "ada": ada.id,
            "pupil": setup.pupils["A"].id,
            "photos": setup.purposes["photos-website"].id,
            "school": setup.id,
        }
        db.session.remove()
    return app, ids


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(3))
def test_the_same_answer_twenty_times_at_once_is_one_event(oak, round_):
    app, ids = oak

    def withdraw(_n: int) -> None:
        choices.decide(ids["ada"], [ids["pupil"]], ids["photos"], "withdraw")

    assert at_once(app, THREADS, withdraw) == []
    with app.app_context():
        events = [row for row in event_rows(ids["school"]) if row.purpose_id == ids["photos"]]
        assert [row.decision for row in events] == ["withdraw"]
        receipts = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template == "receipt")
        )
        assert receipts == 1


@pytest.mark.postgres
def test_seq_order_is_time_order_with_concurrent_writers(oak):
    app, ids = oak

    def answer(n: int) -> None:
        choices.decide(ids["ada"], [ids["pupil"]], ids["photos"], "grant" if n % 2 else "withdraw")

    assert at_once(app, THREADS, answer) == []
    with app.app_context():
        times = db.session.execute(
            select(ConsentEvent.seq, ConsentEvent.occurred_at)
            .where(ConsentEvent.school_id == ids["school"])
            .order_by(ConsentEvent.seq)
        ).all()
        assert len(times) >= 2
        later_but_earlier = [
            (a.seq, b.seq) for a, b in itertools.pairwise(times) if b.occurred_at < a.occurred_at
        ]
        assert later_but_earlier == []
