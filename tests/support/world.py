"""The shared test world: two schools with a purpose of every kind, and helpers that read the
ledger as an outside program would.

`world` is Oak Primary (three pupils, five guardians, one without parental responsibility,
one staff user) beside Elm Academy (one pupil, whose guardian also has two children at Oak;
one staff user). Helpers read the database directly, with SQL, as an outside program would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from portal import ledger
from portal.extensions import db
from portal.models import Guardian, Pupil, Purpose, School, StaffUser
from tests.support.factories import (
    make_families,
    make_notice,
    make_purpose_set,
    make_school,
    make_staff,
)

# Oak: pupil A has two guardians with parental responsibility and one without (a
# grandparent); pupil B shares a parent with A; pupil C has one parent.
OAK_FAMILIES = {
    "A": [("ada@example.org", True), ("ben@example.org", True), ("gran@example.org", False)],
    "B": [("ada@example.org", True), ("dan@example.org", True)],
    "C": [("eve@example.org", True)],
}
# Elm: Ada has a child here too.
ELM_FAMILIES = {"X": [("ada@example.org", True), ("fay@example.org", True)]}


@dataclass
class SchoolSetup:
    school: School
    purposes: dict[str, Purpose]
    pupils: dict[str, Pupil]
    staff: StaffUser

    @property
    def id(self) -> int:
        return self.school.id


@dataclass
class World:
    oak: SchoolSetup
    elm: SchoolSetup
    guardians: dict[str, Guardian]  # by the local part of the email: ada, ben, gran, ...

    def __getattr__(self, name: str) -> Any:
        # world.ada, world.gran, ...
        guardians = self.__dict__.get("guardians", {})
        if name in guardians:
            return guardians[name]
        raise AttributeError(name)


def build_school(slug: str, name: str, families: dict, staff_email: str) -> SchoolSetup:
    school = make_school(slug=slug, name=name, contact_email=staff_email)
    make_notice(school)
    purposes = make_purpose_set(school)
    pupils = make_families(school, families=families)
    staff = make_staff(school, email=staff_email)
    return SchoolSetup(school, purposes, pupils, staff)


def build_world() -> World:
    """Oak Primary and Elm Academy, built through the domain modules (needs an app context)."""
    oak = build_school("oak-primary", "Oak Primary School", OAK_FAMILIES, "office@oak.example")
    elm = build_school("elm-academy", "Elm Academy", ELM_FAMILIES, "office@elm.example")
    guardians = {g.email.split("@")[0]: g for g in db.session.scalars(select(Guardian))}
    return World(oak, elm, guardians)


T0 = datetime(2025, 10, 6, 9, 30, tzinfo=UTC)


# --- reading the database as it is ---------------------------------------------------------


def event_rows(school_id: int) -> list[Any]:
    return list(
        db.session.execute(
            text(
                "SELECT seq, occurred_at, actor_type, actor_id, guardian_id, pupil_id, purpose_id,"
                " purpose_version, notice_version, decision, channel, note, prev_hash, hash"
                " FROM consent_events WHERE school_id = :s ORDER BY seq"
            ),
            {"s": school_id},
        )
    )


def projection_rows(school_id: int) -> set[tuple[Any, ...]]:
    return {
        tuple(row)
        for row in db.session.execute(
            text(
                "SELECT guardian_id, pupil_id, purpose_id, axis, decision, purpose_version,"
                " notice_version, channel, actor_type, seq FROM current_decisions"
                " WHERE school_id = :s"
            ),
            {"s": school_id},
        )
    }


def head_row(school_id: int) -> tuple[int, str]:
    row = db.session.execute(
        text("SELECT seq, hash FROM ledger_heads WHERE school_id = :s"), {"s": school_id}
    ).one()
    return (row.seq, row.hash)


def snapshot(*school_ids: int) -> tuple[Any, ...]:
    """Everything the ledger writes, for "nothing was written" checks."""
    total = db.session.scalar(text("SELECT count(*) FROM consent_events"))
    projections = db.session.scalar(text("SELECT count(*) FROM current_decisions"))
    return (
        total,
        projections,
        tuple((len(event_rows(s)), frozenset(projection_rows(s)), head_row(s)) for s in school_ids),
    )


def decide(
    guardian: Guardian | int,
    purpose: Purpose | int,
    decision: str,
    *,
    pupil: Pupil | int | None = None,
    staff: StaffUser | int | None = None,
    channel: str | None = None,
    **kw: Any,
):
    """Record a decision: the guardian's own, on the web; or, given `staff`, one that a staff
    user took down (on paper unless `channel` says otherwise)."""
    if staff is None:
        actor, channel = ledger.Actor.guardian(guardian), channel or "web"
    else:
        actor, channel = ledger.Actor.staff(staff), channel or "paper"
    return ledger.record(
        actor=actor,
        guardian=guardian,
        pupil=pupil,
        purpose=purpose,
        decision=decision,
        channel=channel,
        **kw,
    )
