"""Renewal reminders (portal/renewals.py; docs/follow-through.md, "Renewal reminders"): the
daily job emails a parent or carer when a "yes" of theirs lapses (a new wording, or its
renewal period ran out), in their language, once per lapse and never more than once a
fortnight per school, however many runs overlap; never about marketing, an unanswered
choice or a "no"; not at a school that turned it off.

The world (tests/support/world.py): at Oak, Eve alone decides for pupil C; Ada and Ben for A,
Ada and Dan for B. Oak's `local-paper` needs renewing after 30 days (and the most recent
answer counts), `trip-videos` each school year, `photos-website` never. Times are relative to
the real clock, since a new wording version is stamped with it.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from portal import daily, invitations, purposes, renewals
from portal.extensions import db
from portal.mail.render import render
from portal.models import Guardian, OutboxMessage, Pupil, Purpose, RenewalReminder, School
from portal.types import london_date, utcnow
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_staff
from tests.support.world import World, decide

PSEUDO = re.compile(r"\[[^\]]*[àƀçđéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýž][^\]]*\]")
BASE = utcnow() - timedelta(days=40)  # when the families first answered


def at(days: float) -> Any:
    return BASE + timedelta(days=days)


def run(days: float) -> int:
    """The daily job, `days` after BASE: how many reminders it queued."""
    now = at(days)
    summary = renewals.daily(london_date(now), now)
    return int(re.match(r"renewal reminders: (\d+) queued", summary).group(1))  # type: ignore[union-attr]


def reminders() -> list[tuple[str, dict[str, Any], str | None]]:
    db.session.expire_all()
    return [
        (row.to_address, json.loads(row.payload), row.dedupe_key)
        for row in db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == renewals.TEMPLATE)
            .order_by(OutboxMessage.id)
        )
    ]


def eve_says_yes_to_the_paper(world: World, days: float = 0) -> None:
    decide(world.eve, world.oak.purposes["local-paper"], "grant", pupil=world.oak.pupils["C"],
           now=at(days))  # fmt: skip


def test_a_lapsed_yes_is_reminded_once_and_not_again_for_the_same_lapse(world):
    eve_says_yes_to_the_paper(world)
    assert run(29) == 0  # still current
    assert run(31) == 1  # ran out after 30 days
    [(to, payload, key)] = reminders()
    assert to == "eve@example.org"
    assert payload == {"school_id": world.oak.id, "guardian_id": world.eve.id}
    assert key == renewals.dedupe_key(world.oak.id, world.eve.id, london_date(at(31)))
    assert run(32) == 0 and run(31.5) == 0  # another day, another worker: nothing
    assert run(60) == 0  # the same lapse is never reminded twice
    assert len(reminders()) == 1


def test_a_new_lapse_is_reminded_once_a_fortnight_has_passed(world):
    eve_says_yes_to_the_paper(world)
    decide(world.eve, world.oak.purposes["trip-videos"], "grant", pupil=world.oak.pupils["C"],
           now=at(0))  # fmt: skip
    assert run(31) == 1
    # The school rewords the trip videos (now, BASE + 40 days): Eve's yes to them lapses.
    trips = world.oak.purposes["trip-videos"]
    assert purposes.load(
        world.oak.school, PURPOSES_OF_EVERY_KIND.replace(trips.description, "Trips, now filmed.")
    ).reworded == ["trip-videos"]
    assert run(41) == 0  # within a fortnight of the last reminder
    assert run(44.9) == 0
    assert run(45.1) == 1  # a fortnight on, and a lapse since
    assert [payload["guardian_id"] for _, payload, _ in reminders()] == [world.eve.id] * 2


def test_only_a_guardians_own_lapsed_yes_prompts_a_reminder(world):
    """Not an unanswered choice, not a "no", not marketing, not a pupil who left, not a
    purpose that was retired."""
    oak = world.oak
    a, b, c = oak.pupils["A"], oak.pupils["B"], oak.pupils["C"]
    decide(world.ben, oak.purposes["local-paper"], "withdraw", pupil=a, now=at(0))  # a no
    decide(world.ada, oak.purposes["marketing-emails"], "grant", now=at(0))  # marketing
    decide(world.dan, oak.purposes["local-paper"], "grant", pupil=b, now=at(0))
    decide(world.eve, oak.purposes["local-paper"], "grant", pupil=c, now=at(0))
    decide(world.ada, oak.purposes["trip-videos"], "grant", pupil=a, now=at(-400))  # lapsed
    retired = oak.purposes["trip-videos"].id
    db.session.execute(update(Purpose).where(Purpose.id == retired).values(active=False))
    left = update(Pupil).where(Pupil.id == b.id).values(on_roll=False, left_on=at(1).date())
    db.session.execute(left)
    db.session.commit()
    assert run(31) == 1
    assert [to for to, _, _ in reminders()] == ["eve@example.org"]


def test_a_school_that_turned_reminders_off_sends_none(world):
    eve_says_yes_to_the_paper(world)
    db.session.execute(update(School).where(School.id == world.oak.id)
                       .values(renewal_reminders=False))  # fmt: skip
    db.session.commit()
    assert run(31) == 0
    assert reminders() == []


def test_an_invitation_to_those_needing_renewal_counts_as_a_reminder(world):
    eve_says_yes_to_the_paper(world, days=-10)  # lapsed 20 days after BASE
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin")
    invitations.send(admin, invitations.Audience.NEEDS_ANSWER, now=utcnow())
    assert run(40.5) == 0  # the admin's invitation reached Eve within the fortnight
    assert reminders() == []


def test_the_email_says_why_in_the_guardians_language_and_nothing_about_the_child(world):
    eve_says_yes_to_the_paper(world)
    decide(world.eve, world.oak.purposes["trip-videos"], "grant", pupil=world.oak.pupils["C"],
           now=at(0))  # fmt: skip
    trips = world.oak.purposes["trip-videos"]
    reworded = PURPOSES_OF_EVERY_KIND.replace(trips.description, "Trips, now filmed.")
    purposes.load(world.oak.school, reworded)
    assert run(41) == 1
    [(_, payload, _)] = reminders()

    english = render(renewals.TEMPLATE, payload, now=at(41))
    assert not isinstance(english, str)
    assert english.subject == "Oak Primary School asks you to renew some of your answers"
    assert english.language == "en-GB"
    assert "2 answers you gave about your children no longer count" in english.text
    assert "changed the wording of something you said yes to" in english.text
    assert "that time has run out" in english.text
    assert "http://localhost/sign-in" in english.text and "eve@example.org" in english.text
    assert "at most once a fortnight" in english.text
    for body in (english.text, english.html):
        assert "PupilC" not in body and "trip" not in body.lower()

    db.session.execute(update(Guardian).where(Guardian.id == world.eve.id)
                       .values(language="en-XA"))  # fmt: skip
    db.session.commit()
    pseudo = render(renewals.TEMPLATE, payload, now=at(41))
    assert not isinstance(pseudo, str)
    assert pseudo.language == "en-XA" and '<html lang="en-XA" dir="ltr">' in pseudo.html
    assert PSEUDO.search(pseudo.subject) and "Oak Primary School" in pseudo.subject
    for body in (pseudo.text, pseudo.html):
        assert "no longer count" not in body and "at most once a fortnight" not in body


def test_a_reminder_is_not_sent_once_nothing_needs_renewing_or_reminders_are_off(world):
    eve_says_yes_to_the_paper(world)
    assert run(31) == 1
    [(_, payload, _)] = reminders()
    decide(world.eve, world.oak.purposes["local-paper"], "grant", pupil=world.oak.pupils["C"],
           now=at(31.1))  # fmt: skip
    assert render(renewals.TEMPLATE, payload, now=at(31.2)) == (
        "not sent: nothing of theirs needs renewing any more"
    )
    db.session.execute(update(School).where(School.id == world.oak.id)
                       .values(renewal_reminders=False))  # fmt: skip
    db.session.commit()
    assert render(renewals.TEMPLATE, payload, now=at(70)) == (
        "not sent: the school has turned renewal reminders off"
    )


def test_the_fortnight_is_held_by_the_database_not_by_the_run(world):
    """The conditional upsert alone refuses a second reminder within 14 days, whatever a run
    believed when it read."""
    session = db.session()
    claim = renewals._claim
    now = at(31)
    assert claim(session, world.oak.id, [world.eve.id], now) == {world.eve.id}
    assert claim(session, world.oak.id, [world.eve.id], now + timedelta(days=13)) == set()
    db.session.commit()
    later = now + timedelta(days=14)
    assert claim(session, world.oak.id, [world.eve.id, world.ben.id], later) == {
        world.eve.id,
        world.ben.id,
    }
    db.session.commit()
    rows = db.session.execute(select(RenewalReminder.guardian_id, RenewalReminder.reminded_at))
    stored = {guardian_id: reminded_at for guardian_id, reminded_at in rows}
    assert stored == {world.eve.id: later, world.ben.id: later}


def test_runs_at_the_same_moment_remind_each_guardian_once(app: Flask, world):
    eve_says_yes_to_the_paper(world)
    decide(world.dan, world.oak.purposes["local-paper"], "grant", pupil=world.oak.pupils["B"],
           now=at(0))  # fmt: skip
    now, oak = at(31), world.oak.id
    barrier, counts, errors = threading.Barrier(3), [], []

    def one_run() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                counts.append(renewals.remind(oak, now))
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one_run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and sorted(counts) == [0, 0, 2]
    assert sorted(to for to, _, _ in reminders()) == ["dan@example.org", "eve@example.org"]


def test_the_job_is_registered_to_run_once_a_day(app, world):
    eve_says_yes_to_the_paper(world)
    assert renewals.JOB in daily.jobs()
    ran = daily.run_due(at(31), only=renewals.JOB)
    assert [r.summary for r in ran] == [
        "renewal reminders: 1 queued at 2 school(s) with reminders on"
    ]
    assert daily.run_due(at(31), only=renewals.JOB) == []


@pytest.mark.parametrize("setting", [True, False])
def test_every_school_starts_with_reminders_on(world, setting):
    assert db.session.get(School, world.elm.id).renewal_reminders is True
    db.session.execute(update(School).where(School.id == world.elm.id)
                       .values(renewal_reminders=setting))  # fmt: skip
    db.session.commit()
    assert db.session.get(School, world.elm.id).renewal_reminders is setting
