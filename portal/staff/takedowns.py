"""Take-downs: what must come down from where the school published it, because a consent was
withdrawn or an objection made (`portal.takedowns`). Staff and admins only. Marking one done
is a POST that redirects back with a confirmation; htmx gets the list again, with the
confirmation for the live region.
"""

from __future__ import annotations

from flask import url_for
from werkzeug.wrappers import Response

from .. import takedowns
from ..web.access import staff_required
from ..web.filters import uk_datetime
from ..web.hypermedia import confirmation, page_or_fragment, saved
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff

PAGE = "staff/takedowns/tasks.html"
LIST = "staff/takedowns/_partials/list.html"
SAVED_CATEGORY = "takedowns"


@bp.get("/take-downs", endpoint="takedowns")
@staff_required(ADMIN, STAFF)
def takedowns_page() -> Response:
    listing = takedowns.tasks(current_school_id())
    # The whole page shows the confirmation of a task just marked done without JavaScript.
    message = confirmation(SAVED_CATEGORY)
    return page_or_fragment(PAGE, LIST, listing=listing, saved=message)


@bp.post("/take-downs/<int:task_id>/done")
@staff_required(ADMIN, STAFF)
def takedown_done(task_id: int) -> Response:
    # The CSRF token is checked for every POST (CSRFProtect) before this runs.
    school_id = current_school_id()
    outcome = takedowns.mark_done(current_staff().id, task_id)
    task = outcome.task
    if outcome.changed:
        message = f"Marked as done: {task.wording}."
    else:
        when = uk_datetime(task.done_at) if task.done_at else "earlier"
        message = f"Already done: {task.wording} ({task.done_by or 'someone'}, {when})."
    return saved(
        message,
        fragment=LIST,
        redirect_to=url_for(".takedowns"),
        category=SAVED_CATEGORY,
        trigger=None,  # no consent changed
        fragment_context=lambda: {"listing": takedowns.tasks(school_id)},
    )
