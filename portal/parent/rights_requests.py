"""A family's rights requests: make one to one of their schools (from the school's rights
page, or the form's own page), and see their own requests with status, due date and outcome.

Thin views over `portal.rights_requests`. The form is a plain POST; a refused one comes back
with the reasons at the top and beside the fields, and a made one redirects to the request's
page, which confirms it with the due date and the reference. Parents see only their own
requests: another family's answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import StringField, TextAreaField

from .. import rights_requests, schools
from ..errors import NotFound
from ..models import School
from ..types import utcnow
from ..web.access import guardian_required
from ..web.forms import PortalForm, optional_id, strip
from ..web.hypermedia import confirmation, whole_page
from ..web.incoming import parse_id
from . import bp
from .layout import family, guardian_id

LIST_PAGE = "parent/rights_requests/requests.html"
NEW_PAGE = "parent/rights_requests/new.html"
REQUEST_PAGE = "parent/rights_requests/request.html"
SAVED_CATEGORY = "rights-request"
WHOLE_FAMILY = _l("Me, or the whole family")


class RequestForm(PortalForm):
    kind = StringField(filters=[strip])
    pupil = StringField(
        filters=[strip], validators=[optional_id(_l("Choose one of your children"))]
    )
    details = TextAreaField(filters=[strip])


def kind_options() -> list[tuple[str, str, str]]:
    return [
        (kind, str(rights_requests.KIND_WORDS[kind]), str(rights_requests.KIND_EXPLAINED[kind]))
        for kind in rights_requests.KINDS
    ]


def form_context(
    school: School, form: RequestForm | None = None, errors: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """What the request form needs for the signed-in guardian at `school`: None when the
    visitor is not a parent or carer of it (the public rights page then shows no form)."""
    if not (current_user.is_authenticated and current_user.is_guardian):
        return None
    found = family()
    if school.id not in {s.id for s in found.schools}:
        return None
    children = next((g.pupils for g in found.children if g.school.id == school.id), [])
    return {
        "school": school,
        "form": form or RequestForm(formdata=None),
        "errors": errors or {},
        "error_links": [(f"#{name}", message) for name, message in (errors or {}).items()],
        "kinds": kind_options(),
        "children": [("", str(WHOLE_FAMILY))] + [(str(p.id), p.full_name) for p in children],
        "max_details": rights_requests.MAX_DETAILS,
    }


@bp.get("/rights-requests", endpoint="rights_requests")
@guardian_required
def requests_page() -> Response:
    found = family()
    return whole_page(
        LIST_PAGE,
        requests=rights_requests.of_guardian(guardian_id()),
        schools=found.schools,
        today=rights_requests.today_in_london(utcnow()),
    )


@bp.get("/schools/<string:slug>/rights-requests/new", endpoint="new_rights_request")
@guardian_required
def new_request(slug: str) -> Response:
    context = form_context(schools.get_by_slug(slug))
    if context is None:
        raise NotFound("no such school for this family")
    return whole_page(NEW_PAGE, **context)


@bp.post("/schools/<string:slug>/rights-requests", endpoint="make_rights_request")
@guardian_required
def make_request(slug: str) -> Response:
    school = schools.get_by_slug(slug)
    if form_context(school) is None:
        raise NotFound("no such school for this family")
    form = RequestForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            made = rights_requests.make(
                guardian_id(),
                school.id,
                kind=form.kind.data or "",
                details=form.details.data or "",
                pupil_id=parse_id(form.pupil.data) if form.pupil.data else None,
            )
        except rights_requests.RightsRequestError as refused:
            errors[refused.field or "kind"] = str(refused)
        else:
            flash(
                _(
                    "Your request was sent to %(school)s. Your reference is %(reference)s.",
                    school=school.name,
                    reference=rights_requests.reference(made.id),
                ),
                SAVED_CATEGORY,
            )
            return redirect(url_for(".rights_request", request_id=made.id))
    else:
        errors = {name: str(messages[0]) for name, messages in form.errors.items() if messages}
    context = form_context(school, form, errors) or {}
    return whole_page(NEW_PAGE, status=400, **context)


@bp.get("/rights-requests/<int:request_id>", endpoint="rights_request")
@guardian_required
def request_page(request_id: int) -> Response:
    found = rights_requests.get_for_guardian(guardian_id(), request_id)
    family()  # the footer's schools
    return whole_page(
        REQUEST_PAGE,
        request=found,
        saved=confirmation(SAVED_CATEGORY),
        today=rights_requests.today_in_london(utcnow()),
    )
