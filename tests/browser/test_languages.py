"""The parent journey in other languages, in Chromium at 360×800, with and without JavaScript:
English, Polish, Urdu (right to left) and the pseudo-locale.

Farah, on a browser that asks for English, opens "Other languages", chooses one, asks for a
sign-in link (the email arrives in that language, over real SMTP), signs in, says yes for
Amira's photos on the website, withdraws it, and reads the privacy notice. Every page is
checked with axe-core, must not scroll sideways, and is kept as a screenshot under
test-artefacts/screenshots/. Labels are found by their translation (the app's own catalogues),
so the same journey runs in every language.

In Urdu and in the pseudo-locale, no English may be left on a page outside what the school
wrote (marked `lang="en"`) and names and addresses (in `<bdi>`): text that escaped
translation fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask_babel import gettext
from playwright.sync_api import expect
from sqlalchemy import select

from portal import demo
from portal.extensions import db
from portal.languages import in_language
from portal.mail.delivery import send_pending
from portal.models import ConsentEvent, Purpose
from tests.support.browser import assert_no_axe_violations, assert_no_sideways_scrolling, h1
from tests.support.mail import sign_in_path

pytestmark = pytest.mark.browser

FARAH = "farah.hussain@example.org"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "screenshots"
DIRECTION = {"en": "ltr", "pl": "ltr", "ur": "rtl", "en-XA": "ltr"}
HTML_LANG = {"en": "en-GB"}
# Pages whose every word must be translated: those in a script English is not written in,
# and the pseudo-locale, where English is plain and translations are accented.
CHECK_ALL_TRANSLATED = {"ur", "en-XA"}

# Everything on the page a person reads, but what is allowed to stay English: what the school
# wrote (lang="en"), names and addresses (<bdi>), and what is hidden.
LEFT_IN_ENGLISH = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('[lang="en"], bdi, script, style, [hidden], template')
      .forEach((node) => node.remove());
  return copy.innerText;
}"""


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


def translator(app: Any, tag: str) -> Callable[..., str]:
    """`t("Continue")`: the message as the app says it in `tag`."""

    def t(message: str, **values: Any) -> str:
        with app.test_request_context("/"), in_language(tag):
            return gettext(message, **values)

    return t


# Names every language keeps in Latin letters: the law's and the regulator's.
KEPT_IN_ENGLISH = ("UK GDPR", "GDPR", "ICO", "ico.org.uk/make-a-complaint")


def english_left(page: Any) -> list[str]:
    text = page.evaluate(LEFT_IN_ENGLISH)
    text = re.sub(r"\[[^\[\]]*·+\]", " ", text)  # pseudo-translated messages
    for kept in KEPT_IN_ENGLISH:
        text = text.replace(kept, " ")
    return re.findall(r"[A-Za-z]{3,}(?:[ '’-][A-Za-z]{2,})*", text)


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.parametrize("tag", ["en", "pl", "ur", "en-XA"])
def test_the_parent_journey_in_other_languages(
    app, school, live_server, smtp_server, new_page, tag, js
):
    t = translator(app, tag)
    page = new_page(viewport={"width": 360, "height": 800}, java_script_enabled=js, locale="en-GB")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = 0

    def check(step: str) -> None:
        nonlocal shots
        html = page.locator("html")
        expect(html).to_have_attribute("lang", HTML_LANG.get(tag, tag))
        expect(html).to_have_attribute("dir", DIRECTION[tag])
        if js:  # axe-core is a script: it runs where scripts do
            assert_no_axe_violations(page)
            assert_no_sideways_scrolling(page)
        if tag in CHECK_ALL_TRANSLATED:
            assert english_left(page) == [], f"English left on {page.url} ({step})"
        shots += 1
        page.screenshot(
            path=str(SCREENSHOTS / f"{tag}-{'js' if js else 'nojs'}-{shots:02d}-{step}.png"),
            full_page=True,
            # Hiding the caret (Playwright's default) leaves style="" on the page's inputs,
            # which htmx's next swap copies: a CSP violation the page did not make.
            caret="initial",
        )

    # Choose the language from the sign-in page, which the browser shows in English.
    page.goto(live_server + "/sign-in")
    expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    page.get_by_role("banner").get_by_role("link", name="Other languages").click()
    expect(h1(page, "Choose a language")).to_be_visible()
    chooser_language = {"en": "English", "pl": "Polski", "ur": "اردو", "en-XA": "[Þšéûðö]"}
    page.get_by_role("button", name=chooser_language[tag], exact=True).click()
    expect(page).to_have_url(live_server + "/sign-in")
    check("sign-in")

    # Ask for a link; the email comes in the chosen language.
    page.get_by_label(t("Email address")).fill(FARAH)
    page.get_by_role("button", name=t("Send me a sign-in link")).click()
    expect(h1(page, t("Check your email"))).to_be_visible()
    check("check-your-email")
    send_pending()
    (email,) = smtp_server.wait_for(1)
    assert email.message["Content-Language"] == HTML_LANG.get(tag, tag)
    assert f'lang="{HTML_LANG.get(tag, tag)}"' in email.html()
    if tag != "en":
        assert not email.message["Subject"].startswith("Your sign-in link")

    page.goto(live_server + sign_in_path(email))
    check("continue")
    page.get_by_role("button", name=t("Continue")).click()
    expect(h1(page, t("Your children"))).to_be_visible()
    check("your-children")

    # Amira's page: yes to photos on the website, then no.
    page.get_by_role("link", name=t("Answer for %(name)s", name="Amira")).click()
    expect(h1(page, "Amira Hussain")).to_be_visible()
    check("child")
    # The demo school translated this purpose's wording into Polish (examples/purposes.toml).
    website = db.session.scalars(select(Purpose).where(Purpose.key == "photos-website")).one()
    card = page.locator(f"#purpose-{website.id}")
    card.get_by_role("button", name=re.compile("^" + re.escape(t("Yes")))).click()
    expect(card).to_contain_text(t("Saved. You said yes for %(names)s.", names="Amira"))
    check("answered-yes")
    card.get_by_role("button", name=re.compile("^" + re.escape(t("No")))).click()
    expect(card).to_contain_text(t("Saved. You said no for %(names)s.", names="Amira"))
    check("answered-no")

    db.session.remove()
    events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq)).all()
    assert [e.decision for e in events] == ["grant", "withdraw"]
    # The wording Farah read: the school's Polish, or the English where it has none.
    assert {e.language for e in events} == {"pl" if tag == "pl" else "en"}

    # The privacy notice, from the footer.
    page.get_by_role("contentinfo").get_by_role("link", name=t("Privacy notice")).click()
    expect(page.locator("main h1")).to_be_visible()
    check("notice")
