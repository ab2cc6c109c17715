"""Roster import: pupils, guardians and their links from an MIS export (the CSV format:
README.md, "Roster CSV").

One row per pupil-contact pair. Good rows import; a bad row is reported with its line
number and reason and changes nothing. Re-importing the same file changes nothing.
Emails are compared lower-case, so one guardian with children in two classes or two
schools is one person.

`preview_roster` is a dry run of the very same import: the rows are applied in a
transaction that is rolled back instead of committed, so the preview reports exactly what
the import would do (each row to create, update or leave unchanged, each rejection with its
line, each pupil who would be marked as left) without a second copy of the rules.

The import runs in named steps, a module each: `parse` (the file's header and records),
`validate` (each record a good row or a rejection), `match` (what the school already has),
`write` (the rows applied, then unlisted links ended and missing pupils marked as left) and
`report` (what it did); `importer` runs them.
"""

from __future__ import annotations

from .importer import import_by_staff, import_roster, preview_roster
from .parse import REQUIRED_COLUMNS, RosterFileError
from .report import CREATED, UNCHANGED, UPDATED, ImportReport, LeftPupil, RowOutcome
from .validate import Rejection, Row

__all__ = [
    "CREATED",
    "REQUIRED_COLUMNS",
    "UNCHANGED",
    "UPDATED",
    "ImportReport",
    "LeftPupil",
    "Rejection",
    "RosterFileError",
    "Row",
    "RowOutcome",
    "import_by_staff",
    "import_roster",
    "preview_roster",
]
