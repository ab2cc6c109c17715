"""Telling the school's office: "a child is missing from my list" or "my details are wrong",
in a few words, to one of the family's schools (a family with children at two schools chooses
which), and the family's own reports with whether the office has done them.

Thin views over `portal.family_reports`. The form is a plain POST with its CSRF token; a
refused one comes back with the reasons at the top and beside the fields (nothing sent), a
sent one redirects to the family's reports with a confirmation. Reports are limited per person
(`family_reports.LIMIT` a day). Parents see only their own reports.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms import StringField, TextAreaField

from .. import family_reports
from ..choices import FamilySchool
from ..errors import NotFound
from ..web.access import guardian_required
from ..web.forms import PortalForm, strip
from ..web.hypermedia import confirmation, whole_page
from . import bp
from .layout import family, guardian_id

LIST_PAGE = "parent/reports/reports.html"
NEW_PAGE = "parent/reports/new.html"
SAVED_CATEGORY = "family-report"


class ReportForm(PortalForm):
    school = StringField(filters=[strip])
    kind = StringField(filters=[strip])
    details = TextAreaField(filters=[strip])


def _kinds() -> list[tuple[str, str, str]]:
    return [
        (
            kind,
            str(family_reports.KIND_WORDS[kind]),
            str(family_reports.KIND_EXPLAINED[kind]),
        )
        for kind in family_reports.KINDS
    ]


def _form_page(
    schools: list[FamilySchool],
    form: ReportForm,
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
) -> Response:
    errors = errors or {}
    context: dict[str, Any] = {
        "schools": schools,
        "school_options": [(school.slug, school.name, "") for school in schools],
        "form": form,
        "errors": errors,
        "error_links": [(f"#{name}", message) for name, message in errors.items()],
        "kinds": _kinds(),
        "max_details": family_reports.MAX_DETAILS,
    }
    return whole_page(NEW_PAGE, status=status, **context)


@bp.get("/reports", endpoint="reports")
@guardian_required
def reports_page() -> Response:
    found = family()
    return whole_page(
        LIST_PAGE,
        reports=family_reports.of_guardian(guardian_id()),
        schools=found.schools,
        saved=confirmation(SAVED_CATEGORY),
    )


@bp.get("/reports/new", endpoint="new_report")
@guardian_required
def new_report() -> Response:
    schools = family().schools
    if not schools:
        raise NotFound("no school for this family")
    # ?school=<slug>: the school whose page the family came from, chosen already.
    form = ReportForm(formdata=None, school=request.args.get("school", ""))
    return _form_page(schools, form)


@bp.post("/reports", endpoint="make_report")
@guardian_required
def make_report() -> Response:
    schools = family().schools
    if not schools:
        raise NotFound("no school for this family")
    form = ReportForm()
    errors: dict[str, str] = {}
    status = 400
    if form.validate_on_submit():
        # One school: it is that one. Several: the family chose one of theirs.
        school = (
            schools[0]
            if len(schools) == 1
            else next((s for s in schools if s.slug == form.school.data), None)
        )
        if school is None:
            errors["school"] = _("Choose the school to tell")
        else:
            try:
                made = family_reports.make(
                    guardian_id(),
                    school.id,
                    kind=form.kind.data or "",
                    details=form.details.data or "",
                )
            except family_reports.TooManyReports as refused:
                errors["details"], status = str(refused), 429
            except family_reports.ReportError as refused:
                errors[refused.field or "kind"] = str(refused)
            else:
                flash(
                    _(
                        "Sent to %(school)s. Your reference is %(reference)s.",
                        school=school.name,
                        reference=family_reports.reference(made.id),
                    ),
                    SAVED_CATEGORY,
                )
                return redirect(url_for(".reports", _anchor=f"report-{made.id}"))
    else:
        errors = {name: str(messages[0]) for name, messages in form.errors.items() if messages}
    return _form_page(schools, form, errors, status=status)
