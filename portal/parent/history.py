"""What you told us: every answer given for the guardian's children, and their own, newest
first with its ledger reference, and a link to each child's record to keep. A thin view over
`portal.history`."""

from __future__ import annotations

from flask import render_template

from .. import history
from ..web.access import guardian_required
from . import bp
from .layout import family, guardian_id

PAGE = "parent/history/page.html"


@bp.get("/history", endpoint="history")
@guardian_required
def show() -> str:
    # The children on roll, each with a link to their record to keep (portal/parent/record.py).
    children = [pupil for group in family().children for pupil in group.pupils]
    return render_template(
        PAGE,
        entries=history.entries(guardian_id()),
        outcomes=history.outcomes(guardian_id()),
        children=children,
    )
