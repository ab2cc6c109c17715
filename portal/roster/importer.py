"""The import itself, step by step: read the file (`parse`), check each row (`validate`),
find what the school has (`match`), apply the rows (`write`), and say what it did
(`report`); and the two ways it is run: a preview, rolled back, and an import by staff,
with its audit entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from .. import audit_log
from ..database import writing
from ..models import School, StaffUser
from ..types import utcnow
from . import match, parse, validate, write
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

    With `dry_run` the same work is done and then rolled back: the report says what the
    import would do and nothing is written. `before_commit` is called with the report in
    the import's transaction (for an audit entry), and not on a dry run.
    """
    rows, rejected = validate.check(parse.records(text))
    if mark_missing_as_left and not rows:
        raise parse.RosterFileError(
            "the file has no pupils that could be imported, so it cannot show who has left"
        )
    report = ImportReport(rows=len(rows) + len(rejected), rejected=rejected, dry_run=dry_run)
    # Pupils named by a rejected row: their links and roll status stay as they are.
    held = {r.pupil_id for r in rejected if r.pupil_id}
    now = utcnow()
    today = today or now.date()
    # Reads decide the writes: on SQLite the write lock is taken first (see begin_write).
    with writing() as session:
        known = match.known(school.id, rows)
        listed = write.Listed()
        for row in rows:
            write.apply_row(row, school.id, known, listed, report, now)
        report.rejected.sort(key=lambda rejection: rejection.line)
        write.end_unlisted_links(known, listed, held, report, now)
        if mark_missing_as_left:
            write.mark_missing_as_left(known, listed, held, report, today, now)
        if dry_run:
            session.rollback()  # a preview keeps nothing: the block's commit has nothing left
        elif before_commit is not None:
            before_commit(report)
    return report


def preview_roster(
    school: School, text: str, *, mark_missing_as_left: bool = False, today: date | None = None
) -> ImportReport:
    """What importing this file would do, row by row, without writing anything: the import
    itself, rolled back (`import_roster(..., dry_run=True)`)."""
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
