"""Appends to one school's chain are serialised (docs/security.md, promise 14); schools do not
block each other; verify reads a consistent snapshot while appends go on.

Every writer runs in its own thread with its own app context, so its own session and its own
connection from the pool. Failures are collected and reported, never swallowed.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from portal import ledger
from portal.extensions import db
from portal.models import GENESIS_HASH, GuardianLink
from tests.support.world import OAK_FAMILIES, build_school, decide, event_rows, head_row

JOIN_TIMEOUT = 60
# The module, not the function of the same name that portal.ledger exports.
verify_module = importlib.import_module("portal.ledger.verify")


class Writers:
    """Threads that each record one decision once a barrier lets them all go together."""

    def __init__(self, app: Flask, count: int):
        self.app = app
        self.barrier = threading.Barrier(count)
        self.events: list[tuple[str, int, str]] = []  # (label, seq, hash)
        self.failures: list[tuple[str, str]] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def add(self, label: str, record: Callable[[], Any]) -> None:
        def run() -> None:
            with self.app.app_context():
                try:
                    self.barrier.wait(timeout=JOIN_TIMEOUT)
                    event = record()
                    with self.lock:
                        self.events.append((label, event.seq, event.hash))
                except Exception as exc:  # collected and reported below
                    with self.lock:
                        self.failures.append((label, repr(exc)))
                finally:
                    db.session.remove()

        self.threads.append(threading.Thread(target=run, name=label, daemon=True))

    def run(self) -> None:
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            thread.join(timeout=JOIN_TIMEOUT)
        stuck = [t.name for t in self.threads if t.is_alive()]
        assert not stuck, f"writers still running: {stuck}"
        assert self.failures == [], self.failures


def staff_decision(
    staff_id: int,
    guardian_id: int,
    pupil_id: int,
    purpose_id: int,
    decision: str,
    note: str,
) -> Callable[[], Any]:
    def record() -> Any:
        return decide(guardian_id, purpose_id, decision, pupil=pupil_id, staff=staff_id, note=note)

    return record


def plan(setup) -> list[tuple[int, int, int]]:
    """Every (guardian, pupil) pair with parental responsibility at a school, with a purpose."""
    links = db.session.execute(
        select(GuardianLink.guardian_id, GuardianLink.pupil_id).where(
            GuardianLink.school_id == setup.id, GuardianLink.parental_responsibility.is_(True)
        )
    ).all()
    purposes = [setup.purposes[k].id for k in ("photos-website", "local-paper", "trip-videos")]
    return [(g, p, purpose) for g, p in links for purpose in purposes]


def assert_chain_is_whole(school_id: int, count: int) -> None:
    rows = event_rows(school_id)
    seqs = [row.seq for row in rows]
    assert seqs == list(range(1, count + 1)), "gaps or duplicates in the sequence"
    assert len(set(seqs)) == len(seqs)
    prev = GENESIS_HASH
    for row in rows:
        assert row.prev_hash == prev, f"fork at seq {row.seq}"
        prev = row.hash
    assert head_row(school_id) == (count, prev)


@pytest.mark.postgres
def test_fifty_concurrent_writers_leave_a_whole_chain(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 60, "max_overflow": 0})
    with app.app_context():
        oak = build_school("oak-primary", "Oak Primary School", OAK_FAMILIES, "office@oak.example")
        elm = build_school(
            "elm-academy",
            "Elm Academy",
            {"X": [("fay@example.org", True), ("gus@example.org", True)]},
            "office@elm.example",
        )
        oak_plan, elm_plan = plan(oak), plan(elm)
        oak_ids, elm_ids = (oak.id, oak.staff.id), (elm.id, elm.staff.id)  # school, staff
        db.session.remove()  # give the connection back: the writers need 60 of them

    writers = Writers(app, 60)
    for i in range(50):
        guardian, pupil, purpose = oak_plan[i % len(oak_plan)]
        decision = "grant" if i % 3 else "withdraw"
        writers.add(
            f"oak-{i}",
            staff_decision(oak_ids[1], guardian, pupil, purpose, decision, f"writer {i}"),
        )
    for i in range(10):
        guardian, pupil, purpose = elm_plan[i % len(elm_plan)]
        writers.add(
            f"elm-{i}", staff_decision(elm_ids[1], guardian, pupil, purpose, "grant", f"writer {i}")
        )
    writers.run()

    with app.app_context():
        assert len(writers.events) == 60
        for school_id, prefix, count in ((oak_ids[0], "oak", 50), (elm_ids[0], "elm", 10)):
            assert_chain_is_whole(school_id, count)
            mine = sorted(seq for label, seq, _ in writers.events if label.startswith(prefix))
            assert mine == list(range(1, count + 1))
            stored = {row.seq: row.hash for row in event_rows(school_id)}
            assert all(
                stored[seq] == digest
                for label, seq, digest in writers.events
                if label.startswith(prefix)
            )
        result = ledger.verify()
        assert result.ok, result.schools
        assert result.events == 60
        db.session.remove()


def waiting_on_a_lock(conninfo: dict[str, Any]) -> bool:
    import psycopg

    with psycopg.connect(**conninfo, autocommit=True) as monitor:
        row = monitor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.postgres
def test_a_locked_chain_blocks_its_school_only(app, world, database_url):
    import psycopg

    url = make_url(database_url)
    conninfo = {
        "host": url.host,
        "port": url.port or 5432,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    oak = (
        world.oak.id,
        world.oak.staff.id,
        world.ada.id,
        world.oak.pupils["A"].id,
        world.oak.purposes["photos-website"].id,
    )
    elm = (
        world.elm.id,
        world.elm.staff.id,
        world.fay.id,
        world.elm.pupils["X"].id,
        world.elm.purposes["photos-website"].id,
    )
    db.session.commit()

    results: dict[str, Any] = {}

    def append(label: str, school) -> threading.Thread:
        _school_id, staff_id, guardian_id, pupil_id, purpose_id = school

        def run() -> None:
            with app.app_context():
                try:
                    results[label] = decide(
                        guardian_id, purpose_id, "grant", pupil=pupil_id, staff=staff_id
                    ).seq
                except Exception as exc:
                    results[label] = exc
                finally:
                    db.session.remove()

        thread = threading.Thread(target=run, name=label, daemon=True)
        thread.start()
        return thread

    holder = psycopg.connect(**conninfo)
    try:
        # Another transaction holds Oak's chain head.
        holder.execute("SELECT seq FROM ledger_heads WHERE school_id = %s FOR UPDATE", (oak[0],))
        to_oak = append("oak", oak)
        deadline = time.monotonic() + JOIN_TIMEOUT
        while not waiting_on_a_lock(conninfo):
            assert time.monotonic() < deadline, "the append to Oak never reached the lock"
            assert to_oak.is_alive(), results
            time.sleep(0.02)

        to_elm = append("elm", elm)
        to_elm.join(timeout=JOIN_TIMEOUT)
        assert not to_elm.is_alive(), "an append to Elm waited for Oak's lock"
        assert results["elm"] == 1
        # B finished while A was still locked:
        assert to_oak.is_alive() and "oak" not in results
    finally:
        holder.rollback()  # releases the lock
        holder.close()
    to_oak.join(timeout=JOIN_TIMEOUT)
    assert not to_oak.is_alive()
    assert results["oak"] == 1
    assert ledger.verify().ok


def test_two_writers_at_once_get_consecutive_seqs(make_app):
    """On SQLite, BEGIN IMMEDIATE makes the second writer wait for the first (on PostgreSQL,
    the head's row lock does); neither fails."""
    app = make_app()
    with app.app_context():
        oak = build_school("oak-primary", "Oak Primary School", OAK_FAMILIES, "office@oak.example")
        steps = plan(oak)
        school_id, staff_id = oak.id, oak.staff.id
        db.session.remove()

    rounds = 5
    for round_ in range(rounds):
        writers = Writers(app, 2)
        for i in range(2):
            guardian, pupil, purpose = steps[(2 * round_ + i) % len(steps)]
            note = f"round {round_} writer {i}"
            writers.add(note, staff_decision(staff_id, guardian, pupil, purpose, "grant", note))
        writers.run()
        assert sorted(seq for _, seq, _ in writers.events) == [2 * round_ + 1, 2 * round_ + 2]

    with app.app_context():
        assert_chain_is_whole(school_id, 2 * rounds)
        assert ledger.verify().ok
        db.session.remove()


def test_verify_reads_one_snapshot_while_appends_go_on(app, world, monkeypatch):
    """An append that commits while verify is reading must not look like a broken chain."""
    for pupil in ("A", "B"):
        decide(
            world.ada, world.oak.purposes["photos-website"], "grant", pupil=world.oak.pupils[pupil]
        )
    oak_id = world.oak.id
    meanwhile = staff_decision(
        world.oak.staff.id,
        world.eve.id,
        world.oak.pupils["C"].id,
        world.oak.purposes["photos-website"].id,
        "grant",
        "meanwhile",
    )
    db.session.commit()
    appended: list[Any] = []
    real = verify_module.events_as_text

    def events_then_an_append(school_id: int):
        yield from real(school_id)
        if school_id != oak_id or appended:
            return
        # Every event is read; before verify reads the head and the projection, another
        # connection appends and commits.
        writers = Writers(app, 1)
        writers.add("meanwhile", meanwhile)
        writers.run()
        appended.extend(writers.events)

    monkeypatch.setattr(verify_module, "events_as_text", events_then_an_append)

    result = ledger.verify()

    assert [seq for _, seq, _ in appended] == [3]
    assert result.ok, result.schools
    oak = next(s for s in result.schools if s.slug == "oak-primary")
    assert oak.events == 2  # the snapshot from before the append
    monkeypatch.undo()
    after = ledger.verify()
    assert after.ok and next(s for s in after.schools if s.slug == "oak-primary").events == 3
    assert db.session.scalar(text("SELECT count(*) FROM consent_events")) == 3
