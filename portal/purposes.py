"""Purposes: a school's processing activities, with wording versions.

Purposes come from a purposes file (`load`, the `flask purposes load` command) or from an
admin's forms in the staff workspace (`create`, `update`, `retire`). Both go through the same
checks (`check`) and the same save (`_save`), so a purpose means the same whatever made it.
The file format is documented in the README and shown in `examples/purposes.toml`.

Changing the title or description of a purpose makes a new wording version; "yes" answers
given to an older version then need renewal. A retired purpose is kept, with its decisions,
for the record, and is no longer shown to families.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import audit_log
from .database import begin_write
from .errors import NotFound, PortalError
from .extensions import db
from .models import (
    Choice,
    ConsentEvent,
    CurrentDecision,
    Decision,
    DecisionAxis,
    GuardianRule,
    LawfulBasis,
    Purpose,
    PurposeVersion,
    Renewal,
    School,
    Scope,
    StaffUser,
)
from .types import utcnow

KEY = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_KEY = 64
MAX_TITLE = 200
FIELDS = {
    "key", "title", "description", "choice", "lawful_basis", "scope", "guardian_rule",
    "renewal", "renewal_days", "shared_with", "retention", "publishable", "marketing",
}  # fmt: skip
WORDING = ("title", "description")
# What `_save` sets from a spec besides the wording (and the key, which never changes).
SETTINGS = ("choice", "lawful_basis", "scope", "guardian_rule", "renewal", "renewal_days",
            "shared_with", "retention", "publishable", "marketing")  # fmt: skip


class PurposesFileError(PortalError):
    """The purposes file is not valid; nothing was loaded. `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """One reason a purpose is not valid: the field it is about, the words of the purposes
    file (`message`) and the words of a form (`plain`)."""

    field: str
    message: str
    plain: str


class InvalidPurpose(PortalError):
    """A purpose from a form is not valid, or cannot be saved; nothing was saved."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    reworded: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Purposes of the school that the file no longer lists: kept (decisions refer to them)
    # but no longer shown to families.
    retired: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PurposeSpec:
    key: str
    title: str
    description: str
    choice: str
    lawful_basis: str
    scope: str
    guardian_rule: str
    renewal: str
    renewal_days: int | None
    shared_with: str | None
    retention: str | None
    publishable: bool
    marketing: bool


@dataclass(frozen=True)
class Change:
    """What saving a spec did to a purpose."""

    purpose: Purpose
    outcome: str  # created | reworded | updated | unchanged (the LoadReport lists)
    fields: tuple[str, ...] = ()  # the fields that changed (wording first)
    # "Yes" answers given to the wording before a rewording: they now need renewing.
    renewals: int = 0


def _values(kind: type[Any]) -> set[str]:
    return {member.value for member in kind}


# How a form asks for each choice when none (or an unknown one) was given.
_CHOOSE = {
    "choice": "Choose what kind of choice families have",
    "lawful_basis": "Choose the lawful basis",
    "scope": "Choose who makes the choice",
    "guardian_rule": "Choose what happens when guardians disagree",
    "renewal": "Choose when a yes needs renewing",
}


def _text(entry: Mapping[str, Any], name: str, problems: list[Problem]) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        label = name.replace("_", " ").capitalize()
        problems.append(Problem(name, f"{name} must be text", f"{label} must be text"))
        return None
    # Browsers send a textarea's line breaks as CRLF; a file read as text has LF.
    return value.replace("\r\n", "\n").replace("\r", "\n").strip() or None


def check(entry: Mapping[str, Any]) -> tuple[PurposeSpec | None, list[Problem]]:
    """Check one purpose, given as a table of the purposes file (a form gives the same
    fields): the spec to save, or None and every problem."""
    problems: list[Problem] = []
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        problems.append(
            Problem(
                "",
                f"unknown field(s) {', '.join(unknown)}",
                f"Unknown field(s) {', '.join(unknown)}",
            )
        )
    key = _text(entry, "key", problems) or ""
    if not KEY.match(key) or len(key) > MAX_KEY:
        problems.append(
            Problem(
                "key",
                f"key {key!r} must be lower-case letters, digits, - or _",
                "Enter a key of lower-case letters and digits, joined by - or _, like "
                f"photos-website ({MAX_KEY} characters at most)"
                if key
                else "Enter a key, like photos-website",
            )
        )
    title = _text(entry, "title", problems)
    description = _text(entry, "description", problems)
    if not title:
        problems.append(Problem("title", "title is required", "Enter a title"))
    elif len(title) > MAX_TITLE:
        problems.append(
            Problem(
                "title",
                f"title is longer than {MAX_TITLE} characters",
                f"The title must be {MAX_TITLE} characters or fewer",
            )
        )
    if not description:
        problems.append(Problem("description", "description is required", "Enter a description"))
    shared_with = _text(entry, "shared_with", problems)
    retention = _text(entry, "retention", problems)

    def pick(name: str, allowed: set[str], default: str | None) -> str:
        value = entry.get(name, default)
        if not isinstance(value, str) or value not in allowed:
            problems.append(
                Problem(name, f"{name} must be one of {', '.join(sorted(allowed))}", _CHOOSE[name])
            )
            return default or ""
        return str(value)

    choice = pick("choice", _values(Choice), None)
    lawful_basis = pick("lawful_basis", _values(LawfulBasis), None)
    scope = pick("scope", _values(Scope), Scope.PUPIL.value)
    guardian_rule = pick("guardian_rule", _values(GuardianRule), GuardianRule.ANY_OBJECTION_BLOCKS)
    renewal = pick("renewal", _values(Renewal), Renewal.NEVER.value)
    renewal_days = entry.get("renewal_days")
    if renewal == Renewal.DAYS:
        if not isinstance(renewal_days, int) or isinstance(renewal_days, bool) or renewal_days < 1:
            problems.append(
                Problem(
                    "renewal_days",
                    'renewal = "days" needs renewal_days, a whole number > 0',
                    "Enter the number of days as a whole number more than 0, like 365",
                )
            )
    elif renewal_days is not None:
        problems.append(
            Problem(
                "renewal_days",
                'renewal_days only goes with renewal = "days"',
                "Leave the number of days empty unless a yes needs renewing after a number of days",
            )
        )
        renewal_days = None
    flags = {}
    for name in ("publishable", "marketing"):
        value = entry.get(name, False)
        if not isinstance(value, bool):
            label = name.capitalize()
            problems.append(
                Problem(name, f"{name} must be true or false", f"{label} must be yes or no")
            )
        flags[name] = bool(value)

    if choice == Choice.CONSENT and lawful_basis != LawfulBasis.CONSENT:
        problems.append(
            Problem(
                "lawful_basis",
                'a "consent" choice needs lawful_basis = "consent"',
                "A consent choice needs the lawful basis Consent",
            )
        )
    if choice == Choice.OBJECTION and lawful_basis not in {
        LawfulBasis.PUBLIC_TASK,
        LawfulBasis.LEGITIMATE_INTERESTS,
    }:
        problems.append(
            Problem(
                "lawful_basis",
                'an "objection" choice needs lawful_basis "public_task" or '
                '"legitimate_interests" (the right to object applies to those)',
                "An objection choice needs the lawful basis Public task or Legitimate "
                "interests (the right to object applies to those)",
            )
        )
    if choice == Choice.NONE and lawful_basis == LawfulBasis.CONSENT:
        problems.append(
            Problem(
                "lawful_basis",
                'processing based on consent must offer choice = "consent"',
                "Processing based on consent must give families a consent choice",
            )
        )
    if flags["marketing"] and (choice != Choice.CONSENT or scope != Scope.GUARDIAN):
        problems.append(
            Problem(
                "marketing",
                'marketing needs choice = "consent" and scope = "guardian" '
                "(electronic marketing needs the person's own consent)",
                "Marketing needs a consent choice that each guardian makes for themselves "
                "(electronic marketing needs the person's own consent)",
            )
        )
    if problems:
        return None, problems
    spec = PurposeSpec(
        key=key,
        title=title or "",
        description=description or "",
        choice=choice,
        lawful_basis=lawful_basis,
        scope=scope,
        guardian_rule=guardian_rule,
        renewal=renewal,
        renewal_days=renewal_days if renewal == Renewal.DAYS else None,
        shared_with=shared_with,
        retention=retention,
        publishable=flags["publishable"],
        marketing=flags["marketing"],
    )
    return spec, []


def parse(text: str) -> list[PurposeSpec]:
    """Parse and check a purposes file; raise PurposesFileError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PurposesFileError([f"not valid TOML: {exc}"]) from exc
    problems: list[str] = []
    unknown = sorted(set(data) - {"purposes"})
    if unknown:
        problems.append(f"unknown section(s) {', '.join(unknown)}: only [[purposes]] tables")
    entries = data.get("purposes")
    if not isinstance(entries, list) or not entries:
        raise PurposesFileError([*problems, "the file needs at least one [[purposes]] table"])
    specs: list[PurposeSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"purpose {index}: must be a table, written [[purposes]]")
            continue
        key = entry.get("key")
        where = f"purpose {index}" + (f" ({key})" if isinstance(key, str) and key else "")
        spec, found = check(entry)
        problems.extend(f"{where}: {problem.message}" for problem in found)
        if spec is None:
            continue
        if spec.key in seen:
            problems.append(f"{where}: the key {spec.key!r} appears twice")
        seen.add(spec.key)
        specs.append(spec)
    if problems:
        raise PurposesFileError(problems)
    return specs


def load(school: School, text: str) -> LoadReport:
    """Make a school's purposes those of a purposes file, all or nothing.

    New keys are created, listed ones updated (a new wording version when the title or
    description changed), and active purposes the file no longer lists are retired. The
    choice kind and scope of an existing key never change through the file.
    """
    specs = parse(text)
    report = LoadReport()
    try:
        existing = {
            p.key: p
            for p in db.session.scalars(
                select(Purpose)
                .where(Purpose.school_id == school.id)
                .order_by(Purpose.position, Purpose.id)
            )
        }
        problems = [
            f"{s.key}: its choice cannot change from {existing[s.key].choice!r} to {s.choice!r}; "
            "add a purpose with a new key instead"
            for s in specs
            if s.key in existing and existing[s.key].choice != s.choice
        ] + [
            f"{s.key}: its scope cannot change; add a purpose with a new key instead"
            for s in specs
            if s.key in existing and existing[s.key].scope != s.scope
        ]
        if problems:
            raise PurposesFileError(problems)
        now = utcnow()
        for position, spec in enumerate(specs):
            change = _save(
                school.id, spec, existing.get(spec.key), now=now, position=position, active=True
            )
            getattr(report, change.outcome).append(spec.key)
        listed = {spec.key for spec in specs}
        for key, purpose in existing.items():
            if key not in listed and purpose.active:
                purpose.active = False
                purpose.updated_at = now
                report.retired.append(key)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _save(
    school_id: int,
    spec: PurposeSpec,
    purpose: Purpose | None,
    *,
    now: datetime,
    position: int | None = None,
    active: bool | None = None,
) -> Change:
    """Create a purpose from a checked spec, or bring an existing one in line with it; the
    one way purposes are written, for the file and the forms alike (the caller commits).

    A changed title or description makes a new wording version (every version's wording is
    kept), so that "yes" answers to the old wording need renewing. `position` and `active`
    are left as they are unless given.
    """
    settings: dict[str, Any] = {name: getattr(spec, name) for name in SETTINGS}
    if position is not None:
        settings["position"] = position
    if active is not None:
        settings["active"] = active
    if purpose is None:
        purpose = Purpose(
            school_id=school_id,
            key=spec.key,
            title=spec.title,
            description=spec.description,
            version=1,
            created_at=now,
            updated_at=now,
            **{"position": 0, "active": True, **settings},
        )
        db.session.add(purpose)
        db.session.flush()
        _add_version(purpose, now)
        return Change(purpose, "created")
    reworded = tuple(name for name in WORDING if getattr(purpose, name) != getattr(spec, name))
    changed = tuple(name for name, value in settings.items() if getattr(purpose, name) != value)
    for name in changed:
        setattr(purpose, name, settings[name])
    renewals = 0
    if reworded:
        renewals = grants_to_renew(purpose)  # answers to the wording about to be replaced
        purpose.title = spec.title
        purpose.description = spec.description
        purpose.version += 1
        _add_version(purpose, now)
    if reworded or changed:
        purpose.updated_at = now
    outcome = "reworded" if reworded else "updated" if changed else "unchanged"
    return Change(purpose, outcome, reworded + changed, renewals)


def _add_version(purpose: Purpose, now: datetime | None = None) -> None:
    db.session.add(
        PurposeVersion(
            school_id=purpose.school_id,
            purpose_id=purpose.id,
            version=purpose.version,
            title=purpose.title,
            description=purpose.description,
            created_at=now or utcnow(),
        )
    )


def for_school(school: School, *, active_only: bool = True) -> list[Purpose]:
    query = select(Purpose).where(Purpose.school_id == school.id)
    if active_only:
        query = query.where(Purpose.active.is_(True))
    return list(db.session.scalars(query.order_by(Purpose.position, Purpose.id)))


# --- one purpose at a time: the staff workspace ------------------------------------------


def get(school_id: int, purpose_id: int, *, lock: bool = False) -> Purpose:
    """One purpose of this school (retired or not); NotFound for another school's."""
    query = select(Purpose).where(Purpose.id == purpose_id, Purpose.school_id == school_id)
    if lock:
        # PostgreSQL: one change to a purpose at a time; a lock that does not hold up the
        # ledger's inserts referring to the purpose. The row is read again as it is now,
        # not taken from what this session loaded before.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    purpose = db.session.scalars(query).first()
    if purpose is None:
        raise NotFound("no such purpose at this school")
    return purpose


def grants_to_renew(purpose: Purpose) -> int:
    """How many "yes" answers stand for the purpose's current wording: a new wording version
    would ask each of them for a fresh answer."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(CurrentDecision)
            .where(
                CurrentDecision.school_id == purpose.school_id,
                CurrentDecision.purpose_id == purpose.id,
                CurrentDecision.axis == DecisionAxis.ANSWER,
                CurrentDecision.decision == Decision.GRANT,
                CurrentDecision.purpose_version == purpose.version,
            )
        )
        or 0
    )


def decision_count(purpose: Purpose) -> int:
    """How many decisions the ledger holds about this purpose."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(
                ConsentEvent.school_id == purpose.school_id,
                ConsentEvent.purpose_id == purpose.id,
            )
        )
        or 0
    )


def _checked(entry: Mapping[str, Any]) -> PurposeSpec:
    spec, problems = check(entry)
    if spec is None:
        raise InvalidPurpose(problems)
    return spec


def _key_taken(key: str) -> InvalidPurpose:
    return InvalidPurpose(
        [
            Problem(
                "key",
                f"the key {key!r} is already used",
                "This school already has a purpose with this key (perhaps a retired one): "
                "choose another key",
            )
        ]
    )


def create(school_id: int, entry: Mapping[str, Any], *, staff: StaffUser) -> Purpose:
    """Add a purpose (after the school's others), with an audit entry `purpose.create`."""
    spec = _checked(entry)
    try:
        begin_write(db.session())
        taken = db.session.scalar(
            select(Purpose.id).where(Purpose.school_id == school_id, Purpose.key == spec.key)
        )
        if taken is not None:
            raise _key_taken(spec.key)
        last = db.session.scalar(
            select(func.max(Purpose.position)).where(Purpose.school_id == school_id)
        )
        now = utcnow()
        change = _save(
            school_id, spec, None, now=now, position=0 if last is None else last + 1, active=True
        )
        audit_log.record(
            staff,
            "purpose.create",
            school_id=school_id,
            detail={
                "purpose_id": change.purpose.id,
                "key": spec.key,
                "title": spec.title,
                "version": 1,
            },
            now=now,
        )
        db.session.commit()
    except IntegrityError as exc:
        # Two admins adding the same key at once: the second meets the unique constraint.
        db.session.rollback()
        taken = db.session.scalar(
            select(Purpose.id).where(Purpose.school_id == school_id, Purpose.key == spec.key)
        )
        if taken is not None:
            raise _key_taken(spec.key) from exc
        raise
    except Exception:
        db.session.rollback()
        raise
    return change.purpose


def update(
    school_id: int, purpose_id: int, entry: Mapping[str, Any], *, staff: StaffUser
) -> Change:
    """Change a purpose as a form gives it (its key never changes), with an audit entry
    `purpose.update` naming the fields that changed and the version.

    A new title or description makes a new wording version: "yes" answers to the old one
    need renewing (`Change.renewals` says how many). Its choice kind and scope can change
    only while the ledger holds no decision about it: the decisions were given to them.
    """
    try:
        begin_write(db.session())
        purpose = get(school_id, purpose_id, lock=True)
        spec = _checked({**entry, "key": purpose.key})
        problems = []
        if spec.choice != purpose.choice or spec.scope != purpose.scope:
            decided = decision_count(purpose)
            answers = f"{decided} decision{'' if decided == 1 else 's'}"
            if decided and spec.choice != purpose.choice:
                problems.append(
                    Problem(
                        "choice",
                        f"{purpose.key}: its choice cannot change: the ledger holds {answers} "
                        "about it",
                        f"You cannot change the kind of choice: families have made {answers} "
                        "about this purpose as it is. Retire it and add a new purpose instead",
                    )
                )
            if decided and spec.scope != purpose.scope:
                problems.append(
                    Problem(
                        "scope",
                        f"{purpose.key}: its scope cannot change: the ledger holds {answers} "
                        "about it",
                        f"You cannot change who makes the choice: families have made {answers} "
                        "about this purpose as it is. Retire it and add a new purpose instead",
                    )
                )
        if problems:
            raise InvalidPurpose(problems)
        now = utcnow()
        change = _save(school_id, spec, purpose, now=now)
        if change.outcome != "unchanged":
            audit_log.record(
                staff,
                "purpose.update",
                school_id=school_id,
                detail={
                    "purpose_id": purpose.id,
                    "key": purpose.key,
                    "fields": list(change.fields),
                    "version": purpose.version,
                    "reworded": change.outcome == "reworded",
                    "needs_renewal": change.renewals,
                },
                now=now,
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return change


def retire(school_id: int, purpose_id: int, *, staff: StaffUser) -> Change:
    """Stop showing a purpose to families, with an audit entry `purpose.retire`. The purpose
    and every decision about it stay, for the record. Retiring a retired one changes
    nothing (`Change.outcome` "unchanged")."""
    try:
        begin_write(db.session())
        purpose = get(school_id, purpose_id, lock=True)
        if not purpose.active:
            db.session.commit()
            return Change(purpose, "unchanged")
        now = utcnow()
        purpose.active = False
        purpose.updated_at = now
        audit_log.record(
            staff,
            "purpose.retire",
            school_id=school_id,
            detail={
                "purpose_id": purpose.id,
                "key": purpose.key,
                "version": purpose.version,
                "decisions_kept": decision_count(purpose),
            },
            now=now,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return Change(purpose, "updated", ("active",))
