"""Every sign-in and parent view answers a plain request and an htmx one (staff: test_roles).

The whole journey (signed out, asking, the code, the link, choosing, staff, parent, signing
out) runs once plainly and once as htmx sends it from a boosted page (`HX-Request` and
`HX-Boosted`); every page is checked by the test client. A hook records which endpoints the
journey reached, and the test fails if a route of these blueprints was left out.
"""

from __future__ import annotations

import pytest
from flask import request

from tests.support.client import csrf_token
from tests.support.factories import (
    make_child,
    make_notice,
    make_purpose_set,
    make_school,
    make_staff,
)
from tests.support.mail import sign_in_code, sign_in_path
from tests.support.web import pass_second_factor

BOTH = "sam.taylor@example.org"
PLAIN: dict[str, str] = {}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
# The staff workspace's routes are walked by tests/staff/test_roles.py with every role.
BLUEPRINTS = {"auth", "parent"}


def _routes(app):
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] in BLUEPRINTS:
            for method in rule.methods - {"OPTIONS"}:
                if method == "HEAD" and "GET" in rule.methods and rule.endpoint != "auth.open_link":
                    continue  # Flask adds HEAD to every GET route; only the link's is asked for
                found.add((rule.endpoint, method))
    return found


@pytest.mark.parametrize("headers", [PLAIN, BOOSTED], ids=["plain", "htmx"])
def test_the_whole_journey(smtp_app, smtp_server, headers):
    reached = set()
    smtp_app.before_request(lambda: reached.add((request.endpoint, request.method)))
    school = make_school()
    make_notice(school)
    purposes = make_purpose_set(school)
    _, robin = make_child(school, guardian_email=BOTH, forename="Robin")
    make_staff(school, email=BOTH, name="Sam Taylor")
    client = smtp_app.test_client()

    def get(path, status, location=None):
        response = client.get(path, headers=headers)
        assert response.status_code == status, (path, response.status_code)
        if location:
            assert response.headers["Location"] == location
        return response

    def post(path, data, status, location=None, token_from=None):
        # Any form's token will do: signed out, the sign-in page's; signed in, the Sign out
        # button's on the page /sign-in sends them to.
        token = csrf_token(token_from or client.get("/sign-in", follow_redirects=True))
        with client.post(path, data={**data, "csrf_token": token}, headers=headers) as response:
            pass
        assert response.status_code == status, (path, response.status_code, response.text)
        if location:
            assert response.headers["Location"] == location
        return response

    # Signed out: the guarded pages send people to sign in (htmx: 401 and HX-Redirect).
    for path in ("/family", "/staff"):
        response = client.get(path, headers=headers)
        if headers:
            assert response.status_code == 401
            assert response.headers["HX-Redirect"] == "/sign-in"
        else:
            assert response.status_code == 302
            assert response.headers["Location"] == "/sign-in"
    get("/sign-in/check-your-email", 302, "/sign-in")
    get("/sign-in/choose", 302, "/sign-in")
    post("/sign-in/choose", {"principal": "x"}, 302, "/sign-in")
    get("/signed-out", 200)
    post("/sign-out", {}, 302, "/signed-out")
    forged = "/sign-in/link/not-a-real-token"
    assert "does not work" in get(forged, 200).text
    assert client.head(forged, headers=headers).status_code == 200
    assert "does not work" in post(forged, {}, 200).text
    # Only an invitation's link asks for a fresh email (tests/auth/test_signin_invitations.py).
    assert "does not work" in post(forged + "/new-link", {}, 400).text

    # Asking for a link, and a wrong code.
    page = get("/sign-in", 200)
    post("/sign-in", {"email": "nonsense"}, 400, token_from=page)
    post("/sign-in", {"email": BOTH}, 302, "/sign-in/check-your-email", token_from=page)
    page = get("/sign-in/check-your-email", 200)
    post("/sign-in/code", {"code": "12"}, 400, token_from=page)
    (received,) = smtp_server.wait_for(1)

    # The link: opened, then Continue; this person chooses staff.
    link = sign_in_path(received)
    assert client.head(link, headers=headers).status_code == 200
    page = get(link, 200)
    post(link, {}, 302, "/sign-in/choose", token_from=page)
    page = get("/sign-in/choose", 200)
    post("/sign-in/choose", {"principal": "staff:0"}, 400, token_from=page)
    staff_key = next(v for v in ("staff:1", "staff:2") if f'value="{v}"' in page.text)
    post("/sign-in/choose", {"principal": staff_key}, 302, "/staff", token_from=page)
    # Staff pages wait for the second factor (tests/auth/test_second_factor*.py).
    response = client.get("/staff", headers=headers)
    if headers:
        assert response.status_code == 401
        assert response.headers["HX-Redirect"] == "/staff/second-factor?next=/staff"
    else:
        assert response.status_code == 302
        assert response.headers["Location"] == "/staff/second-factor?next=/staff"
    pass_second_factor(client)
    get("/staff", 200)
    get("/family", 403)
    get("/sign-in", 302, "/staff")
    post("/sign-out", {}, 302, "/signed-out", token_from=get("/staff", 200))
    get("/signed-out", 200)

    # The code, then choosing the parent.
    post("/sign-in", {"email": BOTH}, 302, token_from=get("/sign-in", 200))
    page = get("/sign-in/check-your-email", 200)
    code = sign_in_code(smtp_server.wait_for(2)[1])
    post("/sign-in/code", {"code": code}, 302, "/sign-in/choose", token_from=page)
    page = get("/sign-in/choose", 200)
    guardian_key = next(v for v in ("guardian:1", "guardian:2") if f'value="{v}"' in page.text)
    post("/sign-in/choose", {"principal": guardian_key}, 302, "/family", token_from=page)
    assert "Robin Morgan" in get("/family", 200).text
    child = f"/family/children/{robin.id}"
    page = get(child, 200)
    photos = purposes["photos-website"].id
    decision = {"decision": "grant", "purpose_version": 1}
    answered = 302  # a plain or a boosted form: redirected back (the cards' htmx: tests/parent)
    post(f"{child}/choices/{photos}", decision, answered, token_from=page)
    marketing = "/family/schools/oak-primary/marketing"
    page = get(marketing, 200)
    post(marketing, {"decision": "object"}, answered, token_from=page)
    assert "Photos on the school website" in get("/family/history", 200).text
    page = get("/family/schools/oak-primary/rights-requests/new", 200)
    made = post("/family/schools/oak-primary/rights-requests", {"kind": "access"}, 302,
                token_from=page)  # fmt: skip
    assert "See what the school holds" in get(made.headers["Location"], 200).text
    assert "See what the school holds" in get("/family/rights-requests", 200).text
    assert "Contact the school" in get(f"{child}/record", 200).text
    page = get("/family/reports/new", 200)
    post("/family/reports", {"kind": "details_wrong", "details": "My name is wrong"}, 302,
         "/family/reports#report-1", token_from=page)  # fmt: skip
    assert "My details are wrong" in get("/family/reports", 200).text
    get("/staff", 403)
    get("/sign-in", 302, "/family")

    missing = _routes(smtp_app) - reached
    assert not missing, f"the journey does not reach {sorted(missing)}: add them"


def test_an_htmx_request_that_is_not_boosted_is_sent_to_sign_in(smtp_app, smtp_client):
    for path in ("/family", "/staff"):
        response = smtp_client.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 401
        assert response.headers["HX-Redirect"] == "/sign-in"
        assert response.get_data() == b""
