"""The school's settings, for admins: how long the portal keeps a family's details after
their pupil leaves, who is emailed about a new take-down, and whether families are emailed
when an answer needs renewing; and the latest erasures of the retention run. Saving is a
POST that redirects back with a confirmation; htmx swaps the form's region. A refused value
shows the form again with the reason beside the field."""

from __future__ import annotations

from flask import url_for
from werkzeug.wrappers import Response

from .. import school_settings
from ..models import School
from ..web.access import staff_required
from ..web.hypermedia import confirmation, page_or_fragment, saved
from . import bp
from .nav import ADMIN, current_school_id, current_staff
from .school_settings_forms import TASK_EMAIL_CHOICES, SettingsForm

PAGE = "staff/school_settings/settings.html"
FORM = "staff/school_settings/_partials/form.html"
SAVED_CATEGORY = "school_settings"


def _form(school: School) -> SettingsForm:
    """The form showing the school's settings as they are."""
    return SettingsForm(
        formdata=None,
        retention_months=str(school.retention_months),
        task_emails=school.task_emails,
        renewal_reminders="on" if school.renewal_reminders else "off",
    )


def _context(form: SettingsForm) -> dict:
    school_id = current_school_id()
    return {
        "form": form,
        "settings": school_settings.school_of(school_id),
        "erasures": school_settings.recent_erasures(school_id),
        "default_months": school_settings.DEFAULT_MONTHS,
    }


@bp.get("/school-settings", endpoint="school_settings")
@staff_required(ADMIN)
def school_settings_page() -> Response:
    form = _form(school_settings.school_of(current_school_id()))
    return page_or_fragment(PAGE, FORM, saved=confirmation(SAVED_CATEGORY), **_context(form))


@bp.post("/school-settings", endpoint="save_school_settings")
@staff_required(ADMIN)
def save_school_settings() -> Response:
    # The CSRF token is checked for every POST (CSRFProtect) before this runs.
    form = SettingsForm()
    valid = form.validate_on_submit()
    months = form.months() if form.retention_months.data else None
    reminders = form.reminders() if form.renewal_reminders.data else None
    if not valid or months is None or reminders is None:
        return page_or_fragment(PAGE, FORM, status=400, saved=None, **_context(form))
    try:
        done = school_settings.save(
            current_staff(),
            retention_months=months,
            task_emails=form.task_emails.data,
            renewal_reminders=reminders,
        )
    except school_settings.SettingsError as refused:
        getattr(form, refused.field).errors = [str(refused)]
        return page_or_fragment(PAGE, FORM, status=400, saved=None, **_context(form))
    who = {c.value: c.label for c in TASK_EMAIL_CHOICES}[done.school.task_emails].lower()
    plural = "s" if done.school.retention_months != 1 else ""
    reminding = (
        "families are emailed when an answer needs renewing, at most once a fortnight"
        if done.school.renewal_reminders
        else "families are not emailed when an answer needs renewing"
    )
    message = (
        f"Saved. The portal keeps a family's details for {done.school.retention_months}"
        f" month{plural} after their pupil leaves; new take-downs are emailed to: {who};"
        f" {reminding}."
        if done.changed
        else "Nothing changed: those are already the school's settings."
    )
    return saved(
        message,
        fragment=FORM,
        redirect_to=url_for(".school_settings"),
        category=SAVED_CATEGORY,
        trigger=None,  # no consent changed
        fragment_context=lambda: _context(_form(done.school)),
    )
