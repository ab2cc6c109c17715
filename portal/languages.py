"""The languages families can read the portal in: their BCP 47 tags, names written in each
language, script and direction; how a tag from a roster or a browser is matched to one; and
remembering the language a signed-in parent or carer chose.

English is the source language. The other catalogues live in `translations/` (one `.po` file
per language, compiled by `make translations`); docs/languages.md says which are complete and
that every one of them needs review by a fluent speaker. Staff pages stay in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from flask import g
from flask_babel import force_locale, get_locale
from sqlalchemy import select, update

from . import database
from .extensions import db
from .models import Guardian
from .types import uk_date


@dataclass(frozen=True)
class Language:
    tag: str  # BCP 47, as stored and as written in `lang` attributes: "pl", "pa-Guru"
    locale: str  # Babel's identifier, the catalogue's folder: "pl", "pa_Guru"
    name: str  # the language's name in itself, as the chooser shows it
    english: str  # its name in English, for staff pages and docs
    script: str  # ISO 15924 script name of the catalogue
    direction: str = "ltr"  # "rtl" for Arabic script
    # Complete: every message of the catalogue is translated, and CI fails otherwise.
    complete: bool = False

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"


ENGLISH = Language("en", "en_GB", "English", "English", "Latin")

# In the order the chooser lists them: English, then Welsh (a language of the UK), then the
# most common first languages after English in English schools (school census).
LANGUAGES: tuple[Language, ...] = (
    ENGLISH,
    Language("cy", "cy", "Cymraeg", "Welsh", "Latin", complete=True),
    Language("pl", "pl", "Polski", "Polish", "Latin", complete=True),
    Language("ur", "ur", "اردو", "Urdu", "Arabic", "rtl", complete=True),
    Language(
        "pa-Guru", "pa_Guru", "ਪੰਜਾਬੀ (ਗੁਰਮੁਖੀ)", "Punjabi (Gurmukhi)", "Gurmukhi", complete=True
    ),
    Language("gu", "gu", "ગુજરાતી", "Gujarati", "Gujarati", complete=True),
    Language("bn", "bn", "বাংলা", "Bengali", "Bengali", complete=True),
    Language("so", "so", "Soomaali", "Somali", "Latin", complete=True),
    Language("ar", "ar", "العربية", "Arabic", "Arabic", "rtl", complete=True),
)

# The pseudo-locale: every message accented and lengthened at run time (no catalogue), so a
# browser run in it shows any text that escaped translation and any layout that breaks with
# longer words. Offered only where PORTAL_PSEUDO_LOCALE is on (tests, development).
PSEUDO = Language("en-XA", "en_GB", "[Þšéûðö]", "Pseudo-locale", "Latin")

BY_TAG: dict[str, Language] = {language.tag.lower(): language for language in LANGUAGES}
_POSITION = {language.tag: index for index, language in enumerate(LANGUAGES)}


def position(tag: str) -> int:
    """Where a stored tag's language stands in the chooser's order (after all of them for a
    tag no longer offered): to list a school's translations in that order."""
    return _POSITION.get(tag, len(_POSITION))


# RFC 5646's shape, enough to tell a language tag from anything else: a 2–3 letter language
# (or 4–8), then optional script, region and variant subtags.
_TAG = re.compile(
    r"^[a-z]{2,3}(-[a-z]{3}){0,3}"  # language, extlang
    r"(-[a-z]{4})?"  # script
    r"(-([a-z]{2}|[0-9]{3}))?"  # region
    r"(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$",  # variants
    re.IGNORECASE,
)


class NotALanguageTag(ValueError):
    """What was given is not a BCP 47 language tag."""


def is_tag(value: str) -> bool:
    return bool(_TAG.match(value))


def match(tag: str | None, *, pseudo: bool = False) -> Language | None:
    """The offered language a BCP 47 tag names, or None. Case does not matter, and a region
    does not either (`pl-PL` is Polish, `en-GB` English). Punjabi is offered in Gurmukhi
    only: `pa-Guru` and `pa-IN` match it, `pa` alone and `pa-Arab` (Shahmukhi) do not."""
    if not tag:
        return None
    value = tag.strip().replace("_", "-").lower()
    if pseudo and value == PSEUDO.tag.lower():
        return PSEUDO
    if value in BY_TAG:
        return BY_TAG[value]
    if not is_tag(value):
        return None
    parts = value.split("-")
    if parts[0] == "pa":
        return BY_TAG["pa-guru"] if "in" in parts[1:] or "guru" in parts[1:] else None
    script = next((part for part in parts[1:] if len(part) == 4 and part.isalpha()), None)
    language = BY_TAG.get(parts[0])
    if language is None or (script and script != language.script.lower()[:4]):
        return None
    return language


def offered(*, pseudo: bool = False) -> tuple[Language, ...]:
    return (*LANGUAGES, PSEUDO) if pseudo else LANGUAGES


def get(tag: str | None) -> Language:
    """The language a stored tag names (English for none or one no longer offered)."""
    return match(tag, pseudo=True) or ENGLISH


def of_guardian(guardian_id: int | None) -> str | None:
    """The stored language tag of a parent or carer (None: English, or no such person): the
    language their emails are written in."""
    if guardian_id is None:
        return None
    return db.session.scalar(select(Guardian.language).where(Guardian.id == guardian_id))


def roster_language(value: str) -> str | None:
    """A roster's `language` cell as a tag to store: None for an empty cell or for a real
    language the portal does not offer yet (the family reads English). Raises
    NotALanguageTag for anything that is not a BCP 47 tag, and for Punjabi without its
    script (the portal cannot tell Gurmukhi from Shahmukhi)."""
    value = value.strip()
    if not value:
        return None
    if not is_tag(value.replace("_", "-")):
        raise NotALanguageTag(
            f"language {value!r} is not a language code: use a BCP 47 code such as "
            "pl, ur, pa-Guru, gu or cy"
        )
    language = match(value)
    if language is None and value.replace("_", "-").lower().split("-")[0] == "pa":
        raise NotALanguageTag(
            f"language {value!r}: write pa-Guru for Punjabi in Gurmukhi script "
            "(Punjabi in Shahmukhi script is not offered yet)"
        )
    return language.tag if language else None


# Where `in_language` keeps the language it forces, on the application context's `g` (read
# by web.language, which translates and formats in it).
FORCED = "forced_language"


@contextmanager
def in_language(tag: str | None) -> Iterator[Language]:
    """Translate (messages, dates) into the language `tag` names while the block runs: an
    email to a parent in their language, written during someone else's request or by a
    command. None and languages not offered are English. Needs an application context."""
    language = get(tag)
    previous = g.get(FORCED)
    setattr(g, FORCED, language)
    try:
        with force_locale(language.locale):
            yield language
    finally:
        setattr(g, FORCED, previous)


def long_date(day: date) -> str:
    """A calendar date as the current language writes it: "3 March 2026" (types.uk_date) in
    English and the pseudo-locale, "3 marca 2026" in Polish."""
    locale = get_locale()
    if locale is None or str(locale) == ENGLISH.locale:
        return uk_date(day)
    return format_date(day, "long", locale=locale)


def remember(guardian_id: int, tag: str) -> None:
    """Keep the language a parent or carer chose: it stays theirs, whatever a later roster
    import says, and their emails are written in it."""
    language = match(tag)
    if language is None:
        raise NotALanguageTag(f"{tag!r} is not a language the portal offers")
    with database.writing() as session:
        session.execute(
            update(Guardian)
            .where(Guardian.id == guardian_id)
            .values(language=language.tag, language_chosen=True)
        )
