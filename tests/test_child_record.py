"""A record to keep (portal/child_record.py), on the shared world.

Oak Primary: pupil A (Ada and Ben with parental responsibility, Gran without), pupil B (Ada
and Dan), pupil C (Eve). Elm Academy: pupil X (Ada and Fay).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal import child_record, purposes
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Pupil
from tests.support.factories import PURPOSES_OF_EVERY_KIND
from tests.support.world import T0, World, event_rows
from tests.support.world import decide as record


def _by_key(found: child_record.ChildRecord) -> dict[str, child_record.PurposeRecord]:
    return {item.purpose.key: item for item in found.purposes}


def test_each_purpose_has_where_it_stands_and_every_answer_that_counts(world: World) -> None:
    """Where each purpose stands (everyone with parental responsibility counted) and each
    answer that counts: what, who ("you" or "another person with parental responsibility",
    never a name), when, the exact wording answered (the version in the ledger, even after the
    school reworded it) and the reference with the full hash."""
    p, a = world.oak.purposes, world.oak.pupils["A"]
    record(world.ada, p["photos-website"], "grant", pupil=a, now=T0)
    record(world.ben, p["local-paper"], "withdraw", pupil=a, now=T0 + timedelta(minutes=1))
    record(world.ada, p["trip-videos"], "grant", pupil=a, staff=world.oak.staff,
           now=T0 + timedelta(minutes=2))  # fmt: skip
    record(world.ada, p["class-photos"], "object", pupil=a, now=T0 + timedelta(minutes=3))
    record(world.eve, p["photos-website"], "grant", pupil=world.oak.pupils["C"], now=T0)
    # The school rewords the website photos after Ada's yes: her yes was to version 1.
    purposes.load(
        world.oak.school,
        PURPOSES_OF_EVERY_KIND.replace(
            "Photos of school life on the school website.",
            "Photos of school life on the school website and its blog.",
        ),
    )

    found = child_record.child_record(world.ada.id, a.id, now=T0 + timedelta(days=1))
    items = _by_key(found)
    # Every purpose of the child's page that offers a choice, in the page's order; not the
    # census (information only), nor the person's own choices (marketing).
    assert list(items) == ["photos-website", "local-paper", "trip-videos", "class-photos"]
    assert {key: str(item.status) for key, item in items.items()} == {
        "photos-website": "needs_renewal",
        "local-paper": "withdrawn",
        "trip-videos": "granted",
        "class-photos": "under_review",
    }
    assert items["local-paper"].standing == "No: the school does not do this."

    rows = {row.seq: row for row in event_rows(world.oak.id)}
    [yes] = items["photos-website"].answers
    assert (yes.yours, yes.decision, yes.version, yes.lapsed) == (True, "grant", 1, True)
    assert (yes.title, yes.description) == (
        "Photos on the school website",
        "Photos of school life on the school website.",
    )
    assert yes.who == "you, online" and yes.decided_at == T0
    assert yes.hash == rows[1].hash and yes.reference == f"OP-1-{rows[1].hash[:4].upper()}"
    [no] = items["local-paper"].answers
    assert (no.yours, no.who) == (False, "another person with parental responsibility, online")
    [paper] = items["trip-videos"].answers
    assert paper.who == "you, recorded by school staff, from a paper form"
    [objection] = items["class-photos"].answers
    assert (objection.decision, objection.yours) == ("object", True)

    # Ben reads the same record with the persons the other way round.
    bens = _by_key(child_record.child_record(world.ben.id, a.id, now=T0 + timedelta(days=1)))
    assert [(x.yours, x.who) for x in bens["photos-website"].answers] == [
        (False, "another person with parental responsibility, online")
    ]
    # Nothing names, or identifies, another person.
    text = repr(found) + repr(bens)
    for guardian in (world.ada, world.ben, world.eve):
        assert guardian.email not in text
    assert "guardian_id" not in text


def test_the_wording_is_the_one_read_in_the_language_it_was_read_in(world: World) -> None:
    """An answer given to the school's Welsh wording shows that wording, marked as Welsh."""
    p, a = world.oak.purposes, world.oak.pupils["A"]
    purposes.translate(world.oak.id, p["photos-website"].id, version=1, language="cy",
                       title="Lluniau ar wefan yr ysgol",
                       description="Lluniau o fywyd ysgol ar wefan yr ysgol.",
                       staff=world.oak.staff)  # fmt: skip
    record(world.ada, p["photos-website"], "grant", pupil=a, language="cy")
    record(world.ada, p["local-paper"], "grant", pupil=a, language="cy")  # no translation

    items = _by_key(child_record.child_record(world.ada.id, a.id, language="cy"))
    [welsh] = items["photos-website"].answers
    assert (welsh.title, welsh.description, welsh.language) == (
        "Lluniau ar wefan yr ysgol",
        "Lluniau o fywyd ysgol ar wefan yr ysgol.",
        "cy",
    )
    [english] = items["local-paper"].answers
    assert (english.title, english.language) == ("Photos in the local paper", "en")
    assert items["photos-website"].wording.title == "Lluniau ar wefan yr ysgol"


def test_only_a_child_the_person_decides_for_has_a_record(world: World) -> None:
    """Another family's child, a child they have no parental responsibility for, and a child
    who has left: NotFound, as for the child's page."""
    a, c = world.oak.pupils["A"], world.oak.pupils["C"]
    with pytest.raises(NotFound):
        child_record.child_record(world.ada.id, c.id)
    with pytest.raises(NotFound):
        child_record.child_record(world.gran.id, a.id)
    pupil = db.session.get(Pupil, a.id)
    pupil.on_roll, pupil.left_on = False, date(2026, 3, 4)
    db.session.commit()
    with pytest.raises(NotFound):
        child_record.child_record(world.ada.id, a.id)
