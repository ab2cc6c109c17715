"""Purposes: loading a school's purposes from a TOML file, with wording versions.

The file format is documented in the README and shown in `examples/purposes.toml`.
Changing the title or description of a purpose makes a new wording version; decisions
recorded against an older version then need renewal.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from .errors import PortalError
from .extensions import db
from .models import (
    Choice,
    GuardianRule,
    LawfulBasis,
    Purpose,
    PurposeVersion,
    Renewal,
    School,
    Scope,
)
from .types import utcnow

KEY = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
FIELDS = {
    "key", "title", "description", "choice", "lawful_basis", "scope", "guardian_rule",
    "renewal", "renewal_days", "shared_with", "retention", "publishable", "marketing",
}  # fmt: skip


class PurposesFileError(PortalError):
    """The purposes file is not valid; nothing was loaded. `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
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


def _values(kind: type[Any]) -> set[str]:
    return {member.value for member in kind}


def _text(entry: dict[str, Any], name: str, where: str, problems: list[str]) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{where}: {name} must be text")
        return None
    return value.strip() or None


def _spec(entry: dict[str, Any], where: str, problems: list[str]) -> PurposeSpec | None:
    start = len(problems)
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}")
    key = _text(entry, "key", where, problems) or ""
    if not KEY.match(key) or len(key) > 64:
        problems.append(f"{where}: key {key!r} must be lower-case letters, digits, - or _")
    title = _text(entry, "title", where, problems)
    description = _text(entry, "description", where, problems)
    if not title:
        problems.append(f"{where}: title is required")
    if not description:
        problems.append(f"{where}: description is required")

    def pick(name: str, allowed: set[str], default: str | None) -> str:
        value = entry.get(name, default)
        if not isinstance(value, str) or value not in allowed:
            problems.append(f"{where}: {name} must be one of {', '.join(sorted(allowed))}")
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
            problems.append(f'{where}: renewal = "days" needs renewal_days, a whole number > 0')
    elif renewal_days is not None:
        problems.append(f'{where}: renewal_days only goes with renewal = "days"')
        renewal_days = None
    flags = {}
    for name in ("publishable", "marketing"):
        value = entry.get(name, False)
        if not isinstance(value, bool):
            problems.append(f"{where}: {name} must be true or false")
        flags[name] = bool(value)

    if choice == Choice.CONSENT and lawful_basis != LawfulBasis.CONSENT:
        problems.append(f'{where}: a "consent" choice needs lawful_basis = "consent"')
    if choice == Choice.OBJECTION and lawful_basis not in {
        LawfulBasis.PUBLIC_TASK,
        LawfulBasis.LEGITIMATE_INTERESTS,
    }:
        problems.append(
            f'{where}: an "objection" choice needs lawful_basis "public_task" or '
            '"legitimate_interests" (the right to object applies to those)'
        )
    if choice == Choice.NONE and lawful_basis == LawfulBasis.CONSENT:
        problems.append(f'{where}: processing based on consent must offer choice = "consent"')
    if flags["marketing"] and (choice != Choice.CONSENT or scope != Scope.GUARDIAN):
        problems.append(
            f'{where}: marketing needs choice = "consent" and scope = "guardian" '
            "(electronic marketing needs the person's own consent)"
        )
    if len(problems) > start:
        return None
    return PurposeSpec(
        key=key,
        title=title or "",
        description=description or "",
        choice=choice,
        lawful_basis=lawful_basis,
        scope=scope,
        guardian_rule=guardian_rule,
        renewal=renewal,
        renewal_days=renewal_days if renewal == Renewal.DAYS else None,
        shared_with=_text(entry, "shared_with", where, problems),
        retention=_text(entry, "retention", where, problems),
        publishable=flags["publishable"],
        marketing=flags["marketing"],
    )


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
        spec = _spec(entry, where, problems)
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
    description changed), and active purposes the file no longer lists are retired.
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
            purpose = existing.get(spec.key)
            settings = {
                "lawful_basis": spec.lawful_basis,
                "guardian_rule": spec.guardian_rule,
                "renewal": spec.renewal,
                "renewal_days": spec.renewal_days,
                "shared_with": spec.shared_with,
                "retention": spec.retention,
                "publishable": spec.publishable,
                "marketing": spec.marketing,
                "position": position,
                "active": True,
            }
            if purpose is None:
                purpose = Purpose(
                    school_id=school.id,
                    key=spec.key,
                    title=spec.title,
                    description=spec.description,
                    choice=spec.choice,
                    scope=spec.scope,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    **settings,
                )
                db.session.add(purpose)
                db.session.flush()
                _add_version(purpose)
                report.created.append(spec.key)
                continue
            reworded = (purpose.title, purpose.description) != (spec.title, spec.description)
            changed = any(getattr(purpose, name) != value for name, value in settings.items())
            for name, value in settings.items():
                setattr(purpose, name, value)
            if reworded:
                purpose.title = spec.title
                purpose.description = spec.description
                purpose.version += 1
                _add_version(purpose)
                report.reworded.append(spec.key)
            elif changed:
                report.updated.append(spec.key)
            else:
                report.unchanged.append(spec.key)
            if reworded or changed:
                purpose.updated_at = now
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


def _add_version(purpose: Purpose) -> None:
    db.session.add(
        PurposeVersion(
            school_id=purpose.school_id,
            purpose_id=purpose.id,
            version=purpose.version,
            title=purpose.title,
            description=purpose.description,
            created_at=utcnow(),
        )
    )


def for_school(school: School, *, active_only: bool = True) -> list[Purpose]:
    query = select(Purpose).where(Purpose.school_id == school.id)
    if active_only:
        query = query.where(Purpose.active.is_(True))
    return list(db.session.scalars(query.order_by(Purpose.position, Purpose.id)))
