"""Paper at class speed over HTTP (docs/paper.md): the class grid that records a pile of
returned forms in one submission, the family's reference, the pre-filled forms to print and
the list of families waiting for an answer.

The world (tests/support/world.py): at Oak, class 3 Oak, Ada and Ben have parental
responsibility for A and Gran is A's contact without it; Ada and Dan for B; Eve for C. At
Elm, Ada and Fay for X. Staff: office@oak.example (staff, "Sam Taylor"), admin@oak.example,
marketing@oak.example, admin@elm.example. The thirty-pupil class is its own school, Ash.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import event, select, update

from portal import paper, purposes
from portal.extensions import db
from portal.models import Guardian, Purpose, SchoolContact, StaffAuditEntry, StaffUser, UserSession
from portal.paper import references
from tests.support.client import CheckedClient, csrf_token
from tests.support.factories import (
    make_families,
    make_notice,
    make_purpose_set,
    make_school,
    make_staff,
)
from tests.support.web import post_form, sign_in_as
from tests.support.web import text_of as tags_off
from tests.support.world import decide, event_rows, snapshot

GRID = "/staff/paper/grid"

ASH_PURPOSES = """
[[purposes]]
key = "photos"
title = "Photos on the website"
description = "Photos of school life on the school website."
choice = "consent"
lawful_basis = "consent"
publishable = true

[[purposes]]
key = "press"
title = "Photos in the press"
description = "Photos and first names in the local paper."
choice = "consent"
lawful_basis = "consent"

[[purposes]]
key = "display"
title = "Class photos on display"
description = "Class photos on the boards inside the school."
choice = "objection"
lawful_basis = "public_task"
"""


def text_of(html: str) -> str:
    """A page's words as a person reads them (its tags gone, its entities read)."""
    return unescape(tags_off(html))


def grid_form(page: Any) -> dict[str, str]:
    """What the grid's form sends as it stands on the page: every cell's checked radio, the
    hidden fields and the CSRF token."""
    html = page.text
    data = {"csrf_token": csrf_token(page)}
    for name in ("class", "as_of"):
        match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
        assert match, name
        data[name] = match.group(1).replace("&#39;", "'").replace("&amp;", "&")
    checked = r'name="([cp]-[0-9-]+)" type="radio" value="([^"]*)" checked'
    for name, value in re.findall(checked, html):
        data[name] = value
    return data


def cell(pupil: Any, guardian: Any, purpose: Any) -> str:
    return paper.cell_key(pupil.id if pupil is not None else None, guardian.id, purpose.id)


def paper_events(school_id: int) -> list[Any]:
    return [e for e in event_rows(school_id) if e.channel == "paper"]


# --- the grid of a class -------------------------------------------------------------------


def test_a_class_grid_has_a_row_per_child_and_guardian_with_their_own_answers(office, world):
    oak = world.oak
    a, b = oak.pupils["A"], oak.pupils["B"]
    decide(world.ben, oak.purposes["photos-website"], "grant", pupil=a)
    decide(world.ada, oak.purposes["class-photos"], "object", pupil=b)
    decide(world.ada, oak.purposes["marketing-emails"], "object")
    page = office.get(GRID, query_string={"class": "3 Oak"})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = text_of(page.text)
    assert "Returned forms from 3 Oak" in text
    rows = re.findall(r'<tr class="govuk-table__row[^"]*">(.*?)</tr>', page.text, re.S)
    people = [text_of(re.search(r'portal-grid__person">(.*?)</td>', r, re.S).group(1))
              for r in rows[1:]]  # fmt: skip
    # A: Ada, Ben (not Gran: no parental responsibility); B: Ada, Dan; C: Eve. By name.
    assert [p.split(" (")[0] for p in people] == ["ada Test", "ben Test", "ada Test",
                                                  "dan Test", "eve Test"]  # fmt: skip
    assert references.family_reference("oak-primary", a.id, world.ada.id) in people[0]
    assert "gran" not in text and "PupilX" not in text  # no say; another school's
    # Each cell shows that person's own answer: Ben's yes, not Ada's (she has none).
    assert re.search(
        rf'id="{cell(a, world.ben, oak.purposes["photos-website"])}-now">'
        r'<span class="govuk-visually-hidden">Their answer now: </span>Yes, ',
        page.text,
    )
    ada_now = cell(a, world.ada, oak.purposes["photos-website"])
    assert (
        f'id="{ada_now}-now"><span class="govuk-visually-hidden">Their answer now: </span>'
        "No answer yet"
    ) in page.text
    assert "Objects, " in text and "under review" in text
    assert "Objects to all direct marketing" in text  # Ada's marketing cell
    # A choice for the person is asked once per person: on Ada's first row only.
    marketing = oak.purposes["marketing-emails"]
    assert page.text.count(f'name="{cell(None, world.ada, marketing)}"') == 3  # three radios
    assert "A choice for the person: on their row for PupilA Test" in text
    # Information-only purposes are not columns; every cell starts as "No change".
    assert "census" not in text
    assert not re.search(r'value="(grant|withdraw|object|lift_objection)" checked', page.text)
    # No class: the classes' page; a class nobody is in: not found.
    assert office.get(GRID).status_code == 302
    assert office.get(GRID, query_string={"class": "9 Yew"}).status_code == 404


def test_the_classes_page_counts_who_is_waiting_and_links_the_grid_and_the_forms(office, world):
    oak = world.oak
    for key in ("photos-website", "local-paper", "trip-videos"):
        decide(world.eve, oak.purposes[key], "grant", pupil=oak.pupils["C"])
    page = office.get("/staff/paper")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Paper forms and slips" in text
    assert "3 Oak 3 2 Record forms from 3 Oak" in text  # 3 on roll, A and B waiting
    assert 'href="/staff/paper/grid?class=3+Oak"' in page.text
    assert 'href="/staff/paper/forms?who=waiting&amp;class=3+Oak"' in page.text
    assert "X" not in re.sub(r"<[^>]+>", "", page.text.split("<main", 1)[1]).split()


def make_ash(pupils: int = 30) -> tuple[Any, dict[str, Purpose], dict[str, Any]]:
    """Ash Primary: one class of `pupils` children, each with one parent (every third child
    with two), and three choices: two that need consent, one objection."""
    school = make_school(slug="ash-primary", name="Ash Primary School",
                         contact_email="office@ash.example")  # fmt: skip
    make_notice(school)
    purposes = make_purpose_set(school, text=ASH_PURPOSES)
    families = {}
    for n in range(1, pupils + 1):
        contacts = [(f"parent{n}@example.org", True)]
        if n % 3 == 0:
            contacts.append((f"other{n}@example.org", True))
        families[f"P{n:02d}"] = contacts
    children = make_families(school, families=families, year_group="4", class_name="4 Ash")
    make_staff(school, email="office@ash.example", name="Pat Office")
    return school, purposes, children


def test_thirty_pupils_by_three_purposes_in_one_submission_one_event_per_changed_cell(
    app, world, runner
):
    """The pile of thirty returned forms: every cell of a thirty-child class in one POST.
    Exactly one ledger event per changed cell, by the staff user, on paper; none for a cell
    left as it is or set to the answer it already has; and the same grid sent again records
    nothing."""
    school, purposes, children = make_ash(30)
    photos, press, display = purposes["photos"], purposes["press"], purposes["display"]
    guardians = {g.email: g for g in db.session.scalars(select(Guardian))}
    # Answers that stand already: every child's first parent said yes to photos online.
    for n, pupil in enumerate(sorted(children.values(), key=lambda p: p.mis_id), start=1):
        decide(guardians[f"parent{n}@example.org"], photos, "grant", pupil=pupil)
    client: CheckedClient = app.test_client()
    sign_in_as(client, "office@ash.example", home="/staff")
    page = client.get(GRID, query_string={"class": "4 Ash"})
    assert page.status_code == 200
    data = grid_form(page)
    cells = [k for k in data if k.startswith("c-")]
    rows = 30 + 10  # every third child has two parents
    assert len(cells) == rows * 3
    expected = set()
    for n, pupil in enumerate(sorted(children.values(), key=lambda p: p.mis_id), start=1):
        parent = guardians[f"parent{n}@example.org"]
        # Photos: the same yes again (no change) for most; a no from every fifth.
        decision = "withdraw" if n % 5 == 0 else "grant"
        data[cell(pupil, parent, photos)] = decision
        if decision == "withdraw":
            expected.add((parent.id, pupil.id, photos.id, "withdraw"))
        # Press: a yes from every even child's parent; the others left as "No change".
        if n % 2 == 0:
            data[cell(pupil, parent, press)] = "grant"
            expected.add((parent.id, pupil.id, press.id, "grant"))
        # Display: an objection from the second parents; "withdraws objection" from every
        # seventh first parent, who never objected (nothing to lift: no change).
        if n % 3 == 0:
            other = guardians[f"other{n}@example.org"]
            data[cell(pupil, other, display)] = "object"
            expected.add((other.id, pupil.id, display.id, "object"))
        if n % 7 == 0:
            data[cell(pupil, parent, display)] = "lift_objection"
    before = len(event_rows(school.id))
    counted = []
    listen = lambda *args: counted.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    started = time.perf_counter()
    try:
        response = client.post(GRID, data=data)
    finally:
        elapsed = time.perf_counter() - started
        event.remove(db.engine, "before_cursor_execute", listen)
    assert response.status_code == 302, text_of(response.text)
    assert response.headers["Location"] == "/staff/paper/grid?class=4+Ash"
    events = event_rows(school.id)[before:]
    assert {(e.guardian_id, e.pupil_id, e.purpose_id, e.decision) for e in events} == expected
    assert len(events) == len(expected) == 6 + 15 + 10
    assert {(e.channel, e.actor_type) for e in events} == {("paper", "staff")}
    assert len({e.actor_id for e in events}) == 1
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + len(events)))
    print(f"\n30 pupils x 3 purposes ({len(cells)} cells, {len(events)} changed): "
          f"{elapsed * 1000:.0f} ms, {len(counted)} statements")  # fmt: skip

    # The grid says what was recorded, at its top.
    page = client.get(response.headers["Location"])
    text = text_of(page.text)
    assert ("Done Recorded 31 changed answers for 22 children, from paper forms. "
            "89 other answers had no change.") in text  # fmt: skip
    assert page.text.index('role="alert"') < page.text.index("<h1")
    assert 'data-portal-focus="true"' in page.text
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0

    # The same grid sent again (the back button, a second click): nothing recorded.
    again = client.post(GRID, data=data)
    assert again.status_code == 302
    assert len(event_rows(school.id)) == before + len(events)
    page = client.get(again.headers["Location"])
    assert "Nothing recorded: every answer was already the one shown." in text_of(page.text)


def test_nothing_changed_records_nothing_and_says_so(office, world):
    page = office.get(GRID, query_string={"class": "3 Oak"})
    before = snapshot(world.oak.id)
    response = office.post(GRID, data=grid_form(page))
    assert response.status_code == 302
    assert snapshot(world.oak.id) == before
    assert "Nothing recorded" in office.get(response.headers["Location"]).text


def test_the_grid_records_a_choice_for_the_person_once(office, world):
    oak = world.oak
    page = office.get(GRID, query_string={"class": "3 Oak"})
    data = grid_form(page)
    data[cell(None, world.ben, oak.purposes["marketing-emails"])] = "grant"
    data[cell(None, world.eve, oak.purposes["alumni-calls"])] = "object"
    data["note"] = "Forms in the 3 Oak folder"
    assert office.post(GRID, data=data).status_code == 302
    rows = paper_events(oak.id)
    assert [(e.guardian_id, e.pupil_id, e.decision, e.note) for e in rows] == [
        (world.ben.id, None, "grant", "Forms in the 3 Oak folder"),
        (world.eve.id, None, "object", "Forms in the 3 Oak folder"),
    ]


PROBLEMS = {
    "a yes to marketing while objecting to all direct marketing": (
        lambda w: (cell(None, w.ada, w.oak.purposes["marketing-emails"]), "grant"),
        "ada Test objects to all direct marketing, so a yes to Fundraising emails cannot count",
    ),
    "a contact without parental responsibility": (
        lambda w: (cell(w.oak.pupils["A"], w.gran, w.oak.purposes["photos-website"]), "grant"),
        "gran Test does not have parental responsibility for PupilA, so cannot decide",
    ),
    "a guardian of another child": (
        lambda w: (cell(w.oak.pupils["C"], w.ada, w.oak.purposes["photos-website"]), "grant"),
        "ada Test does not have parental responsibility for PupilC",
    ),
    "an objection to a consent choice": (
        lambda w: (cell(w.oak.pupils["A"], w.ben, w.oak.purposes["photos-website"]), "object"),
        "For Photos on the school website, choose yes, no, or no change",
    ),
    "a yes to an objection choice": (
        lambda w: (cell(w.oak.pupils["A"], w.ben, w.oak.purposes["class-photos"]), "grant"),
        "For Class photos on display in school, choose an objection, the withdrawal of one",
    ),
    "an information-only purpose": (
        lambda w: (cell(w.oak.pupils["A"], w.ben, w.oak.purposes["school-census"]), "grant"),
        "The school census offers no choice",
    ),
    "a choice for the person asked for a child": (
        lambda w: (cell(w.oak.pupils["A"], w.ben, w.oak.purposes["marketing-emails"]), "grant"),
        "Fundraising emails is a choice for the person, not for each child",
    ),
}


@pytest.mark.parametrize("case", sorted(PROBLEMS))
def test_the_consent_rules_apply_and_a_problem_writes_nothing(office, world, case):
    make, message = PROBLEMS[case]
    decide(world.ada, world.oak.purposes["marketing-emails"], "object")
    page = office.get(GRID, query_string={"class": "3 Oak"})
    data = grid_form(page)
    key, value = make(world)
    data[key] = value
    # A good change beside it is not recorded either: the grid is sent again once fixed.
    good = cell(world.oak.pupils["C"], world.eve, world.oak.purposes["photos-website"])
    data[good] = "grant"
    before = snapshot(world.oak.id, world.elm.id)
    response = office.post(GRID, data=data)
    assert response.status_code == 400
    assert snapshot(world.oak.id, world.elm.id) == before
    assert "<title>Error: Returned forms from 3 Oak" in response.text
    assert f'<a href="#{key}">' in response.text
    assert text_of(response.text).count(message) >= 1
    if f'id="{key}-now"' in response.text:  # a cell on the grid: the error beside it
        assert f'id="{key}-error"' in response.text
    # What was entered is kept.
    assert f'name="{good}" type="radio" value="grant" checked' in response.text


def test_an_answer_changed_after_the_grid_was_opened_is_not_overwritten(office, world):
    """The form may be older than the answer the parent gave online meanwhile: the office is
    told, nothing is written, and sending the grid again (now showing the new answer)
    records the form's answer."""
    oak = world.oak
    a, photos = oak.pupils["A"], oak.purposes["photos-website"]
    page = office.get(GRID, query_string={"class": "3 Oak"})
    data = grid_form(page)
    key = cell(a, world.ada, photos)
    data[key] = "grant"
    decide(world.ada, photos, "withdraw", pupil=a)  # online, after the grid was opened
    before = snapshot(oak.id)
    response = office.post(GRID, data=data)
    assert response.status_code == 400
    assert snapshot(oak.id) == before
    assert ("ada Test's answer about Photos on the school website for PupilA changed after "
            "this page was opened (it is now: no). If the form is newer than that answer, "
            "send it again") in text_of(response.text)  # fmt: skip
    assert f'name="{key}" type="radio" value="grant" checked' in response.text
    again = grid_form(response)
    assert int(again["as_of"]) > int(data["as_of"])
    assert office.post(GRID, data=again).status_code == 302
    (latest,) = paper_events(oak.id)
    assert (latest.guardian_id, latest.decision) == (world.ada.id, "grant")
    # A cell left as it was is never a problem, whatever changed meanwhile.
    decide(world.ben, photos, "grant", pupil=a)
    assert office.post(GRID, data=grid_form(response)).status_code == 302


@pytest.mark.parametrize(
    "change",
    [
        lambda w: cell(w.elm.pupils["X"], w.ada, w.oak.purposes["photos-website"]),
        lambda w: cell(w.oak.pupils["A"], w.fay, w.oak.purposes["photos-website"]),
        lambda w: cell(w.oak.pupils["A"], w.ada, w.elm.purposes["photos-website"]),
        lambda w: cell(None, w.fay, w.oak.purposes["marketing-emails"]),
        lambda w: "c-999999-1-1",
    ],
    ids=["elm-pupil", "elm-guardian", "elm-purpose", "elm-person", "no-pupil"],
)
def test_another_schools_ids_answer_404_and_write_nothing(office, world, change):
    page = office.get(GRID, query_string={"class": "3 Oak"})
    data = grid_form(page)
    data[change(world)] = "grant"
    before = snapshot(world.oak.id, world.elm.id)
    assert office.post(GRID, data=data).status_code == 404
    assert snapshot(world.oak.id, world.elm.id) == before


def test_the_grid_needs_its_csrf_token_a_class_and_its_point_in_the_ledger(office, world):
    page = office.get(GRID, query_string={"class": "3 Oak"})
    data = grid_form(page)
    data[cell(world.oak.pupils["C"], world.eve, world.oak.purposes["photos-website"])] = "grant"
    before = snapshot(world.oak.id)
    assert office.post(GRID, data={k: v for k, v in data.items() if k != "csrf_token"}
                       ).status_code == 400  # fmt: skip
    assert office.post(GRID, data={**data, "class": ""}).status_code == 400
    assert office.post(GRID, data={**data, "class": "9 Yew"}).status_code == 404
    response = office.post(GRID, data={**data, "as_of": "soon"})
    assert response.status_code == 400 and "Open the page again" in response.text
    assert snapshot(world.oak.id) == before


def test_marketing_users_see_no_grid_no_forms_and_no_list(marketer, world):
    for path in ("/staff/paper", f"{GRID}?class=3+Oak", "/staff/paper/forms?class=3+Oak"):
        assert marketer.get(path).status_code == 403
    token = csrf_token(marketer.get("/sign-in", follow_redirects=True))
    assert marketer.post(GRID, data={"csrf_token": token, "class": "3 Oak"}).status_code == 403
    assert marketer.post("/staff/paper/waiting-list",
                         data={"csrf_token": token}).status_code == 403  # fmt: skip


# --- the family's reference ----------------------------------------------------------------


def test_a_family_reference_is_derived_checked_and_read_back_however_typed():
    ref = references.family_reference("riverside-primary", 42, 17)
    assert re.fullmatch(r"RP-42-17-[ACDEFHJKLMNPRTUVWXY]{2}", ref)
    assert ref == references.family_reference("riverside-primary", 42, 17)  # derived
    check = ref[-2:]
    for typed in (ref, ref.lower(), f"rp 42 17 {check.lower()}", f"42/17/{check}",
                  f" RP-42-17 {check} "):  # fmt: skip
        parsed = references.parse(typed)
        assert (parsed.pupil_id, parsed.guardian_id, parsed.check) == (42, 17, check)
        assert parsed.checks
    assert not references.parse(f"RP-43-17-{check}").checks  # a mistyped number
    for bad in ("RP-1042-7F3A", "Ada Lovelace", "RP-4217-KX", "", "42 17", "RP-42-17-K"):
        with pytest.raises(references.BadFamilyReference):
            references.parse(bad)
    # Two different families (almost always) have different checks.
    checks = {references.check_of(p, g) for p in range(1, 40) for g in range(1, 40)}
    assert len(checks) > 300


def test_the_pupil_search_finds_a_family_by_its_reference(office, world):
    a = world.oak.pupils["A"]
    ref = references.family_reference("oak-primary", a.id, world.ben.id)
    page = office.get("/staff/pupils", query_string={"q": ref.lower().replace("-", " ")})
    text = text_of(page.text)
    assert "1 pupil found" in text and "PupilA Test" in text
    assert f"The form of ben Test ({ref})" in text
    assert f'href="/staff/pupils/{a.id}#slip-{world.ben.id}"' in page.text
    # A mistyped number fails its check; another school's family is not found.
    wrong = ref.replace(f"-{a.id}-", f"-{a.id + 1}-")
    text = text_of(office.get("/staff/pupils", query_string={"q": wrong}).text)
    assert "No pupils found" in text and "check letters" in text
    x = world.elm.pupils["X"]
    elm_ref = references.family_reference("elm-academy", x.id, world.ada.id)
    assert "No pupils found" in text_of(office.get("/staff/pupils",
                                                   query_string={"q": elm_ref}).text)  # fmt: skip


# --- the forms to print --------------------------------------------------------------------


def forms_of(html: str) -> list[str]:
    return [text_of(f) for f in re.findall(r'<section class="portal-paper-form".*?</section>',
                                           html, re.S)]  # fmt: skip


def test_the_forms_of_a_class_one_per_child_and_parent_pre_filled(office, world):
    oak = world.oak
    a = oak.pupils["A"]
    decide(world.ben, oak.purposes["photos-website"], "grant", pupil=a)
    page = office.get("/staff/paper/forms", query_string={"class": "3 Oak"})
    assert page.status_code == 200
    forms = forms_of(page.text)
    assert len(forms) == 5  # A: Ada, Ben; B: Ada, Dan; C: Eve
    first, bens = forms[0], forms[1]
    assert first.startswith("Oak Primary School Your choices for PupilA")
    assert "Child PupilA Test (3 Oak) Parent or carer ada Test" in first
    ref = references.family_reference("oak-primary", a.id, world.ada.id)
    assert f"Reference {ref}" in first
    # Each choice in its current wording, with boxes to tick and this person's answer now.
    assert "Photos on the school website Photos of school life on the school website." in first
    assert "Your answer now: You have not answered yet. Yes, I agree No" in first
    assert "Your answer now: Yes, on " in bens
    assert "Class photos on display in school" in first and "I object I do not object" in first
    assert "census" not in first
    # Choices for the person: on each person's first form only (Ada's for A, not for B).
    assert "Fundraising emails" in first and "Fundraising emails" not in forms[2]
    assert "Signed" in first and "never affects your child's education" in first
    assert text_of(page.text).count("Print the forms") == 1
    assert 'data-portal-print="true" hidden="hidden"' in page.text  # shown by the script
    # Those without an email address: nobody in 3 Oak.
    page = office.get("/staff/paper/forms", query_string={"class": "3 Oak", "who": "paper"})
    assert forms_of(page.text) == [] and "No forms" in text_of(page.text)
    # One child's forms, from the record.
    page = office.get("/staff/paper/forms", query_string={"pupil": world.oak.pupils["C"].id})
    (only,) = forms_of(page.text)
    assert "eve Test" in only
    assert office.get("/staff/paper/forms").status_code == 302
    elm_child = {"pupil": world.elm.pupils["X"].id}
    assert office.get("/staff/paper/forms", query_string=elm_child).status_code == 404


def test_the_forms_of_those_waiting_and_of_the_paper_only(office, world):
    oak = world.oak
    for key in ("photos-website", "local-paper", "trip-videos"):
        decide(world.eve, oak.purposes[key], "grant", pupil=oak.pupils["C"])
    page = office.get("/staff/paper/forms", query_string={"class": "3 Oak", "who": "waiting"})
    forms = forms_of(page.text)
    assert len(forms) == 4 and not any("PupilC" in f for f in forms)
    # A paper-only parent (no email address) of C.
    db.session.execute(update(Guardian).where(Guardian.id == world.eve.id).values(email=None))
    db.session.commit()
    page = office.get("/staff/paper/forms", query_string={"class": "3 Oak", "who": "paper"})
    (only,) = forms_of(page.text)
    assert "PupilC" in only


def test_each_form_is_in_its_parents_language_or_all_in_english(office, world):
    oak = world.oak
    db.session.execute(update(Guardian).where(Guardian.id == world.eve.id).values(language="pl"))
    db.session.commit()
    admin = db.session.scalars(
        select(StaffUser).where(StaffUser.email == "admin@oak.example")
    ).one()
    purposes.translate(oak.id, oak.purposes["photos-website"].id, version=1, language="pl",
                       title="Zdjęcia na stronie szkoły",
                       description="Zdjęcia z życia szkoły na stronie szkoły.",
                       staff=admin)  # fmt: skip
    page = office.get("/staff/paper/forms", query_string={"pupil": oak.pupils["C"].id})
    assert '<section class="portal-paper-form" lang="pl" dir="ltr"' in page.text
    (form,) = forms_of(page.text)
    assert "Zdjęcia na stronie szkoły" in form
    # A choice the school has not translated: the English, marked as English.
    assert (
        '<h3 class="portal-paper-choice__title" lang="en" dir="ltr">Photos in the local paper'
        in page.text
    )
    english = office.get("/staff/paper/forms",
                         query_string={"pupil": oak.pupils["C"].id, "language": "en"})  # fmt: skip
    assert '<section class="portal-paper-form" lang="en" dir="ltr"' in english.text
    assert "Photos on the school website" in forms_of(english.text)[0]
    # The page around the forms stays English, as every staff page.
    assert '<html lang="en-GB"' in page.text


# --- the list of families waiting for an answer --------------------------------------------


def read_csv(response: Any) -> list[list[str]]:
    body = b"".join(response.response).decode("utf-8-sig")
    response.close()
    return list(csv.reader(io.StringIO(body, newline="")))


def test_the_waiting_list_is_a_safe_csv_recorded_in_the_audit_log(office, admin, world):
    oak = world.oak
    for key in ("photos-website", "local-paper", "trip-videos"):
        decide(world.eve, oak.purposes[key], "grant", pupil=oak.pupils["C"])
    # A name that a spreadsheet would run.
    db.session.execute(update(Guardian).where(Guardian.id == world.dan.id).values(email=None))
    db.session.execute(
        update(SchoolContact)
        .where(SchoolContact.guardian_id == world.dan.id, SchoolContact.school_id == oak.id)
        .values(forename='=HYPERLINK("http://x","y")')
    )
    db.session.commit()
    page = office.get("/staff/paper")
    response = post_form(office, "/staff/paper/waiting-list", {"class": "3 Oak"}, page=page)
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="waiting-for-answers-3-oak-oak-primary-\d{4}-\d\d-\d\d\.csv"',
        response.headers["Content-Disposition"],
    )
    # Recorded before a byte of the file is read.
    (entry,) = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == "export.waiting_for_answers")
    ).all()
    assert json.loads(entry.detail) == {"class": "3 Oak"}
    rows = read_csv(response)
    assert rows[0] == ["Pupil", "Class", "Year group", "Parent or carer", "Relationship",
                       "Email", "Family reference", "Waiting for", "Note"]  # fmt: skip
    waiting = "Photos on the school website; Photos in the local paper; Videos of school trips"
    a, b = oak.pupils["A"], oak.pupils["B"]
    assert rows[1:] == [
        ["PupilA Test", "3 Oak", "3", "ada Test", "Parent", "ada@example.org",
         references.family_reference("oak-primary", a.id, world.ada.id), waiting, ""],
        ["PupilA Test", "3 Oak", "3", "ben Test", "Parent", "ben@example.org",
         references.family_reference("oak-primary", a.id, world.ben.id), waiting, ""],
        ["PupilB Test", "3 Oak", "3", """'=HYPERLINK("http://x","y") Test""", "Parent", "",
         references.family_reference("oak-primary", b.id, world.dan.id), waiting,
         "No email address: paper only"],
        ["PupilB Test", "3 Oak", "3", "ada Test", "Parent", "ada@example.org",
         references.family_reference("oak-primary", b.id, world.ada.id), waiting, ""],
    ]  # fmt: skip
    # Every class; an unknown class is not found (and not recorded).
    page = admin.get("/staff/paper")
    assert len(read_csv(post_form(admin, "/staff/paper/waiting-list", {}, page=page))) == 5
    assert post_form(admin, "/staff/paper/waiting-list", {"class": "9 Yew"},
                     page=page).status_code == 404  # fmt: skip
    assert (
        db.session.scalar(
            select(StaffAuditEntry.id)
            .where(StaffAuditEntry.action == "export.waiting_for_answers")
            .order_by(StaffAuditEntry.id.desc())
            .limit(1)
        )
        == entry.id + 1
    )
    log = text_of(admin.get("/staff/audit-log").text)
    assert "Sam Taylor" in log and "Downloaded the list of families waiting for an answer" in log


def test_a_renewal_is_waiting_and_said_so(office, world):
    oak = world.oak
    c = oak.pupils["C"]
    for key in ("photos-website", "local-paper"):
        decide(world.eve, oak.purposes[key], "grant", pupil=c)
    decide(world.eve, oak.purposes["trip-videos"], "grant", pupil=c,
           now=world_time_a_year_ago())  # fmt: skip
    page = office.get("/staff/paper")
    rows = read_csv(post_form(office, "/staff/paper/waiting-list", {}, page=page))
    (row,) = [r for r in rows if r[0] == "PupilC Test"]
    assert row[7] == "Videos of school trips (renewal)"


def world_time_a_year_ago():
    from portal.types import utcnow

    return utcnow() - timedelta(days=400)


def test_the_waiting_list_asks_for_the_second_factor_again_after_ten_minutes(office, world):
    page = office.get("/staff/paper")
    for session in db.session.scalars(select(UserSession)):
        if session.second_factor_at is not None:
            session.second_factor_at -= timedelta(minutes=11)
    db.session.commit()
    before = db.session.scalars(select(StaffAuditEntry.id)).all()
    response = post_form(office, "/staff/paper/waiting-list", {}, page=page)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/second-factor?next=")
    assert "again=1" in response.headers["Location"]
    assert db.session.scalars(select(StaffAuditEntry.id)).all() == before


def test_elm_sees_only_its_own_class_of_the_same_name(elm_admin, world):
    """Elm has a class called 3 Oak too: its grid and forms are Elm's children only."""
    page = text_of(elm_admin.get("/staff/paper").text)
    assert "3 Oak 1 1 Record forms from 3 Oak" in page
    grid = text_of(elm_admin.get(GRID, query_string={"class": "3 Oak"}).text)
    assert "PupilX" in grid and "PupilA" not in grid and "ben Test" not in grid
    forms = elm_admin.get("/staff/paper/forms", query_string={"class": "3 Oak"})
    assert len(forms_of(forms.text)) == 2 and "PupilA" not in forms.text
