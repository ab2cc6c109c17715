"""The staff workspace: one view module per feature, all under /staff.

Every view is guarded by `staff_required(...)` with the roles that may use it, and every
query is scoped to the signed-in staff user's school (`current_school_id()`): another
school's ids answer 404.
"""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from . import (  # noqa: E402,F401
    audit_log,
    dashboard,
    exports,
    family_reports,
    invitations,
    ledger_browser,
    nav,
    notices,
    objections,
    paper,
    photo_check,
    pupil_refusals,
    pupils,
    purposes,
    rights_requests,
    roster,
    school_settings,
    second_factor,
    staff_users,
    takedowns,
)
