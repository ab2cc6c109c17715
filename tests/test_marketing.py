"""A guardian's marketing choices (portal/marketing.py), on the shared world.

Oak Primary: pupil A (Ada and Ben with parental responsibility, Gran without), pupil B (Ada
and Dan), pupil C (Eve). Elm Academy: pupil X (Ada and Fay).
"""

from __future__ import annotations

import pytest

from portal import ledger, marketing, purposes
from portal.consent import Status
from portal.errors import NotFound
from tests.support.factories import PURPOSES_OF_EVERY_KIND
from tests.support.world import T0, World, snapshot

SECOND_MARKETING = """
[[purposes]]
key = "newsletter"
title = "The school's fundraising newsletter"
description = "A termly email about what the fundraising paid for."
choice = "consent"
lawful_basis = "consent"
scope = "guardian"
marketing = true
"""


def test_marketing_objection_blocks_consent_and_lifting_restores_it(world: World) -> None:
    oak = world.oak.id
    purposes.load(world.oak.school, PURPOSES_OF_EVERY_KIND + SECOND_MARKETING)
    page = marketing.page(world.ada.id, oak)
    assert [c.purpose.key for c in page.choices] == ["marketing-emails", "newsletter"]
    assert {c.status for c in page.choices} == {Status.NO_RESPONSE}
    assert not page.objection_stands

    emails = page.choices[0].purpose.id
    [granted] = marketing.decide(world.ada.id, oak, "grant", purpose_id=emails, now=T0)
    assert granted.pupil_id is None and granted.purpose_id == emails
    page = marketing.page(world.ada.id, oak)
    assert [c.status for c in page.choices] == [Status.GRANTED, Status.NO_RESPONSE]
    assert page.choices[0].answer == "grant"

    objected = marketing.decide(world.ada.id, oak, "object")
    assert len(objected) == 2 and [e.seq for e in objected] == [
        objected[0].seq,
        objected[0].seq + 1,
    ]
    page = marketing.page(world.ada.id, oak)
    assert page.objection_stands and page.objected_at is not None
    assert {c.status for c in page.choices} == {Status.OBJECTED}
    assert page.choices[0].answer == "grant"  # the consent is kept, but does not count

    lifted = marketing.decide(world.ada.id, oak, "lift_objection")
    assert len(lifted) == 2
    page = marketing.page(world.ada.id, oak)
    assert not page.objection_stands
    assert [c.status for c in page.choices] == [Status.GRANTED, Status.NO_RESPONSE]
    assert marketing.decide(world.ada.id, oak, "lift_objection") == []


def test_marketing_needs_a_link_to_the_school_but_not_responsibility(world: World) -> None:
    page = marketing.page(world.gran.id, world.oak.id)
    assert [c.purpose.key for c in page.choices] == ["marketing-emails"]
    assert len(marketing.decide(world.gran.id, world.oak.id, "grant")) == 1
    before = snapshot(world.oak.id, world.elm.id)
    with pytest.raises(NotFound):
        marketing.page(world.eve.id, world.elm.id)
    with pytest.raises(NotFound):
        marketing.decide(world.eve.id, world.elm.id, "object")
    with pytest.raises(NotFound):
        marketing.decide(
            world.ada.id,
            world.oak.id,
            "grant",
            purpose_id=world.elm.purposes["marketing-emails"].id,
        )
    with pytest.raises(ledger.LedgerError):
        marketing.decide(world.ada.id, world.oak.id, "maybe")
    assert snapshot(world.oak.id, world.elm.id) == before


def test_each_marketing_event_records_the_language_of_its_own_wording(world: World) -> None:
    oak = world.oak.id
    purposes.load(world.oak.school, PURPOSES_OF_EVERY_KIND + SECOND_MARKETING)
    fundraising = world.oak.purposes["marketing-emails"]
    purposes.translate(oak, fundraising.id, version=1, language="so", title="Iimaylo",
                       description="Iimaylo ku saabsan lacag ururinta.",
                       staff=world.oak.staff)  # fmt: skip
    # An objection covers every marketing purpose: each event says what its wording was in.
    events = marketing.decide(world.ada.id, oak, "object", language="so")
    assert {(e.purpose_id == fundraising.id, e.language) for e in events} == {
        (True, "so"), (False, "en"),
    }  # fmt: skip
    assert [e.language for e in marketing.decide(world.ada.id, oak, "lift_objection")] == [
        "en", "en",
    ]  # fmt: skip
    assert ledger.verify().ok


def test_a_yes_while_the_objection_stands_is_refused_and_records_nothing(world: World) -> None:
    """While the objection to direct marketing stands, a yes could not count: `decide`
    refuses it (ObjectionStands, a LedgerError) and writes nothing, on one purpose or on
    all; a no is still recorded. An objection kept on a retired marketing purpose stands
    too. Once the person lifts it, a yes is recorded again."""
    oak = world.oak.id
    emails = world.oak.purposes["marketing-emails"].id
    marketing.decide(world.ada.id, oak, "object", now=T0)
    before = snapshot(oak)
    for purpose_id in (emails, None):
        with pytest.raises(marketing.ObjectionStands):
            marketing.decide(world.ada.id, oak, "grant", purpose_id=purpose_id)
    assert snapshot(oak) == before
    assert issubclass(marketing.ObjectionStands, ledger.LedgerError)
    [withdrawn] = marketing.decide(world.ada.id, oak, "withdraw", purpose_id=emails)
    assert withdrawn.decision == "withdraw"

    # The purpose objected to is retired, a new one takes its place: the objection stands.
    replaced = PURPOSES_OF_EVERY_KIND.replace('key = "marketing-emails"', 'key = "news-emails"')
    purposes.load(world.oak.school, replaced)
    page = marketing.page(world.ada.id, oak)
    assert [c.purpose.key for c in page.choices] == ["news-emails"] and page.objection_stands
    with pytest.raises(marketing.ObjectionStands):
        marketing.decide(world.ada.id, oak, "grant")

    marketing.decide(world.ada.id, oak, "lift_objection")
    [granted] = marketing.decide(world.ada.id, oak, "grant")
    assert granted.decision == "grant"
    assert marketing.page(world.ada.id, oak).choices[0].status == Status.GRANTED
