"""The public pages as a parent sees them: Chromium at a phone's size (390x844).

Each page is checked for what a person sees (headings, the school's name in the header),
that its links work when tapped, that the skip link works from the keyboard, that it does
not scroll sideways at 390px or 320px, that axe-core finds nothing against WCAG 2.2 AA, that
htmx loaded, and that the page reads the same with JavaScript switched off. A plain-text
notice with a brief is also read at 360x800: the brief and the contents on the first screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from portal import demo
from tests.support.browser import assert_no_axe_violations, assert_no_sideways_scrolling, h1
from tests.support.factories import make_notice, make_school
from tests.support.web import say

pytestmark = pytest.mark.browser

DEMO_SCHOOL = "Riverside Primary School"
DEMO_NOTICE = "/schools/riverside-primary/privacy-notice"
DEMO_TITLE = "Privacy notice for pupils and their families"
HOME_HEADING = "Privacy and consent for your child's school"
LONG_EMAIL = "dataprotectionofficer@ashacademymultiacademytrust.example.org"


# --- helpers -------------------------------------------------------------------------


def assert_skip_link_moves_focus_to_main(page: Any) -> None:
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("link => link === document.activeElement"), (
        "Tab did not reach the skip link"
    )
    page.keyboard.press("Enter")
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == "main-content", f"after the skip link, focus is on {focused!r}, not main"


def header(page: Any) -> Any:
    return page.get_by_role("banner")


@pytest.fixture
def site(app: Any) -> None:
    """The demo school, with a second version of its notice, and one more school."""
    school = demo.load().school
    make_notice(
        school,
        title=DEMO_TITLE,
        source=(demo.EXAMPLES / "notice.md").read_text(encoding="utf-8")
        + "\n\n## Changes\n\nWe now keep photographs for one year after a pupil leaves.\n",
    )
    ash = make_school(slug="ash-academy", name="Ash Academy", contact_email=LONG_EMAIL)
    make_notice(ash, title="Ash Academy privacy notice", source="We hold your child's name.")


# --- every page ----------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    path: str
    status: int
    heading: str
    header_name: str


PAGES = {
    "home": Visit("/", 200, HOME_HEADING, "School consent portal"),
    "notice": Visit(DEMO_NOTICE, 200, DEMO_TITLE, DEMO_SCHOOL),
    "earlier version": Visit(f"{DEMO_NOTICE}/versions/1", 200, DEMO_TITLE, DEMO_SCHOOL),
    "not found": Visit(
        "/schools/riverside-primary/no-such-page", 404, "Page not found", "School consent portal"
    ),
}


@pytest.mark.parametrize("visit", PAGES.values(), ids=PAGES.keys())
def test_page_reads_well_on_a_phone(site, live_server, page, new_page, page_problems, visit):
    if visit.status == 404:
        page_problems.allow(f"status of 404 (NOT FOUND) ({live_server}{visit.path})")
    response = page.goto(live_server + visit.path)
    assert response is not None and response.status == visit.status

    expect(h1(page, visit.heading)).to_be_visible()
    expect(page).to_have_title(re.compile("^" + re.escape(visit.heading)))
    expect(header(page).get_by_role("link", name=visit.header_name)).to_be_visible()
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"

    assert_no_sideways_scrolling(page)
    assert_no_axe_violations(page)
    assert_skip_link_moves_focus_to_main(page)

    without_js = new_page(java_script_enabled=False)
    response = without_js.goto(live_server + visit.path)
    assert response is not None and response.status == visit.status
    expect(h1(without_js, visit.heading)).to_be_visible()
    assert without_js.evaluate("typeof window.htmx") == "undefined"


# --- journeys ------------------------------------------------------------------------


def test_home_lists_the_schools_and_a_tap_opens_one(site, live_server, page):
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", level=2, name="Schools on this portal")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link")).to_have_text(["Ash Academy", DEMO_SCHOOL])

    # hx-boost turns the tap into an htmx request that swaps the body: the window survives.
    page.evaluate("window.beforeTheTap = true")
    page.get_by_role("link", name=DEMO_SCHOOL).click()
    expect(page).to_have_url(live_server + DEMO_NOTICE)
    expect(h1(page, DEMO_TITLE)).to_be_visible()
    expect(header(page).get_by_role("link", name=DEMO_SCHOOL)).to_be_visible()
    expect(page).to_have_title(f"{DEMO_TITLE} – {DEMO_SCHOOL} – School consent portal")
    assert page.evaluate("window.beforeTheTap") is True, "the link was not boosted by htmx"

    page.get_by_role("contentinfo").get_by_role("link", name="All schools").click()
    expect(page).to_have_url(live_server + "/")
    expect(h1(page, HOME_HEADING)).to_be_visible()


def test_with_one_school_the_home_page_lands_on_its_notice(app, live_server, page):
    demo.load()
    page.goto(live_server + "/")
    expect(page).to_have_url(live_server + DEMO_NOTICE)
    expect(h1(page, DEMO_TITLE)).to_be_visible()
    expect(header(page).get_by_role("link", name=DEMO_SCHOOL)).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Contact the school")).to_be_visible()
    dpo = page.get_by_role("link", name="dpo@riverside-primary.example.org")
    expect(dpo).to_have_attribute("href", "mailto:dpo@riverside-primary.example.org")
    # Only one version so far: nothing earlier to list.
    expect(page.get_by_role("heading", name="Earlier versions")).to_have_count(0)


def test_a_parent_can_read_an_earlier_version_and_come_back(site, live_server, page):
    page.goto(live_server + DEMO_NOTICE)
    expect(page.get_by_text("Version 2, published")).to_be_visible()
    expect(page.get_by_role("heading", name="Changes")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Earlier versions")).to_be_visible()

    earlier = page.get_by_role("link", name=re.compile(r"^Version 1, published "))
    earlier.click()
    expect(page).to_have_url(live_server + DEMO_NOTICE + "/versions/1")
    expect(h1(page, DEMO_TITLE)).to_be_visible()
    expect(page.get_by_text("This is version 1, which has been replaced.")).to_be_visible()
    expect(page.get_by_role("heading", name="Changes")).to_have_count(0)
    expect(page).to_have_title(f"{DEMO_TITLE} (version 1) – {DEMO_SCHOOL} – School consent portal")

    page.get_by_role("link", name="Read the current notice").click()
    expect(page).to_have_url(live_server + DEMO_NOTICE)
    expect(page.get_by_text("Version 2, published")).to_be_visible()

    earlier.click()
    expect(page).to_have_url(live_server + DEMO_NOTICE + "/versions/1")
    header(page).get_by_role("link", name=DEMO_SCHOOL).click()
    expect(page).to_have_url(live_server + DEMO_NOTICE)
    expect(page.get_by_text("Version 2, published")).to_be_visible()


def test_the_not_found_page_leads_back_to_the_start(site, live_server, page, page_problems):
    missing = f"{live_server}{DEMO_NOTICE}/versions/99"
    page_problems.allow(f"status of 404 (NOT FOUND) ({missing})")
    response = page.goto(missing)
    assert response is not None and response.status == 404
    expect(h1(page, "Page not found")).to_be_visible()

    page.get_by_role("link", name="Go to the start page").click()
    expect(page).to_have_url(live_server + "/")
    expect(h1(page, HOME_HEADING)).to_be_visible()


def test_a_long_email_address_wraps_on_a_narrow_phone(site, live_server, page):
    page.goto(live_server + "/schools/ash-academy/privacy-notice")
    expect(header(page).get_by_role("link", name="Ash Academy")).to_be_visible()
    expect(page.get_by_role("link", name=LONG_EMAIL)).to_be_visible()
    assert_no_sideways_scrolling(page)


# --- a plain-text notice with a brief, on a small phone ------------------------------------

LUDWORTH = Path(__file__).resolve().parent.parent / "data" / "notice-ludworth.txt"
LUDWORTH_BRIEF = (
    "We hold your child's name, attendance, health and safeguarding information, to keep "
    "your child safe and to meet the law.\n\n"
    "We share it with:\n• the Department for Education\n• Stockport Council\n\n"
    "You can ask to see it."
)


@pytest.fixture
def ludworth(app: Any) -> str:
    school = make_school(slug="ludworth", name="Ludworth Primary School")
    make_notice(
        school,
        title="Privacy notice",
        source=LUDWORTH.read_text(encoding="utf-8"),
        source_format="text",
        brief=LUDWORTH_BRIEF,
    )
    return "/schools/ludworth/privacy-notice"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_plain_text_notice_starts_with_its_brief_and_contents_on_a_small_phone(
    ludworth, live_server, new_page, javascript
):
    page = new_page(java_script_enabled=javascript, viewport={"width": 360, "height": 800})
    response = page.goto(live_server + ludworth)
    assert response is not None and response.status == 200
    expect(h1(page, "Privacy notice")).to_be_visible()

    brief = page.get_by_role("heading", level=2, name="The notice in brief")
    contents = page.get_by_role("navigation", name="Contents")
    expect(brief).to_be_visible()
    expect(contents).to_be_visible()
    for element in (brief, contents):
        box = element.bounding_box()
        assert box is not None and box["y"] < 800, f"{box} is below the first screen"
    expect(
        page.get_by_role("region", name="The notice in brief").get_by_role("listitem")
    ).to_have_text(["the Department for Education", "Stockport Council"])
    assert_no_sideways_scrolling(page)
    if javascript:
        assert_no_axe_violations(page)

    # A tap on a contents entry goes to its heading; the addresses in the notice are links.
    contents.get_by_role("link", name="Complaints").click()
    expect(page).to_have_url(live_server + ludworth + "#complaints")
    complaints = page.get_by_role("heading", level=2, name="Complaints", exact=True)
    expect(complaints).to_be_in_viewport()
    expect(
        page.get_by_role("link", name="IGSchoolSupport@stockport.gov.uk", exact=True)
    ).to_have_attribute("href", "mailto:IGSchoolSupport@stockport.gov.uk")
    expect(page.get_by_role("link", name="https://ico.org.uk/concerns/")).to_have_attribute(
        "href", "https://ico.org.uk/concerns/"
    )


# --- what the school wrote, in the page's language -----------------------------------------


@pytest.mark.parametrize(
    ("language", "heading", "line"),
    [("pl", "Informacja o prywatności", False), ("ur", DEMO_TITLE, True)],
    ids=["translated", "only in English"],
)
def test_the_notice_in_another_language_reads_well_and_passes_axe(
    site, live_server, page, language, heading, line
):
    """Polish: the school's translation, marked lang="pl". Urdu, a right-to-left page: the
    English notice marked lang="en" dir="ltr", under a line saying it is only in English."""
    from portal import notices, schools
    from portal.extensions import db

    school = schools.get_by_slug("riverside-primary")
    notices.publish_translation(school, 2, language="pl", title="Informacja o prywatności",
                                source="## Kim jesteśmy\n\nSzkoła Riverside.\n",
                                source_format="markdown")  # fmt: skip
    db.session.commit()
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    page.goto(live_server + DEMO_NOTICE)
    expect(h1(page, heading)).to_be_visible()
    title = page.get_by_role("heading", level=1)
    expect(title).to_have_attribute("lang", "pl" if language == "pl" else "en")
    only_english = page.locator(".portal-only-english")
    expect(only_english).to_have_count(1 if line else 0)
    if line:  # in the page's language
        expect(only_english).to_contain_text(
            say(language, "This part is only in English. Ask the school for help.")[:20]
        )
    if line:
        link = page.get_by_role("link", name="office@riverside-primary.example.org").first
        expect(link).to_have_attribute("href", "mailto:office@riverside-primary.example.org")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator(".portal-notice__body")).to_have_attribute("dir", "ltr")
    else:
        expect(page.get_by_role("heading", level=3, name="Kim jesteśmy")).to_be_visible()
    assert_no_sideways_scrolling(page)
    assert_no_axe_violations(page)
