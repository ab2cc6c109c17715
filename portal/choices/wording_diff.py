"""What changed between the wording a guardian answered and the wording in force: a diff of
words, so that the page can mark the words taken out and the words put in (rendered as
`<del>` and `<ins>` with a visible word saying which is which), not two whole paragraphs.

Pure: no query, no request state.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum


class Change(StrEnum):
    SAME = "same"
    REMOVED = "removed"
    ADDED = "added"


@dataclass(frozen=True)
class Piece:
    """A run of words of one kind, in reading order; pieces are separated by a space."""

    change: Change
    text: str


def word_diff(old: str, new: str) -> tuple[Piece, ...]:
    """The words of `new` against those of `old` (split on white space, which is folded): the
    runs they share, and for each place they differ the words removed, then the words added.
    A word with its punctuation is one word ("website." is not "website")."""
    before, after = old.split(), new.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece(Change.SAME, " ".join(before[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece(Change.REMOVED, " ".join(before[i1:i2])))
        if j2 > j1:
            pieces.append(Piece(Change.ADDED, " ".join(after[j1:j2])))
    return tuple(pieces)
