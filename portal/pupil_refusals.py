"""A pupil's own refusal of biometric recognition, recorded by staff.

Under the Protection of Freedoms Act 2012, section 26(5), if a pupil refuses to take part in
anything that processes their biometric information, or otherwise objects to it, the school
must not process it, whatever a parent consented to; the pupil need not put it in writing,
and their age does not matter. A member of staff (staff or admin) who hears it records it on
the pupil's record: which purpose (one following the biometric rule), whether the pupil
refuses or no longer refuses, and how they said it. The consent rules read the latest row
for the pupil and purpose (`consent.standing_refusals`): while a refusal stands, the status
is `pupil_refused` ("Not allowed: the pupil refused").

The rows are kept in `pupil_refusals`, append-only (the database refuses UPDATE and DELETE),
not in the ledger: every ledger event is a guardian's decision (`guardian_id` is required and
the projection is per guardian), so a pupil's own decision would need a new ledger format.
docs/consent-rules.md, "Biometric recognition", says what that would take and what this
choice gives up (the chain's tamper evidence).

No Flask request state; every query is scoped to the staff user's school.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from . import consent
from .database import writing
from .errors import NotFound, PortalError
from .extensions import db
from .models import (
    GuardianRule,
    Pupil,
    PupilRefusal,
    Purpose,
    RefusalAction,
    RefusalHow,
    StaffUser,
)
from .purposes import lookup as purposes_lookup
from .types import utcnow

ACTIONS = tuple(action.value for action in RefusalAction)
HOWS = tuple(how.value for how in RefusalHow)


class RefusalProblem(PortalError):
    """A refusal the portal does not record; `field` is the form field it is about."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Entry:
    """One row of a pupil's refusals, for the record."""

    purpose: str
    action: str
    how: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class Refusals:
    pupil: Pupil
    purposes: list[Purpose]  # the school's active purposes under the biometric rule
    standing: dict[int, consent.Refusal]  # the refusals that stand, by purpose id
    history: list[Entry]  # every row about the pupil, newest first

    def refused(self, purpose_id: int) -> bool:
        return purpose_id in self.standing


def _pupil(school_id: int, pupil_id: int) -> Pupil:
    pupil = db.session.scalars(
        select(Pupil).where(Pupil.id == pupil_id, Pupil.school_id == school_id)
    ).first()
    if pupil is None:
        raise NotFound("no such pupil")
    return pupil


def biometric_purposes(school_id: int) -> list[Purpose]:
    """The school's active purposes that follow the biometric rule, in page order."""
    return purposes_lookup.active_where(school_id, Purpose.guardian_rule == GuardianRule.BIOMETRIC)


def refusals(school_id: int, pupil_id: int) -> Refusals:
    """A pupil of this school with the biometric purposes, the refusals that stand and every
    refusal recorded. NotFound for another school's pupil. Three queries."""
    pupil = _pupil(school_id, pupil_id)
    purposes = biometric_purposes(school_id)
    standing = consent.standing_refusals(school_id, [pupil.id], purposes)
    rows = db.session.execute(
        select(
            PupilRefusal.action,
            PupilRefusal.how,
            PupilRefusal.recorded_at,
            Purpose.title,
            StaffUser.name,
            StaffUser.email,
        )
        .join(Purpose, Purpose.id == PupilRefusal.purpose_id)
        .join(StaffUser, StaffUser.id == PupilRefusal.recorded_by_id)
        .where(PupilRefusal.school_id == school_id, PupilRefusal.pupil_id == pupil.id)
        .order_by(PupilRefusal.id.desc())
    )
    return Refusals(
        pupil=pupil,
        purposes=purposes,
        standing={purpose_id: found for (_, purpose_id), found in standing.items()},
        history=[
            Entry(row.title, row.action, row.how, row.name or row.email, row.recorded_at)
            for row in rows
        ],
    )


def record(
    staff: StaffUser,
    pupil_id: int,
    purpose_id: int,
    action: str,
    how: str,
    *,
    now: datetime | None = None,
) -> PupilRefusal | None:
    """Record what the pupil said about a biometric purpose of the staff user's school, in
    one transaction. NotFound for another school's pupil or purpose; RefusalProblem for a
    purpose that does not follow the biometric rule, an unknown action or way. Recording
    what already stands (a refusal twice) writes nothing and returns None."""
    now = now or utcnow()
    school_id = staff.school_id
    if action not in ACTIONS:
        raise RefusalProblem("action", "Choose what the pupil said")
    if how not in HOWS:
        raise RefusalProblem("how", "Choose how the pupil said it")
    with writing() as session:
        pupil = _pupil(school_id, pupil_id)
        purpose = session.scalars(
            select(Purpose).where(Purpose.id == purpose_id, Purpose.school_id == school_id)
        ).first()
        if purpose is None:
            raise NotFound("no such purpose at this school")
        if purpose.guardian_rule != GuardianRule.BIOMETRIC or not purpose.active:
            raise RefusalProblem(
                "purpose",
                "Choose biometric recognition: a pupil's own refusal is recorded only for it",
            )
        standing = consent.standing_refusals(school_id, [pupil.id], [purpose])
        refused = (pupil.id, purpose.id) in standing
        if refused == (action == RefusalAction.REFUSE):
            return None
        row = PupilRefusal(
            school_id=school_id,
            pupil_id=pupil.id,
            purpose_id=purpose.id,
            action=action,
            how=how,
            recorded_by_id=staff.id,
            recorded_at=now,
        )
        session.add(row)
        session.flush()
    return row
