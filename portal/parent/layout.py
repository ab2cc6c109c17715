"""What every page of the parent journey shares (templates/parent/layout.html): the signed-in
guardian, and their schools for the notice and rights links in the footer."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_login import current_user

from .. import choices
from . import bp


def guardian_id() -> int:
    """The signed-in guardian (views are guarded by `guardian_required`)."""
    return int(current_user.guardian.id)


def guardian_email() -> str | None:
    """The signed-in guardian's address, as read with the session."""
    return current_user.guardian.email  # type: ignore[no-any-return]


def family() -> choices.Family:
    """The signed-in guardian's schools, children and notices (one query), kept for the
    footer's links (`family_schools`) so that they are not read again."""
    found = choices.family_of(guardian_id())
    g.family_schools = found.schools
    return found


@bp.context_processor
def family_schools() -> dict[str, Any]:
    """The schools of the signed-in guardian, for the notice and rights links on every page."""
    if not (current_user.is_authenticated and current_user.is_guardian):
        return {}
    schools = g.get("family_schools")  # read already by the view (`family`)
    if schools is None:
        schools = choices.schools_of(guardian_id())
    return {"family_schools": schools}
