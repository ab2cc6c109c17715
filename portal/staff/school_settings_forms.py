"""The form of the school settings page (admins): the retention period, who is emailed
about a new take-down, and whether families get renewal reminders. Whether the values are
allowed is decided by `school_settings.check`."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextInput
from wtforms import RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from ..web.forms import PortalForm, strip

TASK_EMAIL_CHOICES = [
    SelectChoice("admins", "The school's admins"),
    SelectChoice("everyone", "The school's admins and staff"),
    SelectChoice("none", "Nobody: staff check the take-downs page themselves"),
]


RENEWAL_REMINDER_CHOICES = [
    SelectChoice("on", "Yes: email them, at most once a fortnight"),
    SelectChoice("off", "No: the school reminds families itself (with an invitation)"),
]


class SettingsForm(PortalForm):
    retention_months = StringField(
        "How many months after a pupil leaves",
        widget=GovTextInput(),
        filters=[strip],
        validators=[DataRequired(message="Enter a number of months, such as 12")],
    )
    task_emails = RadioField(
        "Who is emailed about a new take-down",
        widget=GovRadioInput(),
        choices=TASK_EMAIL_CHOICES,
        validate_choice=False,  # school_settings.check refuses an unknown one, with its words
        validators=[DataRequired(message="Choose who is emailed about a new take-down")],
    )
    renewal_reminders = RadioField(
        "Email families when an answer needs renewing",
        widget=GovRadioInput(),
        choices=RENEWAL_REMINDER_CHOICES,
        validate_choice=False,  # reminders() refuses anything else
        validators=[
            DataRequired(message="Choose whether families are reminded when an answer runs out")
        ],
    )
    submit = SubmitField("Save settings", widget=GovSubmitInput())

    def reminders(self) -> bool | None:
        """Whether renewal reminders are on; None (with the field's error) for anything else."""
        choice = self.renewal_reminders.data
        if choice in ("on", "off"):
            return choice == "on"
        self.renewal_reminders.errors = [
            "Choose whether families are reminded when an answer runs out"
        ]
        return None

    def months(self) -> int | None:
        """The period typed, or None (with the field's error) when it is not a whole number."""
        typed = self.retention_months.data or ""
        if not typed.isascii() or not typed.isdigit() or len(typed) > 6:
            self.retention_months.errors = [
                "Enter the period as a whole number of months, such as 12"
            ]
            return None
        return int(typed)
