"""Paper forms and slips in Chromium at a desk (1280×800), with JavaScript and without.

On the demo school. The office opens paper forms and slips from the pupils page, records the
forms that came back from 3 Oak on the class grid (the confirmation in view), one parent's
whole slip on Zoë's record (in view again), prints the class's pre-filled forms (print
emulation, kept as a PDF under test-artefacts/pdf/), and prints the photo check's class sheet
from its Print button. axe-core finds nothing on any page: the WCAG 2.2 AA rules, and the
heading-order and landmark-unique rules the walk through every journey found broken.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import choices, demo
from portal.extensions import db
from portal.models import Guardian, Pupil, Purpose, SchoolContact
from tests.support.browser import AXE, assert_no_axe_violations, h1, sign_in
from tests.support.world import event_rows

pytestmark = pytest.mark.browser

DESK = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False}
PDFS = Path(__file__).resolve().parents[2] / "test-artefacts" / "pdf"
WEBSITE = "Photos on the school website and social media"
PRESS = "Photos and names in the local press"
DISPLAY = "Class photos on display inside school"
MARKETING = "News, events and fundraising emails"
# Rules outside WCAG's tags that the walk through the journeys found broken here.
STRUCTURE = {
    "runOnly": {
        "type": "rule",
        "values": ["heading-order", "landmark-unique", "page-has-heading-one"],
    }
}


def assert_accessible(page: Any) -> None:
    assert_no_axe_violations(page)
    violations = AXE.run(page, options=STRUCTURE).response["violations"]
    assert violations == [], [
        (v["id"], [" ".join(map(str, n["target"])) for n in v["nodes"]]) for v in violations
    ]


def assert_accessible_as_served(checker: Any, page: Any) -> None:
    """axe-core on a page shown without JavaScript: axe is a script, so it runs in `checker`
    (a page where scripts run, at the same size) on the same markup at the same address,
    with the page's own scripts left out so that nothing changes it."""
    html = page.content()

    def serve(route: Any) -> None:
        kind = route.request.resource_type
        if kind == "document":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        elif kind == "script":
            route.fulfill(status=200, content_type="text/javascript", body="")
        else:
            route.continue_()

    checker.route("**/*", serve)
    try:
        checker.goto(page.url)
        assert_accessible(checker)
    finally:
        checker.unroute("**/*", serve)


def person(school_id: int, forename: str) -> Guardian:
    return db.session.scalars(
        select(Guardian)
        .join(SchoolContact, SchoolContact.guardian_id == Guardian.id)
        .where(SchoolContact.school_id == school_id, SchoolContact.forename == forename)
    ).one()


def pdf_pages(path: Path) -> int:
    """How many pages a PDF that Chromium wrote has (its page objects)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    # Farah said yes to the website for Amira online.
    farah = person(result.id, "Farah")
    amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one()
    website = db.session.scalars(select(Purpose).where(Purpose.key == "photos-website")).one()
    choices.decide(farah.id, [amira.id], website.id, "grant")
    return result


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_office_records_and_prints_paper_forms(
    school, live_server, smtp_server, new_page, runner, javascript
):
    page = new_page(**DESK, java_script_enabled=javascript)
    checker = None if javascript else new_page(**DESK)

    def check(page: Any) -> None:
        if checker is None:
            assert_accessible(page)
        else:
            assert_accessible_as_served(checker, page)

    sign_in(page, live_server, smtp_server, demo.STAFF[demo.Role.STAFF][0], home="Things to do")
    siobhan, declan, farah = (person(school.id, n) for n in ("Siobhan", "Declan", "Farah"))
    zoe = db.session.scalars(select(Pupil).where(Pupil.forename == "Zoë")).one()
    before = len(event_rows(school.id))

    # From the pupils page to the classes, then to 3 Oak's grid.
    page.goto(live_server + "/staff/pupils")
    page.get_by_role("link", name="Paper forms and slips").click()
    expect(h1(page, "Paper forms and slips")).to_be_visible()
    check(page)
    page.get_by_role("link", name="Record forms from 3 Oak").click()
    expect(h1(page, "Returned forms from 3 Oak")).to_be_visible()
    check(page)
    # The grid scrolls inside its own region if it must, never the page.
    wide, window = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert wide <= window, f"the grid page is {wide}px wide in a {window}px window"

    def cell(what: str, child: str | None, who: str) -> Any:
        about = f"{what} for {child}" if child else what
        return page.get_by_role("group", name=f"{about}: what the form from {who} says")

    cell(WEBSITE, "Zoë O'Brien", "Siobhan O'Brien").get_by_label("Yes", exact=True).check()
    cell(PRESS, "Zoë O'Brien", "Declan Murphy").get_by_label("No", exact=True).check()
    cell(DISPLAY, "Amira Hussain", "Farah Hussain").get_by_label("Objects").check()
    cell(MARKETING, None, "Farah Hussain").get_by_label("Yes", exact=True).check()
    # Farah's yes to the website again: her answer already, so nothing is recorded for it.
    cell(WEBSITE, "Amira Hussain", "Farah Hussain").get_by_label("Yes", exact=True).check()
    page.get_by_label("Note (optional)").fill("Forms in the 3 Oak folder")
    page.get_by_role("button", name="Record the changed answers").click()
    banner = page.locator("#recorded")
    expect(banner).to_contain_text("Recorded 4 changed answers for 2 children, from paper forms. ")
    expect(banner).to_be_in_viewport()
    if javascript:
        expect(banner).to_be_focused()
    check(page)
    db.session.remove()
    recorded = event_rows(school.id)[before:]
    assert sorted((e.guardian_id, e.decision) for e in recorded) == sorted([
        (siobhan.id, "grant"), (declan.id, "withdraw"), (farah.id, "object"),
        (farah.id, "grant"),
    ])  # fmt: skip
    assert {(e.channel, e.actor_type, e.note) for e in recorded} == {
        ("paper", "staff", "Forms in the 3 Oak folder")
    }

    # Zoë's record: Declan's whole slip, in one submission.
    page.goto(f"{live_server}/staff/pupils/{zoe.id}")
    expect(h1(page, "Zoë O'Brien")).to_be_visible()
    check(page)
    slip = page.locator(f"#slip-{declan.id}")
    slip.get_by_role("group", name=WEBSITE).get_by_label("Yes", exact=True).check()
    slip.get_by_role("group", name=DISPLAY).get_by_label("Objects").check()
    slip.get_by_role("button", name=re.compile("^Record these answers")).click()
    banner = page.locator("#record-saved")
    expect(banner).to_contain_text(
        "Recorded 2 changed answers from Declan Murphy for Zoë, from a paper form."
    )
    expect(banner).to_be_in_viewport()
    if javascript:
        expect(banner).to_be_focused()
        expect(page.locator("#portal-live")).to_contain_text("Declan Murphy")
    check(page)
    db.session.remove()
    assert len(event_rows(school.id)) == before + 6

    # The class's pre-filled forms, on screen and on A4.
    page.get_by_role("link", name="Print a form for Zoë").click()
    expect(h1(page, "Forms to print for Zoë O'Brien")).to_be_visible()
    page.goto(live_server + "/staff/paper/forms?class=3+Oak")
    expect(h1(page, "Forms to print for 3 Oak")).to_be_visible()
    forms = page.locator(".portal-paper-form")
    expect(forms).to_have_count(4)  # Amira: Farah, Imran; Zoë: Declan, Siobhan
    expect(forms.first).to_contain_text("Your choices for Amira")
    print_button = page.get_by_role("button", name="Print the forms")
    if javascript:
        expect(print_button).to_be_visible()
    else:
        expect(print_button).to_have_count(0)  # hidden: the page says how to print instead
    expect(page.get_by_text("Use your browser’s Print command")).to_be_visible()
    check(page)
    page.emulate_media(media="print")
    expect(page.locator(".portal-header")).to_be_hidden()
    expect(page.locator(".portal-staff-nav")).to_be_hidden()
    expect(h1(page, "Forms to print for 3 Oak")).to_be_hidden()
    expect(forms.nth(3)).to_be_visible()
    PDFS.mkdir(parents=True, exist_ok=True)
    suffix = "javascript" if javascript else "no-javascript"
    pdf = PDFS / f"paper-forms-3-oak-{suffix}.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=False)
    assert pdf_pages(pdf) == 4  # one A4 page each
    page.emulate_media(media="screen")

    # The photo check: headings in order (a child picked by name), and an obvious Print
    # button that is a link to the class sheet.
    website = db.session.scalars(select(Purpose).where(Purpose.key == "photos-website")).one()
    yusuf = db.session.scalars(select(Pupil).where(Pupil.forename == "Yusuf")).one()
    page.goto(f"{live_server}/staff/photo-check?purpose={website.id}&class=3+Oak"
              f"&pupil={yusuf.id}&action=check")  # fmt: skip
    expect(page.get_by_role("heading", level=3, name="Children you picked (1)")).to_be_visible()
    expect(page.locator("#photo-check-results")).to_contain_text("must not appear")
    check(page)  # "Children you picked" follows the h2 of its question
    page.get_by_role("button", name=re.compile("^Print a class sheet")).click()
    expect(h1(page, "Photo check: class 3 Oak and 1 chosen pupil")).to_be_visible()
    sheet_button = page.get_by_role("button", name="Print this sheet")
    if javascript:
        expect(sheet_button).to_be_visible()
    else:
        expect(sheet_button).to_have_count(0)
    check(page)
    page.emulate_media(media="print")
    expect(page.locator(".portal-header")).to_be_hidden()
    page.pdf(path=str(PDFS / f"photo-check-sheet-{suffix}.pdf"))
    page.emulate_media(media="screen")

    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
