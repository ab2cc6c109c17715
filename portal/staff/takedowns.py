"""Tasks: what must come down because a consent was withdrawn or an objection made, and what
a purpose promised when a pupil left (`portal.takedowns`). Staff and admins only.

Marking a task done takes a short note of what was removed and where; it is a POST that
redirects back with a confirmation, and htmx gets the list again with the confirmation for
the live region. A note that cannot be kept answers 400 with the list and the problem beside
that task's note, and nothing changes. A task marked done today can be reopened.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.wrappers import Response
from wtforms import TextAreaField

from .. import takedowns
from ..web.access import staff_required
from ..web.filters import uk_datetime
from ..web.forms import PortalForm, strip
from ..web.hypermedia import confirmation, page_or_fragment, saved
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff

PAGE = "staff/takedowns/tasks.html"
LIST = "staff/takedowns/_partials/list.html"
SAVED_CATEGORY = "takedowns"


class DoneForm(PortalForm):
    """What was removed and where (`takedowns.note_problem` says whether it can be kept)."""

    note = TextAreaField(filters=[strip])


@bp.get("/take-downs", endpoint="takedowns")
@staff_required(ADMIN, STAFF)
def takedowns_page() -> Response:
    listing = takedowns.tasks(current_school_id())
    # The whole page shows the confirmation of a task just marked done without JavaScript.
    message = confirmation(SAVED_CATEGORY)
    return page_or_fragment(PAGE, LIST, listing=listing, saved=message, problem=None)


def _answer(message: str, school_id: int) -> Response:
    return saved(
        message,
        fragment=LIST,
        redirect_to=url_for(".takedowns"),
        category=SAVED_CATEGORY,
        trigger=None,  # no consent changed
        fragment_context=lambda: {"listing": takedowns.tasks(school_id)},
        problem=None,
    )


def _refused(school_id: int, problem: dict[str, Any]) -> Response:
    """The list again with the problem beside the task's form; nothing changed."""
    listing = takedowns.tasks(school_id)
    return page_or_fragment(PAGE, LIST, status=400, listing=listing, saved=None, problem=problem)


@bp.post("/take-downs/<int:task_id>/done")
@staff_required(ADMIN, STAFF)
def takedown_done(task_id: int) -> Response:
    # The CSRF token is checked for every POST (CSRFProtect) before this runs.
    school_id = current_school_id()
    takedowns.get_task(school_id, task_id)  # 404 unless a task of this school
    form = DoneForm()
    note = form.note.data or ""
    try:
        outcome = takedowns.mark_done(current_staff().id, task_id, note)
    except takedowns.NoteProblem as problem:
        return _refused(
            school_id,
            {"task": task_id, "field": "note", "href": f"#note-{task_id}",
             "message": str(problem), "note": note},
        )  # fmt: skip
    task = outcome.task
    if outcome.changed:
        message = f"Marked as done: {task.wording}."
    else:
        when = uk_datetime(task.done_at) if task.done_at else "earlier"
        message = f"Already done: {task.wording} ({task.done_by or 'someone'}, {when})."
    return _answer(message, school_id)


@bp.post("/take-downs/<int:task_id>/reopen")
@staff_required(ADMIN, STAFF)
def takedown_reopen(task_id: int) -> Response:
    school_id = current_school_id()
    try:
        outcome = takedowns.reopen(current_staff().id, task_id)
    except takedowns.CannotReopen as refused:
        return _refused(
            school_id,
            {"task": task_id, "field": "reopen", "href": f"#takedown-{task_id}",
             "message": str(refused), "note": ""},
        )  # fmt: skip
    task = outcome.task
    message = f"Reopened: {task.wording}." if outcome.changed else f"Still to do: {task.wording}."
    return _answer(message, school_id)
