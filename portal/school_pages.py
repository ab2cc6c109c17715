"""A school's public pages: the schools on the portal, each school's privacy notice (every
version stays readable) and the page about people's rights. No sign-in, because a privacy
notice is a public document; nothing here reads anything about a family.

No Flask request state: a school or notice version that does not exist raises `NotFound`. The
page's language is an argument: the notice is shown in it when the school has published a
translation of that version, and otherwise in English (`notices.shown`).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import notices, schools
from .errors import NotFound
from .models import NoticeVersion, School


def directory() -> list[School]:
    """Every school on the portal, by name."""
    return schools.all_schools()


@dataclass(frozen=True)
class NoticePage:
    school: School
    notice: NoticeVersion | None  # the version shown; None before any is published
    versions: list[NoticeVersion]  # every version, newest first
    is_current: bool  # the version shown is the school's current one
    # What the page shows of it: the translation into the page's language, or the English.
    shown: notices.ShownNotice | None = None


def notice(slug: str, version: int | None = None, *, language: str | None = None) -> NoticePage:
    """The school's notice: its current version, or the `version` asked for, as a page in
    `language` (a BCP 47 tag; None: English) shows it."""
    school = schools.get_by_slug(slug)
    versions = notices.versions(school)
    if version is None:
        chosen = versions[0] if versions else None
    else:
        chosen = next((v for v in versions if v.version == version), None)
        if chosen is None:
            raise NotFound(f"{school.name} has no notice version {version}")
    return NoticePage(
        school,
        chosen,
        versions,
        is_current=chosen is None or chosen.version == versions[0].version,
        shown=notices.shown(chosen, language) if chosen is not None else None,
    )


def rights(slug: str) -> School:
    """The school whose rights page this is (its contacts and its data protection officer)."""
    return schools.get_by_slug(slug)
