"""A school's public pages over HTTP (portal/public/school_pages.py): the schools on the
portal, the privacy notice and its earlier versions, and people's rights. No sign-in."""

from __future__ import annotations

from pathlib import Path

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


LUDWORTH = Path(__file__).resolve().parent.parent / "data" / "notice-ludworth.txt"
BRIEF = (
    "We hold your child's name, attendance, health and safeguarding information.\n\n"
    "We share it with:\n• the Department for Education\n• Stockport Council\n\n"
    "You can ask to see it: IGschoolsupport@stockport.gov.uk"
)


def test_the_brief_and_the_contents_come_before_the_full_notice(client):
    school = make_school(slug="ludworth", name="Ludworth Primary School")
    make_notice(
        school,
        title="How we use looked after children, SEN and safeguarding information",
        source=LUDWORTH.read_text(encoding="utf-8"),
        source_format="text",
        brief=BRIEF,
    )
    text = client.get("/schools/ludworth/privacy-notice").get_data(as_text=True)
    brief = text.index('<h2 class="govuk-heading-m" id="brief-title">The notice in brief</h2>')
    contents = text.index('<h2 class="govuk-heading-s" id="contents-title">Contents</h2>')
    full = text.index('id="collecting-this-information">Collecting this information</h2>')
    assert text.index("<h1") < brief < contents < full
    assert '<section class="portal-notice-brief" aria-labelledby="brief-title">' in text
    assert '<nav class="portal-notice-contents" aria-labelledby="contents-title">' in text
    assert '<a class="govuk-link" href="#complaints">Complaints</a>' in text
    assert "<li>Stockport Council</li>" in text
    assert 'href="mailto:IGschoolsupport@stockport.gov.uk"' in text[brief:contents]


def test_a_notice_without_a_brief_shows_no_brief_section(client):
    school = make_school(slug="oak-primary", name="Oak Primary School")
    make_notice(school, source="We hold names.")
    text = client.get("/schools/oak-primary/privacy-notice").get_data(as_text=True)
    assert "The notice in brief" not in text and "portal-notice-brief" not in text
    assert "We hold names." in text
