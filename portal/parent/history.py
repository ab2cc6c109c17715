"""What you told us: every answer given for the guardian's children, and their own, newest
first with its ledger reference. A thin view over `portal.history`."""

from __future__ import annotations

from flask import render_template

from .. import history
from ..web.access import guardian_required
from . import bp
from .layout import guardian_id

PAGE = "parent/history/page.html"


@bp.get("/history", endpoint="history")
@guardian_required
def show() -> str:
    return render_template(
        PAGE, entries=history.entries(guardian_id()), outcomes=history.outcomes(guardian_id())
    )
