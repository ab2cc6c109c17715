"""The forms of the sign-in screens (portal/auth/signin.py), one per screen."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextInput
from wtforms import RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from .. import emails
from ..web.forms import email_address, strip


def _without_spaces(value: Any) -> Any:
    """A code typed as "123 456" (or pasted with a line break) is the code 123456."""
    return re.sub(r"\s+", "", value) if isinstance(value, str) else value


class LengthFirst(Length):
    """`Length` that ends the field's validation when it fails: put first, nothing after it
    (the address's parser, an inline `validate_<field>`) reads an over-long value."""

    def __call__(self, form: Any, field: Any) -> None:
        try:
            super().__call__(form, field)
        except ValidationError as exc:
            raise StopValidation(str(exc)) from exc


class SignInForm(FlaskForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            # First: email_validator's time grows with the length of what it parses.
            LengthFirst(
                max=emails.MAX_LENGTH,
                message=f"Email address must be {emails.MAX_LENGTH} characters or fewer",
            ),
            DataRequired(message="Enter your email address"),
            email_address("name@example.com"),
        ],
    )
    submit = SubmitField("Send me a sign-in link", widget=GovSubmitInput())


class CodeForm(FlaskForm):
    code = StringField(
        "Code from the email",
        widget=GovTextInput(),
        filters=[_without_spaces],
        validators=[DataRequired(message="Enter the 6-digit code from the email")],
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())

    def validate_code(self, field: StringField) -> None:
        if not re.fullmatch(r"\d{6}", field.data or ""):
            raise ValidationError("The code is 6 digits, like 123456")


class ContinueForm(FlaskForm):
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ChooseForm(FlaskForm):
    principal = RadioField(
        "How do you want to sign in?",
        widget=GovRadioInput(),
        validators=[DataRequired(message="Choose how you want to sign in")],
        choices=[],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class SignOutForm(FlaskForm):
    submit = SubmitField("Sign out", widget=GovSubmitInput())
