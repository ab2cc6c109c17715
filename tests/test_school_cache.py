"""A school's purposes and classes kept in each app process for one generation
(portal/school_cache.py): the database moves the generation on by itself (triggers,
migration 0017), and every app server sees a change at its next request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from portal import photo_check, purposes, school_cache
from portal.extensions import db
from portal.models import Pupil, School
from tests.support.factories import PURPOSES_OF_EVERY_KIND
from tests.support.web import sign_in_as
from tests.support.world import build_world


def generation(school_id: int) -> int:
    return int(db.session.scalar(select(School.generation).where(School.id == school_id)))


def run(statement: str, **params: Any) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()


def test_the_database_moves_the_generation_on_when_purposes_or_classes_change(world):
    oak, elm = world.oak, world.elm
    pupil = oak.pupils["A"]
    steps = [
        ("a purpose reworded", "UPDATE purposes SET title = 'New' WHERE id = :id",
         {"id": oak.purposes["photos-website"].id}),
        ("a pupil changes class", "UPDATE pupils SET class_name = '4 Ash' WHERE id = :id",
         {"id": pupil.id}),
        ("a pupil leaves",
         "UPDATE pupils SET on_roll = false, left_on = '2026-07-20' WHERE id = :id",
         {"id": pupil.id}),
    ]  # fmt: skip
    for what, statement, params in steps:
        before, elm_before = generation(oak.id), generation(elm.id)
        run(statement, **params)
        assert generation(oak.id) > before, what
        assert generation(elm.id) == elm_before, what  # another school's stays
    # What does not change the purposes or classes leaves it.
    before = generation(oak.id)
    run("UPDATE pupils SET forename = 'Ann' WHERE id = :id", id=pupil.id)
    run("UPDATE pupils SET class_name = class_name WHERE id = :id", id=pupil.id)
    assert generation(oak.id) == before


def test_a_kept_entry_is_used_until_the_generation_moves_on(world):
    oak = world.oak
    first = school_cache.active_purposes(oak.id, generation(oak.id))
    again = school_cache.active_purposes(oak.id, generation(oak.id))
    assert again is first  # kept: no query
    purposes.load(
        oak.school, PURPOSES_OF_EVERY_KIND.replace("Photos on the school website", "Photos online")
    )
    fresh = school_cache.active_purposes(oak.id, generation(oak.id))
    assert fresh is not first
    titles = {p.key: p.title for p in fresh}
    assert titles["photos-website"] == "Photos online"
    # Kept purposes belong to no session: a rollback cannot expire them.
    db.session.rollback()
    assert [p.title for p in fresh]
    options = photo_check.options(oak.id, generation(oak.id))
    assert "Photos online" in [p.title for p in options.purposes]


def test_a_change_made_through_one_app_server_is_seen_by_another(make_app):
    """Two apps on one database, as two app servers: each keeps its own entries."""
    first, second = make_app(), make_app()
    with first.app_context():
        world = build_world()
        pupil_id = world.oak.pupils["A"].id
        purpose_id = world.oak.purposes["photos-website"].id
        db.session.remove()
    client = first.test_client()
    with first.app_context():
        sign_in_as(client, "ada@example.org")
    page = client.get(f"/family/children/{pupil_id}")
    assert "Photos on the school website" in page.text
    with second.app_context():
        run("UPDATE purposes SET title = 'Photos of school life' WHERE id = :id", id=purpose_id)
        db.session.remove()
    page = client.get(f"/family/children/{pupil_id}")
    assert "Photos of school life" in page.text
    assert "Photos on the school website" not in page.text


def test_classes_are_kept_for_the_generation_too(world):
    oak = world.oak
    before = school_cache.groups(oak.id, generation(oak.id))
    pupil = db.session.get(Pupil, oak.pupils["A"].id)
    assert pupil is not None
    pupil.class_name = "6 Yew"
    db.session.commit()
    after = school_cache.groups(oak.id, generation(oak.id))
    assert "6 Yew" in after.classes and "6 Yew" not in before.classes
