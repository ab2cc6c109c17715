"""The privacy notice (admins): the current notice and its versions, and a new version —
previewed as families will see it (the draft: nothing is saved), then published.

Plain forms and redirects; a boosted request (htmx) gets the same whole page.
"""

from __future__ import annotations

from typing import Any

from flask import flash, get_flashed_messages, redirect, render_template, url_for

from .. import notices
from ..models import NoticeVersion
from ..web.access import staff_required
from . import bp
from .admin_forms import NoticeForm
from .nav import ADMIN, current_school, current_staff

FORMAT = "markdown"  # what the form takes; the command line also publishes plain text
PUBLISHED = "notice-published"  # the flash category of the confirmation


def _form(current: NoticeVersion | None, *, posted: bool) -> NoticeForm:
    """The form of a new version: on a GET, filled with the current notice, so that a new
    version starts from the words families have now. What changed is asked from the second
    version on."""
    form = NoticeForm(summary_required=current is not None)
    if not posted and current is not None:
        form.title.data = current.title
        form.source.data = current.source
    return form


def _page(form: NoticeForm, *, preview: str | None = None, status: int = 200) -> Any:
    school = current_school()
    history = notices.history(school)
    current = history[0][0] if history else None
    same = (
        current is not None
        and form.title.data == current.title
        and form.source.data == current.source
        and current.source_format == FORMAT
    )
    page = render_template(
        "staff/notice.html",
        form=form,
        history=history,
        current=current,
        preview=preview,
        same_as_current=same,
        published=next(iter(get_flashed_messages(category_filter=[PUBLISHED])), None),
    )
    return page, status


@bp.get("/notice", endpoint="notices")
@staff_required(ADMIN)
def notice_page() -> Any:
    current = notices.current(current_school())
    return _page(_form(current, posted=False))


@bp.post("/notice/preview")
@staff_required(ADMIN)
def preview_notice() -> Any:
    form = _form(notices.current(current_school()), posted=True)
    if not form.validate_on_submit():
        return _page(form, status=400)
    return _page(form, preview=notices.render(form.source.data or "", FORMAT))


@bp.post("/notice/publish")
@staff_required(ADMIN)
def publish_notice() -> Any:
    school = current_school()
    form = _form(notices.current(school), posted=True)
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        result = notices.publish(
            school,
            title=form.title.data or "",
            source=form.source.data or "",
            source_format=FORMAT,
            summary=form.summary.data,
            published_by=current_staff(),
            require_summary=True,
        )
    except notices.NoticeError as exc:
        field = form._fields.get(exc.field or "") or form.source
        field.errors = [*field.errors, str(exc).capitalize()]
        return _page(form, status=400)
    if not result.created:
        form.source.errors = [
            *form.source.errors,
            f"Nothing was published: the title and text are the same as version "
            f"{result.notice.version}, the current notice. Change the notice first.",
        ]
        return _page(form, status=400)
    flash(
        f"Version {result.notice.version} is published. Families who answered before it "
        "will see that the notice has changed at their next visit.",
        PUBLISHED,
    )
    return redirect(url_for(".notices"))
