"""Applying the good rows to the school's records, in memory: each row's pupil, contact (the
school's name for them) and link created or brought up to date (a row without a contact: the
pupil alone); then the links of a listed
pupil that the file no longer lists are ended, and (when asked) the pupils on roll that it
does not list are marked as left. Nothing here touches the database: a preview stops here,
an import then writes what changed (`write`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from .match import ContactRecord, GuardianRecord, Known, LinkRecord, PupilRecord, guardian_for
from .report import CREATED, UNCHANGED, UPDATED, ImportReport, LeftPupil
from .validate import Rejection, Row

# How a changed attribute is named in a preview.
WORDS = {
    "forename": "first name", "surname": "surname", "year_group": "year group",
    "class_name": "class", "on_roll": "back on roll", "relationship_label": "relationship",
    "parental_responsibility": "parental responsibility", "ended_at": "listed again",
    "left": "left",
}  # fmt: skip
# A row's outcome is the strongest of its parts': created, then updated, then unchanged.
STRENGTH = {UNCHANGED: 0, UPDATED: 1, CREATED: 2}


@dataclass
class Listed:
    """What the file has listed so far: each pupil (by MIS id) and link, with the line that
    first listed it."""

    pupils: dict[str, int] = field(default_factory=dict)
    links: dict[tuple[PupilRecord, GuardianRecord], int] = field(default_factory=dict)


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


def _stronger(outcome: str, other: str) -> str:
    return max(outcome, other, key=STRENGTH.__getitem__)


def apply_row(row: Row, known: Known, listed: Listed, report: ImportReport) -> None:
    """Create or update the row's pupil, contact and link, and count what it did. A row that
    repeats a pupil's contact is rejected instead (the pupil it names stays applied)."""
    pupil, outcome, changes = _pupil(row, known, listed, report)
    if not row.has_contact:
        # The pupil alone: listed (so their contacts missing from the file are ended, as
        # for any listed pupil), with no contact to add.
        report.count(outcome, row, _words(changes) if outcome == UPDATED else ())
        return
    guardian, guardian_created = guardian_for(row, pupil, known)
    key = (pupil, guardian)
    if key in listed.links:
        # Applying both rows would flip the link between them on every import.
        first = listed.links[key]
        report.rejected.append(
            Rejection(
                row.line, f"repeats the contact on line {first} for pupil {row.pupil_id}",
                row.pupil_id,
            )
        )  # fmt: skip
        return
    listed.links[key] = row.line
    if guardian_created:
        report.guardians_created += 1
    if row.language:
        known.languages[guardian] = row.language
    if changed := _contact(row, guardian, known):
        outcome = _stronger(outcome, UPDATED)
        changes += [f"contact's {WORDS[name]}" for name in changed]
    link_outcome, link_changes = _link(row, pupil, guardian, known)
    outcome = _stronger(outcome, link_outcome)
    changes += link_changes
    report.count(outcome, row, _words(changes) if outcome == UPDATED else ())


def _pupil(
    row: Row, known: Known, listed: Listed, report: ImportReport
) -> tuple[PupilRecord, str, list[str]]:
    """The row's pupil, created, or updated by the first row that lists them; with the
    outcome and what changed."""
    pupil = known.pupils.get(row.pupil_id)
    outcome, changes = UNCHANGED, []
    leaving = row.leaving_date
    if pupil is None:
        pupil = PupilRecord(None, row.pupil_id, row.pupil_forename, row.pupil_surname,
                            row.year_group, row.class_name, on_roll=leaving is None,
                            left_on=leaving)  # fmt: skip
        known.pupils[row.pupil_id] = pupil
        report.pupils_created += 1
        outcome = CREATED
    elif row.pupil_id not in listed.pupils:
        was_on_roll = pupil.on_roll
        values: dict[str, object] = {
            "forename": row.pupil_forename,
            "surname": row.pupil_surname,
            "year_group": row.year_group,
            "class_name": row.class_name,
            "on_roll": leaving is None,
            "left_on": leaving,
        }
        if changed := _set(pupil, values):
            if was_on_roll and leaving is not None:  # the file says they left
                changed = ["left" if name == "on_roll" else name for name in changed]
                report.marked_left += 1
                report.left.append(LeftPupil(row.pupil_id, pupil.full_name, pupil.class_name))
            pupil.changed = True
            report.pupils_updated += 1
            outcome = UPDATED
            changes = changed
    listed.pupils.setdefault(row.pupil_id, row.line)
    return pupil, outcome, changes


def _contact(row: Row, guardian: GuardianRecord, known: Known) -> list[str]:
    """The school's name for the row's contact, added or brought up to date; what changed in
    an existing name (a name this school held for nobody yet is not a change)."""
    contact = known.contacts.get(guardian)
    if contact is None:
        known.contacts[guardian] = ContactRecord(
            None, guardian, row.contact_forename, row.contact_surname
        )
        return []
    changed = _set(contact, {"forename": row.contact_forename, "surname": row.contact_surname})
    if changed:
        contact.changed = True
    return changed


def _link(
    row: Row, pupil: PupilRecord, guardian: GuardianRecord, known: Known
) -> tuple[str, list[str]]:
    """The link between the row's pupil and contact, created or updated (listed again if it
    had ended); the outcome and what changed."""
    key = (pupil, guardian)
    link = known.links.get(key)
    if link is None:
        link = LinkRecord(None, pupil, guardian, row.relationship, row.parental_responsibility,
                          ended_at=None)  # fmt: skip
        known.links[key] = link
        if guardian.email is None:
            known.paper[pupil].append(link)
        return CREATED, []
    values: dict[str, object] = {
        "relationship_label": row.relationship,
        "parental_responsibility": row.parental_responsibility,
        "ended_at": None,
    }
    if changed := _set(link, values):
        link.changed = True
        return UPDATED, changed
    return UNCHANGED, []


def end_unlisted_links(
    known: Known, listed: Listed, held: set[str], report: ImportReport, now: datetime
) -> None:
    """A pupil in the file whose contact is no longer listed: end that link. Not for a pupil
    a rejected row names (`held`)."""
    pupils = {known.pupils[mis_id] for mis_id in listed.pupils if mis_id not in held}
    for key, link in known.links.items():
        if key[0] in pupils and key not in listed.links and link.ended_at is None:
            link.ended_at = now
            link.changed = True
            report.links_ended += 1


def mark_missing_as_left(
    known: Known, listed: Listed, held: set[str], report: ImportReport, today: date
) -> None:
    """The pupils on roll that the file does not list (nor a rejected row names): left today."""
    for mis_id, pupil in sorted(known.pupils.items()):
        if mis_id not in listed.pupils and mis_id not in held and pupil.on_roll:
            pupil.on_roll = False
            pupil.left_on = today
            pupil.changed = True
            report.marked_left += 1
            report.left.append(LeftPupil(mis_id, pupil.full_name, pupil.class_name))
