"""The purposes file (TOML, the `flask purposes load` command): parsed and checked whole,
then loaded all or nothing. The format is described in the README ("Purposes file (TOML)")
and shown in `examples/purposes.toml`. A purpose's table may carry the school's translations
of its wording, `[purposes.translations.pl]` with a title and a description, for the wording
the file gives (portal/purposes/translations.py)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace

from sqlalchemy import select

from ..database import writing
from ..errors import PortalError
from ..models import Purpose, School
from ..types import utcnow
from .checks import PurposeSpec, check
from .saving import save
from .translations import add_for_version, check_file_translations


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
    # Translations added, as "key (language)": those of a new wording and new languages.
    translated: list[str] = field(default_factory=list)
    # Translations of a new wording that are word for word those of the wording before it:
    # the English changed, so they may need translating again.
    translated_as_before: list[str] = field(default_factory=list)


def parse(text: str) -> list[PurposeSpec]:
    """Parse and check a purposes file; raise PurposesFileError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PurposesFileError([f"not valid TOML: {exc}"]) from exc
    except RecursionError as exc:  # arrays or tables nested thousands deep
        raise PurposesFileError(["not valid TOML: it is nested too deeply"]) from exc
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
        spec, found = check(
            {name: value for name, value in entry.items() if name != "translations"}
        )
        translations, wrong = check_file_translations(entry.get("translations"))
        problems.extend(f"{where}: {problem.message}" for problem in [*found, *wrong])
        if spec is None or wrong:
            continue
        spec = replace(spec, translations=translations)
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
    with writing() as session:
        existing = {
            p.key: p
            for p in session.scalars(
                select(Purpose)
                .where(Purpose.school_id == school.id)
                .order_by(Purpose.position, Purpose.id)
            )
        }
        problems = _unchangeable(specs, existing)
        if problems:
            raise PurposesFileError(problems)
        now = utcnow()
        for index, spec in enumerate(specs):
            before = existing[spec.key].version if spec.key in existing else None
            change = save(
                school.id, spec, existing.get(spec.key), now=now, position=index, active=True
            )
            getattr(report, change.outcome).append(spec.key)
            added = add_for_version(change.purpose, spec.translations, now=now, before=before)
            problems.extend(
                f"purpose {index + 1} ({spec.key}): {problem.message}" for problem in added.problems
            )
            report.translated.extend(f"{spec.key} ({tag})" for tag in added.added)
            report.translated_as_before.extend(f"{spec.key} ({tag})" for tag in added.as_before)
        if problems:
            raise PurposesFileError(problems)  # nothing is written: the transaction rolls back
        listed = {spec.key for spec in specs}
        for key, purpose in existing.items():
            if key not in listed and purpose.active:
                purpose.active = False
                purpose.updated_at = now
                report.retired.append(key)
    return report


def _unchangeable(specs: list[PurposeSpec], existing: dict[str, Purpose]) -> list[str]:
    """The file may not change the choice kind or the scope of a purpose it already has."""
    return [
        f"{s.key}: its choice cannot change from {existing[s.key].choice!r} to {s.choice!r}; "
        "add a purpose with a new key instead"
        for s in specs
        if s.key in existing and existing[s.key].choice != s.choice
    ] + [
        f"{s.key}: its scope cannot change; add a purpose with a new key instead"
        for s in specs
        if s.key in existing and existing[s.key].scope != s.scope
    ]
