"""A guardian's marketing choices over HTTP (portal/parent/marketing.py), plainly and as htmx
sends them: consent per purpose, and the objection to all direct marketing.

The world (tests/support/world.py): at Oak, Ada and Ben have parental responsibility for
A, Gran is A's contact without it; Ada and Dan for B; Eve for C. At Elm, Ada and Fay for X.
"""

from __future__ import annotations

import re

import pytest

from tests.support.parent import events
from tests.support.web import HTMX, PLAIN, post_form, say, text_of
from tests.support.world import snapshot


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_marketing_consent_and_the_absolute_objection(ada, world, headers):
    path = "/family/schools/oak-primary/marketing"
    m = world.oak.purposes["marketing-emails"]
    page = ada.get(path)
    assert page.status_code == 200
    assert "Not answered" in text_of(page.text)

    response = post_form(ada, path, {"decision": "grant", "purpose": m.id}, page=page,
                         headers=headers)  # fmt: skip
    assert response.status_code == (200 if headers else 302)
    if headers:
        assert response.text.lstrip().startswith('<div id="marketing">')
        assert len(response.data) < 5 * 1024
        assert 'hx-swap-oob="innerHTML">Saved. You said yes.</div>' in response.text
    page = ada.get(path)
    assert "Your answer: Yes —" in text_of(page.text)

    post_form(ada, path, {"decision": "object"}, page=page, headers=headers)
    page = ada.get(path)
    text = text_of(page.text)
    assert "You objected on" in text and "Only you can withdraw this objection" in text
    assert "whatever you answer here" in text

    post_form(ada, path, {"decision": "lift_objection"}, page=page, headers=headers)
    rows = [(e.purpose_id, e.pupil_id, e.decision) for e in events(world)]
    assert rows == [(m.id, None, "grant"), (m.id, None, "object"), (m.id, None, "lift_objection")]
    assert "Your answer: Yes —" in text_of(ada.get(path).text)


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_yes_and_no_to_marketing_are_equal_and_the_answer_that_stands_is_pressed(
    ada, world, headers
):
    """The marketing purpose's Yes and No: the same button, size and colour; the answer
    that stands is written out and its button pressed."""
    path = "/family/schools/oak-primary/marketing"
    m = world.oak.purposes["marketing-emails"]
    page = ada.get(path)
    same = 'class="govuk-button govuk-button--secondary portal-yes-no__button"'
    for button in ("yes", "no"):
        found = re.search(rf'<button [^>]*id="marketing-{m.id}-{button}"[^>]*>', page.text)
        assert found and same in found.group(0) and 'aria-pressed="false"' in found.group(0)
    response = post_form(ada, path, {"decision": "withdraw", "purpose": m.id}, page=page,
                         headers=headers)  # fmt: skip
    shown = response.text if headers else ada.get(path).text
    assert "Your answer: No —" in text_of(shown)
    no = re.search(rf'<button [^>]*id="marketing-{m.id}-no"[^>]*>', shown)
    assert no and 'aria-pressed="true"' in no.group(0)


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_a_yes_while_the_objection_stands_is_explained_and_not_saved(ada, world, headers):
    """While Ada's objection to direct marketing stands, her "Yes" to marketing emails is
    not saved (it could not count): the page says why, and links to the button that
    withdraws the objection, instead of "Saved. You said yes."."""
    path = "/family/schools/oak-primary/marketing"
    m = world.oak.purposes["marketing-emails"]
    page = ada.get(path)
    post_form(ada, path, {"decision": "object"}, page=page)
    page = ada.get(path)
    before = snapshot(world.oak.id)
    response = post_form(ada, path, {"decision": "grant", "purpose": m.id}, page=page,
                         headers=headers)  # fmt: skip
    assert response.status_code == 409
    assert snapshot(world.oak.id) == before
    text = text_of(response.text)
    assert "Saved." not in text
    assert (
        "You have objected to all direct marketing, so a yes cannot count and nothing was "
        "saved: the school will not send you these emails. If you want them, withdraw your "
        "objection first, then say yes." in text
    )
    assert '<a href="#marketing-object">' in response.text
    assert 'id="marketing-object"' in response.text  # the button it links to
    assert "Withdraw my objection to direct marketing" in text
    if headers:
        assert response.text.lstrip().startswith('<div id="marketing">')
    else:
        assert "<title>Error: " in response.text
    # Saying no meanwhile is saved: nothing stops a no.
    post_form(ada, path, {"decision": "withdraw", "purpose": m.id}, page=page, headers=headers)
    assert [e.decision for e in events(world)][-1] == "withdraw"


def test_a_school_without_marketing_still_shows_the_right_to_object(ada, world):
    """Elm sends no marketing (its marketing purpose retired): its page still shows the
    right to object to direct marketing and how to use it (write to the school)."""
    from portal import purposes
    from portal.extensions import db
    from tests.support.factories import PURPOSES_OF_EVERY_KIND

    without = PURPOSES_OF_EVERY_KIND[: PURPOSES_OF_EVERY_KIND.index('key = "marketing-emails"')]
    without = without[: without.rindex("[[purposes]]")]
    purposes.load(world.elm.school, without)
    db.session.commit()
    page = ada.get("/family/schools/elm-academy/marketing")
    text = text_of(page.text)
    assert "Elm Academy does not send marketing or fundraising emails through this portal." in (
        text
    )
    assert "Object to all direct marketing" in text
    assert "You have the right to object to direct marketing at any time." in text
    assert "To object, tell the school: office@elm.example" in text
    assert 'href="mailto:office@elm.example"' in page.text
    assert 'value="object"' not in page.text  # nothing to record it against here


def test_marketing_of_a_school_that_is_not_yours_is_not_found(signed_in, world):
    eve = signed_in("eve")  # Oak only
    page = eve.get("/family")
    before = snapshot(world.elm.id)
    assert eve.get("/family/schools/elm-academy/marketing").status_code == 404
    assert eve.get("/family/schools/no-such-school/marketing").status_code == 404
    response = post_form(eve, "/family/schools/elm-academy/marketing", {"decision": "object"},
                         page=page)  # fmt: skip
    assert response.status_code == 404
    assert snapshot(world.elm.id) == before


def test_a_marketing_answer_that_does_not_fit_is_an_error(ada, world):
    path = "/family/schools/oak-primary/marketing"
    page = ada.get(path)
    before = snapshot(world.oak.id)
    for headers in (PLAIN, HTMX):
        response = post_form(ada, path, {"decision": "perhaps"}, page=page, headers=headers)
        assert response.status_code == 400
        assert "There is a problem" in response.text
    assert snapshot(world.oak.id) == before


@pytest.mark.parametrize("purpose", ["²", "٣", "2147483648", "99999999999999999999"])
def test_a_marketing_purpose_that_is_not_an_id_is_an_error_not_a_crash(ada, world, purpose):
    path = "/family/schools/oak-primary/marketing"
    page = ada.get(path)
    before = snapshot(world.oak.id)
    response = post_form(ada, path, {"decision": "grant", "purpose": purpose}, page=page)
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert snapshot(world.oak.id) == before


def test_marketing_in_the_page_language_and_the_ledger_records_the_wording_language(ada, world):
    from sqlalchemy import select

    from portal import purposes
    from portal.extensions import db
    from portal.models import ConsentEvent

    path = "/family/schools/oak-primary/marketing"
    m = world.oak.purposes["marketing-emails"]
    purposes.translate(world.oak.id, m.id, version=1, language="cy", staff=world.oak.staff,
                       title="E-byst codi arian",
                       description="E-byst am ffeiriau'r ysgol.")  # fmt: skip
    db.session.commit()
    ada.set_cookie("lang", "cy")
    page = ada.get(path)
    assert (
        f'<h2 class="govuk-heading-m" id="marketing-{m.id}-title" lang="cy" dir="ltr">'
        "E-byst codi arian</h2>"
    ) in page.text
    assert '<p class="govuk-body" lang="cy" dir="ltr">E-byst am ffeiriau&#39;r ysgol.</p>' in (
        page.text
    )
    assert say("cy", "This part is only in English. Ask the school for help.")[:20] not in page.text
    post_form(ada, path, {"decision": "grant", "purpose": m.id}, page=page)
    # In Polish the school has no wording: the English is shown, and recorded.
    ada.set_cookie("lang", "pl")
    page = ada.get(path)
    assert f'id="marketing-{m.id}-title" lang="en" dir="ltr">Fundraising emails</h2>' in page.text
    assert say("pl", "This part is only in English. Ask the school for help.")[:20] in page.text
    post_form(ada, path, {"decision": "withdraw", "purpose": m.id}, page=page)
    db.session.remove()
    stored = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq)).all()
    assert [(e.decision, e.language) for e in stored] == [("grant", "cy"), ("withdraw", "en")]
