"""References a family can read: `RP-1042-7F3A` instead of a 64-character hash.

A reference is three parts joined by dashes:

- the school's code: the first letter of each word of the school's slug, in capitals, at
  most four ("riverside-primary" -> "RP", "st-marys-ce-primary" -> "SMCP"). A slug of one
  word gives its first two letters ("oak" -> "OA"). Words with no letter add nothing.
- the event's `seq`, its number in the school's ledger;
- the first four hex digits of the event's hash, in capitals: a check, so that a mistyped
  number or check is found (a wrong reference matches by chance 1 time in 65,536).

Two schools may share a code. That does not matter: a reference is always read within one
school's context (the receipt names the school, a member of staff looks it up in their own
school's ledger), and the seq and check are checked against that school's event.

`parse` reads one back however it was typed: any case, with or without dashes or spaces,
with or without the school's code. No Flask request state, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHECK_LENGTH = 4
MAX_CODE = 4
MAX_SEQ_DIGITS = 9  # a billion events a school: an int4 column, on every database
SPACES = re.compile(r"\s+")
DASHES = re.compile(r"[\-\u2010-\u2015.·]+")  # a hyphen, an en or em dash, a dot
SHAPE = re.compile(
    rf"([A-Z]{{1,{MAX_CODE}}})?(\d{{1,{MAX_SEQ_DIGITS}}})([0-9A-F]{{{CHECK_LENGTH}}})"
)


def school_code(slug: str) -> str:
    """The school's code: the first letter of each word of its slug, in capitals, at most
    four; the first two letters of a slug of one word. "SC" for a slug without letters."""
    words = [re.sub(r"[^A-Za-z]", "", word) for word in re.split(r"[^A-Za-z0-9]+", slug)]
    words = [word for word in words if word]
    if not words:
        return "SC"
    if len(words) == 1:
        return words[0][:2].upper()
    return "".join(word[0] for word in words[:MAX_CODE]).upper()


def check_of(hash_hex: str) -> str:
    """The reference's check: the first four hex digits of the event's hash, in capitals."""
    return hash_hex[:CHECK_LENGTH].upper()


def reference(slug: str, seq: int, hash_hex: str) -> str:
    """The event's reference, like `RP-1042-7F3A`."""
    return f"{school_code(slug)}-{seq}-{check_of(hash_hex)}"


@dataclass(frozen=True)
class Parsed:
    code: str | None  # as typed, in capitals; None when only the number and check were typed
    seq: int
    check: str  # four hex digits, in capitals


class BadReference(ValueError):
    """The text is not the shape of a reference."""


def parse(text: str) -> Parsed:
    """A reference as typed: `RP-1042-7F3A`, `rp 1042 7f3a`, `RP10427F3A` or `1042-7F3A`.
    Spaces are ignored wherever they are; dashes, when there are any, must set the check
    apart as written (`RP-1042-7F3` is refused, not read as `RP-104-27F3`). Raises
    BadReference for anything else."""
    parts = [part for part in DASHES.split(SPACES.sub("", text or "").upper()) if part]
    if len(parts) > 1 and len(parts[-1]) != CHECK_LENGTH:
        raise BadReference(text)
    match = SHAPE.fullmatch("".join(parts))
    if match is None:
        raise BadReference(text)
    code, seq, check = match.groups()
    return Parsed(code=code, seq=int(seq), check=check)


def matches(parsed: Parsed, hash_hex: str) -> bool:
    """The typed check is the start of this event's hash."""
    return parsed.check == check_of(hash_hex)
