"""A record to keep: one child's standing answers on a page made to be printed or saved as a
PDF (A4, no header, footer or buttons on paper). A thin view over `portal.child_record`;
another family's child, or one who has left, answers 404."""

from __future__ import annotations

from flask import render_template

from .. import child_record
from ..web.access import guardian_required
from ..web.language import page_language
from . import bp
from .layout import family, guardian_id

PAGE = "parent/record/page.html"


@bp.get("/children/<int:pupil_id>/record", endpoint="record")
@guardian_required
def show(pupil_id: int) -> str:
    record = child_record.child_record(
        guardian_id(), pupil_id, family=family(), language=page_language().tag
    )
    return render_template(PAGE, record=record)
