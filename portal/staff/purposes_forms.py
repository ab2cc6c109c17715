"""Forms of the purposes screens (admins): a new purpose, a change to one, retiring one, and a
translation of a purpose's wording.

The purpose forms only carry what was typed: whether a purpose is valid is decided by
`purposes.check`, the same rules as the purposes file, and its problems are put beside the
fields here (`add_problems`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from .. import languages, purposes, takedowns
from ..models import OnLeaving, Renewal
from ..web.forms import PortalForm, strip

MAX_TEXT = 5000


CHOICES = {
    "consent": "Consent: nothing happens until a guardian says yes",
    "objection": "Objection: it goes ahead unless a guardian objects",
    "none": "Information only: families have no choice (the law requires it, for example)",
}
KINDS = {"consent": "Consent", "objection": "Objection", "none": "Information only"}
LAWFUL_BASES = {
    "consent": "Consent",
    "public_task": "Public task",
    "legitimate_interests": "Legitimate interests",
    "legal_obligation": "Legal obligation",
    "contract": "Contract",
    "vital_interests": "Vital interests",
}
SCOPES = {
    "pupil": "Each child: the guardians with parental responsibility decide for them",
    "guardian": "Each guardian, for themselves (marketing emails, for example)",
}
GUARDIAN_RULES = {
    "any_objection_blocks": "The more protective answer wins (recommended)",
    "latest_wins": "The most recent answer of any guardian counts",
    "biometric": (
        "Biometric recognition (Protection of Freedoms Act 2012): one parent's yes in writing, "
        "no parent's no, and the pupil's own refusal stops it"
    ),
}
RENEWALS = {
    "never": "Never: a yes stands until it is withdrawn",
    "academic_year": "Every school year: a yes runs out on 1 September",
    "days": "After a number of days",
}

ON_LEAVING = {
    "keep": "Keep it for a set time, then the portal's retention run removes it",
    "remove": "Remove it: a task at once, to be done within a number of working days",
    "review": "Review it: a task at once, to decide what to keep",
}


def _number(given: Any) -> Any:
    """A typed whole number as a number; anything else as typed, for `purposes.check` to
    refuse; empty as None."""
    value = "" if given is None else str(given).strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 10 else value


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class PurposeForm(PortalForm):
    """A new purpose. Fill it from a purpose (`obj=`) to show one as it is."""

    key = StringField(
        "Key",
        widget=GovTextInput(),
        filters=[strip],
        description=(
            "A short name that never changes, used in files and exports: lower-case letters "
            "and digits joined by - or _, like photos-website."
        ),
    )
    title = StringField("Title", widget=GovTextInput(), filters=[strip])
    description = TextAreaField(
        "Description",
        widget=GovTextArea(),
        filters=[strip],
        description="In plain English: what the school does, where and why.",
        validators=[
            Length(max=MAX_TEXT, message=f"The description must be {MAX_TEXT} characters or fewer")
        ],
    )
    choice = RadioField(
        "What choice do families have?",
        widget=GovRadioInput(),
        description="Families can say yes or no, object, or are only told about it.",
        choices=_choices(CHOICES),
        validate_choice=False,  # purposes.check says what is missing or wrong
    )
    lawful_basis = RadioField(
        "Lawful basis",
        widget=GovRadioInput(),
        description=(
            "A consent choice needs Consent; an objection choice needs Public task or "
            "Legitimate interests."
        ),
        choices=_choices(LAWFUL_BASES),
        validate_choice=False,
    )
    scope = RadioField(
        "Who makes the choice?",
        widget=GovRadioInput(),
        description="Most purposes are about a child.",
        choices=_choices(SCOPES),
        default="pupil",
        validate_choice=False,
    )
    guardian_rule = RadioField(
        "When guardians disagree",
        widget=GovRadioInput(),
        description="When two people with parental responsibility give different answers.",
        choices=_choices(GUARDIAN_RULES),
        default="any_objection_blocks",
        validate_choice=False,
    )
    renewal = RadioField(
        "When does a yes need renewing?",
        widget=GovRadioInput(),
        description="A yes that has run out counts as no until the family answers again.",
        choices=_choices(RENEWALS),
        default="never",
        validate_choice=False,
    )
    renewal_days = StringField(
        "Number of days",
        widget=GovTextInput(),
        filters=[strip],
        description="Only when a yes needs renewing after a number of days.",
    )
    publishable = BooleanField(
        "Offer it in the photo check (staff check it before publishing a photo)",
        widget=GovCheckboxInput(),
        description="Staff see which pupils may appear in a photo for the purposes offered there.",
    )
    marketing = BooleanField(
        "It is marketing (emails about events or fundraising, for example)",
        widget=GovCheckboxInput(),
        description="Only for a consent choice that each guardian makes for themselves.",
    )
    takedown_days = StringField(
        "Working days to take it down (optional)",
        widget=GovTextInput(),
        filters=[strip],
        description=(
            "Only for a purpose offered in the photo check. When a family says no, staff "
            "take down what was published within this many working days. "
            f"Empty: {takedowns.DEFAULT_DAYS}."
        ),
    )
    on_leaving = RadioField(
        "When a pupil leaves",
        widget=GovRadioInput(),
        description="What the school does with this when a pupil leaves.",
        choices=_choices(ON_LEAVING),
        default="keep",
        validate_choice=False,
    )
    leaving_days = StringField(
        "Working days to remove or review it (optional)",
        widget=GovTextInput(),
        filters=[strip],
        description=(
            "Only when it is removed or reviewed when a pupil leaves. "
            f"Empty: {takedowns.DEFAULT_LEAVING_DAYS}."
        ),
    )
    keep_months = StringField(
        "Months to keep it after a pupil leaves (optional)",
        widget=GovTextInput(),
        filters=[strip],
        description=(
            "Only when it is kept. Empty: until the school's retention period for leavers ends."
        ),
    )
    shared_with = TextAreaField(
        "Who sees it (optional)",
        widget=GovTextArea(),
        filters=[strip],
        validators=[
            Length(max=MAX_TEXT, message=f"Who sees it must be {MAX_TEXT} characters or fewer")
        ],
    )
    retention = TextAreaField(
        "How long it is kept (optional)",
        widget=GovTextArea(),
        filters=[strip],
        validators=[
            Length(
                max=MAX_TEXT, message=f"How long it is kept must be {MAX_TEXT} characters or fewer"
            )
        ],
    )
    # The purpose template the form started from (purposes.TEMPLATES), if any.
    template = HiddenField()
    submit = SubmitField("Save", widget=GovSubmitInput())

    def entry(self, fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The purpose as a table of the purposes file, for `purposes.check`. `fixed` is what
        a template decides (`PurposeTemplate.fixed`): it stands in for the fields the form
        did not show."""
        fixed = fixed or {}
        choice = fixed.get("choice", self.choice.data)
        publishable = fixed.get("publishable", bool(self.publishable.data))
        days: Any = self.renewal_days.data or None
        renewal = self.renewal.data if choice == "consent" or "choice" not in fixed else "never"
        if renewal != Renewal.DAYS:
            days = None  # only asked for with "after a number of days"
        elif days is not None and days.isdigit():
            days = int(days)
        on_leaving = self.on_leaving.data
        acting = on_leaving in {OnLeaving.REMOVE, OnLeaving.REVIEW}
        return {
            "key": self.key.data if self.key is not None else None,
            "title": self.title.data,
            "description": self.description.data,
            "choice": choice,
            "lawful_basis": fixed.get("lawful_basis", self.lawful_basis.data),
            "scope": fixed.get("scope", self.scope.data),
            "guardian_rule": fixed.get("guardian_rule", self.guardian_rule.data),
            "renewal": renewal,
            "renewal_days": days,
            "publishable": publishable,
            "marketing": fixed.get("marketing", bool(self.marketing.data)),
            "shared_with": self.shared_with.data,
            "retention": self.retention.data,
            # Each number only where it applies (as renewal_days above).
            "takedown_days": _number(self.takedown_days.data) if publishable else None,
            "on_leaving": on_leaving,
            "leaving_days": _number(self.leaving_days.data) if acting else None,
            "keep_months": _number(self.keep_months.data) if on_leaving == OnLeaving.KEEP else None,
        }

    def add_problems(self, problems: list[purposes.Problem]) -> None:
        """Put each problem beside its field (in the summary too, through `errors`)."""
        for problem in problems:
            field = self._fields.get(problem.field) or self.title
            field.errors = [*field.errors, problem.plain]


class EditPurposeForm(PurposeForm):
    """An existing purpose: its key never changes."""

    key = None  # type: ignore[assignment]

    def entry(self, fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
        entry = super().entry(fixed)
        del entry["key"]  # purposes.update keeps the purpose's own
        return entry


class RetireForm(PortalForm):
    submit = SubmitField("Retire this purpose", widget=GovSubmitInput())


class TranslationForm(PortalForm):
    """The title and description of a purpose's current wording in another language. Like the
    purpose forms it carries what was typed; `purposes.translate` checks it."""

    language = SelectField(
        "Language",
        widget=GovSelect(),
        choices=[],  # set by `for_languages`: those the wording is not yet translated into
        validate_choice=False,
    )
    title = StringField("Title, in that language", widget=GovTextInput(), filters=[strip])
    description = TextAreaField(
        "Description, in that language",
        widget=GovTextArea(),
        filters=[strip],
        validators=[
            Length(max=MAX_TEXT, message=f"The description must be {MAX_TEXT} characters or fewer")
        ],
    )
    version = HiddenField()
    submit = SubmitField("Add the translation", widget=GovSubmitInput())

    def for_languages(self, translated: list[str], version: int) -> TranslationForm:
        """Offer the languages not yet `translated` (their tags); `version` is the wording
        being translated (kept as it was when the form was posted)."""
        self.language.choices = [SelectChoice("", "Choose a language")] + [
            SelectChoice(language.tag, language.english)
            for language in languages.LANGUAGES
            if language.tag != languages.ENGLISH.tag and language.tag not in translated
        ]
        if not self.version.data:
            self.version.data = str(version)
        return self

    def validate_language(self, field: SelectField) -> None:
        offered = [choice.value for choice in field.choices or [] if choice.value]  # type: ignore[union-attr]
        if not field.data:
            raise ValidationError("Choose the language of the translation")
        if field.data not in offered:
            raise ValidationError("Choose one of the languages listed")

    def posted_version(self) -> int:
        """The wording version the form translated (0 when the form carries none)."""
        value = self.version.data or ""
        return int(value) if value.isdigit() and len(value) < 10 else 0

    def add_problems(self, problems: list[purposes.Problem]) -> None:
        """Put each problem beside its field (the language for those about no field)."""
        for problem in problems:
            field = self._fields.get(problem.field) or self.language
            if field is self.version:
                field = self.language
            field.errors = [*field.errors, problem.plain]
