"""Recording many answers at once: the cells of a class grid, or one guardian's whole slip on
a pupil's record. Each changed cell is one ledger event whose actor is the staff user who
took it down, all in one transaction; a cell whose answer is already the guardian's standing
one records nothing (the same rule as a parent's own page, `choices.decide`).

Nothing is written when anything is wrong: every problem is named by its cell (the form
field, `grid.cell_key`), so that the page shows it beside the cell and the office can fix it
and send the grid again. The consent rules apply as anywhere else (docs/consent-rules.md):
only a guardian with parental responsibility answers for a child, a purpose no longer in use
takes no answer, and a yes to marketing does not count while the person objects to all
direct marketing (so it is refused here with the reason, not recorded).

A grid is read at a point of the school's ledger (`Grid.as_of`). A cell changed on the form
whose answer was changed by someone else after that point (the parent online, another member
of staff) is a problem, not an overwrite: the slip may be older than that answer. Under the
ledger's lock the same is checked again, so that a change that lands between the check and
the write is not overwritten either (it is reported as not recorded).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select

from .. import consent, ledger
from ..errors import NotFound, PortalError
from ..extensions import db
from ..ledger import Actor, DecisionRequest
from ..models import (
    Choice,
    ConsentEvent,
    CurrentDecision,
    Decision,
    DecisionAxis,
    GuardianLink,
    Pupil,
    Purpose,
    SchoolContact,
    Scope,
    StaffUser,
)
from ..queries import deciding_link
from ..types import utcnow
from .grid import CONSENT_CHOICES, OBJECTION_CHOICES, UNCHANGED

MAX_NOTE = 1000
STAFF_CHANNELS = ("paper", "phone", "email")
# A cell's form field: c-PUPIL-GUARDIAN-PURPOSE (a choice for a child) or
# p-GUARDIAN-PURPOSE (a choice for the person themself), as `grid.cell_key` writes them.
KEY = re.compile(r"c-([0-9]{1,10})-([0-9]{1,10})-([0-9]{1,10})|p-([0-9]{1,10})-([0-9]{1,10})")


def is_cell(name: str) -> bool:
    """Whether a form field's name is a cell's."""
    return KEY.fullmatch(name) is not None


class SlipProblem(PortalError):
    """Answers that cannot be recorded as given: `problems` maps each cell's key (or `note`,
    `channel`) to what is wrong with it. Nothing was written."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True)
class Change:
    key: str
    pupil_id: int | None  # None: a choice for the person themself
    guardian_id: int
    purpose_id: int
    decision: str


@dataclass(frozen=True)
class Recorded:
    events: list[ConsentEvent]
    unchanged: int  # cells whose answer was already the standing one: nothing recorded
    # Cells not recorded because their answer changed while these were being written.
    meanwhile: list[Change] = field(default_factory=list)
    pupils: int = 0  # how many children the events are about

    @property
    def changed(self) -> int:
        return len(self.events)


def same_answer(
    purpose: Purpose, decision: str, row: ledger.StandingDecision | None, at: datetime
) -> bool:
    """A slip's answer that is already the guardian's standing one changes nothing: the same
    answer again (unless a yes that needs renewing: that is the renewal), an objection that
    stands (made, or upheld by the school), and the lifting of an objection never made."""
    if row is None:
        return decision == Decision.LIFT_OBJECTION
    if decision == Decision.OBJECT and row.decision in {Decision.OBJECT, Decision.UPHELD}:
        return True
    if row.decision != decision:
        return False
    if decision == Decision.GRANT:
        return consent.grant_is_current(purpose, consent.Fact.of(row), at)
    return True


def _parse(key: str, decision: str) -> Change:
    match = KEY.fullmatch(key)
    if match is None:
        raise NotFound("no such cell")
    pupil, guardian, purpose, person, person_purpose = match.groups()
    if pupil is not None:
        return Change(key, int(pupil), int(guardian), int(purpose), decision)
    return Change(key, None, int(person), int(person_purpose), decision)


def record_answers(
    staff_user_id: int,
    answers: Mapping[str, str],
    *,
    as_of: int,
    channel: str = "paper",
    note: str | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Record the cells of a grid or a slip (`answers`: each cell's key and its value, a
    decision or `grid.UNCHANGED`) as ledger events by the staff user, at their school, in
    one transaction. NotFound (nothing written) for a pupil, guardian or purpose that is not
    the school's; SlipProblem for answers that cannot be recorded as given; LedgerError for
    anything else the ledger refuses.
    """
    staff = db.session.get(StaffUser, staff_user_id)
    if staff is None or not staff.active:
        raise NotFound("no such staff user")
    school_id = staff.school_id
    changes = [_parse(key, value) for key, value in answers.items() if value != UNCHANGED]
    problems: dict[str, str] = {}
    if channel not in STAFF_CHANNELS:
        problems["channel"] = "Choose how the answers were given: paper, phone or email"
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        problems["note"] = f"The note must be {MAX_NOTE} characters or fewer"
    if not changes:
        if problems:
            raise SlipProblem(problems)
        return Recorded([], len(answers))

    facts = _Facts.read(school_id, changes)
    at = now or utcnow()
    to_record: list[Change] = []
    unchanged = len(answers) - len(changes)
    for change in changes:
        problem = facts.problem(change)
        if problem is not None:
            problems[change.key] = problem
            continue
        purpose = facts.purposes[change.purpose_id]
        row = facts.standing(change)
        if same_answer(purpose, change.decision, row, at):
            unchanged += 1
        elif row is not None and row.seq > as_of:
            problems[change.key] = facts.changed_meanwhile(change, row)
        else:
            to_record.append(change)
    if problems:
        raise SlipProblem(problems)
    if not to_record:
        return Recorded([], unchanged)

    meanwhile: list[Change] = []
    by_subject = {
        (c.guardian_id, c.pupil_id, c.purpose_id, ledger.axis_of(c.decision).value): c
        for c in to_record
    }

    def skip(request: DecisionRequest, row: ledger.StandingDecision | None, when: datetime) -> bool:
        """Asked by the ledger under the school's chain lock."""
        purpose = facts.purposes[request.purpose_id]
        if same_answer(purpose, request.decision, row, when):
            return True  # someone recorded the same answer meanwhile
        if row is not None and row.seq > as_of:
            subject = (
                request.guardian_id,
                request.pupil_id,
                request.purpose_id,
                ledger.axis_of(request.decision).value,
            )
            meanwhile.append(by_subject[subject])
            return True
        return False

    events = ledger.record_many(
        [
            DecisionRequest(
                guardian_id=c.guardian_id,
                purpose_id=c.purpose_id,
                decision=c.decision,
                pupil_id=c.pupil_id,
                note=note,
            )
            for c in to_record
        ],
        actor=Actor.staff(staff.id),
        channel=channel,
        now=now,
        skip_if=skip,
    )
    skipped = len(to_record) - len(events) - len(meanwhile)
    return Recorded(
        events,
        unchanged + skipped,
        meanwhile,
        pupils=len({e.pupil_id for e in events if e.pupil_id is not None}),
    )


@dataclass
class _Facts:
    """What the checks need about the changes, read in a fixed number of queries (five)."""

    school_id: int
    purposes: dict[int, Purpose]
    pupils: dict[int, Pupil]
    deciding: set[tuple[int, int]]  # (pupil, guardian) with parental responsibility
    linked: set[int]  # guardians with a current link to a pupil of the school
    names: dict[int, str]  # the name the school holds for each guardian
    decisions: dict[tuple[int | None, int, int, str], CurrentDecision]
    objects_to_marketing: set[int]

    @classmethod
    def read(cls, school_id: int, changes: list[Change]) -> _Facts:
        purpose_ids = sorted({c.purpose_id for c in changes})
        pupil_ids = sorted({c.pupil_id for c in changes if c.pupil_id is not None})
        guardian_ids = sorted({c.guardian_id for c in changes})
        purposes = {
            p.id: p
            for p in db.session.scalars(select(Purpose).where(Purpose.school_id == school_id))
        }
        if not set(purpose_ids) <= set(purposes):
            raise NotFound("no such purpose")
        pupils = {
            p.id: p
            for p in db.session.scalars(
                select(Pupil).where(Pupil.school_id == school_id, Pupil.id.in_(pupil_ids))
            )
        }
        if len(pupils) != len(pupil_ids):
            raise NotFound("no such pupil")
        links = db.session.execute(
            select(
                GuardianLink.pupil_id,
                GuardianLink.guardian_id,
                GuardianLink.ended_at,
                deciding_link().label("deciding"),
            ).where(GuardianLink.school_id == school_id, GuardianLink.guardian_id.in_(guardian_ids))
        ).all()
        if {row.guardian_id for row in links} != set(guardian_ids):
            raise NotFound("no such guardian")
        names = {
            guardian_id: f"{forename or ''} {surname or ''}".strip()
            for guardian_id, forename, surname in db.session.execute(
                select(
                    SchoolContact.guardian_id, SchoolContact.forename, SchoolContact.surname
                ).where(
                    SchoolContact.school_id == school_id,
                    SchoolContact.guardian_id.in_(guardian_ids),
                )
            )
        }
        decisions = {
            (row.pupil_id, row.guardian_id, row.purpose_id, row.axis): row
            for row in db.session.scalars(
                select(CurrentDecision).where(
                    and_(
                        CurrentDecision.school_id == school_id,
                        CurrentDecision.guardian_id.in_(guardian_ids),
                    )
                )
            )
        }
        marketing = {p.id for p in purposes.values() if p.marketing}
        return cls(
            school_id=school_id,
            purposes=purposes,
            pupils=pupils,
            deciding={(r.pupil_id, r.guardian_id) for r in links if r.deciding},
            linked={r.guardian_id for r in links if r.ended_at is None},
            names=names,
            decisions=decisions,
            objects_to_marketing={
                guardian_id
                for (pupil_id, guardian_id, purpose_id, axis), row in decisions.items()
                if pupil_id is None
                and purpose_id in marketing
                and axis == DecisionAxis.OBJECTION
                and row.decision == Decision.OBJECT
            },
        )

    def name(self, guardian_id: int) -> str:
        return self.names.get(guardian_id) or "This parent or carer"

    def forename(self, pupil_id: int | None) -> str:
        pupil = self.pupils.get(pupil_id) if pupil_id is not None else None
        if pupil is None or pupil.erased_at:
            return "the pupil"
        return pupil.forename

    def standing(self, change: Change) -> CurrentDecision | None:
        axis = consent.axis_for(self.purposes[change.purpose_id]).value
        return self.decisions.get((change.pupil_id, change.guardian_id, change.purpose_id, axis))

    def problem(self, change: Change) -> str | None:
        """What is wrong with one change, or None."""
        purpose = self.purposes[change.purpose_id]
        who = self.name(change.guardian_id)
        if purpose.choice == Choice.NONE:
            return f"{purpose.title} offers no choice: the school does it without asking"
        if not purpose.active:
            return f"{purpose.title} is no longer in use at the school"
        person = purpose.scope == Scope.GUARDIAN
        if person != (change.pupil_id is None):
            return (
                f"{purpose.title} is a choice for the person, not for each child"
                if person
                else f"{purpose.title} is a choice made for each child"
            )
        if change.pupil_id is not None:
            if (change.pupil_id, change.guardian_id) not in self.deciding:
                return (
                    f"{who} does not have parental responsibility for "
                    f"{self.forename(change.pupil_id)}, so cannot decide"
                )
        elif change.guardian_id not in self.linked:
            return f"{who} is no longer a contact of a pupil at the school"
        allowed = OBJECTION_CHOICES if purpose.choice == Choice.OBJECTION else CONSENT_CHOICES
        if change.decision not in allowed:
            return (
                f"For {purpose.title}, choose an objection, the withdrawal of one, or no change"
                if purpose.choice == Choice.OBJECTION
                else f"For {purpose.title}, choose yes, no, or no change"
            )
        if (
            purpose.marketing
            and change.decision == Decision.GRANT
            and change.guardian_id in self.objects_to_marketing
        ):
            return (
                f"{who} objects to all direct marketing, so a yes to {purpose.title} cannot "
                "count while that objection stands. Only they can lift it, on their own page "
                "online. Leave this unchanged"
            )
        return None

    def changed_meanwhile(self, change: Change, row: CurrentDecision) -> str:
        purpose = self.purposes[change.purpose_id]
        about = "" if change.pupil_id is None else f" for {self.forename(change.pupil_id)}"
        return (
            f"{self.name(change.guardian_id)}'s answer about {purpose.title}{about} changed "
            f"after this page was opened (it is now: {_words(row)}). If the form is newer "
            "than that answer, send it again"
        )


def _words(row: CurrentDecision) -> str:
    return {
        Decision.GRANT.value: "yes",
        Decision.WITHDRAW.value: "no",
        Decision.OBJECT.value: "objects",
        Decision.LIFT_OBJECTION.value: "objection withdrawn",
        Decision.UPHELD.value: "objection upheld",
        Decision.NOT_UPHELD.value: "objection not upheld",
    }.get(row.decision, row.decision)
