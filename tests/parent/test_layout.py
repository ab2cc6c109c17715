"""What every page of the parent journey shares (portal/parent/layout.py and the blueprint's
guards): signing in first, a CSRF token on every POST, and the notice and rights of each of
the guardian's schools in the footer.

The world (tests/support/world.py): at Oak, Ada and Ben have parental responsibility for
A, Gran is A's contact without it; Ada and Dan for B; Eve for C. At Elm, Ada and Fay for X.
"""

from __future__ import annotations

from tests.support.parent import child_path, decide_path
from tests.support.web import HTMX, PLAIN, text_of
from tests.support.world import snapshot


def test_a_post_without_a_csrf_token_is_refused(ada, world):
    before = snapshot(world.oak.id)
    for headers in (PLAIN, HTMX):
        response = ada.post(decide_path(world, "A", "photos-website"),
                            data={"decision": "grant", "purpose_version": 1},
                            headers=headers)  # fmt: skip
        assert response.status_code == 400
        assert "Your form has expired" in text_of(response.text)
        assert "Nothing was changed" in text_of(response.text)
    response = ada.post("/family/schools/oak-primary/marketing", data={"decision": "object"})
    assert response.status_code == 400
    assert snapshot(world.oak.id) == before


def test_signed_out_every_parent_page_sends_people_to_sign_in(client, world):
    for path in ("/family", child_path(world, "A"), "/family/history",
                 "/family/schools/oak-primary/marketing"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/sign-in"


def test_every_parent_page_links_the_notice_and_the_rights(ada, world):
    for path in ("/family", child_path(world, "A"), "/family/history",
                 "/family/schools/oak-primary/marketing"):  # fmt: skip
        page = ada.get(path)
        footer = page.text[page.text.index("<footer") :]
        for school in ("oak-primary", "elm-academy"):
            assert f'href="/schools/{school}/privacy-notice"' in footer
            assert f'href="/schools/{school}/your-rights"' in footer
        assert 'href="/family/history"' in footer
