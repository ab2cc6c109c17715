"""What an import did (or, in a preview, would do): the counts, the first good rows of each
outcome, every rejection and every pupil marked as left.

The counts count every row; of the good rows only the first `KEPT` of each outcome are kept,
with what they change (what a page shows: a file of 50,000 rows would otherwise be 50,000
objects held for nothing). Every rejection is kept: the command line prints them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .validate import Rejection, Row

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
KEPT = 50  # good rows kept of each outcome


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
    has_contact: bool = True  # False: the row lists the pupil alone


@dataclass(frozen=True)
class LeftPupil:
    """A pupil on roll whom the file gives a leaving date, or does not list (with
    `mark_missing_as_left`), marked (or to be marked) as left."""

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
    # The first KEPT good rows of each outcome, by line.
    outcomes: list[RowOutcome] = field(default_factory=list)
    left: list[LeftPupil] = field(default_factory=list)  # the pupils in `marked_left`
    dry_run: bool = False  # a preview: nothing was written

    @property
    def good(self) -> int:
        """The rows that import (or would): created, updated or unchanged."""
        return self.created + self.updated + self.unchanged

    def rows_with(self, outcome: str) -> list[RowOutcome]:
        """The rows kept of this outcome (at most KEPT; `count_of` says how many there are)."""
        return [row for row in self.outcomes if row.outcome == outcome]

    def count_of(self, outcome: str) -> int:
        return {CREATED: self.created, UPDATED: self.updated, UNCHANGED: self.unchanged}[outcome]

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejected)} rejected"
        )

    def count(self, outcome: str, row: Row, changes: tuple[str, ...] = ()) -> None:
        """Count one good row's outcome, and keep the row if it is among the first KEPT of
        that outcome."""
        if outcome == CREATED:
            self.created += 1
        elif outcome == UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1
        if self.count_of(outcome) <= KEPT:
            self.outcomes.append(
                RowOutcome(
                    line=row.line,
                    outcome=outcome,
                    pupil_id=row.pupil_id,
                    pupil_name=f"{row.pupil_forename} {row.pupil_surname}",
                    class_name=row.class_name,
                    contact_name=f"{row.contact_forename} {row.contact_surname}".strip(),
                    contact_email=row.contact_email,
                    changes=changes,
                    has_contact=row.has_contact,
                )
            )

    def audit_detail(self) -> dict[str, int]:
        """The counts, as the audit entry of an import records them."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "pupils_created": self.pupils_created,
            "pupils_updated": self.pupils_updated,
            "guardians_created": self.guardians_created,
            "links_ended": self.links_ended,
            "marked_left": self.marked_left,
        }
