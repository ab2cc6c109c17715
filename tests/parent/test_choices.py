"""The family's choices over HTTP (portal/parent/choices.py): "Your children", a child's page
and answering its choices, plainly and as htmx sends them, each decision through the ledger,
and nothing another family's.

The world (tests/support/world.py): at Oak, Ada and Ben have parental responsibility for
A, Gran is A's contact without it; Ada and Dan for B; Eve for C. At Elm, Ada and Fay for X.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal import notices, purposes
from portal.extensions import db
from portal.models import ConsentEvent
from tests.support.factories import PURPOSES_OF_EVERY_KIND
from tests.support.parent import card, child_path, decide_path, events
from tests.support.web import HTMX, PLAIN, post_form, say, text_of
from tests.support.world import decide as record
from tests.support.world import snapshot

# --- your children -------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [PLAIN, {**HTMX, "HX-Boosted": "true"}], ids=["plain", "htmx"])
def test_your_children_grouped_by_school_with_a_summary(ada, world, headers):
    page = ada.get("/family", headers=headers)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = text_of(page.text)
    # Schools by name; each child with what needs an answer and a call to action.
    assert text.index("Elm Academy") < text.index("Oak Primary School")
    assert "PupilX Test" in text and "PupilA Test" in text and "PupilB Test" in text
    assert "PupilC" not in text  # Eve's child
    assert text.count("3 choices need your answer") == 3
    assert f'href="{child_path(world, "A")}"' in page.text
    assert "Answer for PupilA" in text


def test_the_summary_follows_the_answers(ada, world):
    page = ada.get(child_path(world, "B"))
    for key in ("photos-website", "local-paper", "trip-videos"):
        response = post_form(
            ada,
            decide_path(world, "B", key),
            {"decision": "grant", "purpose_version": 1},
            page=page,
        )
        assert response.status_code == 302
    text = text_of(ada.get("/family").text)
    assert "All answered" in text
    assert "See or change PupilB's choices" in text


def test_a_contact_without_parental_responsibility_sees_no_child(signed_in, world):
    gran = signed_in("gran")
    text = text_of(gran.get("/family").text)
    assert "PupilA" not in text
    assert "could not find any children for whom you have parental responsibility" in text
    assert gran.get(child_path(world, "A")).status_code == 404


def test_the_family_page_says_where_another_persons_answer_decides(ada, world):
    """A child whose choices Ada has all answered is not "All answered" in green when another
    person with parental responsibility has said no (or objected): the page says what will
    not happen, and why, without naming them."""
    p, a = world.oak.purposes, world.oak.pupils["A"]
    for key in ("photos-website", "local-paper", "trip-videos"):
        record(world.ada, p[key], "grant", pupil=a)
    home = ada.get("/family").text
    child_a = home[home.index("PupilA Test") : home.index("PupilB Test")]
    assert "govuk-tag--green" in child_a and "another person" not in child_a

    record(world.ben, p["photos-website"], "withdraw", pupil=a)
    record(world.ben, p["class-photos"], "object", pupil=a)
    home = ada.get("/family").text
    child_a = home[home.index("PupilA Test") : home.index("PupilB Test")]
    text = text_of(child_a)
    assert "govuk-tag--green" not in child_a and "All answered" in text
    assert (
        "Photos on the school website: the school will not do this for PupilA, because another "
        "person with parental responsibility said no." in text
    )
    assert (
        "Class photos on display in school: the school has stopped this for PupilA, because "
        "another person with parental responsibility objected." in text
    )
    assert "PupilB" not in text
    for secret in ("ben@example.org", "ben Test", ">ben<"):
        assert secret not in home
    # The child page where the answer is wanted.
    assert "See or change PupilA's choices" in text


def test_a_later_yes_from_another_person_is_told_where_the_latest_answer_counts(ada, world):
    """For a choice where the school follows the most recent answer, Ada's no overtaken by
    another person's later yes: the family page says the school may now do it."""
    p, a = world.oak.purposes, world.oak.pupils["A"]
    record(world.ada, p["local-paper"], "withdraw", pupil=a)
    record(world.ben, p["local-paper"], "grant", pupil=a)
    text = text_of(ada.get("/family").text)
    assert (
        "Photos in the local paper: the school may do this for PupilA, because another person "
        "with parental responsibility said yes after your no." in text
    )


def test_a_class_named_class_is_not_called_class_twice(ada, world):
    """A class the school calls "Class 5" is "Class 5", not "Class Class 5"; "3 Oak" is
    still "Class 3 Oak"."""
    from portal.models import Pupil

    db.session.get(Pupil, world.oak.pupils["A"].id).class_name = "Class 5"  # type: ignore[union-attr]
    db.session.commit()
    text = text_of(ada.get("/family").text)
    assert "Class 5" in text and "Class Class" not in text
    assert "Class 3 Oak" in text  # PupilB
    caption = text_of(ada.get(child_path(world, "A")).text)
    assert "Oak Primary School, Class 5" in caption and "class Class" not in caption
    assert "Oak Primary School, class 3 Oak" in text_of(ada.get(child_path(world, "B")).text)


# --- a child's page ------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [PLAIN, {**HTMX, "HX-Boosted": "true"}], ids=["plain", "htmx"])
def test_a_childs_page_has_three_groups(ada, world, headers):
    page = ada.get(child_path(world, "A"), headers=headers)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = text_of(page.text)
    assert "Your choices" in text
    assert "Things the school does unless you object" in text
    assert "What the school does without asking you" in text
    p = world.oak.purposes
    for key in ("photos-website", "local-paper", "trip-videos", "class-photos"):
        assert f'id="purpose-{p[key].id}"' in page.text
    # Information only: no form, collapsed in a <details>, with its lawful basis.
    assert f'id="purpose-{p["school-census"].id}"' not in page.text
    details = page.text[page.text.index('<details class="govuk-details">') :]
    assert "The school census" in details and "The law requires the school" in text_of(details)
    # Marketing is the guardian's own, on its own page.
    assert "Fundraising emails" not in text
    # Never pre-selected: two buttons, none pressed, no checked radio, a plain statement.
    consent = card(page, p["photos-website"].id)
    assert ">Yes<" in consent and ">No<" in consent
    assert "checked" not in consent and 'aria-pressed="true"' not in consent
    assert "Not answered" in consent
    objection = card(page, p["class-photos"].id)
    assert "I object" in objection and "public task" in objection
    # The brother or sister at the same school, asked once for the page (not on a card);
    # not the child at another school.
    assert "PupilB" not in consent and "PupilX" not in page.text
    assert text.count("PupilB too") == 1


def test_a_new_notice_since_the_last_answer_shows_a_banner(ada, world):
    page = ada.get(child_path(world, "A"))
    assert "New privacy notice" not in page.text
    answer = {"decision": "grant", "purpose_version": 1, "notice_version": 1}
    post_form(ada, decide_path(world, "A", "photos-website"), answer, page=page)
    notices.publish(world.oak.school, title="Privacy notice", source="Version two.",
                    source_format="markdown")  # fmt: skip
    db.session.commit()
    for path in ("/family", child_path(world, "A")):
        page = ada.get(path)
        assert "New privacy notice" in page.text
        assert 'href="/schools/oak-primary/privacy-notice"' in page.text
    # Elm's notice did not change: one banner on the children page, for Oak.
    assert ada.get("/family").text.count("New privacy notice") == 1


def test_another_guardians_no_is_explained_without_saying_who(ada, world):
    p = world.oak.purposes["photos-website"]
    record(world.ben, p, "withdraw", pupil=world.oak.pupils["A"])
    page = ada.get(child_path(world, "A"))
    post_form(ada, decide_path(world, "A", "photos-website"),
              {"decision": "grant", "purpose_version": 1}, page=page)  # fmt: skip
    page = ada.get(child_path(world, "A"))
    text = text_of(card(page, p.id))
    assert "Your answer: Yes —" in text
    assert (
        "Another person with parental responsibility has said no, so the school will not do "
        "this for PupilA." in text
    )
    # The summary at the top says it too.
    summary = text_of(page.text[page.text.index('id="child-summary"') :])
    assert "Photos on the school website Your answer: Yes Another person with parental" in (summary)
    for secret in ("ben@example.org", "ben Test", ">ben<"):
        assert secret not in page.text


def test_a_reworded_purpose_asks_for_a_fresh_answer_and_shows_what_changed(ada, world):
    page = ada.get(child_path(world, "A"))
    post_form(ada, decide_path(world, "A", "photos-website"),
              {"decision": "grant", "purpose_version": 1}, page=page)  # fmt: skip
    purposes.load(
        world.oak.school,
        PURPOSES_OF_EVERY_KIND.replace(
            "Photos of school life on the school website.",
            "Photos and videos of school life on the school website and its Instagram page.",
        ),
    )
    db.session.commit()
    assert "1 needs renewing" in text_of(ada.get("/family").text)
    page = ada.get(child_path(world, "A"))
    html = card(page, world.oak.purposes["photos-website"].id)
    text = text_of(html)
    # One reason, stated once.
    assert "Needs a fresh answer You said yes on" in text
    assert "but the school has since changed what it asks." in text
    assert text.count("changed what it asks") == 1 and "ran out" not in text
    assert 'aria-pressed="true"' not in html  # the old yes no longer counts
    # What changed: the words taken out and put in, each marked in words, not whole
    # paragraphs.
    assert "What you said yes to" not in text
    assert (
        'Photos <ins class="portal-diff__added"><span class="portal-diff__cue">added:</span> '
        '<span class="portal-diff__words">and videos</span></ins> of school life on the school'
    ) in html
    assert (
        '<del class="portal-diff__removed"><span class="portal-diff__cue">removed:</span> '
        '<span class="portal-diff__words">website.</span></del>'
    ) in html
    assert "added: website and its Instagram page." in text


def test_a_yes_that_ran_out_says_why_once_with_the_day_it_ran_out(ada, world):
    """A yes past its renewal period (the local paper asks again every 30 days): one reason,
    with the day it ran out, and nothing about a changed wording."""
    from datetime import timedelta

    from portal.types import utcnow

    given = utcnow() - timedelta(days=40)
    record(world.ada, world.oak.purposes["local-paper"], "grant",
           pupil=world.oak.pupils["A"], now=given)  # fmt: skip
    page = ada.get(child_path(world, "A"))
    html = card(page, world.oak.purposes["local-paper"].id)
    text = text_of(html)
    assert "Needs a fresh answer" in text
    assert "The school asks again every 30 days, so that answer ran out on" in text
    assert text.count("ran out") == 1 and "changed what it asks" not in text
    assert "What changed" not in text and 'aria-pressed="true"' not in html


# --- deciding ------------------------------------------------------------------------------


def test_saying_yes_without_javascript_redirects_back_with_a_confirmation(ada, world):
    p = world.oak.purposes["photos-website"]
    page = ada.get(child_path(world, "A"))
    response = post_form(ada, decide_path(world, "A", "photos-website"),
                         {"decision": "grant", "purpose_version": 1, "notice_version": 1},
                         page=page)  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == f"{child_path(world, 'A')}#purpose-{p.id}"
    (event,) = events(world)
    assert (event.actor_type, event.actor_id, event.guardian_id) == ("guardian", world.ada.id,
                                                                     world.ada.id)  # fmt: skip
    assert (event.pupil_id, event.purpose_id, event.decision, event.channel) == (
        world.oak.pupils["A"].id, p.id, "grant", "web")  # fmt: skip
    assert (event.purpose_version, event.notice_version) == (1, 1)
    page = ada.get(child_path(world, "A"))
    text = text_of(card(page, p.id))
    assert "Saved. You said yes for PupilA." in text
    assert "Your answer: Yes —" in text
    # The confirmation is shown once.
    assert "Saved." not in ada.get(child_path(world, "A")).text


def test_saying_no_with_htmx_answers_with_the_card_and_the_live_region(ada, world):
    p = world.oak.purposes["photos-website"]
    page = ada.get(child_path(world, "A"))
    response = post_form(ada, decide_path(world, "A", "photos-website"),
                         {"decision": "withdraw", "purpose_version": 1}, page=page,
                         headers=HTMX)  # fmt: skip
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["HX-Trigger"] == "consent-saved"
    body = response.text
    assert body.lstrip().startswith(f'<section class="portal-card" id="purpose-{p.id}"')
    assert "<html" not in body and "<h1" not in body
    assert "Your answer: No —" in text_of(body)
    # The summary at the top of the page comes too, swapped out of band.
    assert '<div class="portal-summary" id="child-summary" hx-swap-oob="true">' in body
    assert "Your answer: No" in text_of(body[body.index('id="child-summary"') :])
    assert re.search(
        r'<div id="portal-live" hx-swap-oob="innerHTML">'
        r"Saved. You said no for <bdi>PupilA</bdi>.</div>",
        body,
    )
    assert len(response.data) < 5 * 1024
    (event,) = events(world)
    assert event.decision == "withdraw"


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_one_answer_for_two_children_makes_one_event_each(ada, world, headers):
    page = ada.get(child_path(world, "A"))
    b = world.oak.pupils["B"].id
    response = post_form(ada, decide_path(world, "A", "trip-videos"),
                         {"decision": "grant", "purpose_version": 1, "also": [b]}, page=page,
                         headers=headers)  # fmt: skip
    assert response.status_code == (200 if headers else 302)
    rows = events(world)
    assert sorted(r.pupil_id for r in rows) == sorted([world.oak.pupils["A"].id, b])
    assert {r.decision for r in rows} == {"grant"}
    assert rows[0].occurred_at == rows[1].occurred_at  # one transaction
    shown = response.text if headers else ada.get(child_path(world, "A")).text
    assert "Saved. You said yes for <bdi>PupilA</bdi> and <bdi>PupilB</bdi>." in shown


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_a_double_submit_records_one_event(ada, world, headers):
    page = ada.get(child_path(world, "A"))
    for _ in range(2):
        response = post_form(ada, decide_path(world, "A", "photos-website"),
                             {"decision": "grant", "purpose_version": 1}, page=page,
                             headers=headers)  # fmt: skip
        assert response.status_code == (200 if headers else 302)
    assert len(events(world)) == 1


def test_a_stale_tab_the_newest_answer_wins_and_the_page_shows_it(ada, world):
    p = world.oak.purposes["photos-website"]
    old_tab = ada.get(child_path(world, "A"))
    other_tab = ada.get(child_path(world, "A"))
    post_form(ada, decide_path(world, "A", "photos-website"),
              {"decision": "grant", "purpose_version": 1}, page=other_tab)  # fmt: skip
    response = post_form(ada, decide_path(world, "A", "photos-website"),
                         {"decision": "withdraw", "purpose_version": 1}, page=old_tab,
                         headers=HTMX)  # fmt: skip
    assert "Your answer: No" in text_of(response.text)
    assert [e.decision for e in events(world)] == ["grant", "withdraw"]
    assert "Your answer: No" in text_of(card(ada.get(child_path(world, "A")), p.id))


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_a_form_for_an_older_wording_records_nothing(ada, world, headers):
    page = ada.get(child_path(world, "A"))
    purposes.load(
        world.oak.school,
        PURPOSES_OF_EVERY_KIND.replace("on the school website.", "on the website and Instagram."),
    )
    db.session.commit()
    before = snapshot(world.oak.id)
    response = post_form(ada, decide_path(world, "A", "photos-website"),
                         {"decision": "grant", "purpose_version": 1}, page=page,
                         headers=headers)  # fmt: skip
    assert response.status_code == 409
    assert snapshot(world.oak.id) == before
    text = text_of(response.text)
    assert "The school changed the wording of this choice while the page was open" in text
    assert "on the website and Instagram" in text  # the new wording, to read before answering
    assert 'name="purpose_version" value="2"' in response.text


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_an_answer_that_does_not_fit_is_an_error_and_records_nothing(ada, world, headers):
    p = world.oak.purposes["photos-website"]
    page = ada.get(child_path(world, "A"))
    before = snapshot(world.oak.id)
    for data in ({"decision": "object", "purpose_version": 1},
                 {"decision": "maybe", "purpose_version": 1},
                 {"purpose_version": 1}):  # fmt: skip
        response = post_form(ada, decide_path(world, "A", "photos-website"), data, page=page,
                             headers=headers)  # fmt: skip
        assert response.status_code == 400
        assert "There is a problem" in response.text
        assert f'href="#answer-{p.id}"' in response.text  # the summary links to the answer
        assert f'id="answer-{p.id}-error"' in response.text  # and the error is beside it
        if not headers:
            assert "<title>Error: " in response.text
    assert snapshot(world.oak.id) == before


@pytest.mark.parametrize("field", ["purpose_version", "notice_version"])
def test_a_version_past_the_column_range_is_an_error_not_a_crash(ada, world, field):
    page = ada.get(child_path(world, "A"))
    before = snapshot(world.oak.id)
    data = {"decision": "grant", "purpose_version": 1, "notice_version": 1, field: 2**31}
    response = post_form(ada, decide_path(world, "A", "photos-website"), data, page=page)
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert snapshot(world.oak.id) == before


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_withdrawing_an_objection_to_a_consent_choice_is_refused_not_confirmed(ada, world, headers):
    """A consent choice has no objection to withdraw: the answer is refused (400), never a
    confirmation of something that was not recorded."""
    page = ada.get(child_path(world, "A"))
    before = snapshot(world.oak.id)
    response = post_form(ada, decide_path(world, "A", "photos-website"),
                         {"decision": "lift_objection", "purpose_version": 1}, page=page,
                         headers=headers)  # fmt: skip
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "You withdrew your objection" not in response.text
    assert snapshot(world.oak.id) == before


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_objecting_with_a_reason_and_withdrawing_the_objection(ada, world, headers):
    p = world.oak.purposes["class-photos"]
    page = ada.get(child_path(world, "A"))
    too_long = post_form(ada, decide_path(world, "A", "class-photos"),
                         {"decision": "object", "purpose_version": 1, "note": "x" * 1001},
                         page=page, headers=headers)  # fmt: skip
    assert too_long.status_code == 400
    assert f'href="#note-{p.id}"' in too_long.text
    assert "Your reason must be 1000 characters or fewer" in text_of(too_long.text)
    assert f'aria-describedby="note-{p.id}-hint note-{p.id}-error"' in too_long.text
    assert f">{'x' * 1001}</textarea>" in too_long.text  # what they typed is kept
    assert events(world) == []

    response = post_form(ada, decide_path(world, "A", "class-photos"),
                         {"decision": "object", "purpose_version": 1,
                          "note": "  We would rather not.  "}, page=page,
                         headers=headers)  # fmt: skip
    assert response.status_code == (200 if headers else 302)
    (event,) = events(world)
    assert (event.decision, event.note) == ("object", "We would rather not.")
    page = ada.get(child_path(world, "A"))
    shown = text_of(card(page, p.id))
    assert "You objected on" in shown and "Withdraw my objection" in shown

    post_form(ada, decide_path(world, "A", "class-photos"),
              {"decision": "lift_objection", "purpose_version": 1}, page=page,
              headers=headers)  # fmt: skip
    assert [e.decision for e in events(world)] == ["object", "lift_objection"]
    assert "I object" in text_of(card(ada.get(child_path(world, "A")), p.id))


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_yes_and_no_are_one_component_and_the_answer_that_stands_is_pressed(ada, world, headers):
    """Yes and No: the same button, size and colour (GOV.UK's secondary), side by side;
    after an answer the card says "Your answer: … — <date>" and that button is pressed
    (aria-pressed), with or without JavaScript."""
    p = world.oak.purposes["photos-website"]
    page = ada.get(child_path(world, "A"))
    same = 'class="govuk-button govuk-button--secondary portal-yes-no__button"'

    def buttons(html: str) -> tuple[str, str]:
        found = re.findall(r'<button type="submit" value="(grant|withdraw)"[^>]*>', html)
        assert found == ["grant", "withdraw"]
        yes, no = re.findall(r'<button type="submit" value="(?:grant|withdraw)"[^>]*>', html)
        return yes, no

    yes, no = buttons(card(page, p.id))
    assert same in yes and same in no
    assert 'aria-pressed="false"' in yes and 'aria-pressed="false"' in no
    for decision, pressed in (("grant", 0), ("withdraw", 1)):
        response = post_form(ada, decide_path(world, "A", "photos-website"),
                             {"decision": decision, "purpose_version": 1}, page=page,
                             headers=headers)  # fmt: skip
        html = response.text if headers else card(ada.get(child_path(world, "A")), p.id)
        if headers:
            html = html[: html.index("</section>")]
        shown = buttons(html)
        assert 'aria-pressed="true"' in shown[pressed]
        assert 'aria-pressed="false"' in shown[1 - pressed]
        answer = "Yes" if decision == "grant" else "No"
        assert re.search(rf"Your answer: {answer} — \d{{1,2}} \w+ \d{{4}}", text_of(html))
        assert "You can change it at any time." in text_of(html)


def test_an_answered_choice_folds_what_it_is_and_keeps_the_answer_in_view(ada, world):
    """On a page opened after answering, the description and facts of a choice with a
    standing answer fold into "What this choice is"; an unanswered one shows them."""
    p = world.oak.purposes
    record(world.ada, p["photos-website"], "grant", pupil=world.oak.pupils["A"])
    page = ada.get(child_path(world, "A"))
    answered = card(page, p["photos-website"].id)
    assert '<details class="govuk-details portal-about">' in answered
    assert "Photos of school life on the school website." in answered  # inside, a tap away
    assert "portal-about" not in card(page, p["local-paper"].id)


def test_the_summary_says_what_needs_an_answer_and_where_each_choice_stands(ada, world):
    """At the top of the child's page: how many choices need Ada's answer, then each choice
    with where it stands, each a link to its card."""
    p, a = world.oak.purposes, world.oak.pupils["A"]
    record(world.ada, p["photos-website"], "grant", pupil=a)
    record(world.ada, p["trip-videos"], "withdraw", pupil=a)
    page = ada.get(child_path(world, "A"))
    html = page.text
    summary = html[
        html.index('id="child-summary"') : html.index("</div>", html.index('id="child-summary"'))
    ]
    assert html.index('id="child-summary"') < html.index("Your choices")
    assert "<h2" in summary and "1 choice needs your answer" in summary
    text = text_of(summary)
    assert (
        "Photos on the school website Your answer: Yes "
        "Photos in the local paper Not answered "
        "Videos of school trips Your answer: No "
        "Class photos on display in school No objection from you"
    ) in text
    for key in ("photos-website", "local-paper", "trip-videos", "class-photos"):
        assert f'href="#purpose-{p[key].id}"' in summary
    record(world.ada, p["local-paper"], "grant", pupil=a)
    assert "Nothing needs your answer" in ada.get(child_path(world, "A")).text


@pytest.mark.parametrize("headers", [PLAIN, HTMX], ids=["plain", "htmx"])
def test_brothers_and_sisters_are_asked_once_for_the_page(ada, world, headers):
    """ "Give the same answers for" is one question at the top of the page: ticked, the page
    comes back with every card's form carrying the child and saying so; an answer then goes
    to both, and the page after it keeps the choice. Another family's child or a child at
    another school in the address is ignored."""
    p = world.oak.purposes["trip-videos"]
    a, b = world.oak.pupils["A"].id, world.oak.pupils["B"].id
    page = ada.get(child_path(world, "A"))
    assert page.text.count('name="also"') == 1  # the page's question, no card's
    c, x = world.oak.pupils["C"].id, world.elm.pupils["X"].id
    page = ada.get(f"{child_path(world, 'A')}?also={b}&also={c}&also={x}&also=nope")
    assert page.status_code == 200
    forms = re.findall(r'<input type="hidden" name="also" value="(\d+)">', page.text)
    assert forms == [str(b)] * 4  # every card's form: B, not C nor X
    assert f'id="also-{b}" name="also" type="checkbox" value="{b}" checked' in page.text
    assert "Your answer counts for PupilA and PupilB." in text_of(card(page, p.id))

    response = post_form(ada, decide_path(world, "A", "trip-videos"),
                         {"decision": "grant", "purpose_version": 1, "also": [b]}, page=page,
                         headers=headers)  # fmt: skip
    assert sorted(e.pupil_id for e in events(world)) == sorted([a, b])
    if headers:
        assert f'<input type="hidden" name="also" value="{b}">' in response.text
        assert "Saved. You said yes for <bdi>PupilA</bdi> and <bdi>PupilB</bdi>." in response.text
    else:
        assert response.headers["Location"] == (f"{child_path(world, 'A')}?also={b}#purpose-{p.id}")
        again = ada.get(response.headers["Location"])
        assert f'<input type="hidden" name="also" value="{b}">' in card(again, p.id)


# --- nothing of another family -------------------------------------------------------------


def test_another_familys_child_cannot_be_read_or_changed(ada, world):
    page = ada.get(child_path(world, "A"))
    before = snapshot(world.oak.id, world.elm.id)
    c = world.oak.pupils["C"].id
    x_purpose = world.elm.purposes["photos-website"].id
    attempts = [
        (decide_path(world, "C", "photos-website"), {}),  # Eve's child
        (decide_path(world, "A", "photos-website"), {"also": [c]}),  # smuggled in "also"
        (f"{child_path(world, 'A')}/choices/{x_purpose}", {}),  # Elm's purpose, Oak's child
        (f"{child_path(world, 'A')}/choices/{world.oak.purposes['school-census'].id}", {}),
        (f"{child_path(world, 'A')}/choices/{world.oak.purposes['marketing-emails'].id}", {}),
        ("/family/children/999999/choices/1", {}),
    ]
    for headers in (PLAIN, HTMX):
        assert ada.get(child_path(world, "C"), headers=headers).status_code == 404
        for path, extra in attempts:
            response = post_form(ada, path, {"decision": "grant", "purpose_version": 1, **extra},
                                 page=page, headers=headers)  # fmt: skip
            assert response.status_code == 404, path
            assert "PupilC" not in response.text
            if headers:
                # The whole "not found" page replaces the page, not the card.
                assert response.headers["HX-Retarget"] == "body"
    # The child at Elm together with the child at Oak: one school at a time.
    response = post_form(ada, decide_path(world, "A", "photos-website"),
                         {"decision": "grant", "purpose_version": 1,
                          "also": [world.elm.pupils["X"].id]}, page=page)  # fmt: skip
    assert response.status_code == 404
    assert snapshot(world.oak.id, world.elm.id) == before


def test_a_contact_without_parental_responsibility_cannot_decide(signed_in, world):
    gran = signed_in("gran")
    page = gran.get("/family")
    before = snapshot(world.oak.id)
    response = post_form(gran, decide_path(world, "A", "photos-website"),
                         {"decision": "grant", "purpose_version": 1}, page=page)  # fmt: skip
    assert response.status_code == 404
    assert snapshot(world.oak.id) == before


# --- the ledger and the notice --------------------------------------------------------------


def test_the_ledger_holds_each_web_decision_once(ada, world):
    page = ada.get(child_path(world, "A"))
    post_form(ada, decide_path(world, "A", "photos-website"),
              {"decision": "grant", "purpose_version": 1}, page=page)  # fmt: skip
    db.session.remove()
    stored = db.session.scalars(select(ConsentEvent)).all()
    assert [(e.channel, e.actor_type) for e in stored] == [("web", "guardian")]


def test_the_new_notice_banner_and_the_notice_say_what_changed(ada, world):
    page = ada.get(child_path(world, "A"))
    answer = {"decision": "grant", "purpose_version": 1, "notice_version": 1}
    post_form(ada, decide_path(world, "A", "photos-website"), answer, page=page)
    summary = "We now keep photos for one year."
    notices.publish(world.oak.school, title="Privacy notice", source="Version two.",
                    source_format="markdown", summary=summary)  # fmt: skip
    db.session.commit()
    banner = ada.get("/family").text
    assert "What changed: We now keep photos for one year." in text_of(banner)
    notice = ada.get("/schools/oak-primary/privacy-notice").text
    assert "What changed in this version: We now keep photos for one year." in text_of(notice)


# --- the school's wording in the page's language ----------------------------------------------


def translate(world, key: str, language: str = "pl", **words: str):
    p = purposes.get(world.oak.id, world.oak.purposes[key].id)  # as it is now
    translation = purposes.translate(
        world.oak.id, p.id, version=p.version, language=language, staff=world.oak.staff,
        title=words.get("title", f"{p.title} ({language})"),
        description=words.get("description", f"{p.description} ({language})"),
    )  # fmt: skip
    db.session.commit()
    return translation


def test_a_polish_page_shows_the_schools_polish_wording_and_english_where_it_has_none(ada, world):
    translate(world, "photos-website", title="Zdjęcia na stronie szkoły",
              description="Zdjęcia z życia szkoły na stronie internetowej szkoły.")  # fmt: skip
    ada.set_cookie("lang", "pl")
    page = ada.get(child_path(world, "A"))
    assert page.status_code == 200
    website = card(page, world.oak.purposes["photos-website"].id)
    assert (
        f'<h3 class="govuk-heading-m" id="purpose-{world.oak.purposes["photos-website"].id}-title"'
        ' lang="pl" dir="ltr">Zdjęcia na stronie szkoły</h3>'
    ) in website
    assert (
        '<p class="govuk-body" lang="pl" dir="ltr">Zdjęcia z życia szkoły na stronie '
        "internetowej szkoły.</p>"
    ) in website
    assert "only in English" not in website and "Photos of school life" not in website
    hidden = say(
        "pl", "to %(purpose)s", purpose='<bdi lang="pl" dir="ltr">zdjęcia na stronie szkoły</bdi>'
    )
    assert f"{hidden}</span>" in website  # the buttons' hidden words
    # A purpose the school has not translated: the English, marked, with the line.
    paper = card(page, world.oak.purposes["local-paper"].id)
    assert ' lang="en" dir="ltr">Photos in the local paper</h3>' in paper
    line = say(
        "pl",
        "This part is only in English. Ask the school for help: %(contact)s",
        contact='<a class="govuk-link" href="mailto:office@oak.example">'
        "<bdi>office@oak.example</bdi></a>",
    )
    assert f'<p class="govuk-body portal-only-english">{line}</p>' in paper
    assert (
        '<p class="govuk-body" lang="en" dir="ltr">Photos and first names in the local '
        "newspaper.</p>"
    ) in paper
    # The things the school does without asking: the same.
    assert '<h3 class="govuk-heading-s" lang="en" dir="ltr">The school census</h3>' in page.text


def test_an_english_page_shows_the_english_wording_unmarked(ada, world):
    translate(world, "photos-website")
    page = ada.get(child_path(world, "A"))
    website = card(page, world.oak.purposes["photos-website"].id)
    assert '-title">Photos on the school website</h3>' in website
    assert '<p class="govuk-body">Photos of school life on the school website.</p>' in website
    assert "lang=" not in website and "only in English" not in page.text


def test_what_changed_is_shown_in_the_page_language_where_the_school_translated_it(ada, world):
    translate(world, "photos-website", description="Zdjęcia na stronie.")
    record(world.ada, world.oak.purposes["photos-website"], "grant", pupil=world.oak.pupils["A"])
    purposes.load(
        world.oak.school,
        PURPOSES_OF_EVERY_KIND.replace(
            "Photos of school life on the school website.", "Photos and videos on the website."
        ),
    )
    db.session.commit()  # fmt: skip
    ada.set_cookie("lang", "pl")
    page = ada.get(child_path(world, "A"))
    website = card(page, world.oak.purposes["photos-website"].id)
    # Version 2 has no Polish yet: what it says now is English; what was said yes to, Polish.
    assert '<span lang="pl" dir="ltr">Zdjęcia na stronie.</span>' in website
    assert '<span lang="en" dir="ltr">Photos and videos on the website.</span>' in website
    assert say("pl", "This part is only in English. Ask the school for help.")[:20] in website


def test_the_ledger_records_the_language_of_the_wording_the_parent_saw(ada, world, runner):
    """A page in Polish at a school with a Polish wording records "pl"; the same page for a
    purpose without one records "en", as does an English page; the chains still verify."""
    from portal.ledger import event_canonical

    translate(world, "photos-website")
    ada.set_cookie("lang", "pl")
    page = ada.get(child_path(world, "A"))
    for key in ("photos-website", "local-paper"):
        response = post_form(ada, decide_path(world, "A", key),
                             {"decision": "grant", "purpose_version": 1}, page=page)  # fmt: skip
        assert response.status_code == 302
    ada.set_cookie("lang", "en")
    post_form(ada, decide_path(world, "B", "photos-website"),
              {"decision": "grant", "purpose_version": 1}, page=page)  # fmt: skip
    db.session.remove()
    stored = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq)).all()
    assert [(e.purpose_id, e.language) for e in stored] == [
        (world.oak.purposes["photos-website"].id, "pl"),
        (world.oak.purposes["local-paper"].id, "en"),
        (world.oak.purposes["photos-website"].id, "en"),
    ]
    assert '"language":"pl"' in event_canonical(stored[0])
    assert '"language":"en"' in event_canonical(stored[1])
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "oak-primary: ok, 3 events" in result.stdout
