"""Reading a roster file: the header (every required column, in any order and any case, and
the optional ones when present) and then each non-blank line's cells by column name, with the
line it starts on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

REQUIRED_COLUMNS = (
    "pupil_id", "pupil_forename", "pupil_surname", "year_group", "class",
    "contact_forename", "contact_surname", "contact_email", "relationship",
    "parental_responsibility",
)  # fmt: skip
# Columns a file may have: a pupil's leaving date (YYYY-MM-DD) marks them as left that day;
# the contact's home language (a BCP 47 code, portal/languages.py) is the language their
# pages and emails are in until they choose one themselves.
OPTIONAL_COLUMNS = ("leaving_date", "language")


class RosterFileError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


def records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Each record of the file: its line number and its cells (required, and optional ones
    as "" when the file has no such column), stripped. A byte order mark at the start is
    ignored; RosterFileError when the file cannot be read."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
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
    index.update({name: columns.index(name) for name in OPTIONAL_COLUMNS if name in columns})
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
        for name in OPTIONAL_COLUMNS:
            record.setdefault(name, "")
        yield start, record
