"""A record to keep over HTTP (portal/parent/record.py): one child's standing answers on a page
to print, with who, when, the wording answered and the reference; the school's contacts.

The world (tests/support/world.py): at Oak, Ada and Ben have parental responsibility for
A, Gran is A's contact without it; Ada and Dan for B; Eve for C. At Elm, Ada and Fay for X.
"""

from __future__ import annotations

import re

from tests.support.parent import events
from tests.support.web import text_of
from tests.support.world import decide as record


def _sections(html: str) -> list[str]:
    return [
        text_of(s)
        for s in re.findall(r'<section class="portal-record__purpose".*?</section>', html, re.S)
    ]


def test_the_record_shows_each_answer_with_who_when_wording_and_reference(ada, world):
    p, a = world.oak.purposes, world.oak.pupils["A"]
    record(world.ada, p["photos-website"], "grant", pupil=a)
    record(world.ben, p["local-paper"], "withdraw", pupil=a)
    page = ada.get(f"/family/children/{a.id}/record")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = text_of(page.text)
    assert "A record of PupilA Test's answers" in text
    rows = {row.seq: row for row in events(world)}
    website, paper, *_ = _sections(page.text)
    assert "Photos on the school website Where it stands: Yes: the school may do this." in website
    short = f"OP-1-{rows[1].hash[:4].upper()}"
    assert "You, online Answer Yes When" in website
    assert (
        "The wording answered (version 1) Photos on the school website "
        "Photos of school life on the school website."
    ) in website
    assert f"Reference {short} Full fingerprint {rows[1].hash}" in website
    assert "Where it stands: No: the school does not do this." in paper
    assert "Another person with parental responsibility, online Answer No" in paper
    # Ben is never named; Gran and other families are not there at all.
    assert "ben@example.org" not in page.text and "ben Test" not in page.text
    # The school's contacts, and the way to report something missing or wrong.
    assert "Contact the school Email: office@oak.example" in text
    assert 'href="/family/reports/new?school=oak-primary"' in page.text


def test_nobody_else_sees_the_record(ada, signed_in, world):
    """Another family's child, a child without parental responsibility, an unknown id: 404."""
    a, c = world.oak.pupils["A"], world.oak.pupils["C"]
    assert ada.get(f"/family/children/{c.id}/record").status_code == 404
    assert signed_in("gran").get(f"/family/children/{a.id}/record").status_code == 404
    assert ada.get("/family/children/999999/record").status_code == 404


def test_an_unanswered_child_says_so(ada, world):
    page = ada.get(f"/family/children/{world.oak.pupils['B'].id}/record")
    sections = _sections(page.text)
    assert len(sections) == 4
    assert all("Nobody has given an answer yet." in s for s in sections[:3])
    assert "Nobody has objected." in sections[3]
    assert "Where it stands: Not answered: the school treats this as no." in sections[0]
    assert "Where it stands: No objection: the school does this." in sections[3]


def test_the_record_is_translated(signed_in, world):
    """Every word of the record a family reads is translated (the pseudo-locale), with answers
    of every kind: another person's no, a yes that has run out, an objection under review, a
    yes to older wording, an objection the school did not uphold, one recorded by staff."""
    from tests.parent.test_translated import (
        _a_family_with_every_kind_of_answer,
        assert_translated,
        in_pseudo,
        world_data,
    )

    _a_family_with_every_kind_of_answer(world)
    record(world.ada, world.oak.purposes["trip-videos"], "withdraw",
           pupil=world.oak.pupils["A"], staff=world.oak.staff, channel="phone")  # fmt: skip
    ada = in_pseudo(signed_in("ada"))
    for key in ("A", "B"):
        page = ada.get(f"/family/children/{world.oak.pupils[key].id}/record")
        assert_translated(page.text, [*world_data(), "office@oak.example"])  # the school's
        assert "·" in page.text and "portal-record__purpose" in page.text
