"""No staff page answers before the second factor (docs/second-factor.md): a walk of the URL
map, as each role, with a session that has passed only the emailed link.

Every staff route is asked, with real Oak ids; each must send the person to the second
factor (a redirect, or 401 with HX-Redirect for htmx) and change nothing, except the views
that are how a second factor is passed or set up (`before_second_factor`: 11 views, 12
routes), which must say nothing about the school.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.staff.test_roles import EMAILS, ask, footprint, oak_ids, path_of, staff_routes
from tests.support.client import csrf_token
from tests.support.web import sign_in_as

HTMX = {"HX-Request": "true"}


def _before(app: Any, endpoint: str) -> bool:
    return bool(getattr(app.view_functions[endpoint], "before_second_factor", False))


@pytest.mark.parametrize("role", sorted(EMAILS))
def test_no_staff_page_answers_before_the_second_factor(app, world, role):
    ids = oak_ids(world)
    client = app.test_client()
    sign_in_as(client, EMAILS[role], home="/staff", second_factor=False)
    token = csrf_token(client.get("/staff/second-factor/set-up"))
    walked = exempt = 0
    for endpoint, method, rule in staff_routes(app):
        path = path_of(rule, ids)
        if _before(app, endpoint):
            exempt += 1
            continue
        before = footprint()
        response = ask(client, method, path, token)
        assert response.status_code == 302, (role, method, rule.rule, response.status_code)
        assert response.headers["Location"].startswith("/staff/second-factor"), (
            role, method, rule.rule, response.headers["Location"])  # fmt: skip
        assert footprint() == before, (role, method, rule.rule, "changed something")
        if method == "GET":
            # htmx cannot follow a redirect to another page in place: HX-Redirect.
            response = client.get(path, headers=HTMX)
            assert response.status_code == 401, (role, rule.rule, response.status_code)
            assert response.headers["HX-Redirect"].startswith("/staff/second-factor")
        walked += 1
    assert walked > 60 and exempt == 12, (walked, exempt)  # 11 views, one GET and POST


def test_the_pages_before_the_second_factor_say_nothing_of_the_school(app, world):
    """The set-up and check pages show no school name, no staff menu and no pupil."""
    client = app.test_client()
    sign_in_as(client, EMAILS["admin"], home="/staff", second_factor=False)
    for path in ("/staff/second-factor", "/staff/second-factor/set-up",
                 "/staff/second-factor/recovery-code"):  # fmt: skip
        page = client.get(path, follow_redirects=True)
        assert page.status_code == 200, path
        assert world.oak.school.name not in page.text, path
        assert "Staff menu" not in page.text, path
        for pupil in world.oak.pupils.values():
            assert pupil.surname not in page.text, path
