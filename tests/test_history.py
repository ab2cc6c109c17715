"""What you told us (portal/history.py), on the shared world.

Oak Primary: pupil A (Ada and Ben with parental responsibility, Gran without), pupil B (Ada
and Dan), pupil C (Eve). Elm Academy: pupil X (Ada and Fay).
"""

from __future__ import annotations

from datetime import timedelta

from portal import choices, history, marketing
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_purpose_set
from tests.support.world import T0, World
from tests.support.world import decide as record

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


def test_history_wording_and_newest_first(world: World) -> None:
    p = world.oak.purposes
    a, b, c = world.oak.pupils["A"], world.oak.pupils["B"], world.oak.pupils["C"]
    choices.decide(world.ada.id, [a.id], p["photos-website"].id, "grant", now=T0)
    record(world.ben, p["photos-website"], "withdraw", pupil=a, now=T0 + timedelta(minutes=1))
    record(
        world.dan, p["trip-videos"], "grant", pupil=b, staff=world.oak.staff,
        now=T0 + timedelta(minutes=2),
    )  # fmt: skip
    record(
        world.ada, p["local-paper"], "grant", pupil=b, staff=world.oak.staff, channel="phone",
        now=T0 + timedelta(minutes=3),
    )  # fmt: skip
    marketing.decide(world.ada.id, world.oak.id, "object", now=T0 + timedelta(minutes=4))
    # Not Ada's: Eve's child, and Ben's own marketing choice.
    record(world.eve, p["photos-website"], "grant", pupil=c, now=T0 + timedelta(minutes=5))
    record(world.ben, p["marketing-emails"], "grant", now=T0 + timedelta(minutes=6))

    entries = history.entries(world.ada.id)
    assert [(e.child, e.purpose, e.decision, e.channel, e.who, e.yours) for e in entries] == [
        (None, "Direct marketing", "object", "web", "you", True),
        ("PupilB", "Photos in the local paper", "grant", "phone", "school staff, by phone", True),
        (
            "PupilB",
            "Videos of school trips",
            "grant",
            "paper",
            "school staff, from a paper form",
            False,
        ),
        (
            "PupilA",
            "Photos on the school website",
            "withdraw",
            "web",
            "another person with parental responsibility",
            False,
        ),
        ("PupilA", "Photos on the school website", "grant", "web", "you", True),
    ]
    times = [e.occurred_at for e in entries]
    assert times == sorted(times, reverse=True)
    assert {e.school for e in entries} == {"Oak Primary School"}
    for entry in entries:
        assert len(entry.hash) == 64  # in full, for "Full fingerprint"
        assert entry.reference == f"OP-{entry.seq}-{entry.hash[:4].upper()}"
    assert len(history.entries(world.ada.id, limit=2)) == 2

    # Ben sees Ada's decision as another person's, and not Ada's marketing choice.
    bens = history.entries(world.ben.id)
    assert [(e.child, e.who) for e in bens] == [
        (None, "you"),
        ("PupilA", "you"),
        ("PupilA", "another person with parental responsibility"),
    ]
    text = repr(bens)
    assert world.ada.email not in text and "'ada'" not in text


def test_an_objection_to_direct_marketing_is_one_entry_about_all_of_it(world: World) -> None:
    """Objecting writes one event per marketing purpose: the family reads one entry, about all
    of the school's direct marketing (never one purpose), with each event's reference; the
    withdrawal likewise. A yes or no to one marketing purpose stays about that purpose."""
    make_purpose_set(world.oak.school, text=PURPOSES_OF_EVERY_KIND + NEWSLETTER)
    marketing.decide(world.ada.id, world.oak.id, "grant", now=T0)
    marketing.decide(world.ada.id, world.oak.id, "object", now=T0 + timedelta(minutes=1))
    marketing.decide(world.ada.id, world.oak.id, "lift_objection", now=T0 + timedelta(minutes=2))

    entries = history.entries(world.ada.id)
    assert [(e.purpose, e.decision, e.words, len(e.witnesses)) for e in entries] == [
        ("Direct marketing", "lift_objection", "Withdrew the objection to all direct marketing", 2),
        ("Direct marketing", "object", "Objected to all direct marketing", 2),
        ("The school newsletter by email", "grant", None, 1),
        ("Fundraising emails", "grant", None, 1),
    ]
    # The objection's two events, newest first, each with its reference, full hash and the
    # address of its proof (leaf = seq - 1).
    objection = entries[1]
    assert [
        (w.reference.split("-")[1], len(w.hash), w.leaf, w.proof_path.split("?")[0])
        for w in objection.witnesses
    ] == [
        ("4", 64, 3, "/schools/oak-primary/ledger/proof/3"),
        ("3", 64, 2, "/schools/oak-primary/ledger/proof/2"),
    ]
