"""Forms of the admin's roster upload and import."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovSubmitInput,
)
from wtforms import BooleanField, HiddenField, SubmitField
from wtforms.validators import InputRequired

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
