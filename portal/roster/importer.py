"""The import itself, step by step: read the file (`parse`), check each row (`validate`),
read what the school has (`match`), apply the rows to it in memory (`apply`), write what
changed (`write`), and say what it did (`report`); and the two ways it is run: a preview,
which stops before writing, and an import by staff, with its audit entry.

Pupils the import marks as left (a leaving date in the file, or not in a full file with
`mark_missing_as_left`) get the tasks their school's purposes promise
(`takedowns.on_leaving`) in the same transaction.

An import is one transaction: a crash or an error half-way leaves the school as it was
before the import (nothing of the file is kept), and the import can simply be run again.
Roster imports of one school wait for each other (`match.lock`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from .. import audit_log, takedowns
from ..database import writing
from ..models import School, StaffUser
from ..types import utcnow
from . import apply, match, parse, validate, write
from .report import ImportReport


def import_roster(
    school: School,
    text: str,
    *,
    mark_missing_as_left: bool = False,
    today: date | None = None,
    dry_run: bool = False,
    before_commit: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import a roster file into one school, in one transaction.

    With `dry_run` the same rows are applied to what the school has, and nothing is written:
    the report says what the import would do. `before_commit` is called with the report in
    the import's transaction (for an audit entry), and not on a dry run.
    """
    now = utcnow()
    today = today or now.date()
    rows, rejected = validate.check(parse.records(text), today=today)
    if mark_missing_as_left and not rows:
        raise parse.RosterFileError(
            "the file has no pupils that could be imported, so it cannot show who has left"
        )
    report = ImportReport(rows=len(rows) + len(rejected), rejected=rejected, dry_run=dry_run)
    if dry_run:
        _apply(school.id, rows, report, mark_missing_as_left, today, now)
        return report
    # Reads decide the writes: on SQLite the write lock is taken first (see begin_write).
    with writing() as session:
        match.lock(school.id)
        known = _apply(school.id, rows, report, mark_missing_as_left, today, now)
        write.save(school.id, known, now)
        # Pupils who left (the file's leaving dates, or not in a full file): their tasks.
        left = [known.pupils[p.pupil_id].id for p in report.left]
        takedowns.on_leaving(session, school.id, [i for i in left if i is not None], now=now)
        if before_commit is not None:
            before_commit(report)
    return report


def _apply(
    school_id: int,
    rows: list[validate.Row],
    report: ImportReport,
    mark_missing_as_left: bool,
    today: date,
    now: datetime,
) -> match.Known:
    """What the school has, with the rows applied to it in memory; the report counts it."""
    # Pupils named by a rejected row: their links and roll status stay as they are.
    held = {r.pupil_id for r in report.rejected if r.pupil_id}
    known = match.known(school_id, rows)
    listed = apply.Listed()
    for row in rows:
        apply.apply_row(row, known, listed, report)
    report.rejected.sort(key=lambda rejection: rejection.line)
    apply.end_unlisted_links(known, listed, held, report, now)
    if mark_missing_as_left:
        apply.mark_missing_as_left(known, listed, held, report, today)
    return known


def preview_roster(
    school: School, text: str, *, mark_missing_as_left: bool = False, today: date | None = None
) -> ImportReport:
    """What importing this file would do, without writing anything: the import itself,
    stopped before its write step (`import_roster(..., dry_run=True)`)."""
    return import_roster(
        school, text, mark_missing_as_left=mark_missing_as_left, today=today, dry_run=True
    )


def import_by_staff(
    staff: StaffUser,
    text: str,
    *,
    filename: str,
    mark_missing_as_left: bool = False,
    today: date | None = None,
) -> ImportReport:
    """Import into the staff user's school, with an audit entry `roster.import` (the counts,
    the file's name and whether missing pupils were marked as left) in the same
    transaction."""

    def record(report: ImportReport) -> None:
        audit_log.record(
            staff,
            "roster.import",
            detail={
                "filename": filename,
                "mark_missing_as_left": mark_missing_as_left,
                **report.audit_detail(),
            },
        )

    return import_roster(
        staff.school,
        text,
        mark_missing_as_left=mark_missing_as_left,
        today=today,
        before_commit=record,
    )
