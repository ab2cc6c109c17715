"""The parent journey in Chromium on a phone, with and without JavaScript.

On the demo school: Farah Hussain has parental responsibility for Amira (3 Oak) and Yusuf
(5 Ash); Imran, Amira's father, has it for Amira too. Farah asks for a link, the test reads
the email from a real SMTP server, and she signs in, says yes for Amira, gives one answer for
both children (asked once for the page), withdraws the first yes, objects to direct marketing
(after which a yes to marketing emails is explained, not saved) and reads the history.
The ledger must then hold exactly those events, and `flask ledger verify` must pass.
Every page of the journey, in every state it shows, is checked with axe-core.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import choices, demo, notices, purposes, references
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import Guardian, Pupil, Purpose, SchoolContact
from portal.types import utcnow
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
    sign_in,
)
from tests.support.world import decide as record
from tests.support.world import event_rows

pytestmark = pytest.mark.browser

FARAH = "farah.hussain@example.org"
WEBSITE = "Photos on the school website and social media"
PRESS = "Photos and names in the local press"
SMALL_PHONE = {"viewport": {"width": 360, "height": 800}}


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


def people(school: Any) -> dict[str, Any]:
    guardians = {
        forename: g
        for forename, g in db.session.execute(
            select(SchoolContact.forename, Guardian)
            .join(Guardian, Guardian.id == SchoolContact.guardian_id)
            .where(SchoolContact.school_id == school.id)
        )
    }
    pupils = {
        p.forename: p for p in db.session.scalars(select(Pupil).where(Pupil.school_id == school.id))
    }
    found = {
        p.key: p for p in db.session.scalars(select(Purpose).where(Purpose.school_id == school.id))
    }
    return {"guardians": guardians, "pupils": pupils, "purposes": found}


def assert_targets_are_at_least_24px(page: Any) -> None:
    """WCAG 2.2 target size (2.5.8): every button, form control and summary is at least 24 by
    24 CSS pixels (links inside sentences are exempt)."""
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'main button, main input:not([type=hidden]), main textarea, main summary,'
              + ' main a.govuk-button, header button, header a'))
            .filter(el => el.offsetParent !== null)
            .map(el => {
              const box = el.getBoundingClientRect();
              const label = el.labels && el.labels[0] ? el.labels[0].getBoundingClientRect() : null;
              // A checkbox's target is its label as well as the box.
              const width = Math.max(box.width, label ? label.width : 0);
              const height = Math.max(box.height, label ? label.height : 0);
              return [el.outerHTML.slice(0, 80), width, height];
            })
            .filter(([, width, height]) => width < 24 || height < 24)"""
    )
    assert not small, f"targets smaller than 24x24 px on {page.url}: {small}"


def card(page: Any, title: str) -> Any:
    """A purpose's card: a region named by its heading."""
    return page.get_by_role("region", name=title, exact=True)


def answer(page: Any, title: str, button: str) -> None:
    card(page, title).get_by_role("button", name=re.compile(f"^{re.escape(button)}")).click()


def answer_for_both(page: Any, sibling: str) -> None:
    """Ask once, for the page, that every answer count for `sibling` too."""
    page.get_by_text(f"Give the same answers for {sibling}").click()
    page.get_by_label(f"{sibling} too").check()
    page.get_by_role("button", name="Use for my answers").click()


@pytest.mark.parametrize(
    "options",
    [{}, SMALL_PHONE, {"java_script_enabled": False}],
    ids=["javascript-390x844", "javascript-360x800", "no-javascript-390x844"],
)
def test_the_parent_journey(
    school, live_server, smtp_server, new_page, runner, options, page_problems
):
    # A yes to marketing while the objection stands is answered 409: nothing was saved.
    page_problems.allow("the server responded with a status of 409 (CONFLICT)")
    js = options.get("java_script_enabled", True)
    page = new_page(**options)

    def check(page: Any, *, sideways: bool = True) -> None:
        # axe-core runs as a script in the page: only where scripts run. The pages without
        # JavaScript are the same markup, checked in the runs with it.
        if js:
            assert_no_axe_violations(page)
            if sideways:
                assert_no_sideways_scrolling(page)

    sign_in(page, live_server, smtp_server, FARAH)
    expect(page).to_have_url(live_server + "/family")
    expect(page.get_by_text("2 choices need your answer")).to_have_count(2)
    check(page)

    # Your children -> Amira's page.
    page.get_by_role("link", name="Answer for Amira").click()
    expect(h1(page, "Amira Hussain")).to_be_visible()
    expect(page.get_by_role("heading", name="Your choices", exact=True)).to_be_visible()
    census = page.get_by_text("The school census", exact=True)
    expect(census).to_be_hidden()  # collapsed: "What the school does without asking you"
    check(page)
    amira_url = page.url.split("#")[0]

    # 1. Yes for Amira's photos on the website: the answer that stands, written and pressed.
    answer(page, WEBSITE, "Yes")
    expect(card(page, WEBSITE)).to_contain_text("Saved. You said yes for Amira.")
    expect(card(page, WEBSITE)).to_contain_text("Your answer: Yes —")
    expect(card(page, WEBSITE).get_by_role("button", name=re.compile("^Yes"))).to_have_attribute(
        "aria-pressed", "true"
    )
    if js:
        # Swapped in place, said out loud by the live region, and the focus stays on the
        # button that was pressed (htmx keeps the focus on an element with the same id).
        assert page.url.split("#")[0] == amira_url
        expect(page.locator("#portal-live")).to_have_text("Saved. You said yes for Amira.")
        expect(card(page, WEBSITE).get_by_role("button", name=re.compile("^Yes"))).to_be_focused()
        # No copy of a personal page is kept for the back button.
        assert page.evaluate("htmx.config.historyCacheSize") == 0
        assert_targets_are_at_least_24px(page)
    check(page, sideways=False)

    # 2. One answer for both children: photos in the press.
    answer_for_both(page, "Yusuf")
    expect(card(page, PRESS)).to_contain_text("Your answer counts for Amira and Yusuf.")
    check(page, sideways=False)
    answer(page, PRESS, "Yes")
    expect(card(page, PRESS)).to_contain_text("Saved. You said yes for Amira and Yusuf.")

    # 3. Withdraw the first yes: the same page, the same one tap (for Amira alone again).
    page.get_by_label("Yusuf too").uncheck()
    page.get_by_role("button", name="Use for my answers").click()
    expect(card(page, WEBSITE)).not_to_contain_text("Your answer counts for")
    answer(page, WEBSITE, "No")
    expect(card(page, WEBSITE)).to_contain_text("Saved. You said no for Amira.")
    expect(card(page, WEBSITE)).to_contain_text("Your answer: No —")
    expect(card(page, WEBSITE).get_by_role("button", name=re.compile("^No"))).to_have_attribute(
        "aria-pressed", "true"
    )
    check(page, sideways=False)

    # 4. Object to all direct marketing (a choice for Farah, not per child).
    page.get_by_role("link", name="Emails about news, events and fundraising").click()
    expect(h1(page, "Emails about news, events and fundraising")).to_be_visible()
    check(page, sideways=False)
    page.get_by_role("button", name="Object to all direct marketing").click()
    marketing = page.locator("#marketing")
    expect(marketing.get_by_text("Saved. You objected to all direct marketing.")).to_be_visible()
    expect(marketing).to_contain_text("Only you can withdraw this objection.")
    expect(
        page.get_by_role("button", name="Withdraw my objection to direct marketing")
    ).to_be_visible()
    check(page, sideways=False)
    # While the objection stands, a yes cannot count: it is explained, not saved.
    marketing.get_by_role("button", name=re.compile("^Yes")).click()
    expect(page.get_by_role("alert")).to_contain_text("so a yes cannot count")
    expect(marketing).not_to_contain_text("Saved. You said yes.")
    expect(
        page.get_by_role("link", name=re.compile("^You have objected to all direct marketing"))
    ).to_have_attribute("href", "#marketing-object")
    check(page, sideways=False)

    # 5. What you told us.
    page.get_by_role("contentinfo").get_by_role("link", name="What you told us").click()
    expect(h1(page, "What you told us")).to_be_visible()
    entries = page.locator(".portal-history__entry")
    expect(entries).to_have_count(5)
    # An objection to all direct marketing, not to the one purpose it was recorded on.
    expect(entries.first).to_contain_text("Direct marketing")
    expect(entries.first).to_contain_text("Objected to all direct marketing")
    expect(entries.first).not_to_contain_text("News, events and fundraising emails")
    expect(entries.nth(1)).to_contain_text(WEBSITE)
    expect(entries.nth(1)).to_contain_text("No")
    check(page)

    # The ledger holds exactly those events, each with its reference on the history page.
    found = people(school)
    farah, amira, yusuf = (
        found["guardians"]["Farah"],
        found["pupils"]["Amira"],
        found["pupils"]["Yusuf"],
    )
    p = found["purposes"]
    db.session.remove()
    rows = event_rows(school.id)
    assert [(r.guardian_id, r.pupil_id, r.purpose_id, r.decision, r.channel, r.actor_type)
            for r in rows] == [
        (farah.id, amira.id, p["photos-website"].id, "grant", "web", "guardian"),
        (farah.id, amira.id, p["photos-press"].id, "grant", "web", "guardian"),
        (farah.id, yusuf.id, p["photos-press"].id, "grant", "web", "guardian"),
        (farah.id, amira.id, p["photos-website"].id, "withdraw", "web", "guardian"),
        (farah.id, None, p["marketing-emails"].id, "object", "web", "guardian"),
    ]  # fmt: skip
    for row in rows:
        reference = references.reference(school.slug, row.seq, row.hash)
        expect(page.get_by_text(reference, exact=True)).to_be_visible()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output

    # One receipt for the five changes, once the receipt delay has passed.
    send_pending(now=utcnow() + timedelta(hours=1))
    (receipt,) = [m for m in smtp_server.wait_for(2) if "record of what you changed" in
                  m.message["Subject"]]  # fmt: skip
    text = receipt.text()
    for row in rows:
        assert row.hash in text


def test_every_state_of_the_journey_is_accessible(
    school, live_server, smtp_server, new_page, page_problems
):
    """Conflict, renewal, a new notice, errors (with and without JavaScript), an objection."""
    page_problems.allow("the server responded with a status of 400 (BAD REQUEST)")
    found = people(school)
    farah, imran = found["guardians"]["Farah"], found["guardians"]["Imran"]
    amira = found["pupils"]["Amira"]
    p = found["purposes"]
    text = (demo.EXAMPLES / "purposes.toml").read_text(encoding="utf-8")

    def set_the_scene(round: int) -> None:
        # Imran said no to the website; Farah said yes to it, and to the press, and objected
        # to class photos on display; then the school reworded the press purpose and
        # published a new notice. (Each round rewords it again, as the last round answered.)
        record(imran, p["photos-website"], "withdraw", pupil=amira)
        choices.decide(farah.id, [amira.id], p["photos-website"].id, "grant")
        choices.decide(farah.id, [amira.id], p["photos-press"].id, "grant")
        choices.decide(farah.id, [amira.id], p["class-photos-display"].id, "object")
        reworded = text.replace("print children's first names", f"print (round {round}) names")
        purposes.load(school, reworded)
        notices.publish(school, title="Privacy notice", source=f"Version {round}.",
                        source_format="text")  # fmt: skip
        db.session.commit()

    for round, js in enumerate((True, False), start=1):
        set_the_scene(round)
        page = new_page(java_script_enabled=js)

        def check(page: Any, js: bool = js) -> None:
            if js:  # axe-core is a script: it runs where scripts do
                assert_no_axe_violations(page)
                assert_no_sideways_scrolling(page)

        sign_in(page, live_server, smtp_server, FARAH)
        expect(page.get_by_role("region", name="New privacy notice")).to_be_visible()
        expect(page.get_by_text("1 needs renewing")).to_be_visible()
        # Imran's no is told on the family page, without his name.
        expect(page.locator(".portal-child").filter(has_text="Amira Hussain")).to_contain_text(
            f"{WEBSITE}: the school will not do this for Amira, because another person with "
            "parental responsibility said no."
        )
        check(page)

        page.get_by_role("link", name="Answer for Amira").click()
        expect(h1(page, "Amira Hussain")).to_be_visible()
        expect(page.get_by_role("region", name="New privacy notice")).to_be_visible()
        expect(card(page, WEBSITE)).to_contain_text(
            "Another person with parental responsibility has said no, so the school will not "
            "do this for Amira."
        )
        expect(card(page, WEBSITE)).not_to_contain_text("Imran")
        expect(card(page, PRESS)).to_contain_text("but the school has since changed what it asks")
        card(page, PRESS).get_by_text("What changed").click()
        expect(card(page, PRESS).locator("del")).to_contain_text("removed:")
        expect(card(page, PRESS).locator("ins")).to_contain_text(
            re.compile(rf"added: (\(round )?{round}\)")
        )
        display = card(page, "Class photos on display inside school")
        expect(display).to_contain_text("You objected")
        page.get_by_text("Show the 1 thing the school must or may do").click()
        expect(page.get_by_text("The school census", exact=True)).to_be_visible()
        check(page)

        # An error: a reason too long to keep (after withdrawing the objection, to object
        # again). With JavaScript the card shows it; without, the whole page does.
        display.get_by_role("button", name=re.compile("^Withdraw my objection")).click()
        expect(display).to_contain_text("Saved. You withdrew your objection for Amira.")
        display.get_by_label("Why are you objecting? (optional)").fill("x" * 1001)
        display.get_by_role("button", name=re.compile("^I object")).click()
        expect(page.get_by_role("alert")).to_contain_text("Your reason must be 1000 characters")
        expect(display.get_by_label("Why are you objecting? (optional)")).to_have_attribute(
            "aria-describedby", re.compile("-error")
        )
        if not js:
            expect(page).to_have_title(re.compile("^Error: Amira's choices"))
        check(page)

        if js:
            # The whole-page error, as a browser without JavaScript gets it: the form sent
            # natively (no htmx), with the long reason and the button's answer.
            page.evaluate(
                """() => {
                  const form = document.querySelector('textarea[name=note]').form;
                  const answer = document.createElement('input');
                  answer.type = 'hidden'; answer.name = 'decision'; answer.value = 'object';
                  form.appendChild(answer);
                  HTMLFormElement.prototype.submit.call(form);
                }"""
            )
            expect(page).to_have_title(re.compile("^Error: Amira's choices"))
            expect(page.get_by_role("alert")).to_contain_text("There is a problem")
            check(page)

        page.goto(live_server + "/schools/riverside-primary/your-rights")
        expect(h1(page, "Your rights over your family's information")).to_be_visible()
        expect(page.get_by_text("dpo@riverside-primary.example.org")).to_be_visible()
        check(page)
        page.get_by_role("banner").get_by_role("button", name="Sign out").click()
        expect(h1(page, "You have signed out")).to_be_visible()
