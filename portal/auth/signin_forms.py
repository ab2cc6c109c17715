"""The forms of the sign-in screens (portal/auth/signin.py), one per screen. Their labels and
messages are in the page's language (every validator has its own message: WTForms has no
catalogue for most of the portal's languages)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from .. import emails
from ..web.forms import GovRadioInput, GovTextInput, PortalForm, email_address, strip


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


class SignInForm(PortalForm):
    email = StringField(
        _l("Email address"),
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            # First: email_validator's time grows with the length of what it parses.
            LengthFirst(
                max=emails.MAX_LENGTH,
                # Length fills in %(max)d.
                message=_l("Email address must be %(max)d characters or fewer"),
            ),
            DataRequired(message=_l("Enter your email address")),
            email_address("name@example.com"),
        ],
    )
    submit = SubmitField(_l("Send me a sign-in link"), widget=GovSubmitInput())


class CodeForm(PortalForm):
    code = StringField(
        _l("Code from the email"),
        widget=GovTextInput(),
        filters=[_without_spaces],
        validators=[DataRequired(message=_l("Enter the 6-digit code from the email"))],
    )
    submit = SubmitField(_l("Sign in"), widget=GovSubmitInput())

    def validate_code(self, field: StringField) -> None:
        if not re.fullmatch(r"\d{6}", field.data or ""):
            raise ValidationError(_("The code is 6 digits, like %(example)s", example="123456"))


class ContinueForm(PortalForm):
    submit = SubmitField(_l("Continue"), widget=GovSubmitInput())


class NewLinkForm(PortalForm):
    """An invitation's link that no longer signs in: email a fresh one."""

    submit = SubmitField(_l("Email me a sign-in link"), widget=GovSubmitInput())


def _offered(form: Any, field: RadioField) -> None:
    """One of the accounts offered (WTForms' own check says "Not a valid choice." in English,
    or in a language of its own catalogues only)."""
    if field.data not in {value for value, _label in field.choices or []}:
        raise ValidationError(_("Choose how you want to sign in"))


class ChooseForm(PortalForm):
    principal = RadioField(
        _l("How do you want to sign in?"),
        widget=GovRadioInput(),
        validate_choice=False,
        validators=[DataRequired(message=_l("Choose how you want to sign in")), _offered],
        choices=[],
    )
    submit = SubmitField(_l("Continue"), widget=GovSubmitInput())


class SignOutForm(PortalForm):
    submit = SubmitField(_l("Sign out"), widget=GovSubmitInput())
