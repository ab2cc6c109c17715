"""The staff home page: things to do first (`portal.todo`: objections to review,
take-downs, pupils who left, rights requests, renewals, as the role allows), then the
dashboard (marketing users go straight to their exports).

Response coverage per purpose and per class, the open take-down tasks, and the head of the
school's consent ledger (`dashboard.summary` says what each number counts).
"""

from __future__ import annotations

from flask import redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import daily, dashboard, ledger, takedowns, todo
from ..web.access import staff_required
from . import bp
from .nav import MARKETING, current_school, current_school_id, current_staff


@bp.get("")
@staff_required()
def home() -> str | Response:
    staff = current_staff()
    if staff.role == MARKETING:
        return redirect(url_for("staff.exports"))
    head = ledger.heads(current_school())[0]
    school_id = current_school_id()
    board = dashboard.summary(school_id)
    today = daily.today()
    queue = todo.items(
        school_id, today, staff.role, extra=dashboard.renewal_items(board, today, staff.role)
    )
    return render_template(
        "staff/dashboard/home.html",
        head=head,
        summary=board,
        todo=todo.grouped(queue),
        todo_total=len(queue),
        today=today,
        takedown_tasks=takedowns.open_tasks(school_id),
    )
