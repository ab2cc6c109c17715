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
        assert f"Reference {seq}-{rows[seq][:12]}" in text
    assert "ben@example.org" not in page.text and "PupilC" not in page.text
