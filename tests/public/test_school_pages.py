"""A school's public pages over HTTP (portal/public/school_pages.py): the schools on the
portal, the privacy notice and its earlier versions, and people's rights. No sign-in."""

from __future__ import annotations

import pytest

from portal import notices, schools
from portal.extensions import db
from tests.support.factories import make_notice, make_school
from tests.support.web import text_of


def test_home_lists_every_school(client):
    make_school(slug="oak-primary", name="Oak Primary School")
    make_school(slug="ash-academy", name="Ash Academy")
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Oak Primary School" in text and "Ash Academy" in text
    assert 'href="/schools/ash-academy/privacy-notice"' in text


def test_home_goes_straight_to_the_only_school(client):
    make_school(slug="oak-primary", name="Oak Primary School")
    page = client.get("/")
    assert page.status_code == 302
    assert page.headers["Location"] == "/schools/oak-primary/privacy-notice"


def test_home_without_schools_says_so(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "No schools have joined" in page.get_data(as_text=True)


def test_notice_shows_the_current_version_and_links_to_earlier_ones(client):
    school = make_school(slug="oak-primary", name="Oak Primary School")
    make_notice(school, title="Privacy notice", source="First **version**.")
    make_notice(school, title="Privacy notice", source="Second version.")
    page = client.get("/schools/oak-primary/privacy-notice")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Version 2, published" in text
    assert "Second version." in text and "First" not in text
    assert 'href="/schools/oak-primary/privacy-notice/versions/1"' in text

    old = client.get("/schools/oak-primary/privacy-notice/versions/1")
    old_text = old.get_data(as_text=True)
    assert old.status_code == 200
    assert "<strong>version</strong>" in old_text
    assert "which has been replaced" in old_text


def test_notice_before_any_is_published(client):
    make_school(slug="oak-primary", name="Oak Primary School")
    page = client.get("/schools/oak-primary/privacy-notice")
    assert page.status_code == 200
    assert "has not published its privacy notice" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/schools/no-such-school/privacy-notice",
        "/schools/oak-primary/privacy-notice/versions/7",
        "/schools/oak-primary/privacy-notice/versions/not-a-number",
        "/no-such-page",
    ],
)
def test_unknown_pages_answer_404_with_a_readable_page(client, path):
    make_school(slug="oak-primary", name="Oak Primary School")
    page = client.get(path)
    assert page.status_code == 404
    assert "Page not found" in page.get_data(as_text=True)


def test_another_schools_notice_version_is_not_reachable_through_this_school(client):
    oak = make_school(slug="oak-primary", name="Oak Primary School")
    ash = make_school(slug="ash-academy", name="Ash Academy")
    make_notice(ash, title="Ash notice", source="Ash text.")
    make_notice(ash, title="Ash notice", source="Ash text two.")
    make_notice(oak, title="Oak notice", source="Oak text.")
    assert client.get("/schools/oak-primary/privacy-notice/versions/2").status_code == 404
    assert notices.current(schools.get_by_slug("oak-primary")).title == "Oak notice"


def test_notice_markup_is_escaped_in_titles_and_school_names(client):
    school = make_school(slug="oak-primary", name="Oak <script>alert(1)</script>")
    make_notice(school, title="<img src=x onerror=alert(1)>", source="<script>x</script>")
    text = client.get("/schools/oak-primary/privacy-notice").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text
    assert "<img src=x" not in text
    assert "&lt;script&gt;x&lt;/script&gt;" in text


def test_the_rights_page_names_the_schools_contacts(client, world):
    school = world.oak.school
    school.dpo_name, school.dpo_email = "Dana Okafor", "dpo@oak.example"
    db.session.commit()
    page = client.get("/schools/oak-primary/your-rights")
    assert page.status_code == 200
    text = text_of(page.text)
    for right in ("See what the school holds", "Correct something that is wrong",
                  "Ask for information to be deleted", "Ask the school to stop using",
                  "Object", "Decisions made by computer", "Complain"):  # fmt: skip
        assert right in text
    assert "office@oak.example" in text and "Dana Okafor" in text and "dpo@oak.example" in text
    assert "ico.org.uk/make-a-complaint" in text and "0303 123 1113" in text
    assert client.get("/schools/nowhere/your-rights").status_code == 404
