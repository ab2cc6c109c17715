"""Receipts: a guardian's changes within a few minutes make one email, with their references.

Every test sends to a real SMTP server (aiosmtpd, `tests.support.mail.MailServer`) and passes the
worker an explicit `now`, so that "a few minutes later" needs no waiting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from portal import purposes, receipts, signin
from portal.config import load
from portal.extensions import db
from portal.ledger import Actor, DecisionRequest, record_many
from portal.mail import outbox
from portal.mail.delivery import Delivery, send_pending
from portal.mail.render import render
from portal.models import ConsentEvent, Guardian, OutboxMessage, Purpose
from tests.support.factories import (
    PURPOSES_OF_EVERY_KIND,
    make_families,
    make_notice,
    make_purpose_set,
    make_school,
    make_staff,
)
from tests.support.mail import MailServer, Received, free_port, race_send_pending

T0 = datetime(2025, 10, 6, 9, 30, tzinfo=UTC)  # 10:30am in London (BST)
DELAY = timedelta(seconds=120)
SUBJECT = "Your choices at {}: a record of what you changed"
ADA, BEN, DAN = "ada@example.org", "ben@example.org", "dan@example.org"


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app: Callable[..., Flask], mail_server: MailServer) -> Iterator[Flask]:
    """The app, sending by SMTP to `mail_server`, with an app context pushed."""
    app = make_app(**mail_server.app_config)
    with app.app_context():
        yield app
        db.session.remove()


@dataclass
class World:
    oak: int
    elm: int
    guardians: dict[str, int]  # by email
    pupils: dict[str, int]  # by MIS id: Oak A (Ada, Ben), Oak B (Ada, Dan), Elm X (Ada)
    purposes: dict[tuple[int, str], int]  # by (school id, key)
    staff: int  # a staff user at Oak

    def purpose(self, key: str, school: int | None = None) -> int:
        return self.purposes[(school or self.oak, key)]


def build_world() -> World:
    schools, guardians, pupils, found = {}, {}, {}, {}
    staff = 0
    for slug, name, families in (
        ("oak-primary", "Oak Primary School", {"A": [(ADA, True), (BEN, True)],
                                               "B": [(ADA, True), (DAN, True)]}),
        ("elm-academy", "Elm Academy", {"X": [(ADA, True)]}),
    ):  # fmt: skip
        school = make_school(slug=slug, name=name, contact_email=f"office@{slug}.example")
        make_notice(school)
        for key, purpose in make_purpose_set(school).items():
            found[(school.id, key)] = purpose.id
        for mis_id, pupil in make_families(school, families=families).items():
            pupils[mis_id] = pupil.id
        if slug == "oak-primary":
            staff = make_staff(school, email="office@oak-primary.example").id
        schools[slug] = school.id
    for guardian in db.session.scalars(select(Guardian)):
        guardians[guardian.email] = guardian.id
    return World(schools["oak-primary"], schools["elm-academy"], guardians, pupils, found, staff)


@pytest.fixture
def world(mail_app: Flask) -> World:
    return build_world()


@pytest.fixture
def mail_down(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, MailServer]]:
    """An app whose mail server is not running yet (nothing listens on its port)."""
    server = MailServer(free_port())
    app = make_app(**server.app_config)
    with app.app_context():
        yield app, server
        db.session.remove()
    server.stop()


# --- helpers ---------------------------------------------------------------------------------


def decide(
    world: World,
    email: str,
    purpose: str,
    decision: str,
    *,
    pupil: str | None = None,
    at: datetime = T0,
) -> ConsentEvent:
    """The guardian's own decision on the web, wired to receipts as a view would do it."""
    guardian = world.guardians[email]
    school = world.elm if pupil == "X" else world.oak
    (event,) = record_many(
        [
            DecisionRequest(
                guardian_id=guardian,
                purpose_id=world.purpose(purpose, school),
                decision=decision,
                pupil_id=world.pupils[pupil] if pupil else None,
            )
        ],
        actor=Actor.guardian(guardian),
        channel="web",
        before_commit=receipts.hook(guardian),
        now=at,
    )
    return event


def outbox_rows() -> list[OutboxMessage]:
    db.session.remove()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def stored_event(school_id: int, seq: int) -> ConsentEvent:
    db.session.remove()
    return db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.school_id == school_id, ConsentEvent.seq == seq)
    ).one()


def reference(event: ConsentEvent, code: str = "OP") -> str:
    """The event's lines in the text email: the short reference (Oak Primary's "OP"), then
    the full hash."""
    return f"Reference: {code}-{event.seq}-{event.hash[:4].upper()}\nFull fingerprint: {event.hash}"


def references(received: Received) -> list[tuple[int, str]]:
    """(seq, full hash) of each line of the text email; each short reference's check is the
    start of the full hash shown under it."""
    found = re.findall(
        r"Reference: ([A-Z]{2,4})-(\d+)-([0-9A-F]{4})\r?\nFull fingerprint: ([0-9a-f]{64})\b",
        received.text(),
    )
    assert all(digest[:4].upper() == check for _, _, check, digest in found)
    return [(int(seq), digest) for _, seq, _, digest in found]


def pass_at(at: datetime) -> Delivery:
    return send_pending(now=at)


def assert_nothing_about(received: Received, *emails: str) -> None:
    """No name or address of these guardians anywhere in the email."""
    whole = received.message.as_string()
    for address in emails:
        name = address.split("@")[0]
        assert address not in whole
        assert not re.search(rf"\b{name}\b", received.text(), re.IGNORECASE)
        assert not re.search(rf"\b{name}\b", received.html(), re.IGNORECASE)


# --- (a) several quick changes make one email ------------------------------------------------


def test_three_quick_changes_make_one_email_with_three_references(world, mail_server):
    made = [
        decide(world, ADA, "photos-website", "grant", pupil="A", at=T0),
        decide(world, ADA, "photos-website", "grant", pupil="B", at=T0 + timedelta(seconds=30)),
        decide(world, ADA, "photos-website", "withdraw", pupil="A", at=T0 + timedelta(seconds=60)),
    ]
    rows = outbox_rows()
    assert len(rows) == 3
    key = f"receipt:{world.guardians[ADA]}:{world.oak}"
    for row, event in zip(rows, made, strict=True):
        assert (row.template, row.to_address, row.school_id) == ("receipt", ADA, world.oak)
        assert row.coalesce_key == key
        assert row.send_after == event.occurred_at + DELAY
        assert json.loads(row.payload) == {
            "guardian_id": world.guardians[ADA],
            "school_id": world.oak,
            "events": [event.seq],
        }

    result = pass_at(T0 + DELAY + timedelta(seconds=1))

    assert (result.sent, result.failed, result.skipped, result.claimed) == (1, 0, 0, 3)
    (received,) = mail_server.wait_for(1)
    mail_server.assert_no_more(1)
    assert received.rcpt_tos == [ADA]
    assert received.message["Subject"] == SUBJECT.format("Oak Primary School")
    assert f"outbox-{rows[0].id}@" in received.message["Message-ID"]
    stored = [stored_event(world.oak, event.seq) for event in made]
    assert references(received) == [(event.seq, event.hash) for event in stored]
    text, html = received.text(), received.html()
    for event in stored:
        assert len(event.hash) == 64
        assert reference(event) in text.replace("\r\n", "\n")
        assert f">OP-{event.seq}-{event.hash[:4].upper()}</strong>" in html
        assert event.hash in html
    assert "6 October 2025 at 10:30am" in text and "6 October 2025 at 10:31am" in text
    assert "PupilA: Photos on the school website" in text
    assert "PupilB: Photos on the school website" in text
    assert text.count("Yes, you agreed") == 2 and text.count("No, you said no") == 1
    assert "office@oak-primary.example" in text and "office@oak-primary.example" in html
    assert "http://localhost/family/history" in text and "http://localhost/family/history" in html
    assert "http://localhost/sign-in" in text
    assert "If you did not make these changes" in text
    assert_nothing_about(received, BEN, DAN)

    rows = outbox_rows()
    assert all(row.sent_at is not None and row.claimed_until is None for row in rows)
    assert rows[0].last_error is None
    assert [row.last_error for row in rows[1:]] == [f"sent together with outbox {rows[0].id}"] * 2

    assert pass_at(T0 + timedelta(hours=1)).claimed == 0
    mail_server.assert_no_more(1, settle=0.05)


def test_one_request_for_two_children_is_one_message(world, mail_server):
    ada = world.guardians[ADA]
    events = record_many(
        [
            DecisionRequest(ada, world.purpose("trip-videos"), "grant", pupil_id=world.pupils[p])
            for p in ("A", "B")
        ],
        actor=Actor.guardian(ada),
        channel="web",
        before_commit=receipts.hook(ada),
        now=T0,
    )
    (row,) = outbox_rows()
    assert json.loads(row.payload)["events"] == [event.seq for event in events]
    assert pass_at(T0 + DELAY).sent == 1
    (received,) = mail_server.wait_for(1)
    assert references(received) == [(event.seq, event.hash) for event in events]


# --- (b) nothing before the delay ------------------------------------------------------------


def test_nothing_is_sent_before_the_delay(world, mail_server):
    decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    decide(world, ADA, "photos-website", "grant", pupil="B", at=T0 + timedelta(seconds=60))

    result = pass_at(T0 + DELAY - timedelta(seconds=1))

    assert (result.sent, result.claimed) == (0, 0)
    assert all(row.claim_token is None and row.sent_at is None for row in outbox_rows())
    mail_server.assert_no_more(0, settle=0.05)
    # Due exactly at the delay; the second change, not yet due, goes with the first.
    assert pass_at(T0 + DELAY).sent == 1
    (received,) = mail_server.wait_for(1)
    assert len(references(received)) == 2


def test_the_delay_comes_from_the_config(make_app, mail_server):
    app = make_app(RECEIPT_DELAY_SECONDS=600, **mail_server.app_config)
    with app.app_context():
        world = build_world()
        event = decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
        (row,) = outbox_rows()
        assert row.send_after == event.occurred_at + timedelta(seconds=600)
        db.session.remove()


def test_the_setting_is_read_from_the_environment(tmp_path):
    assert load({}, str(tmp_path))["RECEIPT_DELAY_SECONDS"] == 120
    assert load({"RECEIPT_DELAY_SECONDS": "300"}, str(tmp_path))["RECEIPT_DELAY_SECONDS"] == 300


# --- (c) a change after the email went -------------------------------------------------------


def test_a_change_after_the_email_went_starts_a_new_receipt(world, mail_server):
    first = decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    assert pass_at(T0 + DELAY).sent == 1
    mail_server.wait_for(1)

    later = T0 + timedelta(minutes=5)
    second = decide(world, ADA, "photos-website", "withdraw", pupil="A", at=later)
    assert pass_at(later + DELAY - timedelta(seconds=1)).claimed == 0
    assert pass_at(later + DELAY).sent == 1

    one, two = mail_server.wait_for(2)
    mail_server.assert_no_more(2)
    assert references(one) == [(first.seq, first.hash)]
    assert references(two) == [(second.seq, second.hash)]
    assert "No, you said no" in two.text() and "Yes, you agreed" not in two.text()
    assert all(row.sent_at is not None for row in outbox_rows())


# --- (d) never merged across guardians or schools --------------------------------------------


def test_receipts_of_two_guardians_are_not_merged(world, mail_server):
    ada = decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    ben = decide(world, BEN, "photos-website", "withdraw", pupil="A", at=T0 + timedelta(seconds=5))

    result = pass_at(T0 + DELAY)

    assert (result.sent, result.claimed) == (1, 1)  # Ben's is not due yet: not taken with Ada's
    assert pass_at(T0 + DELAY + timedelta(seconds=5)).sent == 1
    received = mail_server.wait_for(2)
    mail_server.assert_no_more(2)
    by_address = {r.rcpt_tos[0]: r for r in received}
    assert set(by_address) == {ADA, BEN}
    assert references(by_address[ADA]) == [(ada.seq, ada.hash)]
    assert references(by_address[BEN]) == [(ben.seq, ben.hash)]
    assert_nothing_about(by_address[ADA], BEN, DAN)
    assert_nothing_about(by_address[BEN], ADA, DAN)


def test_one_guardian_at_two_schools_gets_one_receipt_per_school(world, mail_server):
    ada = world.guardians[ADA]
    both = record_many(
        [
            DecisionRequest(ada, world.purpose("photos-website"), "grant", world.pupils["A"]),
            DecisionRequest(
                ada, world.purpose("photos-website", world.elm), "grant", world.pupils["X"]
            ),
        ],
        actor=Actor.guardian(ada),
        channel="web",
        before_commit=receipts.hook(ada),
        now=T0,
    )
    again = decide(world, ADA, "local-paper", "grant", pupil="B", at=T0 + timedelta(seconds=20))
    assert sorted(row.coalesce_key for row in outbox_rows()) == sorted(
        [f"receipt:{ada}:{world.oak}", f"receipt:{ada}:{world.oak}", f"receipt:{ada}:{world.elm}"]
    )

    result = pass_at(T0 + DELAY)

    assert (result.sent, result.claimed) == (2, 3)
    received = mail_server.wait_for(2)
    mail_server.assert_no_more(2)
    by_subject = {r.message["Subject"]: r for r in received}
    oak = by_subject[SUBJECT.format("Oak Primary School")]
    elm = by_subject[SUBJECT.format("Elm Academy")]
    assert references(oak) == [(both[0].seq, both[0].hash), (again.seq, again.hash)]
    assert references(elm) == [(both[1].seq, both[1].hash)]
    assert "office@elm-academy.example" in elm.text()
    assert "oak" not in elm.text().lower()


# --- (e) a failure fails the whole group -----------------------------------------------------


def test_a_failed_send_fails_the_group_and_a_later_pass_sends_one_email(mail_down):
    _app, server = mail_down
    world = build_world()
    made = [
        decide(world, ADA, "photos-website", "grant", pupil="A", at=T0),
        decide(world, ADA, "photos-website", "grant", pupil="B", at=T0 + timedelta(seconds=30)),
        decide(world, ADA, "marketing-emails", "grant", at=T0 + timedelta(seconds=60)),
    ]
    attempt = T0 + DELAY

    result = pass_at(attempt)

    assert (result.sent, result.failed, result.claimed) == (0, 1, 3)
    rows = outbox_rows()
    assert all(row.sent_at is None and row.attempts == 1 for row in rows)
    assert all(row.claimed_until is None and row.claim_token is None for row in rows)
    assert all(row.last_error and "Connection" in row.last_error for row in rows)
    assert {row.send_after for row in rows} == {attempt + timedelta(minutes=1)}

    server.start()
    assert pass_at(attempt + timedelta(seconds=59)).claimed == 0  # backing off
    result = pass_at(attempt + timedelta(minutes=1))
    assert (result.sent, result.failed, result.claimed) == (1, 0, 3)
    (received,) = server.wait_for(1)
    server.assert_no_more(1)
    assert references(received) == [(event.seq, event.hash) for event in made]
    assert "You: Fundraising emails" in received.text()
    assert all(row.sent_at is not None and row.attempts == 1 for row in outbox_rows())


def test_a_group_backs_off_by_its_most_tried_message(mail_down):
    _app, _server = mail_down
    world = build_world()
    decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    assert pass_at(T0 + DELAY).failed == 1
    assert pass_at(T0 + DELAY + timedelta(minutes=1)).failed == 1  # attempts 2: 2 minutes
    late = T0 + timedelta(minutes=4)
    decide(world, ADA, "photos-website", "grant", pupil="B", at=late)
    failed_at = late + DELAY
    assert pass_at(failed_at).failed == 1  # the old row is due; the new one comes with it
    rows = outbox_rows()
    assert [row.attempts for row in rows] == [3, 1]
    assert {row.send_after for row in rows} == {failed_at + timedelta(minutes=4)}


def test_a_long_outage_backs_off_at_most_an_hour(mail_down):
    _app, _server = mail_down
    world = build_world()
    decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    db.session.execute(update(OutboxMessage).values(attempts=60))
    db.session.commit()
    assert pass_at(T0 + DELAY).failed == 1
    (row,) = outbox_rows()
    assert row.attempts == 61
    assert row.send_after == T0 + DELAY + outbox.MAX_BACKOFF


# --- (f) only the guardian's own decisions ---------------------------------------------------


def test_a_decision_staff_took_down_enqueues_nothing(world, mail_server):
    ada = world.guardians[ADA]
    record_many(
        [DecisionRequest(ada, world.purpose("photos-website"), "grant", world.pupils["A"])],
        actor=Actor.staff(world.staff),
        channel="paper",
        before_commit=receipts.hook(ada),
        now=T0,
    )
    assert outbox_rows() == []
    assert pass_at(T0 + timedelta(hours=1)).claimed == 0
    mail_server.assert_no_more(0, settle=0.05)


def test_a_guardian_without_an_email_gets_no_receipt(world):
    db.session.execute(update(Guardian).where(Guardian.email == DAN).values(email=None))
    db.session.commit()
    decide(world, DAN, "photos-website", "grant", pupil="B", at=T0)
    assert outbox_rows() == []


def test_the_receipt_shows_only_the_guardians_own_decisions(world, mail_server):
    """Even if a payload named other events, the email shows only this guardian's own."""
    own = decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    bens = decide(world, BEN, "photos-website", "grant", pupil="A", at=T0)
    (staffs,) = record_many(
        [DecisionRequest(world.guardians[ADA], world.purpose("trip-videos"), "grant",
                         world.pupils["B"])],
        actor=Actor.staff(world.staff), channel="phone", now=T0,
    )  # fmt: skip
    payload = {
        "guardian_id": world.guardians[ADA],
        "school_id": world.oak,
        "events": [own.seq, bens.seq, staffs.seq],
    }
    rendered = render("receipt", payload)
    assert not isinstance(rendered, str)
    assert reference(own) in rendered.text
    assert bens.hash not in rendered.text and staffs.hash not in rendered.text
    assert bens.hash not in rendered.html and staffs.hash not in rendered.html
    for other in (bens, staffs):
        short = f"OP-{other.seq}-{other.hash[:4].upper()}"
        assert short not in rendered.text and short not in rendered.html
    assert "Videos of school trips" not in rendered.text

    nothing = render("receipt", {**payload, "events": [bens.seq, staffs.seq]})
    assert nothing == "none of the receipt's decisions were found"


def test_a_receipt_with_nothing_to_show_is_skipped(world, mail_server):
    outbox.enqueue(
        to_address=ADA,
        template="receipt",
        payload={"guardian_id": world.guardians[ADA], "school_id": world.oak, "events": [99]},
        school_id=world.oak,
        coalesce_key=receipts.coalesce_key(world.guardians[ADA], world.oak),
        now=T0,
    )
    db.session.commit()
    result = pass_at(T0)
    assert (result.sent, result.skipped) == (0, 1)
    (row,) = outbox_rows()
    assert (
        row.sent_at is not None and row.last_error == "none of the receipt's decisions were found"
    )
    mail_server.assert_no_more(0, settle=0.05)


# --- wording ---------------------------------------------------------------------------------


def test_each_line_says_the_purpose_as_it_was_worded_then(world, mail_server):
    before = decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    school = db.session.get(Purpose, world.purpose("photos-website")).school
    reworded = PURPOSES_OF_EVERY_KIND.replace(
        'title = "Photos on the school website"', 'title = "Photos on the website and blog"'
    )
    purposes.load(school, reworded)
    after = decide(world, ADA, "photos-website", "grant", pupil="A", at=T0 + timedelta(seconds=9))
    decide(world, ADA, "class-photos", "object", pupil="B", at=T0 + timedelta(seconds=10))
    decide(world, ADA, "class-photos", "lift_objection", pupil="B", at=T0 + timedelta(seconds=11))
    decide(world, ADA, "marketing-emails", "withdraw", at=T0 + timedelta(seconds=12))
    assert (before.purpose_version, after.purpose_version) == (1, 2)

    assert pass_at(T0 + DELAY).sent == 1
    (received,) = mail_server.wait_for(1)
    blocks = [block.strip() for block in received.text().replace("\r\n", "\n").split("\n\n")]
    assert (
        "6 October 2025 at 10:30am\nPupilA: Photos on the school website\nYes, you agreed"
        in (blocks[2])
    )
    assert "PupilA: Photos on the website and blog\nYes, you agreed" in blocks[3]
    assert "PupilB: Class photos on display in school\nYou objected" in blocks[4]
    assert "PupilB: Class photos on display in school\nYou withdrew your objection" in blocks[5]
    assert "You: Fundraising emails\nNo, you said no" in blocks[6]
    html = received.html()
    assert "<strong>You</strong>: Fundraising emails" in html
    assert "Photos on the school website" in html and "Photos on the website and blog" in html


NEWSLETTER = """
[[purposes]]
key = "newsletter"
title = "The school newsletter by email"
description = "A monthly email about school news."
choice = "consent"
lawful_basis = "consent"
scope = "guardian"
marketing = true
"""


def test_an_objection_to_direct_marketing_is_one_line_about_all_of_it(world, mail_server):
    """An objection writes one event per marketing purpose; the receipt says "You objected to
    all direct marketing" once, with both references, and never names one purpose; the
    withdrawal likewise."""
    from portal import marketing

    school = db.session.get(Purpose, world.purpose("marketing-emails")).school
    purposes.load(school, PURPOSES_OF_EVERY_KIND + NEWSLETTER)
    ada = world.guardians[ADA]
    objected = marketing.decide(ada, world.oak, "object", now=T0)
    lifted = marketing.decide(ada, world.oak, "lift_objection", now=T0 + timedelta(seconds=5))
    assert (len(objected), len(lifted)) == (2, 2)

    assert pass_at(T0 + DELAY + timedelta(seconds=5)).sent == 1
    (received,) = mail_server.wait_for(1)
    text = received.text().replace("\r\n", "\n")
    assert "You: Direct marketing\nYou objected to all direct marketing\n" in text
    assert "You: Direct marketing\nYou withdrew your objection to all direct marketing\n" in text
    for event in objected + lifted:
        reference = f"OP-{event.seq}-{event.hash[:4].upper()}"
        assert f"Reference: {reference}\nFull fingerprint: {event.hash}" in text
        assert reference in received.html()
    assert "Fundraising emails" not in text and "newsletter" not in text
    assert text.count("You: Direct marketing") == 2


# --- (g) other mail is unchanged -------------------------------------------------------------


def test_a_sign_in_email_and_a_receipt_to_one_address_go_separately(world, mail_server):
    decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    signin.request_link(ADA)

    result = send_pending()  # now: the receipt (made in 2025) and the link are both due

    assert (result.sent, result.claimed) == (2, 2)
    received = mail_server.wait_for(2)
    subjects = sorted(str(r.message["Subject"]) for r in received)
    assert subjects[0].startswith("Your choices at Oak Primary School")
    assert subjects[1].startswith("Your sign-in link")
    assert all(row.last_error is None for row in outbox_rows())


def test_rows_without_a_coalesce_key_are_never_merged(world, mail_server):
    """Two receipts enqueued without a coalesce key (not by the hook) are two emails."""
    ada = world.guardians[ADA]
    event = decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    db.session.execute(update(OutboxMessage).values(coalesce_key=None))
    db.session.commit()
    outbox.enqueue(
        to_address=ADA,
        template="receipt",
        payload={"guardian_id": ada, "school_id": world.oak, "events": [event.seq]},
        school_id=world.oak,
        now=T0,
    )
    db.session.commit()
    assert pass_at(T0 + DELAY).sent == 2
    mail_server.wait_for(2)


# --- the worker's claim ----------------------------------------------------------------------


def test_a_claim_takes_the_group_under_one_lease(world):
    for n, pupil in enumerate(("A", "B", "A")):
        decision = "withdraw" if n == 2 else "grant"
        decide(world, ADA, "photos-website", decision, pupil=pupil, at=T0 + timedelta(seconds=n))
    decide(world, BEN, "photos-website", "grant", pupil="A", at=T0)
    at = T0 + DELAY

    first = outbox.claim(now=at, limit=1)  # one due row, and the rest of its group

    assert [c.coalesce_key for c in first] == [first[0].coalesce_key] * 3
    assert len({c.claim_token for c in first}) == 1
    rows = {row.id: row for row in outbox_rows()}
    assert all(rows[c.id].claimed_until == at + outbox.LEASE for c in first)
    second = outbox.claim(now=at)
    assert [rows[c.id].to_address for c in second] == [BEN]
    assert outbox.claim(now=at + DELAY) == []  # all leased
    # A worker that died keeps its lease only so long: the whole group comes back together.
    later = at + outbox.LEASE + timedelta(seconds=1)
    assert sorted(c.id for c in outbox.claim(now=later)) == sorted(rows)


def test_a_message_under_another_lease_is_not_taken_with_its_group(world):
    decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    decide(world, ADA, "photos-website", "grant", pupil="B", at=T0 + timedelta(seconds=30))
    at = T0 + DELAY
    held = outbox.claim(now=at)
    assert len(held) == 2
    late = decide(world, ADA, "photos-website", "withdraw", pupil="B", at=at)
    # The new message is due later; when it is, it goes alone: the others are leased.
    (alone,) = outbox.claim(now=at + DELAY)
    assert alone.payload["events"] == [late.seq]


def test_a_claim_by_id_brings_the_group(world):
    decide(world, ADA, "photos-website", "grant", pupil="A", at=T0)
    decide(world, ADA, "photos-website", "grant", pupil="B", at=T0 + timedelta(seconds=30))
    first, second = outbox_rows()
    claimed = outbox.claim(ids=[first.id], now=T0 + DELAY)
    assert [c.id for c in claimed] == [first.id, second.id]


@pytest.mark.parametrize("round_", range(3))
def test_workers_at_once_send_a_group_once(mail_app, world, mail_server, round_):
    for n, pupil in enumerate(("A", "B")):
        decide(world, ADA, "photos-website", "grant", pupil=pupil, at=T0 + timedelta(seconds=n))
    decide(world, BEN, "photos-website", "grant", pupil="A", at=T0)
    decide(world, DAN, "photos-website", "grant", pupil="B", at=T0)

    results = race_send_pending(mail_app, 3, now=T0 + DELAY + timedelta(seconds=5))

    assert sum(r.sent for r in results) == 3, results
    assert sum(r.claimed for r in results) == 4
    received = mail_server.wait_for(3)
    mail_server.assert_no_more(3)
    assert sorted(r.rcpt_tos[0] for r in received) == [ADA, BEN, DAN]
    (adas,) = [r for r in received if r.rcpt_tos == [ADA]]
    assert len(references(adas)) == 2
    assert all(row.sent_at is not None for row in outbox_rows())


def test_merged_receipts_list_each_event_once_in_order() -> None:
    assert receipts.merge(
        [
            {"guardian_id": 1, "school_id": 2, "events": [5, 3]},
            {"guardian_id": 1, "school_id": 2, "events": [4, 5]},
        ]
    ) == {"guardian_id": 1, "school_id": 2, "events": [3, 4, 5]}


def test_the_receipt_says_in_which_language_a_decision_was_read_when_not_english(
    world, mail_server
):
    """The language's own name: the receipt is the family's."""
    polish, english = record_many(
        [
            DecisionRequest(world.guardians[ADA], world.purpose("photos-website"), "grant",
                            world.pupils["A"], language="pl"),
            DecisionRequest(world.guardians[ADA], world.purpose("trip-videos"), "grant",
                            world.pupils["A"], language="en"),
        ],
        actor=Actor.guardian(world.guardians[ADA]), channel="web", now=T0,
    )  # fmt: skip
    [first, second] = receipts.lines(world.guardians[ADA], world.oak, [polish.seq, english.seq])
    assert (first.language, second.language) == ("pl", None)
    payload = {"guardian_id": world.guardians[ADA], "school_id": world.oak,
               "events": [polish.seq, english.seq]}  # fmt: skip
    rendered = render("receipt", payload)
    assert not isinstance(rendered, str)
    assert "Yes, you agreed (in Polski)\n" in rendered.text
    assert rendered.text.count("(in ") == 1
    assert 'Yes, you agreed <bdi lang="pl">' not in rendered.html
    assert 'Yes, you agreed (in <bdi lang="pl">Polski</bdi>)</p>' in rendered.html
