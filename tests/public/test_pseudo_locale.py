"""The public, sign-in and error pages in the pseudo-locale (`lang=en-XA`): every message is
translated, so nothing English is left in <main> but what the school wrote and other data."""

from __future__ import annotations

import re
from typing import Any

import html5lib
import pytest

from tests.support.client import CheckedClient, csrf_token
from tests.support.factories import make_notice, make_school

# Data: what the school wrote and where it can be reached, which no catalogue translates.
NOTICE_TITLE = "Zorblat notice"
NOTICE_TEXT = "Zorblat holds qwxyz."
DATA = (
    "Oak Primary School",
    "Ash Academy",
    NOTICE_TITLE,
    NOTICE_TEXT,
    "office@oak.example.org",
    "ico.org.uk/make-a-complaint",
)
NAMESPACE = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture
def schools(app: Any) -> None:
    oak = make_school()
    make_school(slug="ash-academy", name="Ash Academy", contact_email=None)
    make_notice(oak, title=NOTICE_TITLE, source=NOTICE_TEXT)


@pytest.fixture
def pseudo(client: CheckedClient) -> CheckedClient:
    client.set_cookie("lang", "en-XA")
    return client


def english_left(html: str) -> list[str]:
    """The words of 3 letters or more in <main>, once the pseudo-translated messages (in
    brackets, however nested) and the data are taken out."""
    document = html5lib.parse(html)
    main = document.find(f".//{NAMESPACE}main")
    assert main is not None, html[:300]
    text = " ".join("".join(main.itertext()).split())
    for value in DATA:
        text = text.replace(value, " ")
    while True:
        shorter = re.sub(r"\[[^\[\]]*\]", " ", text)
        if shorter == text:
            break
        text = shorter
    return re.findall(r"[A-Za-z]{3,}", text)


def check_email_page(client: CheckedClient) -> Any:
    page = client.get("/sign-in")
    with client.post(
        "/sign-in", data={"email": "nobody@example.org", "csrf_token": csrf_token(page)}
    ):
        pass
    return client.get("/sign-in/check-your-email")


PAGES = {
    "school list": lambda client: client.get("/"),
    "notice": lambda client: client.get("/schools/oak-primary/privacy-notice"),
    "notice not published": lambda client: client.get("/schools/ash-academy/privacy-notice"),
    "rights": lambda client: client.get("/schools/oak-primary/your-rights"),
    "sign in": lambda client: client.get("/sign-in"),
    "check your email": check_email_page,
    "link problem": lambda client: client.get("/sign-in/link/not-a-real-link"),
    "signed out": lambda client: client.get("/signed-out"),
    "not found": lambda client: client.get("/no-such-page"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_in_the_pseudo_locale_have_no_english_left(schools, pseudo, name):
    response = PAGES[name](pseudo)
    assert response.status_code in (200, 404), response.status_code
    assert '<html lang="en-XA"' in response.text
    assert english_left(response.text) == []


def test_the_sign_in_form_errors_are_translated(schools, pseudo):
    page = pseudo.get("/sign-in")
    response = pseudo.post("/sign-in", data={"email": "", "csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert english_left(response.text) == []
    title = re.search(r"<title>(.*?)</title>", response.text, re.S)
    assert title and "Error" not in title.group(1) and "Sign in" not in title.group(1)


def test_the_same_pages_in_english_are_as_they_were(schools, client):
    """English is the source: the words are the ones the tests of each page check."""
    assert "Schools on this portal" in client.get("/").text
    notice = client.get("/schools/oak-primary/privacy-notice").text
    assert "Version 1, published" in notice and "Contact the school" in notice
    assert (
        "has not published its privacy notice on this portal yet"
        in client.get("/schools/ash-academy/privacy-notice").text
    )
    assert "Page not found" in client.get("/no-such-page").text
