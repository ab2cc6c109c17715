"""The forms of the second-factor pages (portal/staff/second_factor.py). Staff pages are in
English."""

from __future__ import annotations

import re
from typing import Any

from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from ..web.forms import PortalForm


def _without_spaces(value: Any) -> Any:
    return re.sub(r"[\s\-]+", "", value) if isinstance(value, str) else value


class AppCodeForm(PortalForm):
    """A code from the authenticator app."""

    next = HiddenField()
    code = StringField(
        "Code from your authenticator app",
        widget=GovTextInput(),
        filters=[_without_spaces],
        validators=[DataRequired(message="Enter the 6-digit code from your authenticator app")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())

    def validate_code(self, field: StringField) -> None:
        if not re.fullmatch(r"\d{6}", field.data or ""):
            raise ValidationError("The code is 6 digits, like 123456")


class RecoveryCodeForm(PortalForm):
    next = HiddenField()
    code = StringField(
        "Recovery code",
        widget=GovTextInput(),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[DataRequired(message="Enter one of your recovery codes")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class StartAppForm(PortalForm):
    next = HiddenField()
    submit = SubmitField("Set up an authenticator app", widget=GovSubmitInput())


class MakeCodesForm(PortalForm):
    next = HiddenField()
    submit = SubmitField("Show my recovery codes", widget=GovSubmitInput())


class RemovePasskeyForm(PortalForm):
    passkey = HiddenField()
    submit = SubmitField("Remove", widget=GovSubmitInput())
