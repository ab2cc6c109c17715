"""What you told us over HTTP (portal/parent/history.py): every answer for the guardian's
children and their own, newest first, with who and the ledger reference.

The world (tests/support/world.py): at Oak, Ada and Ben have parental responsibility for
A, Gran is A's contact without it; Ada and Dan for B; Eve for C. At Elm, Ada and Fay for X.
"""

from __future__ import annotations

import re

import pytest

from tests.support.parent import events
from tests.support.web import HTMX, PLAIN, text_of
from tests.support.world import decide as record


@pytest.mark.parametrize("headers", [PLAIN, {**HTMX, "HX-Boosted": "true"}], ids=["plain", "htmx"])
def test_history_newest_first_with_who_and_references(ada, world, headers):
    p = world.oak.purposes
    a = world.oak.pupils["A"]
    record(world.ada, p["photos-website"], "grant", pupil=a)
    record(world.ben, p["photos-website"], "withdraw", pupil=a)
    record(world.ada, p["local-paper"], "grant", pupil=a, staff=world.oak.staff)
    record(world.eve, p["photos-website"], "grant", pupil=world.oak.pupils["C"])  # not Ada's
    page = ada.get("/family/history", headers=headers)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    entries = re.findall(r'<li class="portal-history__entry">(.*?)</li>', page.text, re.S)
    assert len(entries) == 3
    texts = [text_of(e) for e in entries]
    assert "School staff, from a paper form" in texts[0] and "Photos in the local paper" in texts[0]
    assert "Another person with parental responsibility, online" in texts[1]
    assert "Answer No" in texts[1]
    assert "You, online" in texts[2] and "Answer Yes" in texts[2]
    rows = {e.seq: e.hash for e in events(world)}
    for seq, text in zip((3, 2, 1), texts, strict=True):
        # The short reference a family can read out (Oak Primary: "OP"), the full hash a
        # click away.
        short = f"OP-{seq}-{rows[seq][:4].upper()}"
        assert f"Reference {short} Full fingerprint of {short} {rows[seq]}" in text
    assert "ben@example.org" not in page.text and "PupilC" not in page.text


# --- what the school did, and children who have left ---------------------------------------


def _take_down_done(world, pupil_key: str = "A", note: str = "Deleted from Mrs Smith's page"):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from portal import takedowns
    from portal.extensions import db
    from portal.models import TakedownTask

    p, pupil = world.oak.purposes["photos-website"], world.oak.pupils[pupil_key]
    record(world.ada, p, "grant", pupil=pupil)
    record(world.ada, p, "withdraw", pupil=pupil)
    [task] = db.session.scalars(select(TakedownTask).where(TakedownTask.pupil_id == pupil.id)).all()
    takedowns.mark_done(world.oak.staff.id, task.id, note,
                        now=datetime(2026, 3, 3, 10, 0, tzinfo=UTC))  # fmt: skip


def test_the_family_sees_that_the_school_removed_it_but_not_the_note(ada, signed_in, world):
    _take_down_done(world)
    page = ada.get("/family/history")
    text = text_of(page.text)
    assert "What the school did" in text
    assert "The school removed PupilA's photos on the school website on 3 March 2026." in text
    assert "Smith" not in page.text
    child = text_of(ada.get(f"/family/children/{world.oak.pupils['A'].id}").text)
    assert "The school removed PupilA's photos on the school website on 3 March 2026." in child
    assert "Smith" not in child
    # Eve (pupil C's parent) is not told about Ada's child.
    eve = text_of(signed_in("eve").get("/family/history").text)
    assert "What the school did" not in eve and "PupilA" not in eve


def test_a_child_who_left_keeps_their_history_read_only(ada, signed_in, world):
    from datetime import date

    from portal.extensions import db
    from portal.models import Pupil

    _take_down_done(world, "B")
    b = db.session.get(Pupil, world.oak.pupils["B"].id)
    b.on_roll, b.left_on = False, date(2026, 3, 4)
    db.session.commit()

    history = text_of(ada.get("/family/history").text)
    assert "For PupilB" in history  # the decisions about B are still there
    assert "The school removed PupilB's photos on the school website on 3 March 2026." in history

    home = ada.get("/family")
    text = text_of(home.text)
    left = text.split("Children who have left")[1].split("What you told us")[0]
    assert "PupilB Test" in left and "Left on 4 March 2026" in left
    assert "See what you told us about PupilB" in left
    assert "Answer for PupilB" not in text and "See or change PupilB" not in text
    # No choices for a child who left: the child's page is not there.
    assert ada.get(f"/family/children/{b.id}").status_code == 404
    # Dan also decides for B; Eve does not see B at all.
    assert "PupilB" in text_of(signed_in("dan").get("/family/history").text)
    eve = signed_in("eve")
    assert "PupilB" not in eve.get("/family/history").text
    assert "PupilB" not in eve.get("/family").text


def test_history_says_in_which_language_an_answer_was_read_when_not_english(ada, world):
    """In the language's own name, on the family's page; nothing for English."""
    p, a = world.oak.purposes, world.oak.pupils["A"]
    record(world.ada, p["photos-website"], "grant", pupil=a, language="ur")
    record(world.ada, p["local-paper"], "grant", pupil=a, language="en")
    page = ada.get("/family/history")
    entries = re.findall(r'<li class="portal-history__entry">(.*?)</li>', page.text, re.S)
    assert '<dd>Yes (in <bdi lang="ur">اردو</bdi>)</dd>' in entries[1]
    assert "<dd>Yes</dd>" in entries[0] and "(in " not in entries[0]


def test_the_objection_to_direct_marketing_reads_as_one_about_all_of_it(ada, world):
    """ "Objected to all direct marketing", never an objection to the one purpose it was
    written on; its withdrawal likewise."""
    from portal import marketing

    marketing.decide(world.ada.id, world.oak.id, "object")
    marketing.decide(world.ada.id, world.oak.id, "lift_objection")
    page = ada.get("/family/history")
    entries = [
        text_of(e)
        for e in re.findall(r'<li class="portal-history__entry">(.*?)</li>', page.text, re.S)
    ]
    assert (
        "Choice Direct marketing Answer Withdrew the objection to all direct marketing"
        in (entries[0])
    )
    assert "Choice Direct marketing Answer Objected to all direct marketing" in entries[1]
    assert "Fundraising emails" not in page.text


def test_the_history_links_each_childs_record_and_prints_as_a_document(ada, world):
    """A link to the record of each child on roll (at every school); the links, the hint and
    the fingerprints' buttons are not printed, the full fingerprint is."""
    record(world.ada, world.oak.purposes["photos-website"], "grant", pupil=world.oak.pupils["A"])
    page = ada.get("/family/history").text
    for key, school in (("A", "oak"), ("B", "oak"), ("X", "elm")):
        pupil = getattr(world, school).pupils[key]
        assert f'href="/family/children/{pupil.id}/record"' in page
    assert "A record of <bdi>PupilA</bdi>'s answers to print or keep" in page
    assert '<details class="govuk-details portal-fingerprint portal-no-print">' in page
    assert '<p class="govuk-body-s portal-print-only">Full fingerprint: <code' in page
