"""What an import did (or, in a preview, would do): the counts, each good row's outcome, each
rejection and each pupil marked as left."""

from __future__ import annotations

from dataclasses import dataclass, field

from .validate import Rejection

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

    def count(self, outcome: RowOutcome) -> None:
        """Add one good row's outcome."""
        if outcome.outcome == CREATED:
            self.created += 1
        elif outcome.outcome == UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1
        self.outcomes.append(outcome)

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
