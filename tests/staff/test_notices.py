"""The privacy notice in the staff workspace: preview (the draft, nothing saved), publish (a
new version with what changed and who published it, in the audit log), by admins only."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from portal import notices
from portal.extensions import db
from portal.models import NoticeVersion, StaffAuditEntry, StaffUser
from tests.support.factories import make_school, make_staff
from tests.support.web import post_form

PLAIN: dict[str, str] = {}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
HEADERS = pytest.mark.parametrize("headers", [PLAIN, BOOSTED], ids=["plain", "boosted"])

DRAFT = {
    "title": "Privacy notice for families",
    "source": "# Who we are\n\nOak Primary School. <script>alert(1)</script>\n\n"
    "- your child's name\n- [the ICO](https://ico.org.uk/)\n",
    "summary": "Added who we are and a link to the ICO.",
}


def versions() -> int:
    return db.session.scalar(select(func.count()).select_from(NoticeVersion)) or 0


def audit_entries(action: str) -> list[tuple[int | None, dict]]:
    return [
        (entry.staff_user_id, json.loads(entry.detail))
        for entry in db.session.scalars(
            select(StaffAuditEntry)
            .where(StaffAuditEntry.action == action)
            .order_by(StaffAuditEntry.id)
        )
    ]


def staff_id(email: str) -> int:
    return db.session.scalars(select(StaffUser.id).where(StaffUser.email == email)).one()


def error_beside(page_text: str, field: str) -> str:
    """The error message shown beside a field (GOV.UK: inside the field's form group)."""
    match = re.search(
        rf'<p id="{field}-error" class="govuk-error-message">\s*'
        r'<span class="govuk-visually-hidden">Error:</span>\s*([^<]+)</p>',
        page_text,
    )
    assert match, f"no error beside {field}"
    return match.group(1).strip()


@HEADERS
def test_the_page_shows_the_current_notice_its_versions_and_the_form(admin, world, headers):
    notices.publish(world.oak.school, title="Privacy notice", source="Version two.",
                    source_format="markdown")  # fmt: skip
    page = admin.get("/staff/notice", headers=headers)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.text
    assert '<h1 class="govuk-heading-l">Privacy notice</h1>' in text
    assert "Current notice" in text and "Version two." in text
    assert 'href="/schools/oak-primary/privacy-notice/versions/1"' in text
    assert 'href="/schools/oak-primary/privacy-notice/versions/2"' in text
    assert text.count("An operator (command line)") == 2  # published with the CLI's function
    # The form starts from the current notice and offers only a preview.
    assert 'action="/staff/notice/preview"' in text
    assert ">Version two.</textarea>" in text
    assert "What changed since version 2" in text
    assert "/staff/notice/publish" not in text
    # The menu marks this page.
    assert 'href="/staff/notice" aria-current="page"' in text


@HEADERS
def test_a_preview_renders_the_draft_as_families_see_it_and_saves_nothing(admin, world, headers):
    page = admin.get("/staff/notice")
    before = versions()
    response = post_form(admin, "/staff/notice/preview", DRAFT, page=page, headers=headers)
    assert response.status_code == 200
    text = response.text
    assert "Preview of version 2: not published yet" in text
    # Rendered by notices.render, the safe subset: headings, lists, links; no script.
    assert notices.render(DRAFT["source"], "markdown") in text
    assert '<h2 class="govuk-heading-m" id="who-we-are">Who we are</h2>' in text
    assert "<script>alert" not in text
    # The form again, filled, now with a Publish button.
    assert 'value="Privacy notice for families"' in text
    assert ">Added who we are and a link to the ICO.</textarea>" in text
    assert 'formaction="/staff/notice/publish"' in text and "Publish as version 2" in text
    db.session.expire_all()
    assert versions() == before
    assert audit_entries("notice.publish") == []


def test_a_preview_of_the_current_text_says_publishing_would_change_nothing(admin, world):
    page = admin.get("/staff/notice")
    current = notices.current(world.oak.school)
    response = post_form(admin, "/staff/notice/preview",
                         {"title": current.title, "source": current.source, "summary": "x"},
                         page=page)  # fmt: skip
    assert response.status_code == 200
    assert "publishing it would change nothing" in response.text


@HEADERS
def test_publishing_makes_a_new_version_with_its_summary_publisher_and_audit_entry(
    admin, world, client, headers
):
    page = post_form(admin, "/staff/notice/preview", DRAFT, page=admin.get("/staff/notice"))
    response = post_form(admin, "/staff/notice/publish", DRAFT, page=page, headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/notice"

    db.session.expire_all()
    notice = notices.current(world.oak.school)
    admin_id = staff_id("admin@oak.example")
    assert (notice.version, notice.title, notice.source_format) == (
        2, DRAFT["title"], "markdown",
    )  # fmt: skip
    assert notice.summary == DRAFT["summary"]
    assert notice.published_by_id == admin_id
    assert notice.body_html == notices.render(DRAFT["source"], "markdown")
    assert audit_entries("notice.publish") == [(admin_id, {"version": 2, "title": DRAFT["title"]})]

    page = admin.get("/staff/notice")
    assert "Version 2 is published" in page.text
    assert DRAFT["summary"] in page.text and "Dana Okafor" in page.text
    assert "Version 2 is published" not in admin.get("/staff/notice").text  # shown once

    # Families see it.
    public = client.get("/schools/oak-primary/privacy-notice")
    assert public.status_code == 200
    assert "Privacy notice for families" in public.text
    assert '<h2 class="govuk-heading-m" id="who-we-are">Who we are</h2>' in public.text


def test_publishing_the_same_title_and_text_again_is_refused_politely(admin, world):
    current = notices.current(world.oak.school)
    page = admin.get("/staff/notice")
    response = post_form(admin, "/staff/notice/publish",
                         {"title": current.title, "source": current.source,
                          "summary": "Nothing, really."}, page=page)  # fmt: skip
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "Nothing was published: the title, text and brief are the same as version 1" in (
        error_beside(response.text, "source")
    )
    db.session.expire_all()
    assert versions() == 2  # Oak's and Elm's first versions
    assert audit_entries("notice.publish") == []


def test_the_same_text_with_a_browsers_line_breaks_is_still_the_same(admin, world):
    notices.publish(world.oak.school, title="Privacy notice", source="# Who we are\n\nOak.\n",
                    source_format="markdown")  # fmt: skip
    page = admin.get("/staff/notice")
    same = {"title": "Privacy notice", "source": "# Who we are\r\n\r\nOak.\r\n", "summary": "x"}
    preview = post_form(admin, "/staff/notice/preview", same, page=page)
    assert "publishing it would change nothing" in preview.text
    response = post_form(admin, "/staff/notice/publish", same, page=page)
    assert response.status_code == 400
    assert "Nothing was published" in error_beside(response.text, "source")
    db.session.expire_all()
    assert notices.current(world.oak.school).version == 2


@pytest.mark.parametrize("endpoint", ["preview", "publish"])
@pytest.mark.parametrize(
    ("missing", "message"),
    [("title", "Enter a title"), ("source", "Enter the text of the notice"),
     ("summary", "Say what changed in this version")],
)  # fmt: skip
def test_a_missing_title_text_or_summary_is_shown_beside_the_field(
    admin, world, endpoint, missing, message
):
    page = admin.get("/staff/notice")
    response = post_form(admin, f"/staff/notice/{endpoint}", {**DRAFT, missing: "  "}, page=page)
    assert response.status_code == 400
    assert "<title>Error: Privacy notice" in response.text
    assert f'<a href="#{missing}">{message}</a>' in response.text  # the summary, at the top
    assert error_beside(response.text, missing) == message
    assert "Preview of version" not in response.text
    db.session.expire_all()
    assert versions() == 2
    assert audit_entries("notice.publish") == []


def test_a_title_that_is_too_long_is_refused(admin, world):
    page = admin.get("/staff/notice")
    response = post_form(admin, "/staff/notice/publish", {**DRAFT, "title": "T" * 201}, page=page)
    assert response.status_code == 400
    assert error_beside(response.text, "title") == "The title must be 200 characters or fewer"
    assert versions() == 2


def test_the_first_version_needs_no_summary(app, world, staff_client):
    ash = make_school(slug="ash-academy", name="Ash Academy")
    make_staff(ash, email="admin@ash.example", role="admin", name="Ash Admin")
    admin = staff_client("admin@ash.example")
    page = admin.get("/staff/notice")
    assert "has not published a privacy notice yet" in page.text
    assert "What changed (optional for the first version)" in page.text
    first = {"title": "Privacy notice", "source": "We hold names."}
    response = post_form(admin, "/staff/notice/publish", first, page=page)
    assert response.status_code == 302
    db.session.expire_all()
    notice = notices.current(ash)
    assert (notice.version, notice.summary) == (1, None)
    assert notice.published_by_id == staff_id("admin@ash.example")
    # Oak's notice is untouched: each school publishes its own.
    assert notices.current(world.oak.school).version == 1


def test_without_a_csrf_token_nothing_is_published(admin, world):
    admin.get("/staff/notice")
    for endpoint in ("preview", "publish"):
        response = admin.post(f"/staff/notice/{endpoint}", data=DRAFT)
        assert response.status_code == 400
    db.session.expire_all()
    assert versions() == 2
    assert audit_entries("notice.publish") == []


# --- The notice in brief ------------------------------------------------------------------

BRIEF = "What we hold\n\nYour child's name and class.\n\n• photos, with your consent\n"


def test_a_brief_is_previewed_then_published_above_the_full_notice(admin, world):
    draft = {**DRAFT, "brief": BRIEF.replace("\n", "\r\n")}
    page = admin.get("/staff/notice")
    assert "The notice in brief (optional)" in page.text
    preview = post_form(admin, "/staff/notice/preview", draft, page=page)
    assert preview.status_code == 200
    text = preview.text
    assert '<h3 class="govuk-heading-m" id="brief-title">The notice in brief</h3>' in text
    assert notices.render_brief(BRIEF) in text
    assert text.index('id="brief-title"') < text.index('id="who-we-are"')
    response = post_form(admin, "/staff/notice/publish", draft, page=preview)
    assert response.status_code == 302
    db.session.expire_all()
    notice = notices.current(world.oak.school)
    assert notice.version == 2
    assert notice.brief == BRIEF.strip()
    assert notice.brief_html == notices.render_brief(BRIEF)
    # The form starts from the current brief, and the same brief again publishes nothing.
    again = admin.get("/staff/notice")
    assert "photos, with your consent</textarea>" in again.text


@pytest.mark.parametrize("endpoint", ["preview", "publish"])
def test_a_brief_of_more_than_300_words_is_refused_and_nothing_is_published(admin, world, endpoint):
    page = admin.get("/staff/notice")
    response = post_form(
        admin, f"/staff/notice/{endpoint}", {**DRAFT, "brief": "We hold names. " * 101}, page=page
    )
    assert response.status_code == 400
    message = "The notice in brief has 303 words; keep it to 300 or fewer"
    assert f'<a href="#brief">{message}</a>' in response.text
    assert error_beside(response.text, "brief") == message
    assert "Preview of version" not in response.text
    db.session.expire_all()
    assert versions() == 2
    assert audit_entries("notice.publish") == []


@pytest.mark.parametrize(
    ("brief", "message"),
    [
        ("x" * 3001, "The notice in brief must be 3,000 characters or fewer"),
        ("We hold\x07 names.", "The notice in brief has a control character that is not a line "
         "break or a tab"),
    ],
)  # fmt: skip
def test_a_brief_too_long_or_with_a_control_character_is_shown_beside_it(
    admin, world, brief, message
):
    page = admin.get("/staff/notice")
    response = post_form(admin, "/staff/notice/publish", {**DRAFT, "brief": brief}, page=page)
    assert response.status_code == 400
    assert error_beside(response.text, "brief") == message
    db.session.expire_all()
    assert versions() == 2


def test_without_a_csrf_token_a_brief_is_not_published(admin, world):
    admin.get("/staff/notice")
    response = admin.post("/staff/notice/publish", data={**DRAFT, "brief": BRIEF})
    assert response.status_code == 400
    db.session.expire_all()
    assert versions() == 2
    assert notices.current(world.oak.school).brief is None
    assert audit_entries("notice.publish") == []


# --- Translations -----------------------------------------------------------------------------

POLISH = {
    "translation-language": "pl",
    "translation-title": "Informacja o prywatności",
    "translation-source": "# Kim jesteśmy\r\n\r\nSzkoła Oak. <script>alert(1)</script>\r\n",
    "translation-brief": "Przechowujemy imię dziecka.",
    "translation-version": "1",
}


def test_an_admin_publishes_a_translation_of_the_current_version(admin, world, client):
    page = admin.get("/staff/notice")
    assert '<h2 class="govuk-heading-m" id="translations">Translations</h2>' in page.text
    assert "Version 1 has no translation yet." in page.text
    assert 'action="/staff/notice/translations"' in page.text
    assert '<option value="pl">Polish</option>' in page.text
    assert '<option value="en"' not in page.text
    response = post_form(admin, "/staff/notice/translations", POLISH, page=page)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/notice#translations"

    db.session.expire_all()
    [translation] = notices.translations(world.oak.school)[1]
    admin_id = staff_id("admin@oak.example")
    assert (translation.language, translation.title) == ("pl", "Informacja o prywatności")
    assert translation.source == "# Kim jesteśmy\n\nSzkoła Oak. <script>alert(1)</script>\n"
    assert translation.body_html == notices.render(translation.source, "markdown")
    assert translation.brief == "Przechowujemy imię dziecka."
    assert translation.published_by_id == admin_id
    assert audit_entries("notice.translate") == [
        (admin_id, {"version": 1, "language": "pl", "title": "Informacja o prywatności"})
    ]
    assert audit_entries("notice.publish") == []

    page = admin.get("/staff/notice")
    assert "The Polish translation of version 1 is published." in page.text
    assert "Version 1 is translated into Polish." in page.text
    assert (
        '<p class="govuk-body" lang="pl" dir="ltr"><strong>Informacja o prywatności</strong></p>'
    ) in page.text
    assert "Szkoła Oak. &lt;script&gt;" in page.text  # what the admin wrote, escaped
    assert '<option value="pl">' not in page.text  # no second Polish translation offered
    versions_table = page.text.split("Every version of the notice")[1].split("</table>")[0]
    assert '<td class="govuk-table__cell">Polish</td>' in versions_table
    # Families reading Polish see it.
    client.set_cookie("lang", "pl")
    assert "Informacja o prywatności" in client.get("/schools/oak-primary/privacy-notice").text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"translation-language": ""}, "translation-language",
         "Choose the language of the translation"),
        ({"translation-language": "en"}, "translation-language",
         "Choose one of the languages listed"),
        ({"translation-language": "de"}, "translation-language",
         "Choose one of the languages listed"),
        ({"translation-title": " "}, "translation-title", "Enter the title of the translation"),
        ({"translation-source": ""}, "translation-source", "Enter the text of the translation"),
        ({"translation-brief": "word " * 301}, "translation-brief",
         "The notice in brief has 301 words; keep it to 300 or fewer"),
        ({"translation-version": "7"}, "translation-language",
         "Oak Primary School has no notice version 7"),
    ],
)  # fmt: skip
def test_a_translation_with_a_problem_is_refused_beside_its_field(
    admin, world, changes, field, message
):
    page = admin.get("/staff/notice")
    response = post_form(admin, "/staff/notice/translations", {**POLISH, **changes}, page=page)
    assert response.status_code == 400
    assert "<title>Error: Privacy notice" in response.text
    assert error_beside(response.text, field) == message
    assert f'<a href="#{field}">{message}</a>' in response.text
    # What was typed is kept; the new version's form is as it was.
    assert "Informacja o prywatności" in response.text or "translation-title" in changes
    db.session.expire_all()
    assert notices.translations(world.oak.school) == {}
    assert audit_entries("notice.translate") == []


def test_a_second_translation_into_the_same_language_is_refused(admin, world):
    notices.publish_translation(world.oak.school, 1, language="pl", title="Pierwsza",
                                source="Tekst.", source_format="markdown")  # fmt: skip
    db.session.commit()
    page = admin.get("/staff/notice")
    response = post_form(admin, "/staff/notice/translations", POLISH, page=page)
    assert response.status_code == 400
    assert error_beside(response.text, "translation-language") == (
        "Choose one of the languages listed"
    )
    db.session.expire_all()
    assert [t.title for t in notices.translations(world.oak.school)[1]] == ["Pierwsza"]


def test_without_a_csrf_token_no_translation_is_published(admin, world):
    admin.get("/staff/notice")
    assert admin.post("/staff/notice/translations", data=POLISH).status_code == 400
    db.session.expire_all()
    assert notices.translations(world.oak.school) == {}
