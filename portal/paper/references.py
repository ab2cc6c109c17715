"""A family's reference: the short code printed on a paper form, so that the office finds the
child and the parent or carer in one search when the slip comes back.

`RP-42-17-KX` is four parts:

- the school's code, as in an event's reference (`portal/references.py`: "RP" for
  riverside-primary);
- the pupil's id and the guardian's id, in decimal: one form is one guardian's answers for one
  child;
- two check letters, worked out from the two ids (`check_of`), so that a mistyped number is
  found rather than leading to another family (a wrong pair of ids passes the check by chance
  1 time in 361, and must then also be a real child and one of their parents or carers).

The reference is derived, not stored: the same child and guardian always have the same one,
and a form printed last year still finds them. It grants nothing: it is a search term for the
office, checked against the school's own pupils and contacts. Two schools may share a code,
as with events' references; a reference is always read within one school.

`parse` reads one back however it was typed: any case, any separators (dashes, spaces, dots,
slashes), with or without the school's code. No Flask request state, no database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..references import school_code

# Letters that cannot be read as a digit or as each other on a smudged form or over the
# phone: no B (8), G (6), I (1), O (0), Q, S (5), Z (2).
CHECK_LETTERS = "ACDEFHJKLMNPRTUVWXY"
CHECK_LENGTH = 2
MAX_ID_DIGITS = 10
PARTS = re.compile(r"[A-Z]+|[0-9]+")


def check_of(pupil_id: int, guardian_id: int) -> str:
    """The two check letters of a child and a guardian."""
    digest = hashlib.sha256(f"family:{pupil_id}:{guardian_id}".encode("ascii")).digest()
    number = int.from_bytes(digest[:4], "big")
    letters = []
    for _ in range(CHECK_LENGTH):
        number, index = divmod(number, len(CHECK_LETTERS))
        letters.append(CHECK_LETTERS[index])
    return "".join(letters)


def family_reference(slug: str, pupil_id: int, guardian_id: int) -> str:
    """The reference printed on a guardian's form for one child, like `RP-42-17-KX`."""
    return f"{school_code(slug)}-{pupil_id}-{guardian_id}-{check_of(pupil_id, guardian_id)}"


class BadFamilyReference(ValueError):
    """The text is not the shape of a family's reference."""


@dataclass(frozen=True)
class Parsed:
    code: str | None  # as typed, in capitals; None when only the numbers and check were typed
    pupil_id: int
    guardian_id: int
    check: str  # as typed, in capitals

    @property
    def checks(self) -> bool:
        """The check letters are those of the two numbers (a mistyped number fails)."""
        return self.check == check_of(self.pupil_id, self.guardian_id)


def parse(text: str) -> Parsed:
    """A family's reference as typed: `RP-42-17-KX`, `rp 42 17 kx` or `42/17/KX`. Raises
    BadFamilyReference for anything else (a name, an event's reference such as
    `RP-1042-7F3A`, two numbers run together)."""
    parts = PARTS.findall((text or "").upper())
    if len(parts) == 4 and parts[0].isalpha() and len(parts[0]) <= 4:
        code, rest = parts[0], parts[1:]
    elif len(parts) == 3:
        code, rest = None, parts
    else:
        raise BadFamilyReference(text)
    pupil, guardian, check = rest
    if not (
        pupil.isdigit()
        and guardian.isdigit()
        and len(pupil) <= MAX_ID_DIGITS
        and len(guardian) <= MAX_ID_DIGITS
        and len(check) == CHECK_LENGTH
        and check.isalpha()
    ):
        raise BadFamilyReference(text)
    return Parsed(code=code, pupil_id=int(pupil), guardian_id=int(guardian), check=check)
