"""Checking one purpose, as a table of the purposes file gives it (a form gives the same
fields): `check` runs one named step per field or group of fields, then the rules that join
them, and says every problem at once, each in the words of the file and of a form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import Choice, GuardianRule, LawfulBasis, OnLeaving, Renewal, Scope
from ..text import multi_line_problem, single_line_problem

KEY = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_KEY = 64
MAX_TITLE = 200
# A yes can need renewing after at most ten years (a pupil's whole time at a school).
MAX_RENEWAL_DAYS = 3650
# Working days for a take-down or a leaving task (a school term is about 60 working days).
MAX_TASK_DAYS = 60
# Months to keep a leaver's data (a hundred years: the column's limit).
MAX_KEEP_MONTHS = 1200
# Fields that end up in a subject, a heading or a CSV cell: one line each.
SINGLE_LINE = frozenset({"key", "title"})
FIELDS = {
    "key", "title", "description", "choice", "lawful_basis", "scope", "guardian_rule",
    "renewal", "renewal_days", "shared_with", "retention", "publishable", "marketing",
    "takedown_days", "on_leaving", "leaving_days", "keep_months",
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One reason a purpose is not valid: the field it is about, the words of the purposes
    file (`message`) and the words of a form (`plain`)."""

    field: str
    message: str
    plain: str


@dataclass(frozen=True)
class TranslationSpec:
    """A purpose's title and description in another language (portal/purposes/translations.py):
    `language` is the tag as the portal writes it ("pl", "pa-Guru")."""

    language: str
    title: str
    description: str


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
    takedown_days: int | None = None  # None: the portal's default (takedowns.DEFAULT_DAYS)
    on_leaving: str = OnLeaving.KEEP.value
    leaving_days: int | None = None  # remove/review only; None: the portal's default
    keep_months: int | None = None  # keep only; None: until the school's retention period
    # The wording in other languages, for the wording the spec gives (purposes file only).
    translations: tuple[TranslationSpec, ...] = ()


# The fields chosen from a list: their values, the value when none is given (None: one must
# be given), and how a form asks for one when none (or an unknown one) was given.
CHOSEN: dict[str, tuple[type[Any], str | None, str]] = {
    "choice": (Choice, None, "Choose what kind of choice families have"),
    "lawful_basis": (LawfulBasis, None, "Choose the lawful basis"),
    "scope": (Scope, Scope.PUPIL.value, "Choose who makes the choice"),
    "guardian_rule": (
        GuardianRule,
        GuardianRule.ANY_OBJECTION_BLOCKS,
        "Choose what happens when guardians disagree",
    ),
    "renewal": (Renewal, Renewal.NEVER.value, "Choose when a yes needs renewing"),
    "on_leaving": (OnLeaving, OnLeaving.KEEP.value, "Choose what happens when a pupil leaves"),
}
FLAGS = ("publishable", "marketing")


def check(entry: Mapping[str, Any]) -> tuple[PurposeSpec | None, list[Problem]]:
    """Check one purpose, given as a table of the purposes file (a form gives the same
    fields): the spec to save, or None and every problem."""
    problems: list[Problem] = []
    _unknown_fields(entry, problems)
    key = _key(entry, problems)
    title, description = _wording(entry, problems)
    shared_with = _text(entry, "shared_with", problems)
    retention = _text(entry, "retention", problems)
    chosen = {name: _chosen(entry, name, problems) for name in CHOSEN}
    renewal_days = _renewal_days(entry, chosen["renewal"], problems)
    flags = {name: _flag(entry, name, problems) for name in FLAGS}
    when = _leaving_and_takedown(entry, chosen["on_leaving"], flags["publishable"], problems)
    _rules_between_fields(chosen, flags, problems)
    if problems:
        return None, problems
    spec = PurposeSpec(
        key=key,
        title=title,
        description=description,
        choice=chosen["choice"],
        lawful_basis=chosen["lawful_basis"],
        scope=chosen["scope"],
        guardian_rule=chosen["guardian_rule"],
        renewal=chosen["renewal"],
        renewal_days=renewal_days,
        shared_with=shared_with,
        retention=retention,
        publishable=flags["publishable"],
        marketing=flags["marketing"],
        takedown_days=when["takedown_days"],
        on_leaving=chosen["on_leaving"],
        leaving_days=when["leaving_days"],
        keep_months=when["keep_months"],
    )
    return spec, []


def _unknown_fields(entry: Mapping[str, Any], problems: list[Problem]) -> None:
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        problems.append(
            Problem(
                "",
                f"unknown field(s) {', '.join(unknown)}",
                f"Unknown field(s) {', '.join(unknown)}",
            )
        )


def _text(entry: Mapping[str, Any], name: str, problems: list[Problem]) -> str | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        label = name.replace("_", " ").capitalize()
        problems.append(Problem(name, f"{name} must be text", f"{label} must be text"))
        return None
    # Browsers send a textarea's line breaks as CRLF; a file read as text has LF.
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    wrong = single_line_problem(value) if name in SINGLE_LINE else multi_line_problem(value)
    if wrong:
        label = name.replace("_", " ").capitalize()
        problems.append(Problem(name, f"{name} {wrong}", f"{label} {wrong}"))
        return None
    return value or None


def _key(entry: Mapping[str, Any], problems: list[Problem]) -> str:
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
    return key


def _wording(entry: Mapping[str, Any], problems: list[Problem]) -> tuple[str, str]:
    """The title and the description: both required, the title short."""
    title = _text(entry, "title", problems)
    description = _text(entry, "description", problems)
    refused = {problem.field for problem in problems}
    if not title:
        if "title" not in refused:
            problems.append(Problem("title", "title is required", "Enter a title"))
    elif len(title) > MAX_TITLE:
        problems.append(
            Problem(
                "title",
                f"title is longer than {MAX_TITLE} characters",
                f"The title must be {MAX_TITLE} characters or fewer",
            )
        )
    if not description and "description" not in refused:
        problems.append(Problem("description", "description is required", "Enter a description"))
    return title or "", description or ""


def _chosen(entry: Mapping[str, Any], name: str, problems: list[Problem]) -> str:
    """A field chosen from a list (CHOSEN): its value, or its default when not given."""
    kind, default, ask = CHOSEN[name]
    allowed = {member.value for member in kind}
    value = entry.get(name, default)
    if not isinstance(value, str) or value not in allowed:
        problems.append(Problem(name, f"{name} must be one of {', '.join(sorted(allowed))}", ask))
        return default or ""
    return str(value)


def _renewal_days(entry: Mapping[str, Any], renewal: str, problems: list[Problem]) -> Any:
    """The number of days after which a yes needs renewing: only with renewal "days"."""
    days = entry.get("renewal_days")
    if renewal == Renewal.DAYS:
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            problems.append(
                Problem(
                    "renewal_days",
                    'renewal = "days" needs renewal_days, a whole number > 0',
                    "Enter the number of days as a whole number more than 0, like 365",
                )
            )
        elif days > MAX_RENEWAL_DAYS:
            problems.append(
                Problem(
                    "renewal_days",
                    f"renewal_days must be at most {MAX_RENEWAL_DAYS} (ten years)",
                    f"Enter a number of days no more than {MAX_RENEWAL_DAYS} (ten years)",
                )
            )
        return days
    if days is not None:
        problems.append(
            Problem(
                "renewal_days",
                'renewal_days only goes with renewal = "days"',
                "Leave the number of days empty unless a yes needs renewing after a number of days",
            )
        )
    return None


# The whole numbers of the leaving and take-down settings: the words of the file and the
# form for a number out of range, and the highest allowed.
NUMBERS = {
    "takedown_days": (MAX_TASK_DAYS, "the number of working days for a take-down"),
    "leaving_days": (MAX_TASK_DAYS, "the number of working days after a pupil leaves"),
    "keep_months": (MAX_KEEP_MONTHS, "the number of months to keep it after a pupil leaves"),
}


def _whole_number(entry: Mapping[str, Any], name: str, problems: list[Problem]) -> int | None:
    """An optional whole number from 0 to its maximum (NUMBERS)."""
    value = entry.get(name)
    if value is None:
        return None
    highest, words = NUMBERS[name]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= highest:
        problems.append(
            Problem(
                name,
                f"{name} must be a whole number from 0 to {highest}",
                f"Enter {words} as a whole number from 0 to {highest}",
            )
        )
        return None
    return value


def _leaving_and_takedown(
    entry: Mapping[str, Any], on_leaving: str, publishable: bool, problems: list[Problem]
) -> dict[str, int | None]:
    """How fast a take-down is done (publishable purposes only), and what happens when a
    pupil leaves: working days for remove and review, months for keep."""
    found = {name: _whole_number(entry, name, problems) for name in NUMBERS}
    if entry.get("takedown_days") is not None and not publishable:
        problems.append(
            Problem(
                "takedown_days",
                "takedown_days only goes with publishable = true",
                "Leave the working days for a take-down empty unless it is offered in the "
                "photo check (published)",
            )
        )
    acting = on_leaving in {OnLeaving.REMOVE, OnLeaving.REVIEW}
    if entry.get("leaving_days") is not None and not acting:
        problems.append(
            Problem(
                "leaving_days",
                'leaving_days only goes with on_leaving = "remove" or "review"',
                "Leave the working days after a pupil leaves empty unless it is removed or "
                "reviewed when a pupil leaves",
            )
        )
    if entry.get("keep_months") is not None and on_leaving != OnLeaving.KEEP:
        problems.append(
            Problem(
                "keep_months",
                'keep_months only goes with on_leaving = "keep"',
                "Leave the months to keep it empty unless it is kept when a pupil leaves",
            )
        )
    return found


def _flag(entry: Mapping[str, Any], name: str, problems: list[Problem]) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        plain = f"{name.capitalize()} must be yes or no"
        problems.append(Problem(name, f"{name} must be true or false", plain))
    return bool(value)


def _rules_between_fields(
    chosen: dict[str, str], flags: dict[str, bool], problems: list[Problem]
) -> None:
    """What the law asks of the choice, its lawful basis and marketing together."""
    choice, lawful_basis, scope = chosen["choice"], chosen["lawful_basis"], chosen["scope"]
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
    if chosen["guardian_rule"] == GuardianRule.BIOMETRIC:
        if choice != Choice.CONSENT or scope != Scope.PUPIL:
            problems.append(
                Problem(
                    "guardian_rule",
                    'guardian_rule = "biometric" needs choice = "consent" and scope = "pupil"'
                    " (a parent's written consent for a child: Protection of Freedoms Act 2012)",
                    "The biometric rule needs a consent choice made for each child (the "
                    "Protection of Freedoms Act 2012 asks for a parent's written consent)",
                )
            )
        if flags["publishable"]:
            problems.append(
                Problem(
                    "publishable",
                    'guardian_rule = "biometric" does not go with publishable = true'
                    " (biometric information is never published)",
                    "Biometric recognition is never published: do not offer it in the photo check",
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
