"""Roster import: pupils, guardians and their links from an MIS export (the CSV format:
README.md, "Roster CSV").

One row per pupil-contact pair. Good rows import; a bad row is reported with its line
number and reason and changes nothing. Re-importing the same file changes nothing.
Emails are compared lower-case, so one guardian with children in two classes or two
schools is one person; the name is the school's own (`SchoolContact`): a roster names the
contact for its school only (docs/architecture.md, "Contacts and names").

`preview_roster` is a dry run of the very same import: the rows are applied to what the
school has, in memory, and the import stops before its write step, so the preview reports
exactly what the import would do (the counts, the first rows to create, update or leave
unchanged, each rejection with its line, each pupil who would be marked as left) without a
second copy of the rules.

The import runs in named steps, a module each: `parse` (the file's header and records),
`validate` (each record a good row or a rejection), `match` (what the school already has,
read in bulk), `apply` (the rows applied in memory, then unlisted links ended and missing
pupils marked as left), `write` (what changed, in bulk statements) and `report` (what it
did); `importer` runs them, in one transaction.
"""

from __future__ import annotations

from .importer import import_by_staff, import_roster, preview_roster
from .parse import REQUIRED_COLUMNS, RosterFileError
from .report import CREATED, KEPT, UNCHANGED, UPDATED, ImportReport, LeftPupil, RowOutcome
from .validate import Rejection, Row

__all__ = [
    "CREATED",
    "KEPT",
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
