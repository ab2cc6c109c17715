"""A purpose's wording in other languages: the school's own translations of the title and
description of one wording version, one per offered language (docs/translations-by-schools.md).

A translation belongs to the wording version it translates and never changes, as the version
never does: a new English wording (a new version) starts with no translations, since the
old ones said the old words. They come from the purposes file (`[purposes.translations.pl]`,
for the wording the file gives: `check_file_translations`, `add_for_version`) or from an
admin's form (`translate`), checked by the same rules (`check_translation`).

Pages show a purpose in the page's language when the school has a translation of its current
wording, and otherwise in English with `fallback` set (`wordings`); the ledger records the
language of what was shown (`Wording.language`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit_log, languages
from ..database import writing
from ..extensions import db
from ..models import Purpose, PurposeTranslation, StaffUser
from ..types import utcnow
from .admin import InvalidPurpose
from .checks import Problem, TranslationSpec, _wording
from .lookup import get

FIELDS = frozenset({"title", "description"})


def _offered() -> str:
    return ", ".join(language.tag for language in languages.LANGUAGES if language.tag != "en")


def _language(tag: Any, where: str, problems: list[Problem]) -> languages.Language | None:
    """The offered language (not English) a translation is into, or None and a problem."""
    found = languages.match(tag) if isinstance(tag, str) else None
    if found is not None and found.tag == languages.ENGLISH.tag:
        problems.append(
            Problem(
                "language",
                f"{where}: English is the purpose's own wording; a translation is into "
                "another language",
                "Choose a language other than English: the purpose's own wording is English",
            )
        )
        return None
    if found is None:
        problems.append(
            Problem(
                "language",
                f"{where}: {tag!r} is not a language the portal offers; use one of {_offered()}",
                "Choose one of the languages listed",
            )
        )
    return found


def check_translation(
    language: Any, entry: Mapping[str, Any], *, where: str = ""
) -> tuple[TranslationSpec | None, list[Problem]]:
    """Check one translation (the language, and a title and description as a purpose's): the
    spec, or None and every problem. `where` starts each message of the purposes file."""
    where = where or f"translations.{language}"
    problems: list[Problem] = []
    found = _language(language, where, problems)
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        problems.append(
            Problem(
                "",
                f"{where}: unknown field(s) {', '.join(unknown)}: a translation has a title "
                "and a description",
                f"Unknown field(s) {', '.join(unknown)}",
            )
        )
    wording: list[Problem] = []
    title, description = _wording(entry, wording)
    problems.extend(
        Problem(problem.field, f"{where}: {problem.message}", problem.plain) for problem in wording
    )
    if problems or found is None:
        return None, problems
    return TranslationSpec(found.tag, title, description), []


def check_file_translations(value: Any) -> tuple[tuple[TranslationSpec, ...], list[Problem]]:
    """The `translations` table of a purpose in the purposes file (`[purposes.translations.pl]`
    with a title and a description): every translation, or the problems."""
    if value is None:
        return (), []
    if not isinstance(value, dict):
        return (), [
            Problem(
                "translations",
                "translations must be tables, one per language, written "
                "[purposes.translations.pl] with a title and a description",
                "",
            )
        ]
    specs: list[TranslationSpec] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for tag, entry in value.items():
        where = f"translations.{tag}"
        if not isinstance(entry, dict):
            problems.append(
                Problem(
                    "translations",
                    f"{where} must be a table with a title and a description, written "
                    f"[purposes.translations.{tag}]",
                    "",
                )
            )
            continue
        spec, found = check_translation(tag, entry, where=where)
        problems.extend(found)
        if spec is None:
            continue
        if spec.language in seen:
            name = languages.get(spec.language).english
            problems.append(
                Problem(
                    "translations",
                    f"{where}: {name} is given twice (as {seen[spec.language]} and {tag})",
                    "",
                )
            )
            continue
        seen[spec.language] = tag
        specs.append(spec)
    return tuple(specs), problems


@dataclass(frozen=True)
class Added:
    """What `add_for_version` did to one purpose's translations."""

    added: list[str]  # the languages newly translated
    # Translations added to a new wording that are word for word those of the wording before:
    # perhaps not translated again when the English changed.
    as_before: list[str]
    problems: list[Problem]


def add_for_version(
    purpose: Purpose, specs: Sequence[TranslationSpec], *, now: datetime, before: int | None
) -> Added:
    """Give the purpose's current wording version the translations `specs`, in the caller's
    transaction (the purposes file). A language already translated for this version must be
    given word for word as it is (a translation never changes); others are added. `before` is
    the purpose's version before the file was saved (None for a new purpose)."""
    if not specs:
        return Added([], [], [])
    versions = {purpose.version} if before is None else {purpose.version, before}
    existing: dict[str, PurposeTranslation] = {}
    earlier: dict[str, PurposeTranslation] = {}  # of the wording before a new version
    for t in db.session.scalars(
        select(PurposeTranslation).where(
            PurposeTranslation.school_id == purpose.school_id,
            PurposeTranslation.purpose_id == purpose.id,
            PurposeTranslation.version.in_(versions),
        )
    ):
        (existing if t.version == purpose.version else earlier)[t.language] = t
    added: list[str] = []
    as_before: list[str] = []
    problems: list[Problem] = []
    for spec in specs:
        found = existing.get(spec.language)
        if found is not None:
            if (found.title, found.description) != (spec.title, spec.description):
                problems.append(
                    _cannot_change(purpose, spec.language, f"translations.{spec.language}")
                )
            continue
        db.session.add(_new(purpose, spec, now))
        added.append(spec.language)
        old = earlier.get(spec.language)
        if old is not None and (old.title, old.description) == (spec.title, spec.description):
            as_before.append(spec.language)
    return Added(added, as_before, problems)


def _new(purpose: Purpose, spec: TranslationSpec, now: datetime) -> PurposeTranslation:
    """The translation of the purpose's current wording that `spec` gives."""
    return PurposeTranslation(
        school_id=purpose.school_id,
        purpose_id=purpose.id,
        version=purpose.version,
        language=spec.language,
        title=spec.title,
        description=spec.description,
        created_at=now,
    )


def _cannot_change(purpose: Purpose, language: str, where: str) -> Problem:
    name = languages.get(language).english
    return Problem(
        "language",
        f"{where}: wording version {purpose.version} already has a {name} translation that "
        "says something else, and a translation cannot change; to change it, change the "
        "English wording too (a new version)",
        f"Wording version {purpose.version} already has a {name} translation, and a "
        "translation cannot change. To change it, change the English wording (a new version) "
        "and translate that",
    )


def translate(
    school_id: int,
    purpose_id: int,
    *,
    version: int,
    language: str,
    title: str,
    description: str,
    staff: StaffUser,
) -> PurposeTranslation:
    """Add the translation of a purpose's current wording into `language` (an admin's form),
    with an audit entry `purpose.translate`, in one transaction. `version` is the wording the
    admin translated: if the English has changed since, nothing is saved. InvalidPurpose for
    English, a language not offered, a missing title or description, a version that is no
    longer the current one, or a language this version is already translated into."""
    spec, problems = check_translation(language, {"title": title, "description": description})
    if spec is None:
        raise InvalidPurpose(problems)
    try:
        with writing() as session:
            purpose = get(school_id, purpose_id, lock=True)
            if version != purpose.version:
                raise InvalidPurpose(
                    [
                        Problem(
                            "version",
                            f"{purpose.key}: the wording is now version {purpose.version}, "
                            f"not {version}",
                            f"The English wording changed while you were translating it: it "
                            f"is now version {purpose.version}. Translate the new wording",
                        )
                    ]
                )
            if _translation(purpose, spec.language) is not None:
                raise InvalidPurpose([_cannot_change(purpose, spec.language, purpose.key)])
            now = utcnow()
            translation = _new(purpose, spec, now)
            session.add(translation)
            session.flush()
            audit_log.record(
                staff,
                "purpose.translate",
                school_id=school_id,
                detail={
                    "purpose_id": purpose.id,
                    "key": purpose.key,
                    "version": purpose.version,
                    "language": spec.language,
                    "title": spec.title,
                },
                now=now,
            )
    except IntegrityError as exc:
        # Two admins translating into the same language at once: the second meets the
        # unique constraint (the transaction is rolled back).
        purpose = get(school_id, purpose_id)
        if _translation(purpose, spec.language) is not None:
            raise InvalidPurpose([_cannot_change(purpose, spec.language, purpose.key)]) from exc
        raise
    return translation


def _translation(purpose: Purpose, language: str) -> PurposeTranslation | None:
    return db.session.scalars(
        select(PurposeTranslation).where(
            PurposeTranslation.school_id == purpose.school_id,
            PurposeTranslation.purpose_id == purpose.id,
            PurposeTranslation.version == purpose.version,
            PurposeTranslation.language == language,
        )
    ).first()


def translations_of(purpose: Purpose) -> dict[int, list[PurposeTranslation]]:
    """Every translation of the purpose, by the wording version it translates (newest
    first), each version's in the order the portal offers its languages."""
    found: dict[int, list[PurposeTranslation]] = {}
    rows = db.session.scalars(
        select(PurposeTranslation).where(
            PurposeTranslation.school_id == purpose.school_id,
            PurposeTranslation.purpose_id == purpose.id,
        )
    )
    for translation in sorted(rows, key=lambda t: (-t.version, languages.position(t.language))):
        found.setdefault(translation.version, []).append(translation)
    return found


# --- what a page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """A purpose's title and description as a page in one language shows them: the school's
    translation of the current wording into that language, or the English, with `fallback`
    true when the page is in another language (the school has no translation into it)."""

    title: str
    description: str
    language: str  # the BCP 47 tag of the words shown: "en", or the translation's
    fallback: bool = False


def translated(
    purposes: Sequence[Purpose], language: str | None
) -> dict[tuple[int, int], PurposeTranslation]:
    """The school's translations into the page's `language` of these purposes' wordings,
    every version, by (purpose id, version). No query for an English page."""
    page = languages.get(language)
    ids = sorted({p.id for p in purposes})
    if page.tag == languages.ENGLISH.tag or not ids:
        return {}
    return {
        (t.purpose_id, t.version): t
        for t in db.session.scalars(
            select(PurposeTranslation).where(
                PurposeTranslation.purpose_id.in_(ids),
                PurposeTranslation.language == page.tag,
            )
        )
    }


def wording(
    purpose: Purpose,
    language: str | None,
    found: Mapping[tuple[int, int], PurposeTranslation],
) -> Wording:
    """The purpose's current wording as a page in `language` shows it, from `translated`."""
    translation = found.get((purpose.id, purpose.version))
    if translation is not None:
        return Wording(translation.title, translation.description, translation.language)
    page = languages.get(language)
    return Wording(
        purpose.title,
        purpose.description,
        languages.ENGLISH.tag,
        fallback=page.tag != languages.ENGLISH.tag,
    )


def wordings(purposes: Sequence[Purpose], language: str | None) -> dict[int, Wording]:
    """Each purpose's current wording as a page in `language` (a BCP 47 tag) shows it, by
    purpose id. One query; none for an English page."""
    found = translated(purposes, language)
    return {p.id: wording(p, language, found) for p in purposes}
