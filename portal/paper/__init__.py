"""Paper, at the speed of a class (docs/paper.md): the office records a pile of returned slips
on one grid per class (`grid`, `answers`), prints pre-filled forms for the families who answer
on paper (`forms`), and chases the families still waiting for an answer (`waiting`), each
form and each row of the list carrying the family's reference (`references`) that finds the
child and the guardian again in one search.

No Flask request state: every function takes the staff user's school (or the staff user's
id) and scopes every query by it. A pupil, guardian or purpose of another school raises
`NotFound`, so that a view answers 404 whether the thing does not exist or is not theirs.
"""

from __future__ import annotations

from .answers import (
    MAX_NOTE,
    STAFF_CHANNELS,
    Change,
    Recorded,
    SlipProblem,
    is_cell,
    record_answers,
    same_answer,
)
from .forms import EVERYONE, PAPER_ONLY, WAITING, WHO, Form, Forms, PrintedChoice, forms
from .grid import (
    UNCHANGED,
    Cell,
    Column,
    Grid,
    Row,
    Standing,
    cell_key,
    class_grid,
    ledger_head,
    pupil_grid,
)
from .references import BadFamilyReference, family_reference
from .references import parse as parse_reference
from .waiting import (
    ClassCount,
    Waiting,
    by_class,
    check_class,
    start_waiting_export,
    waiting_csv,
)

__all__ = [
    "EVERYONE",
    "MAX_NOTE",
    "PAPER_ONLY",
    "STAFF_CHANNELS",
    "UNCHANGED",
    "WAITING",
    "WHO",
    "BadFamilyReference",
    "Cell",
    "Change",
    "ClassCount",
    "Column",
    "Form",
    "Forms",
    "Grid",
    "PrintedChoice",
    "Recorded",
    "Row",
    "SlipProblem",
    "Standing",
    "Waiting",
    "by_class",
    "cell_key",
    "check_class",
    "class_grid",
    "family_reference",
    "forms",
    "is_cell",
    "ledger_head",
    "parse_reference",
    "pupil_grid",
    "record_answers",
    "same_answer",
    "start_waiting_export",
    "waiting_csv",
]
