"""Things to do: one queue of the work the portal's promises make for a school's office.

Each feature that makes work (objections to review, take-downs and leaving tasks, rights
requests, renewals) registers a *source* on the application (`register`, called by
`portal.wiring`): a function that, for one school, the day, and the staff user's role, returns
the open items that role can act on. `items` gathers them, oldest first; the staff home page
shows them with their counts (the counts are the lengths of the lists they head).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, current_app


@dataclass(frozen=True)
class Item:
    """One thing to do."""

    kind: str  # objection | takedown | leaving | request | report | renewal
    title: str  # what to do, in words for staff
    opened_on: date  # when the work arose (the queue is oldest first)
    endpoint: str  # where it is done: a url_for endpoint ...
    values: dict[str, Any] = field(default_factory=dict)  # ... and its values
    due_on: date | None = None
    detail: str = ""  # a short second line (who, which purpose, ...)

    def days_left(self, today: date) -> int | None:
        return None if self.due_on is None else (self.due_on - today).days

    def overdue(self, today: date) -> bool:
        return self.due_on is not None and self.due_on < today


# A source: (school_id, today, role) -> the open items of one kind that the role can act on.
Source = Callable[[int, date, str], Sequence[Item]]
_SOURCES = "portal.todo.sources"

# The groups of the queue, in the order the page shows them, with their headings.
KINDS = {
    "objection": "Objections to review",
    "takedown": "Take-downs",
    "leaving": "Pupils who left",
    "request": "Rights requests",
    "report": "Reports from families",
    "renewal": "Renewals due",
}


def register(app: Flask, source: Source) -> None:
    sources: list[Source] = app.extensions.setdefault(_SOURCES, [])
    if source not in sources:
        sources.append(source)


def items(school_id: int, today: date, role: str, *, extra: Sequence[Item] = ()) -> list[Item]:
    """Every open item for the school that `role` can act on (and `extra` ones the caller
    worked out already, such as renewals from the dashboard's counts), oldest first, then
    the one due soonest."""
    sources: list[Source] = current_app.extensions.get(_SOURCES, [])
    found = [item for source in sources for item in source(school_id, today, role)]
    found.extend(extra)
    # A stable sort: items of one day keep their source's order (each source lists its own
    # oldest first).
    return sorted(found, key=lambda i: (i.opened_on, i.due_on or date.max))


# Where each kind's whole list is, for a group longer than the home page shows.
LIST_ENDPOINTS = {
    "objection": "staff.objections",
    "takedown": "staff.takedowns",
    "leaving": "staff.takedowns",
    "request": "staff.rights_requests",
    "report": "staff.family_reports",
    "renewal": "staff.home",
}
SHOWN = 10  # items of a group the home page lists; the rest are on the feature's own page


@dataclass(frozen=True)
class Group:
    kind: str
    heading: str
    items: list[Item]

    @property
    def shown(self) -> list[Item]:
        """The oldest `SHOWN` items (a school that moved its paper objections into the
        portal may have hundreds waiting: the page names the count and links to them all)."""
        return self.items[:SHOWN]

    @property
    def more(self) -> int:
        return max(0, len(self.items) - SHOWN)

    @property
    def list_endpoint(self) -> str:
        return LIST_ENDPOINTS.get(self.kind, "staff.home")


def grouped(found: Sequence[Item]) -> list[Group]:
    """The queue as the page shows it: one group per kind that has items, in `KINDS` order,
    each oldest first; a group's count is the length of its list."""
    return [
        Group(kind, heading, [i for i in found if i.kind == kind])
        for kind, heading in KINDS.items()
        if any(i.kind == kind for i in found)
    ]
