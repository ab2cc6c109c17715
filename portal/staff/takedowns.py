"""Take-downs: what must come down from where the school published it, because a consent was
withdrawn or an objection made (`portal.takedowns`, whose ledger hook this import
registers). Staff and admins only. Marking one done is a POST that redirects back with a
confirmation; htmx gets the list again, with the confirmation for the live region.
"""

from __future__ import annotations

from typing import Any

from flask import flash, get_flashed_messages, redirect, render_template, url_for

from .. import takedowns as tasks_domain  # registers the ledger hook and the email
from ..extensions import htmx
from ..web.access import staff_required
from ..web.filters import uk_datetime
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff

SAVED_CATEGORY = "takedowns"


def _fragment_wanted() -> bool:
    return bool(htmx) and not htmx.boosted


@bp.get("/take-downs")
@staff_required(ADMIN, STAFF)
def takedowns() -> str:
    listing = tasks_domain.tasks(current_school_id())
    if _fragment_wanted():
        return _list(listing)
    saved = next(iter(get_flashed_messages(category_filter=[SAVED_CATEGORY])), None)
    return render_template("staff/takedowns.html", listing=listing, saved=saved, fragment=False)


@bp.post("/take-downs/<int:task_id>/done")
@staff_required(ADMIN, STAFF)
def takedown_done(task_id: int) -> Any:
    # The CSRF token is checked for every POST (CSRFProtect) before this runs.
    school_id = current_school_id()
    outcome = tasks_domain.mark_done(current_staff().id, task_id)
    task = outcome.task
    if outcome.changed:
        saved = f"Marked as done: {task.wording}."
    else:
        when = uk_datetime(task.done_at) if task.done_at else "earlier"
        saved = f"Already done: {task.wording} ({task.done_by or 'someone'}, {when})."
    if _fragment_wanted():
        return _list(tasks_domain.tasks(school_id), saved=saved)
    flash(saved, SAVED_CATEGORY)
    return redirect(url_for(".takedowns"))


def _list(listing: tasks_domain.TaskList, *, saved: str | None = None) -> str:
    return render_template(
        "staff/_partials/takedown_list.html",
        listing=listing,
        saved=saved,
        live=saved,
        fragment=True,
    )
