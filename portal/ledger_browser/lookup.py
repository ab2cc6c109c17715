"""Find a reference: the event a family's reference (`RP-1042-7F3A`, portal/references.py)
names, in the admin's own school's ledger only.

The answer is the event, or a sentence saying what is wrong: not the shape of a reference,
no such event at this school (another school's code included), or the check does not match
the event's hash. Another school's event is never looked at: the query is scoped to the
school given. No Flask request state.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import references
from ..extensions import db
from ..models import ConsentEvent, School
from .events import EventRow, event_row, rows_query

BAD_SHAPE = (
    "Enter a reference like {example}: the school's letters, the event's number and the "
    "four characters after it"
)


MAX_TYPED = 100


@dataclass(frozen=True)
class Lookup:
    typed: str
    row: EventRow | None = None
    problem: str | None = None
    malformed: bool = False  # the text is not the shape of a reference (a 400, not a search)


def find_reference(school: School, typed: str) -> Lookup:
    """The school's event with this reference, or why there is none."""
    typed = typed.strip()
    code = references.school_code(school.slug)
    bad = Lookup(typed[:MAX_TYPED], problem=BAD_SHAPE.format(example=f"{code}-1042-7F3A"),
                 malformed=True)  # fmt: skip
    if len(typed) > MAX_TYPED:
        return bad
    try:
        parsed = references.parse(typed)
    except references.BadReference:
        return bad
    not_here = f"No event with that reference at {school.name}"
    if parsed.code is not None and parsed.code != code:
        return Lookup(typed, problem=f"{not_here}: its references start with {code}-")
    found = db.session.execute(
        rows_query(
            school.id,
            [ConsentEvent.school_id == school.id, ConsentEvent.seq == parsed.seq],
        )
    ).first()
    if found is None:
        return Lookup(typed, problem=not_here)
    row = event_row(found)
    if not references.matches(parsed, row.hash):
        return Lookup(
            typed,
            problem=(
                f"That reference does not match the event {parsed.seq}: "
                "check the last four characters"
            ),
        )
    return Lookup(typed, row=row)
