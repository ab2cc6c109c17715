"""Rules for the text people type into the portal, written once.

A single-line field (a title, a name, a key) holds no line break or other control character:
such a value ends up in an email's subject, a CSV cell or a page heading, where a line break
splits a header or a row. Multi-line fields (descriptions, notes, notices) may hold line
breaks and tabs but no other control character. Neither may hold a NUL, which PostgreSQL
cannot store.
"""

from __future__ import annotations

import re

# C0 and C1 control characters, DEL, and Unicode's line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def single_line_problem(value: str) -> str | None:
    """Why `value` cannot be a single-line field, or None when it can."""
    if "\x00" in value:
        return "has a character that cannot be stored (NUL)"
    if _CONTROL.search(value):
        return "must be one line, without line breaks or other control characters"
    return None


def multi_line_problem(value: str) -> str | None:
    """Why `value` cannot be a multi-line field, or None when it can."""
    if "\x00" in value:
        return "has a character that cannot be stored (NUL)"
    if _CONTROL_BUT_LINES.search(value):
        return "has a control character that is not a line break or a tab"
    return None


def one_line(value: str) -> str:
    """Fold a value onto one line: every run of white space or control characters becomes one
    space (for text that comes from elsewhere and must still be shown, such as a subject)."""
    return " ".join(_CONTROL.sub(" ", value).split())
