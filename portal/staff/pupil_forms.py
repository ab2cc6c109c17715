"""Forms of the pupil records. The templates write the GOV.UK markup; these
parse and check what comes back. Which guardian and purpose may be chosen is for the domain
(`records.record_answer`) to decide, since another school's ids must answer 404, not an error
message: here they are only parsed as numbers."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..models import Channel, Decision
from ..records import MAX_NOTE
from ..web.forms import strip

DECISIONS = [d.value for d in Decision]
# Staff take down what was said on paper, by phone or by email; the web is the guardian's own.
CHANNELS = [Channel.PAPER.value, Channel.PHONE.value, Channel.EMAIL.value]


def _id(value: Any) -> int | None:
    """A record id from the form, or None for nothing (or nonsense) chosen."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SearchForm(FlaskForm):
    """Find a pupil (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Name", filters=[strip])
    class_name = StringField("Class", filters=[strip])  # one of the school's classes


class AnswerForm(FlaskForm):
    """An answer a guardian gave on paper, by phone or by email."""

    guardian = RadioField(
        "Who gave the answer",
        coerce=_id,
        validate_choice=False,
        validators=[DataRequired(message="Choose who gave the answer")],
    )
    purpose = SelectField(
        "Which choice",
        coerce=_id,
        validate_choice=False,
        validators=[DataRequired(message="Choose which choice the answer is about")],
    )
    decision = RadioField(
        "What they said",
        validate_choice=False,
        validators=[
            DataRequired(message="Choose what they said"),
            AnyOf(DECISIONS, message="Choose one of the answers shown"),
        ],
    )
    channel = RadioField(
        "How they gave it",
        validate_choice=False,
        validators=[
            DataRequired(message="Choose how the answer was given"),
            AnyOf(CHANNELS, message="Choose paper, phone or email"),
        ],
    )
    note = TextAreaField(
        "Note (optional)",
        filters=[strip],
        validators=[
            Optional(),
            Length(max=MAX_NOTE, message=f"The note must be {MAX_NOTE} characters or fewer"),
        ],
    )
