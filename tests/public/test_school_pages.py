"""A school's public pages over HTTP (portal/public/school_pages.py): the schools on the
portal, the privacy notice and its earlier versions, and people's rights. No sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal import notices, schools
from portal.extensions import db
from tests.support.factories import make_notice, make_school
from tests.support.web import say, text_of


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


# --- the notice in the page's language -------------------------------------------------------


def _oak_with_a_polish_translation() -> None:
    school = make_school(slug="oak-primary", name="Oak Primary School")
    make_notice(school, title="Privacy notice", source="We hold **names**.",
                brief="We hold names.")  # fmt: skip
    notices.publish_translation(school, 1, language="pl", title="Informacja o prywatności",
                                source="Przechowujemy **imiona**.", source_format="markdown",
                                brief="Przechowujemy imiona.")  # fmt: skip


def test_a_page_in_polish_shows_the_schools_polish_translation(client):
    _oak_with_a_polish_translation()
    client.set_cookie("lang", "pl")
    page = client.get("/schools/oak-primary/privacy-notice")
    assert page.status_code == 200
    text = page.text
    assert '<html lang="pl" dir="ltr"' in text
    assert '<h1 class="govuk-heading-l" lang="pl" dir="ltr">Informacja o prywatności</h1>' in text
    assert '<div class="portal-notice__body" lang="pl" dir="ltr">' in text
    assert "Przechowujemy <strong>imiona</strong>." in text
    assert '<div lang="pl" dir="ltr"><p class="govuk-body">Przechowujemy imiona.</p>' in text
    assert "We hold" not in text and "only in English" not in text
    assert "<title>Informacja o prywatności" in text
    # The same version's page, asked for by number, is translated too.
    assert "Przechowujemy" in client.get("/schools/oak-primary/privacy-notice/versions/1").text


def test_an_english_page_shows_the_english_notice_with_no_language_marks(client):
    _oak_with_a_polish_translation()
    text = client.get("/schools/oak-primary/privacy-notice").text
    assert '<h1 class="govuk-heading-l">Privacy notice</h1>' in text
    assert '<div class="portal-notice__body"><p class="govuk-body">We hold' in text
    assert "Przechowujemy" not in text and "only in English" not in text


def test_without_a_translation_the_english_is_shown_marked_with_a_line_saying_so(client):
    _oak_with_a_polish_translation()
    schools.get_by_slug("oak-primary").dpo_email = "dpo@oak.example.org"
    db.session.commit()
    client.set_cookie("lang", "ur")
    text = client.get("/schools/oak-primary/privacy-notice").text
    assert '<html lang="ur" dir="rtl"' in text
    assert '<h1 class="govuk-heading-l" lang="en" dir="ltr">Privacy notice</h1>' in text
    line = say(
        "ur",
        "This part is only in English. Ask the school for help: %(contact)s",
        contact='<a class="govuk-link" href="mailto:office@oak.example.org">'
        "<bdi>office@oak.example.org</bdi></a>",
    )
    assert f'<p class="govuk-body portal-only-english">{line}</p>' in text
    assert '<div class="portal-notice__body" lang="en" dir="ltr"><p class="govuk-body">We hold' in (
        text
    )
    assert '<div lang="en" dir="ltr"><p class="govuk-body">We hold names.</p>' in text
    # A newer version with no translation falls back too, even in Polish.
    make_notice(schools.get_by_slug("oak-primary"), source="Version two.")
    client.set_cookie("lang", "pl")
    text = client.get("/schools/oak-primary/privacy-notice").text
    assert "Version two." in text
    assert say("pl", "This part is only in English. Ask the school for help.")[:20] in text


def test_the_line_names_the_data_protection_officer_when_the_school_has_no_office_address(
    client,
):
    school = schools.create("ash", name="Ash School", dpo_email="dpo@ash.example.org")
    make_notice(school)
    client.set_cookie("lang", "cy")
    text = client.get("/schools/ash/privacy-notice").text
    assert 'href="mailto:dpo@ash.example.org"><bdi>dpo@ash.example.org</bdi></a></p>' in text
    nobody = schools.create("elm", name="Elm School")
    make_notice(nobody)
    text = client.get("/schools/elm/privacy-notice").text
    assert say("cy", "This part is only in English. Ask the school for help.") + "</p>" in text


def test_the_line_about_english_is_a_message_for_translators(client):
    """In the pseudo-locale every message is translated at run time: the line is one."""
    _oak_with_a_polish_translation()
    client.set_cookie("lang", "en-XA")
    text = client.get("/schools/oak-primary/privacy-notice").text
    line = text.split('<p class="govuk-body portal-only-english">')[1].split("</p>")[0]
    assert line.startswith("[Ţĥîš þàŕţ îš öñļý îñ Éñĝļîšĥ")
    assert "<bdi>office@oak.example.org</bdi>" in line
