"""The staff home page: the school's ledger head, for now."""

from __future__ import annotations

from flask import render_template

from .. import ledger
from ..access import staff_required
from . import bp
from .nav import current_school


@bp.get("")
@staff_required()
def home() -> str:
    head = ledger.heads(current_school())[0]
    return render_template("staff/home.html", head=head)
