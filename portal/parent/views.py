from __future__ import annotations

from flask import render_template
from flask_login import current_user

from .. import families
from ..access import guardian_required
from . import bp


@bp.get("")
@guardian_required
def home() -> str:
    groups = families.children_by_school(current_user.guardian.id)
    return render_template("parent/home.html", groups=groups)
