from __future__ import annotations

from flask import render_template
from flask_login import current_user

from .. import ledger
from ..access import staff_required
from . import bp


@bp.get("")
@staff_required()
def home() -> str:
    staff = current_user.staff
    head = ledger.heads(staff.school)[0]
    return render_template("staff/home.html", staff=staff, school=staff.school, head=head)
