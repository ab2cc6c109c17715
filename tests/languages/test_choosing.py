"""Choosing a language: Accept-Language as the first guess, the chooser that keeps the page, the
cookie for a visitor, the stored choice for a signed-in parent, English staff pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import languages
from portal.extensions import db
from portal.models import Guardian
from tests.support.client import csrf_token
from tests.support.factories import make_notice, make_school
from tests.support.web import sign_in_as


@pytest.fixture
def school(app):
    school = make_school()
    make_notice(school)
    return school


def html_lang(response) -> tuple[str, str]:
    import re

    match = re.search(r'<html lang="([^"]+)" dir="(ltr|rtl)"', response.text)
    assert match, response.text[:300]
    return match.group(1), match.group(2)


def test_the_browser_language_is_the_first_guess(client, school):
    assert html_lang(client.get("/sign-in")) == ("en-GB", "ltr")
    response = client.get("/sign-in", headers={"Accept-Language": "ur-PK,ur;q=0.9,en;q=0.5"})
    assert html_lang(response) == ("ur", "rtl")
    response = client.get("/sign-in", headers={"Accept-Language": "fr,pl;q=0.8"})
    assert html_lang(response) == ("pl", "ltr")
    # Punjabi from a browser in India is Gurmukhi; a language not offered is English.
    response = client.get("/sign-in", headers={"Accept-Language": "pa-IN"})
    assert html_lang(response) == ("pa-Guru", "ltr")
    assert html_lang(client.get("/sign-in", headers={"Accept-Language": "ja"})) == ("en-GB", "ltr")
    # Punjabi from Pakistan is written in Shahmukhi, which is not offered: the next language.
    response = client.get("/sign-in", headers={"Accept-Language": "pa-PK,ur;q=0.8"})
    assert html_lang(response) == ("ur", "rtl")


def test_every_page_links_to_the_chooser_which_keeps_the_page(client, school):
    page = client.get("/schools/oak-primary/your-rights")
    assert 'href="/language?next=/schools/oak-primary/your-rights"' in page.text
    chooser = client.get("/language?next=/schools/oak-primary/your-rights")
    # Each language is named in itself and marked up in its own language and direction.
    assert 'lang="pl" dir="ltr"' in chooser.text and ">Polski</button>" in chooser.text
    assert 'lang="ur" dir="rtl"' in chooser.text and ">اردو</button>" in chooser.text
    assert "ਪੰਜਾਬੀ (ਗੁਰਮੁਖੀ)" in chooser.text  # which script the label uses
    response = client.post(
        "/language",
        data={
            "csrf_token": csrf_token(chooser),
            "language": "pl",
            "next": "/schools/oak-primary/your-rights",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/schools/oak-primary/your-rights"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=pl;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The cookie wins over the browser's languages from now on.
    after = client.get("/schools/oak-primary/your-rights", headers={"Accept-Language": "ar"})
    assert html_lang(after) == ("pl", "ltr")


@pytest.mark.parametrize(
    "next_value",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "", "javascript:x"],
)
def test_the_chooser_goes_back_only_to_this_site(client, school, next_value):
    chooser = client.get("/language")
    response = client.post(
        "/language",
        data={"csrf_token": csrf_token(chooser), "language": "cy", "next": next_value},
    )
    assert response.headers["Location"] == "/"


def test_a_choice_without_a_csrf_token_or_of_an_unknown_language_changes_nothing(client, school):
    response = client.post("/language", data={"language": "pl", "next": "/"})
    assert response.status_code == 400 and "lang=" not in response.headers.get("Set-Cookie", "")
    chooser = client.get("/language")
    for value in ("xx", "fr", "", "en-XA-evil"):
        response = client.post(
            "/language", data={"csrf_token": csrf_token(chooser), "language": value}
        )
        assert response.status_code == 400, value
        assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_a_signed_in_parent_keeps_their_choice_on_any_device(app, world):
    first = app.test_client()
    sign_in_as(first, "ada@example.org")
    chooser = first.get("/language?next=/family")
    first.post("/language", data={"csrf_token": csrf_token(chooser), "language": "gu"})
    ada = db.session.scalars(select(Guardian).where(Guardian.email == "ada@example.org")).one()
    db.session.refresh(ada)
    assert (ada.language, ada.language_chosen) == ("gu", True)
    # Another phone, with no cookie and an English browser: Gujarati, because she chose it.
    second = app.test_client()
    sign_in_as(second, "ada@example.org")
    assert html_lang(second.get("/family", headers={"Accept-Language": "en-GB"}))[0] == "gu"


def test_a_roster_language_is_used_until_the_browser_or_the_parent_chooses(app, world):
    ada = db.session.scalars(select(Guardian).where(Guardian.email == "ada@example.org")).one()
    ada.language = "pl"
    db.session.commit()
    client = app.test_client()
    sign_in_as(client, "ada@example.org")
    assert html_lang(client.get("/family"))[0] == "pl"
    # A language chosen on this device (the cookie) beats the school's record of her language.
    client.set_cookie("lang", "cy")
    assert html_lang(client.get("/family"))[0] == "cy"


def test_staff_pages_stay_in_english_and_have_no_chooser(app, world):
    from tests.support.factories import make_staff

    make_staff(world.oak.school, email="office@oak.example")
    office = app.test_client()
    sign_in_as(office, "office@oak.example", home="/staff")
    office.set_cookie("lang", "ur")
    page = office.get("/staff", headers={"Accept-Language": "ur"})
    assert html_lang(page) == ("en-GB", "ltr")
    assert "/language?next=" not in page.text


def test_the_pseudo_locale_is_offered_only_where_it_is_switched_on(client, school, make_app):
    assert "[Þšéûðö]" in client.get("/language").text
    client.set_cookie("lang", "en-XA")
    page = client.get("/sign-in")
    assert html_lang(page) == ("en-XA", "ltr") and "[Šîĝñ îñ" in page.text
    plain = make_app(PORTAL_PSEUDO_LOCALE=False).test_client()
    assert "[Þšéûðö]" not in plain.get("/language").text
    plain.set_cookie("lang", "en-XA")
    assert html_lang(plain.get("/sign-in")) == ("en-GB", "ltr")


def test_the_sign_in_link_page_never_puts_its_token_in_the_chooser_link(client, school):
    page = client.get("/sign-in/link/not-a-real-token-abcdef")
    assert "not-a-real-token" not in page.text.split("/language?next=")[1].split('"')[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pl", "pl"), ("PL-pl", "pl"), ("ur_PK", "ur"), ("pa-Guru", "pa-Guru"),
        ("pa-guru-IN", "pa-Guru"), ("cy-GB", "cy"), ("en", "en"), ("ar-Arab", "ar"),
    ],
)  # fmt: skip
def test_tags_match_offered_languages_whatever_their_case_or_region(value, expected):
    assert languages.match(value).tag == expected


@pytest.mark.parametrize("value", ["pa", "pa-Arab", "ur-Latn", "xx-", "polish", "1234", "fr"])
def test_tags_that_name_no_offered_language_match_nothing(value):
    assert languages.match(value) is None


def test_a_page_whose_language_follows_the_browser_says_so_to_caches(client, school):
    response = client.get("/schools/oak-primary/privacy-notice")
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_a_forced_locale_gets_its_own_catalogue_whatever_the_page_language(app, school):
    """Flask-Babel's force_locale (a notice's contents heading, written during a staff
    request) and in_language (an email) each get their own language's messages, and neither
    leaves its catalogue under another language's name."""
    from flask_babel import force_locale, gettext

    from portal.languages import in_language

    with app.test_request_context("/staff"):
        assert gettext("Contents") == "Contents"
        with force_locale("pl"):
            polish = gettext("Contents")
        with in_language("ur"):
            urdu = gettext("Contents")
        assert gettext("Contents") == "Contents"
    assert polish != "Contents" and urdu not in ("Contents", polish)
