"""Forms of the ledger browser and the exports: the ledger filter (a GET form, no CSRF: it
changes nothing), the same filter as the ledger export's POST, and the marketing list's
choice of purpose. "Verify now" and the suppression list are buttons with nothing to parse:
their POSTs need only the CSRF token, which CSRFProtect checks for every POST."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, Field, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from ..ledger_browser import EventFilter, Options
from ..models import Channel, Decision
from ..web.forms import strip

DECISION_CHOICES = [
    SelectChoice("", "Any decision"),
    SelectChoice(Decision.GRANT.value, "Yes (consent given)"),
    SelectChoice(Decision.WITHDRAW.value, "No (consent refused or withdrawn)"),
    SelectChoice(Decision.OBJECT.value, "Objected"),
    SelectChoice(Decision.LIFT_OBJECTION.value, "Objection withdrawn"),
]
CHANNEL_CHOICES = [
    SelectChoice("", "Any channel"),
    SelectChoice(Channel.WEB.value, "Online"),
    SelectChoice(Channel.PAPER.value, "Paper form"),
    SelectChoice(Channel.PHONE.value, "Phone call"),
    SelectChoice(Channel.EMAIL.value, "Email"),
]
DAY_FIRST = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})$")


class UKDateField(DateField):
    """A date from `<input type="date">` (2025-10-06), or typed by hand where the browser
    shows a plain text box (6/10/2025)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = " ".join(valuelist).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        try:
            self.data = date.fromisoformat(text)
            return
        except ValueError:
            pass
        match = DAY_FIRST.match(text)
        try:
            if match is None:
                raise ValueError(text)
            day, month, year = (int(part) for part in match.groups())
            self.data = date(year, month, day)
        except ValueError as exc:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date, like 6/10/2025") from exc


def _in_choices(message: str) -> Any:
    def check(form: FlaskForm, field: Field) -> None:
        if field.data and field.data not in {c.value for c in field.choices or []}:
            raise ValidationError(message)

    return check


def _digits(message: str) -> Any:
    def check(form: FlaskForm, field: Field) -> None:
        if field.data and not str(field.data).isdigit():
            raise ValidationError(message)

    return check


class LedgerFilterForm(FlaskForm):
    """The ledger browser's filter, read from the query string."""

    class Meta:
        csrf = False

    date_from = UKDateField("From", validators=[Optional()])
    date_to = UKDateField("To", validators=[Optional()])
    class_name = SelectField(
        "Class",
        choices=[],
        validate_choice=False,
        validators=[_in_choices("Choose a class from the list")],
    )
    pupil = StringField(
        "Pupil",
        filters=[strip],
        validators=[Length(max=100, message="Pupil must be 100 characters or fewer")],
    )
    pupil_id = IntegerField(widget=HiddenInput(), validators=[Optional()])
    # A purpose id of another school is not "not on the list" but not found (404): the
    # domain answers that, so only the shape of the value is checked here.
    purpose = SelectField(
        "Purpose",
        choices=[],
        validate_choice=False,
        validators=[_digits("Choose a purpose from the list")],
    )
    decision = SelectField(
        "Decision",
        choices=DECISION_CHOICES,
        validate_choice=False,
        validators=[_in_choices("Choose a decision from the list")],
    )
    channel = SelectField(
        "Channel",
        choices=CHANNEL_CHOICES,
        validate_choice=False,
        validators=[_in_choices("Choose a channel from the list")],
    )

    FILTER_FIELDS = (
        "date_from", "date_to", "class_name", "pupil", "pupil_id", "purpose", "decision",
        "channel",
    )  # fmt: skip

    def offer(self, options: Options) -> LedgerFilterForm:
        """Fill the class and purpose lists with this school's."""
        self.class_name.choices = [SelectChoice("", "Any class")] + [
            SelectChoice(c, c) for c in options.classes
        ]
        self.purpose.choices = [SelectChoice("", "Any purpose")] + [
            SelectChoice(str(pid), title) for pid, title in options.purposes
        ]
        return self

    def validate_date_to(self, field: UKDateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("To must be the same as or after From")

    def to_filter(self) -> EventFilter:
        return EventFilter(
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            class_name=self.class_name.data or None,
            pupil=self.pupil.data or None,
            pupil_id=self.pupil_id.data,
            purpose_id=int(self.purpose.data) if self.purpose.data else None,
            decision=self.decision.data or None,
            channel=self.channel.data or None,
        )

    def query_args(self) -> dict[str, str]:
        """The filter as it came in (non-empty values only), for page links and the export
        form's hidden fields."""
        args: dict[str, str] = {}
        for name in self.FILTER_FIELDS:
            field = self[name]
            raw = field.raw_data[0] if field.raw_data else ""
            if isinstance(raw, str) and raw.strip():
                args[name] = raw.strip()
        return args


class LedgerExportForm(LedgerFilterForm):
    """The same filter, posted (with a CSRF token) to download the matching events."""

    class Meta:
        csrf = True


class MarketingExportForm(FlaskForm):
    """Download the marketing list: of one marketing purpose, or of any of them."""

    purpose = SelectField("Who agreed to", choices=[], validate_choice=False)

    def offer(self, purposes: list[tuple[int, str]]) -> MarketingExportForm:
        self.purpose.choices = [SelectChoice("any", "Any marketing emails")] + [
            SelectChoice(str(pid), title) for pid, title in purposes
        ]
        return self

    def validate_purpose(self, field: SelectField) -> None:
        if field.data and field.data != "any" and not str(field.data).isdigit():
            raise ValidationError("Choose which marketing emails from the list")

    @property
    def purpose_id(self) -> int | None:
        value = self.purpose.data
        return int(value) if value and value != "any" else None
