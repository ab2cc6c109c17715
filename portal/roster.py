"""Roster import: pupils, guardians and their links from an MIS export (DESIGN.md's CSV).

One row per pupil-contact pair. Good rows import; a bad row is reported with its line
number and reason and changes nothing. Re-importing the same file changes nothing.
Emails are compared lower-case, so one guardian with children in two classes or two
schools is one person.

`preview_roster` is a dry run of the very same import: the rows are applied in a
transaction that is rolled back instead of committed, so the preview reports exactly what
the import would do (each row to create, update or leave unchanged, each rejection with its
line, each pupil who would be marked as left) without a second copy of the rules.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from . import audit_log, emails
from .database import begin_write
from .extensions import db
from .models import Guardian, GuardianLink, Pupil, School, StaffUser
from .types import utcnow

REQUIRED_COLUMNS = (
    "pupil_id", "pupil_forename", "pupil_surname", "year_group", "class",
    "contact_forename", "contact_surname", "contact_email", "relationship",
    "parental_responsibility",
)  # fmt: skip
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
LIMITS = {
    "pupil_id": 64, "pupil_forename": 100, "pupil_surname": 100, "year_group": 16,
    "class": 64, "contact_forename": 100, "contact_surname": 100, "relationship": 64,
}  # fmt: skip


class RosterFileError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str
    # The pupil the bad row names, if it names one: that pupil's links and roll status are
    # left as they are, since the file does not say reliably who their contacts are.
    pupil_id: str = ""


CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class RowOutcome:
    """What the import did (or, in a preview, would do) with one good row."""

    line: int
    outcome: str  # created | updated | unchanged
    pupil_id: str
    pupil_name: str
    class_name: str
    contact_name: str
    contact_email: str | None
    # What an update changes, in words: "class", "relationship", ...
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeftPupil:
    """A pupil on roll who is not in the file, marked (or to be marked) as left."""

    pupil_id: str
    name: str
    class_name: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0  # rows that added a pupil or a link
    updated: int = 0  # rows that changed an existing pupil, guardian or link
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    pupils_created: int = 0
    pupils_updated: int = 0
    guardians_created: int = 0
    links_ended: int = 0
    marked_left: int = 0
    outcomes: list[RowOutcome] = field(default_factory=list)  # one per good row, by line
    left: list[LeftPupil] = field(default_factory=list)  # the pupils in `marked_left`
    dry_run: bool = False  # a preview: nothing was written

    def rows_with(self, outcome: str) -> list[RowOutcome]:
        return [row for row in self.outcomes if row.outcome == outcome]

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected"
        )


@dataclass(frozen=True)
class Row:
    line: int
    pupil_id: str
    pupil_forename: str
    pupil_surname: str
    year_group: str
    class_name: str
    contact_forename: str
    contact_surname: str
    contact_email: str | None
    relationship: str
    parental_responsibility: bool


def _records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterFileError("the file is empty") from None
    except csv.Error as exc:
        raise RosterFileError(f"the header is not valid CSV ({exc})") from None
    columns = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise RosterFileError(f"the header is missing the column(s): {', '.join(missing)}")
    index = {name: columns.index(name) for name in REQUIRED_COLUMNS}
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A NUL byte, an unterminated quote at the end, a cell over the csv limit: the
            # rows after it cannot be trusted, so the file as a whole is refused.
            raise RosterFileError(f"line {line} is not valid CSV ({exc})") from None
        start, line = line, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        record = {name: (values[i].strip() if i < len(values) else "") for name, i in index.items()}
        yield start, record


def parse(text: str) -> tuple[list[Row], list[Rejection]]:
    """Check every row; return the good rows and the reasons for the bad ones."""
    rows: list[Row] = []
    rejected: list[Rejection] = []
    for line, record in _records(text.lstrip("\ufeff")):
        problems: list[str] = []
        for name in ("pupil_id", "pupil_forename", "pupil_surname", "year_group", "class"):
            if not record[name]:
                problems.append(f"{name} is empty")
        if not record["contact_forename"] and not record["contact_surname"]:
            problems.append("the contact has no name")
        for name, limit in LIMITS.items():
            if len(record[name]) > limit:
                problems.append(f"{name} is longer than {limit} characters")
        email: str | None = None
        if record["contact_email"]:
            try:
                email = emails.normalise(record["contact_email"])
            except emails.InvalidEmail:
                problems.append(f"contact_email {record['contact_email']!r} is not a valid address")
        pr = record["parental_responsibility"].lower()
        if pr not in YES | NO:
            given = record["parental_responsibility"]
            problems.append(f"parental_responsibility must be yes or no, not {given!r}")
        if problems:
            rejected.append(Rejection(line, "; ".join(problems), record["pupil_id"]))
            continue
        rows.append(
            Row(
                line=line,
                pupil_id=record["pupil_id"],
                pupil_forename=record["pupil_forename"],
                pupil_surname=record["pupil_surname"],
                year_group=record["year_group"],
                class_name=record["class"],
                contact_forename=record["contact_forename"],
                contact_surname=record["contact_surname"],
                contact_email=email,
                relationship=record["relationship"],
                parental_responsibility=pr in YES,
            )
        )
    return rows, rejected


# How a changed attribute is named in a preview.
WORDS = {
    "forename": "first name", "surname": "surname", "year_group": "year group",
    "class_name": "class", "on_roll": "back on roll", "relationship_label": "relationship",
    "parental_responsibility": "parental responsibility", "ended_at": "listed again",
}  # fmt: skip


def _set(obj: object, values: dict[str, object]) -> list[str]:
    """Set the attributes that differ; the names of those changed (empty: none)."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _words(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(WORDS.get(name, name) for name in names if name != "left_on"))


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
    rows, rejected = parse(text)
    if mark_missing_as_left and not rows:
        raise RosterFileError(
            "the file has no pupils that could be imported, so it cannot show who has left"
        )
    report = ImportReport(rows=len(rows) + len(rejected), rejected=rejected, dry_run=dry_run)
    # Pupils named by a rejected row: their links and roll status stay as they are.
    held = {r.pupil_id for r in rejected if r.pupil_id}
    now = utcnow()
    today = today or now.date()
    try:
        # Reads decide the writes: on SQLite take the write lock first (see begin_write).
        begin_write(db.session())
        pupils = {
            p.mis_id: p
            for p in db.session.scalars(select(Pupil).where(Pupil.school_id == school.id))
        }
        links = {
            (link.pupil_id, link.guardian_id): link
            for link in db.session.scalars(
                select(GuardianLink).where(GuardianLink.school_id == school.id)
            )
        }
        wanted_emails = {row.contact_email for row in rows if row.contact_email}
        guardians = _guardians_by_email(wanted_emails)
        seen_pupils: dict[str, int] = {}
        seen_links: dict[tuple[int, int], int] = {}  # link -> the line that listed it

        for row in rows:
            outcome = UNCHANGED
            changes: list[str] = []
            pupil = pupils.get(row.pupil_id)
            pupil_values: dict[str, object] = {
                "forename": row.pupil_forename,
                "surname": row.pupil_surname,
                "year_group": row.year_group,
                "class_name": row.class_name,
                "on_roll": True,
                "left_on": None,
            }
            if pupil is None:
                pupil = Pupil(school_id=school.id, mis_id=row.pupil_id, created_at=now,
                              updated_at=now, **pupil_values)  # fmt: skip
                db.session.add(pupil)
                db.session.flush()
                pupils[row.pupil_id] = pupil
                report.pupils_created += 1
                outcome = CREATED
            elif row.pupil_id not in seen_pupils and (changed := _set(pupil, pupil_values)):
                pupil.updated_at = now
                report.pupils_updated += 1
                outcome = UPDATED
                changes += changed
            seen_pupils.setdefault(row.pupil_id, row.line)

            guardian, guardian_created = _guardian_for(row, pupil, guardians)
            key = (pupil.id, guardian.id)
            if key in seen_links:
                # Applying both rows would flip the link between them on every import.
                report.rejected.append(
                    Rejection(
                        row.line,
                        f"repeats the contact on line {seen_links[key]} for pupil {row.pupil_id}",
                        row.pupil_id,
                    )
                )
                continue
            seen_links[key] = row.line
            if guardian_created:
                report.guardians_created += 1
            elif changed := _set(guardian, {"forename": row.contact_forename,
                                            "surname": row.contact_surname}):  # fmt: skip
                outcome = UPDATED if outcome == UNCHANGED else outcome
                changes += [f"contact's {WORDS[name]}" for name in changed]

            link = links.get(key)
            link_values: dict[str, object] = {
                "relationship_label": row.relationship,
                "parental_responsibility": row.parental_responsibility,
                "ended_at": None,
            }
            if link is None:
                link = GuardianLink(school_id=school.id, guardian=guardian, pupil=pupil,
                                    created_at=now, updated_at=now, **link_values)  # fmt: skip
                db.session.add(link)
                links[key] = link
                outcome = CREATED
            elif changed := _set(link, link_values):
                link.updated_at = now
                outcome = UPDATED if outcome == UNCHANGED else outcome
                changes += changed

            if outcome == CREATED:
                report.created += 1
            elif outcome == UPDATED:
                report.updated += 1
            else:
                report.unchanged += 1
            report.outcomes.append(
                RowOutcome(
                    line=row.line,
                    outcome=outcome,
                    pupil_id=row.pupil_id,
                    pupil_name=f"{row.pupil_forename} {row.pupil_surname}",
                    class_name=row.class_name,
                    contact_name=f"{row.contact_forename} {row.contact_surname}".strip(),
                    contact_email=row.contact_email,
                    changes=_words(changes) if outcome == UPDATED else (),
                )
            )

        report.rejected.sort(key=lambda rejection: rejection.line)
        # A pupil in the file whose contact is no longer listed: end that link.
        listed = {pupils[mis_id].id for mis_id in seen_pupils if mis_id not in held}
        for key, link in links.items():
            if key[0] in listed and key not in seen_links and link.ended_at is None:
                link.ended_at = now
                link.updated_at = now
                report.links_ended += 1

        if mark_missing_as_left:
            for mis_id, pupil in sorted(pupils.items()):
                if mis_id not in seen_pupils and mis_id not in held and pupil.on_roll:
                    pupil.on_roll = False
                    pupil.left_on = today
                    pupil.updated_at = now
                    report.marked_left += 1
                    report.left.append(LeftPupil(mis_id, pupil.full_name, pupil.class_name))
        if dry_run:
            db.session.rollback()
        else:
            if before_commit is not None:
                before_commit(report)
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
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
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
                "pupils_created": report.pupils_created,
                "pupils_updated": report.pupils_updated,
                "guardians_created": report.guardians_created,
                "links_ended": report.links_ended,
                "marked_left": report.marked_left,
            },
        )

    return import_roster(
        staff.school,
        text,
        mark_missing_as_left=mark_missing_as_left,
        today=today,
        before_commit=record,
    )


def _guardians_by_email(addresses: Iterable[str]) -> dict[str, Guardian]:
    found: dict[str, Guardian] = {}
    batch = sorted(addresses)
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        for guardian in db.session.scalars(select(Guardian).where(Guardian.email.in_(chunk))):
            if guardian.email:
                found[guardian.email] = guardian
    return found


def _guardian_for(row: Row, pupil: Pupil, by_email: dict[str, Guardian]) -> tuple[Guardian, bool]:
    """Find the guardian a row names (by email, or by name for a paper-only contact)."""
    if row.contact_email:
        guardian = by_email.get(row.contact_email)
        if guardian is not None:
            return guardian, False
    else:
        # A contact without an email is known only through this pupil: match by name.
        for link in pupil.links:
            other = link.guardian
            if (
                other.email is None
                and other.forename.casefold() == row.contact_forename.casefold()
                and other.surname.casefold() == row.contact_surname.casefold()
            ):
                return other, False
    guardian = Guardian(
        email=row.contact_email,
        forename=row.contact_forename,
        surname=row.contact_surname,
        created_at=utcnow(),
    )
    db.session.add(guardian)
    db.session.flush()
    if row.contact_email:
        by_email[row.contact_email] = guardian
    return guardian, True
