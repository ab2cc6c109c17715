"""What the staff user is and may reach: the signed-in staff user, their school, and the menu
of the workspace as their role allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for
from flask_login import current_user

from ..models import Role, School, StaffUser
from . import bp

ADMIN, STAFF, MARKETING = Role.ADMIN.value, Role.STAFF.value, Role.MARKETING.value


@dataclass(frozen=True)
class Item:
    endpoint: str
    label: str
    roles: tuple[str, ...]


MENU = (
    Item("staff.home", "Dashboard", (ADMIN, STAFF)),
    Item("staff.photo_check", "Photo check", (ADMIN, STAFF)),
    Item("staff.pupils", "Pupils", (ADMIN, STAFF)),
    Item("staff.paper", "Paper forms", (ADMIN, STAFF)),
    Item("staff.takedowns", "Take-downs", (ADMIN, STAFF)),
    Item("staff.objections", "Objections", (ADMIN,)),
    Item("staff.rights_requests", "Rights requests", (ADMIN,)),
    Item("staff.family_reports", "Reports from families", (ADMIN, STAFF)),
    Item("staff.ledger", "Ledger", (ADMIN,)),
    Item("staff.notices", "Privacy notice", (ADMIN,)),
    Item("staff.purposes", "Purposes", (ADMIN,)),
    Item("staff.roster", "Roster", (ADMIN,)),
    Item("staff.invitations", "Invitations", (ADMIN,)),
    Item("staff.users", "Staff users", (ADMIN,)),
    Item("staff.exports", "Marketing exports", (ADMIN, MARKETING)),
    Item("staff.audit_log", "Audit log", (ADMIN,)),
    Item("staff.school_settings", "School settings", (ADMIN,)),
    Item("staff.security", "Your second factor", (ADMIN, STAFF, MARKETING)),
)


def current_staff() -> StaffUser:
    """The signed-in staff user (views are guarded by `staff_required`)."""
    staff: StaffUser = current_user.staff
    return staff


def current_school_id() -> int:
    return int(current_staff().school_id)


def current_school() -> School:
    return current_staff().school


@bp.context_processor
def staff_menu() -> dict[str, Any]:
    """The menu for this staff user's role, with the page they are on marked."""
    if not (current_user.is_authenticated and current_user.is_staff):
        return {}
    staff = current_staff()
    items = []
    for item in MENU:
        if staff.role not in item.roles or item.endpoint not in current_app.view_functions:
            continue
        href = url_for(item.endpoint)
        here = request.path == href or (
            item.endpoint != "staff.home" and request.path.startswith(href + "/")
        )
        items.append({"href": href, "label": item.label, "current": here})
    return {"staff_menu": items, "staff": staff, "school": staff.school}
