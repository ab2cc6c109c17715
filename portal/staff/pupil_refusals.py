"""A pupil's own refusal of biometric recognition (staff and admins): the page that shows
the refusals recorded for a pupil and the form to record one, or its lifting. Thin views over
`portal.pupil_refusals`; recording redirects to the pupil's record, whose statuses then say
"Not allowed: the pupil refused". A plain form and redirect: the page works without
JavaScript, and a boosted request gets the same pages.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response
from wtforms import RadioField
from wtforms.validators import DataRequired

from .. import pupil_refusals
from ..models import RefusalAction
from ..web.access import staff_required
from ..web.forms import PortalForm
from ..web.hypermedia import whole_page
from ..web.incoming import parse_id
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff

PAGE = "staff/pupil_refusals/refusals.html"
SAVED_CATEGORY = "pupil-record"  # shown on the pupil's record (portal/staff/pupils.py)


class RefusalForm(PortalForm):
    """What the pupil said. Which purposes may be chosen is for the domain to decide."""

    purpose = RadioField(
        "Which use",
        coerce=parse_id,
        validate_choice=False,
        validators=[DataRequired(message="Choose which use the pupil means")],
    )
    action = RadioField(
        "What the pupil said",
        validate_choice=False,
        validators=[DataRequired(message="Choose what the pupil said")],
    )
    how = RadioField(
        "How the pupil said it",
        validate_choice=False,
        validators=[DataRequired(message="Choose how the pupil said it")],
    )


def _page(found: pupil_refusals.Refusals, form: RefusalForm, status: int = 200) -> Response:
    if form.purpose.data is None and len(found.purposes) == 1:
        form.purpose.data = found.purposes[0].id
    return whole_page(PAGE, status=status, found=found, form=form)


@bp.get("/pupils/<int:pupil_id>/refusals", endpoint="pupil_refusals")
@staff_required(ADMIN, STAFF)
def refusals_page(pupil_id: int) -> Response:
    found = pupil_refusals.refusals(current_school_id(), pupil_id)
    return _page(found, RefusalForm(formdata=None))


@bp.post("/pupils/<int:pupil_id>/refusals", endpoint="record_pupil_refusal")
@staff_required(ADMIN, STAFF)
def record_refusal(pupil_id: int) -> Response:
    # The CSRF token is checked for every POST (CSRFProtect) before this runs.
    school_id = current_school_id()
    found = pupil_refusals.refusals(school_id, pupil_id)  # 404 unless a pupil of this school
    form = RefusalForm()
    if not form.validate_on_submit():
        return _page(found, form, status=400)
    try:
        row = pupil_refusals.record(
            current_staff(),
            pupil_id,
            form.purpose.data,  # DataRequired: an id (parse_id)
            form.action.data or "",
            form.how.data or "",
        )
    except pupil_refusals.RefusalProblem as problem:
        getattr(form, problem.field).errors = [str(problem)]
        return _page(found, form, status=400)
    pupil = found.pupil
    name = "The pupil" if pupil.erased_at else pupil.forename
    title = next((p.title for p in found.purposes if p.id == form.purpose.data), "it")
    if row is None:
        message = f"Nothing changed: that is already what is recorded for {name} about “{title}”."
    elif row.action == RefusalAction.REFUSE:
        message = (
            f"Recorded: {name} refuses “{title}”. The school must not use it for them, "
            "whatever their parents said, and must offer another way."
        )
    else:
        message = (
            f"Recorded: {name} no longer refuses “{title}”. It still needs a parent's yes "
            "in writing, and no parent's no."
        )
    flash(message, SAVED_CATEGORY)
    return redirect(url_for(".pupil", pupil_id=pupil_id))
