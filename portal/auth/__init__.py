"""Sign-in by emailed link, for parents and staff.

The link, code and session handling arrive with the sign-in issue. Until then nobody can
have a session, so the loader finds no user and every guarded page asks for sign-in.
"""

from __future__ import annotations

from flask import Blueprint

from ..extensions import login_manager

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(session_id: str) -> None:
    return None
