"""Checking each record: a good one becomes a `Row`, a bad one a `Rejection` with every
reason, and changes nothing.

Every field but the relationship is one line (portal/text.py): a name, a class or an id ends
up in an email's subject, a CSV cell or a page heading, where a line break splits a header or
a row, so a value with a line break or another control character rejects its row. The
relationship is shown only in tables and lists of the pupil's record, and MIS exports do
carry multi-line relationships ("Mother\nand carer"): it may hold line breaks and tabs, but
no other control character."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .. import emails, languages, text

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
ANSWERS = YES | NO
LIMITS = {
    "pupil_id": 64, "pupil_forename": 100, "pupil_surname": 100, "year_group": 16,
    "class": 64, "contact_forename": 100, "contact_surname": 100, "relationship": 64,
}  # fmt: skip
# The columns that must be one line: all but the relationship.
SINGLE_LINE = (
    "pupil_id", "pupil_forename", "pupil_surname", "year_group", "class", "contact_forename",
    "contact_surname", "contact_email", "parental_responsibility", "leaving_date", "language",
)  # fmt: skip
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The columns about the contact: a row with all of them empty is a pupil with no contact
# (yet) in the MIS, and imports the pupil alone.
CONTACT_COLUMNS = (
    "contact_forename", "contact_surname", "contact_email", "relationship",
    "parental_responsibility", "language",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
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
    leaving_date: date | None = None  # the pupil left that day
    # The contact's language (an offered language's tag), none when the cell is empty or
    # names a language the portal does not offer yet (they read English).
    language: str | None = None
    # False: every contact column is empty, the row lists the pupil alone (no contact).
    has_contact: bool = True


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str
    # The pupil the bad row names, if it names one: that pupil's links and roll status are
    # left as they are, since the file does not say reliably who their contacts are.
    pupil_id: str = ""


def check(
    records: Iterable[tuple[int, dict[str, str]]], *, today: date | None = None
) -> tuple[list[Row], list[Rejection]]:
    """Check every record; return the good rows and the reasons for the bad ones. A leaving
    date after `today` is refused (a pupil is marked as left once they have left)."""
    rows: list[Row] = []
    rejected: list[Rejection] = []
    addresses = _Addresses()
    for line, record in records:
        problems = _text_problems(record)
        for name in ("pupil_id", "pupil_forename", "pupil_surname", "year_group", "class"):
            if not record[name]:
                problems.append(f"{name} is empty")
        has_contact = any(record.get(name, "") for name in CONTACT_COLUMNS)
        if has_contact and not record["contact_forename"] and not record["contact_surname"]:
            problems.append("the contact has no name")
        for name, limit in LIMITS.items():
            if len(record[name]) > limit:
                problems.append(f"{name} is longer than {limit} characters")
        email: str | None = None
        if record["contact_email"] and not text.single_line_problem(record["contact_email"]):
            email = addresses.normalise(record["contact_email"])
            if email is None:
                problems.append(f"contact_email {record['contact_email']!r} is not a valid address")
        pr = record["parental_responsibility"].lower()
        if has_contact and pr not in ANSWERS and not text.single_line_problem(pr):
            given = record["parental_responsibility"]
            problems.append(f"parental_responsibility must be yes or no, not {given!r}")
        leaving = _leaving_date(record.get("leaving_date", ""), today, problems)
        language = _language(record.get("language", ""), problems)
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
                leaving_date=leaving,
                language=language,
                has_contact=has_contact,
            )
        )
    return rows, rejected


def _leaving_date(value: str, today: date | None, problems: list[str]) -> date | None:
    """The pupil's leaving date (YYYY-MM-DD), none when the cell is empty."""
    if not value or text.single_line_problem(value):
        return None
    try:
        found = date.fromisoformat(value) if ISO_DATE.match(value) else None
    except ValueError:
        found = None
    if found is None:
        problems.append(f"leaving_date {value!r} is not a date written YYYY-MM-DD, like 2026-07-21")
    elif today is not None and found > today:
        problems.append(f"leaving_date {value} is in the future: import it once the pupil has left")
        found = None
    return found


def _language(value: str, problems: list[str]) -> str | None:
    if not value or text.single_line_problem(value):
        return None
    try:
        return languages.roster_language(value)
    except languages.NotALanguageTag as exc:
        problems.append(str(exc))
        return None


class _Addresses(dict[str, str | None]):
    """Each address of the file checked once (a parent of several pupils is on several
    rows; checking an address is the dearest part of checking a row)."""

    def normalise(self, address: str) -> str | None:
        """The address in its normal form, or None when it is not valid."""
        if address not in self:
            try:
                self[address] = emails.normalise(address)
            except emails.InvalidEmail:
                self[address] = None
        return self[address]


def _text_problems(record: dict[str, str]) -> list[str]:
    """A line break or another control character where the field cannot hold one."""
    problems = []
    for name in SINGLE_LINE:
        if problem := text.single_line_problem(record[name]):
            problems.append(f"{name} {problem}")
    if problem := text.multi_line_problem(record["relationship"]):
        problems.append(f"relationship {problem}")
    return problems
