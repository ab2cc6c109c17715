"""The role x route matrix, by walking the URL map, and another school's ids answer 404.

`ROLES` is the specification (issue: staff = photo check, pupil records, paper answers and
paper forms;
admin = everything; marketing = the marketing exports and nothing about individual children).
Every staff route must be in it, each view must declare exactly those roles, and a request by
each role must be refused (403), changing nothing in any table, or let through accordingly.
This is the one role matrix: a feature's own tests do not repeat it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import family_reports, rights_requests
from portal.extensions import db
from portal.models import InvitationBatch, StaffUser, TakedownTask
from tests.support.client import CheckedClient, csrf_token
from tests.support.world import World, decide

ADMIN, STAFF, MARKETING = "admin", "staff", "marketing"
EVERYONE = frozenset({ADMIN, STAFF, MARKETING})
CHILDREN = frozenset({ADMIN, STAFF})  # anything about individual children
MARKETING_LISTS = frozenset({ADMIN, MARKETING})
ADMIN_ONLY = frozenset({ADMIN})

ROLES: dict[str, frozenset[str]] = {
    "staff.home": EVERYONE,  # marketing users are sent on to their exports
    "staff.photo_check": CHILDREN,
    "staff.photo_check_print": CHILDREN,
    "staff.photo_check_search": CHILDREN,
    "staff.pupils": CHILDREN,
    "staff.pupil": CHILDREN,
    "staff.record_answer": CHILDREN,
    # A pupil's own refusal of biometric recognition, recorded by whoever hears it.
    "staff.pupil_refusals": CHILDREN,
    "staff.record_pupil_refusal": CHILDREN,
    "staff.record_slip": CHILDREN,
    # Paper forms and slips (docs/paper.md): the grid, the forms to print, the waiting list.
    "staff.paper": CHILDREN,
    "staff.paper_grid": CHILDREN,
    "staff.record_grid": CHILDREN,
    "staff.paper_forms": CHILDREN,
    "staff.export_waiting": CHILDREN,
    "staff.pupil_left": ADMIN_ONLY,
    "staff.pupil_back_on_roll": ADMIN_ONLY,
    "staff.takedowns": CHILDREN,
    "staff.takedown_done": CHILDREN,
    "staff.objections": ADMIN_ONLY,  # admins record the outcome of an objection
    "staff.objection": ADMIN_ONLY,
    "staff.record_outcome": ADMIN_ONLY,
    "staff.takedown_reopen": CHILDREN,
    "staff.exports": MARKETING_LISTS,
    "staff.export_marketing": MARKETING_LISTS,
    "staff.export_suppression": MARKETING_LISTS,
    "staff.ledger": ADMIN_ONLY,
    "staff.verify_ledger": ADMIN_ONLY,
    "staff.export_ledger": ADMIN_ONLY,
    "staff.audit_log": ADMIN_ONLY,
    "staff.notices": ADMIN_ONLY,
    "staff.preview_notice": ADMIN_ONLY,
    "staff.publish_notice": ADMIN_ONLY,
    "staff.publish_notice_translation": ADMIN_ONLY,
    "staff.purposes": ADMIN_ONLY,
    "staff.new_purpose": ADMIN_ONLY,
    "staff.purpose_templates": ADMIN_ONLY,
    "staff.edit_purpose": ADMIN_ONLY,
    "staff.retire_purpose": ADMIN_ONLY,
    "staff.purpose_translations": ADMIN_ONLY,
    "staff.roster": ADMIN_ONLY,
    "staff.preview_roster": ADMIN_ONLY,
    "staff.import_roster": ADMIN_ONLY,
    "staff.invitations": ADMIN_ONLY,
    "staff.invitation": ADMIN_ONLY,
    "staff.users": ADMIN_ONLY,
    "staff.add_user": ADMIN_ONLY,
    "staff.change_role": ADMIN_ONLY,
    "staff.deactivate_user": ADMIN_ONLY,
    # Rights requests are the admins' work, all of it (docs/rights-requests.md).
    "staff.rights_requests": ADMIN_ONLY,
    "staff.new_rights_request": ADMIN_ONLY,
    "staff.log_rights_request": ADMIN_ONLY,
    "staff.rights_request": ADMIN_ONLY,
    "staff.pause_rights_request": ADMIN_ONLY,
    "staff.resume_rights_request": ADMIN_ONLY,
    "staff.extend_rights_request": ADMIN_ONLY,
    "staff.answer_rights_request": ADMIN_ONLY,
    "staff.refuse_rights_request": ADMIN_ONLY,
    "staff.withdraw_rights_request": ADMIN_ONLY,
    "staff.rights_request_file": ADMIN_ONLY,
    "staff.rights_request_file_download": ADMIN_ONLY,
    # Reports from families: the office's work (docs/follow-through.md).
    "staff.family_reports": CHILDREN,
    "staff.family_report": CHILDREN,
    "staff.family_report_done": CHILDREN,
    "staff.school_settings": ADMIN_ONLY,
    "staff.save_school_settings": ADMIN_ONLY,
    # The second factor (docs/second-factor.md): each person's own, whatever their role.
    # The first eleven answer before it is passed (tests/auth/test_second_factor_policy.py).
    "staff.second_factor": EVERYONE,
    "staff.check_app_code": EVERYONE,
    "staff.use_recovery_code": EVERYONE,
    "staff.passkey_options": EVERYONE,
    "staff.passkey_sign_in": EVERYONE,
    "staff.set_up_second_factor": EVERYONE,
    "staff.start_app": EVERYONE,
    "staff.app_set_up": EVERYONE,
    "staff.confirm_app": EVERYONE,
    "staff.passkey_register_options": EVERYONE,
    "staff.passkey_register": EVERYONE,
    "staff.recovery_codes": EVERYONE,
    "staff.make_recovery_codes": EVERYONE,
    "staff.security": EVERYONE,
    "staff.remove_passkey": EVERYONE,
    # Resetting another user's second factor is an admin's.
    "staff.reset_factor": ADMIN_ONLY,
}
EMAILS = {
    ADMIN: "admin@oak.example",
    STAFF: "office@oak.example",
    MARKETING: "marketing@oak.example",
}


def staff_routes(app: Flask) -> list[tuple[str, str, Any]]:
    """(endpoint, method, rule) for every staff route, HEAD and OPTIONS aside."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("staff."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule))
    return found


def oak_ids(world: World) -> dict[str, int]:
    """A real Oak id for every URL parameter a staff route may take."""
    now = datetime.now(UTC)
    oak = world.oak
    admin = db.session.scalars(
        select(StaffUser).where(StaffUser.email == "admin@oak.example")
    ).one()
    task = TakedownTask(school_id=oak.id, pupil_id=oak.pupils["A"].id,
                        purpose_id=oak.purposes["photos-website"].id, event_seq=1,
                        created_at=now)  # fmt: skip
    batch = InvitationBatch(school_id=oak.id, created_by_id=admin.id, created_at=now,
                            audience="all", total=0)  # fmt: skip
    db.session.add_all([task, batch])
    db.session.commit()
    objection = decide(world.eve, oak.purposes["class-photos"], "object", pupil=oak.pupils["C"])
    request = rights_requests.make(world.ada.id, oak.id, kind="access", details="")
    report = family_reports.make(
        world.ada.id, oak.id, kind="missing_child", details="Sam, class 2 Elm, is missing."
    )
    return {
        "seq": objection.seq,
        "request_id": request.id,
        "report_id": report.id,
        "pupil_id": oak.pupils["A"].id,
        "purpose_id": oak.purposes["photos-website"].id,
        "task_id": task.id,
        "batch_id": batch.id,
        "user_id": oak.staff.id,
    }


def path_of(rule: Any, ids: dict[str, int]) -> str:
    path = str(rule.rule)
    for name in rule.arguments:
        assert name in ids, f"{rule.rule}: no test id for <{name}>: add one to oak_ids()"
        path = re.sub(rf"<[a-z]+:{name}>", str(ids[name]), path)
    return path


def footprint() -> dict[str, int]:
    """How many rows each table holds: a refused request must leave every count as it was."""
    db.session.expire_all()
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
    }


def ask(client: CheckedClient, method: str, path: str, token: str) -> Any:
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": token})


def test_every_staff_route_is_in_the_matrix_and_declares_its_roles(app):
    routes = staff_routes(app)
    assert routes
    for endpoint, _method, _rule in routes:
        assert endpoint in ROLES, f"{endpoint} is not in the role matrix: add it to ROLES"
        declared = getattr(app.view_functions[endpoint], "allowed_roles", None)
        assert declared == ROLES[endpoint], (endpoint, declared, ROLES[endpoint])
    missing = set(ROLES) - {endpoint for endpoint, _m, _r in routes}
    assert not missing, f"the matrix names routes that do not exist: {sorted(missing)}"


@pytest.mark.parametrize("role", [ADMIN, STAFF, MARKETING])
def test_each_role_reaches_exactly_its_routes(app, world, staff_client, role):
    ids = oak_ids(world)
    client = staff_client(EMAILS[role])
    token = csrf_token(client.get("/sign-in", follow_redirects=True))
    for endpoint, method, rule in staff_routes(app):
        before = footprint() if role not in ROLES[endpoint] else None
        response = ask(client, method, path_of(rule, ids), token)
        if role in ROLES[endpoint]:
            assert response.status_code not in {401, 403, 404, 500}, (
                role, method, rule.rule, response.status_code)  # fmt: skip
        else:
            assert response.status_code == 403, (role, method, rule.rule, response.status_code)
            assert footprint() == before, (role, method, rule.rule, "changed something")


def test_another_schools_ids_answer_404(app, world, staff_client):
    ids = oak_ids(world)
    elm_admin = staff_client("admin@elm.example")
    token = csrf_token(elm_admin.get("/sign-in", follow_redirects=True))
    checked = 0
    for _endpoint, method, rule in staff_routes(app):
        if not rule.arguments:
            continue
        response = ask(elm_admin, method, path_of(rule, ids), token)
        assert response.status_code == 404, (method, rule.rule, response.status_code)
        checked += 1
    assert checked >= 6
