"""Marketing exports (marketing and admin): the marketing list and the suppression list.

The page shows how many people each list holds; each download is a POST (it writes an audit
entry, so it is a CSRF-protected state change) answered with a streamed CSV attachment.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, render_template

from .. import exports as files
from ..web.access import staff_required
from . import bp
from .ledger_forms import MarketingExportForm
from .nav import ADMIN, MARKETING, current_school, current_staff


def csv_response(body: Iterator[bytes], filename: str) -> Response:
    """A streamed CSV attachment: `body` (a generator that reads the database in batches)
    runs only as the response is sent, a piece at a time, and is never held whole."""
    response = Response(_in_own_app_context(body), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # personal data
    return response


def _in_own_app_context(body: Iterator[bytes]) -> Iterator[bytes]:
    """Run `body` in an application context of its own (so its own database session), kept
    in a `contextvars.Context` of its own, pushed when the first piece is asked for and
    popped when the last is sent or the server closes the response.

    Unlike `stream_with_context`, which leaves the request context pushed in the caller's
    context between pieces, nothing here touches the caller's context: a response that is
    never read to the end and only garbage-collected (a client gone, a test that looks at
    the status) cannot pop the wrong context later, and no request context is kept alive
    for the minutes a big file may take.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    own = contextvars.copy_context()
    app_context = app.app_context()

    def finish() -> None:
        try:
            close = getattr(body, "close", None)  # a generator: run its finally blocks
            if close is not None:
                close()
        finally:
            app_context.pop()

    def pieces() -> Iterator[bytes]:
        own.run(app_context.push)
        try:
            while (piece := own.run(next, body, None)) is not None:
                yield piece
        finally:
            own.run(finish)

    return pieces()


def _page(form: MarketingExportForm | None = None, status: int = 200) -> tuple[str, int]:
    school = current_school()
    purposes = files.marketing_purposes(school.id)
    choices = [(p.id, p.title) for p in purposes]
    form = form or MarketingExportForm(formdata=None)
    form.offer(choices)
    counts = files.counts(school.id)
    per_purpose = (
        [(p.title, files.counts(school.id, purpose_id=p.id).marketing) for p in purposes]
        if len(purposes) > 1
        else []
    )
    return render_template(
        "staff/exports.html",
        form=form,
        purposes=purposes,
        counts=counts,
        per_purpose=per_purpose,
    ), status


@bp.get("/exports", endpoint="exports")
@staff_required(ADMIN, MARKETING)
def exports_page() -> Any:
    return _page()


@bp.post("/exports/marketing-list")
@staff_required(ADMIN, MARKETING)
def export_marketing() -> Any:
    school = current_school()
    form = MarketingExportForm()
    form.offer([(p.id, p.title) for p in files.marketing_purposes(school.id)])
    if not form.validate_on_submit():
        return _page(form, 400)
    purpose_id = form.purpose_id
    files.start_marketing_export(current_staff(), purpose_id)  # NotFound: not this school's
    return csv_response(
        files.marketing_csv(school.id, purpose_id=purpose_id),
        files.filename("marketing-list", school.slug),
    )


@bp.post("/exports/suppression-list")
@staff_required(ADMIN, MARKETING)
def export_suppression() -> Any:
    # A button: CSRFProtect has checked the token (every POST), there is nothing else to parse.
    school = current_school()
    files.start_suppression_export(current_staff())
    return csv_response(
        files.suppression_csv(school.id), files.filename("suppression-list", school.slug)
    )
