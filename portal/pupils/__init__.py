"""Pupil records for staff: find a pupil by name or by a family's reference (`search`), show
every purpose's effective status with *why* and the child's full ledger history (`record`),
and record an answer a guardian gave on paper, by phone or by email, or one guardian's whole
slip (`answers`); mark a pupil as left, or back on roll when that was a mistake (`leaving`,
admins only).

No Flask request state: every function takes the staff user's school (or the staff user's
id) and scopes every query by it. A pupil, guardian or purpose of another school raises
`NotFound`, so that a view answers 404 whether the thing does not exist or is not theirs.
Staff see the names and email addresses of their own school's contacts.
"""

from __future__ import annotations

from .answers import MAX_NOTE, STAFF_CHANNELS, AnswerProblem, record_answer, record_slip
from .leaving import LeavingProblem, Left, back_on_roll, mark_left
from .record import Contact, HistoryEntry, PupilRecord, PurposeStatus, Why, pupil_record
from .search import Search, class_names, find_pupils

__all__ = [
    "MAX_NOTE",
    "STAFF_CHANNELS",
    "AnswerProblem",
    "Contact",
    "HistoryEntry",
    "LeavingProblem",
    "Left",
    "PupilRecord",
    "PurposeStatus",
    "Search",
    "Why",
    "back_on_roll",
    "class_names",
    "find_pupils",
    "mark_left",
    "pupil_record",
    "record_answer",
    "record_slip",
]
