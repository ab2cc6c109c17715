"""The staff ledger browser: one school's events, filtered, a page at a time (`events`); the
filtered events as a streamed CSV file (`export`); the chain head and "verify now", which
checks the chain and records that it was checked (`verification`). `names` makes the names
of people in an event, in Python and in SQL alike; `lookup` finds the event a family's
reference (portal/references.py) names.

No Flask request state. Every query is scoped to the school given; a pupil or purpose id of
another school (or of none) raises `NotFound`, so the view answers 404 either way.
"""

from __future__ import annotations

from .events import EventFilter, EventPage, Options, options, page
from .export import LEDGER_HEADER, ledger_copy_statement, ledger_csv, start_ledger_export
from .lookup import Lookup, find_reference
from .names import PY_WHITESPACE, person_name, person_name_sql
from .verification import head, last_check, latest_checkpoint, verify_now

__all__ = [
    "LEDGER_HEADER",
    "PY_WHITESPACE",
    "EventFilter",
    "EventPage",
    "Lookup",
    "Options",
    "find_reference",
    "head",
    "last_check",
    "latest_checkpoint",
    "ledger_copy_statement",
    "ledger_csv",
    "options",
    "page",
    "person_name",
    "person_name_sql",
    "start_ledger_export",
    "verify_now",
]
