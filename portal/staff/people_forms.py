"""Forms of the admin's people screens: roster upload and import, staff users."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import BooleanField, HiddenField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from .. import emails
from ..staff_users import MAX_NAME
from ..web.forms import strip

ROLE_CHOICES = [
    SelectChoice("admin", "Admin: everything, including staff users, the roster and invitations"),
    SelectChoice("staff", "Staff: photo check, pupils' records and take-downs"),
    SelectChoice("marketing", "Marketing: the marketing export only"),
]


# --- roster --------------------------------------------------------------------------------


class RosterUploadForm(FlaskForm):
    """The file is checked by the view (size, encoding, CSV) as it reads it."""

    file = FileField(
        "Roster file (CSV)",
        widget=GovFileInput(),
        description="A CSV export from your MIS, with one row per pupil and contact.",
    )
    # Off unless ticked; the hint beside it is in the template (templates/staff/roster.html).
    mark_missing_as_left = BooleanField(
        "Mark pupils who are not in this file as having left the school",
        widget=GovCheckboxInput(),
    )
    submit = SubmitField("Preview the import", widget=GovSubmitInput())


class RosterConfirmForm(FlaskForm):
    """The previewed file travels back signed (see portal/staff/roster.py)."""

    payload = HiddenField(validators=[InputRequired()])
    submit = SubmitField("Import", widget=GovSubmitInput())


# --- staff users ---------------------------------------------------------------------------


class AddUserForm(FlaskForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            DataRequired(message="Enter their email address"),
            Length(max=254, message="The email address must be 254 characters or fewer"),
        ],
    )
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            DataRequired(message="Enter their name"),
            Length(max=MAX_NAME, message=f"The name must be {MAX_NAME} characters or fewer"),
        ],
    )
    role = RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=ROLE_CHOICES,
        validators=[DataRequired(message="Choose a role")],
    )
    submit = SubmitField("Add staff user", widget=GovSubmitInput())

    def validate_email(self, field: StringField) -> None:
        try:
            emails.normalise(field.data or "")
        except emails.InvalidEmail as exc:
            raise ValidationError(
                "Enter an email address in the correct format, like name@school.example"
            ) from exc


class RoleForm(FlaskForm):
    role = RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=ROLE_CHOICES,
        validators=[DataRequired(message="Choose a role")],
    )
    submit = SubmitField("Change role", widget=GovSubmitInput())


class DeactivateForm(FlaskForm):
    """First press: the confirmation page. Second press (confirm=yes): deactivate."""

    confirm = HiddenField()
    submit = SubmitField("Deactivate", widget=GovSubmitInput())
