"""Template filters: dates and times as people in the UK read them; the language of a block of
text the school wrote (`lang_attrs`) and a language's name (`language_name`); and the template
global `reference(slug, seq, hash)`, an event's short reference."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from babel.dates import format_time
from flask import Flask
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from .. import languages
from ..languages import PSEUDO
from ..ledger import checkpoints
from ..references import reference
from ..types import LONDON, london_date
from .language import current_language


def uk_datetime(value: datetime) -> str:
    """ "3 March 2026 at 8:05am" in English; in another language, that language's long date
    and its time of day ("3 marca 2026, 08:05")."""
    local = value.astimezone(LONDON)
    language = current_language()
    if language.tag != "en" and language is not PSEUDO:
        return (
            f"{languages.long_date(local.date())}, "
            f"{format_time(local.time(), 'short', locale=language.locale)}"
        )
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def local_date(value: datetime | date) -> str:
    """A date as people read it in the page's language: "3 March 2026" (types.uk_date) in
    English, "3 marca 2026" in Polish, with each language's own digits and order."""
    return languages.long_date(london_date(value) if isinstance(value, datetime) else value)


def bdi(value: object) -> Markup:
    """A name or an address isolated from the text around it (`<bdi>`), so that a Latin name
    in an Urdu sentence, or an Urdu name in an English one, keeps its own direction."""
    return Markup("<bdi>{}</bdi>").format(value)


class _InALanguage(Protocol):
    @property
    def language(self) -> str: ...


def lang_attrs(value: _InALanguage | str) -> Markup:
    """The `lang` and `dir` attributes of a block of text the school wrote, given its
    language (a tag, or what carries one: `purposes.Wording`, `notices.ShownNotice`): none
    for English on an English page; otherwise ` lang="pl" dir="ltr"`, so that a screen
    reader reads a translation, or English on a page in another language, in its own voice
    (docs/translations-by-schools.md)."""
    tag = value if isinstance(value, str) else value.language
    if tag == languages.ENGLISH.tag and current_language().tag == languages.ENGLISH.tag:
        return Markup("")
    language = languages.get(tag)
    return Markup(' lang="{}" dir="{}"').format(language.tag, language.direction)


def language_name(tag: str | None, english: bool = False) -> str:
    """A language's name in itself ("Polski", for the family's pages) or, with `english`, in
    English ("Polish", for staff pages)."""
    language = languages.get(tag)
    return language.english if english else language.name


LAWFUL_BASES = {
    "consent": _l("Your consent (UK GDPR Article 6(1)(a))."),
    "contract": _l("A contract with you (UK GDPR Article 6(1)(b))."),
    "legal_obligation": _l("The law requires the school to do it (UK GDPR Article 6(1)(c))."),
    "vital_interests": _l("To protect someone's life (UK GDPR Article 6(1)(d))."),
    "public_task": _l(
        "It is part of the school's public task: the work the law gives schools to do "
        "(UK GDPR Article 6(1)(e))."
    ),
    "legitimate_interests": _l("The school's legitimate interests (UK GDPR Article 6(1)(f))."),
}
DECISIONS = {
    "grant": _l("Yes"),
    "withdraw": _l("No"),
    "object": _l("Objected"),
    "lift_objection": _l("Objection withdrawn"),
    "upheld": _l("Objection upheld"),
    "not_upheld": _l("Objection not upheld"),
}
CHANNELS = {
    "web": _l("online"),
    "paper": _l("from a paper form"),
    "phone": _l("from a phone call"),
    "email": _l("from an email"),
}


def lawful_basis(value: str) -> str:
    return str(LAWFUL_BASES.get(value, value))


def decision_words(value: str) -> str:
    return str(DECISIONS.get(value, value))


def channel_words(value: str) -> str:
    return str(CHANNELS.get(value, value))


def capitalize_first(value: str) -> str:
    """Upper-case the first letter only (Jinja's `capitalize` lowers the rest)."""
    return value[:1].upper() + value[1:]


def init_app(app: Flask) -> None:
    # `uk_date` is the page language's date (English: "3 March 2026").
    app.add_template_filter(local_date, "uk_date")
    for function in (
        bdi,
        uk_datetime,
        lawful_basis,
        decision_words,
        channel_words,
        capitalize_first,
        lang_attrs,
        language_name,
    ):
        app.add_template_filter(function)
    # An event's reference (portal/references.py), where a row does not carry its own.
    app.add_template_global(reference, "reference")
    # The address of an event's proof (docs/ledger.md, "A family's proof").
    app.add_template_global(checkpoints.proof_path, "proof_path")
