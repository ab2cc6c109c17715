"""Forms of the parent journey. The buttons carry the decision (name="decision"); the hidden
fields say what the page showed, so a stale page cannot agree to wording nobody read."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from ..models import Decision

MAX_REASON = 1000
DECISIONS = [d.value for d in Decision]


class DecisionForm(FlaskForm):
    """One purpose's answer for a child (and, ticked, their brothers and sisters)."""

    decision = StringField(
        validators=[
            DataRequired(message="Choose an answer"),
            AnyOf(DECISIONS, message="Choose one of the answers shown"),
        ]
    )
    purpose_version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    notice_version = IntegerField(validators=[Optional(), NumberRange(min=1)])
    note = TextAreaField(
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            Optional(),
            Length(max=MAX_REASON, message=f"Your reason must be {MAX_REASON} characters or fewer"),
        ],
    )
    also = SelectMultipleField(coerce=int, validate_choice=False)


class MarketingForm(FlaskForm):
    decision = StringField(
        validators=[
            DataRequired(message="Choose an answer"),
            AnyOf(DECISIONS, message="Choose one of the answers shown"),
        ]
    )
    purpose = HiddenField()
