"""Reports from families (admins and staff): the open reports, oldest first, with their due
dates, and the latest done; one report with who sent it, their children at the school as the
roster has them, and what they wrote; and marking it done, with a note for the office (never
shown to the family) and an entry in the audit log.

Marking done is a POST that redirects back to the report with a confirmation; htmx sends the
same form and gets the report's region back (`saved`). A note that cannot be kept answers 400
with the problem beside it, and nothing changes.
"""

from __future__ import annotations

from flask import url_for
from werkzeug.wrappers import Response
from wtforms import TextAreaField

from .. import family_reports
from ..types import london_date, utcnow
from ..web.access import staff_required
from ..web.forms import PortalForm, strip
from ..web.hypermedia import confirmation, page_or_fragment, saved, whole_page
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff

LIST_PAGE = "staff/family_reports/reports.html"
PAGE = "staff/family_reports/report.html"
REGION = "staff/family_reports/_partials/report.html"
SAVED_CATEGORY = "family-reports"


class DoneForm(PortalForm):
    """What the office did (optional; `family_reports.note_problem` says whether it can be
    kept)."""

    note = TextAreaField(filters=[strip])


@bp.get("/family-reports", endpoint="family_reports")
@staff_required(ADMIN, STAFF)
def reports_page() -> Response:
    school_id = current_school_id()
    return whole_page(
        LIST_PAGE,
        open_reports=family_reports.open_reports(school_id),
        done=family_reports.done_reports(school_id),
        today=london_date(utcnow()),
    )


@bp.get("/family-reports/<int:report_id>", endpoint="family_report")
@staff_required(ADMIN, STAFF)
def report_page(report_id: int) -> Response:
    report = family_reports.get(current_school_id(), report_id)
    return page_or_fragment(
        PAGE,
        REGION,
        report=report,
        today=london_date(utcnow()),
        saved=confirmation(SAVED_CATEGORY),
        problem=None,
        note="",
    )


@bp.post("/family-reports/<int:report_id>/done", endpoint="family_report_done")
@staff_required(ADMIN, STAFF)
def report_done(report_id: int) -> Response:
    # The CSRF token is checked for every POST (CSRFProtect) before this runs.
    school_id = current_school_id()
    family_reports.get(school_id, report_id)  # 404 unless a report of this school
    note = DoneForm().note.data or ""
    try:
        outcome = family_reports.mark_done(current_staff().id, report_id, note)
    except family_reports.ReportError as refused:
        return page_or_fragment(
            PAGE,
            REGION,
            status=400,
            report=family_reports.get(school_id, report_id),
            today=london_date(utcnow()),
            saved=None,
            problem=str(refused),
            note=note,
        )
    report = outcome.report
    if outcome.changed:
        message = f"Marked as done: {report.reference}."
    else:
        message = f"Already done: {report.reference} ({report.done_by or 'someone'})."
    return saved(
        message,
        fragment=REGION,
        redirect_to=url_for(".family_report", report_id=report_id),
        category=SAVED_CATEGORY,
        trigger=None,  # no consent changed
        fragment_context=lambda: {
            "report": family_reports.get(school_id, report_id),
            "today": london_date(utcnow()),
        },
        problem=None,
        note="",
    )
