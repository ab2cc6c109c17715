"""The photo check: may each child appear in a photo for these purposes?

Oak's class 3 Oak is seeded so that every reason shows (see `photo_world`); Elm Academy is
another school whose staff never see Oak's pupils.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, select

from portal import photo_check, purposes
from portal.consent import Status
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Pupil, Purpose, School
from portal.types import utcnow
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_child
from tests.support.world import World, decide

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/staff/photo-check"}
BOOSTED = {**HTMX, "HX-Boosted": "true"}

PRESS = """
[[purposes]]
key = "press-photos"
title = "Photos at public events"
description = "Photos taken at public events, which the press may publish."
choice = "objection"
lawful_basis = "public_task"
publishable = true
"""
OLD_WORDING = "Photos of school life on the school website."
NEW_WORDING = "Photos of school life on the school website and its news pages."


@dataclass
class PhotoWorld:
    world: World
    website: Purpose  # consent, any_objection_blocks
    press: Purpose  # objection
    pupils: dict[str, Pupil]  # A B C (the ledger world's) and D E F G H

    def ids(self, *keys: str) -> list[int]:
        return [self.pupils[k].id for k in keys]


@pytest.fixture
def photo_world(world: World) -> PhotoWorld:
    """Class 3 Oak, for the website and the press (an objection purpose):

    A  PupilA Test   Ada said yes, Ben said no   must not: said no (guardians disagree)
    B  PupilB Test   Ada said yes                may appear
    C  PupilC Test   nobody answered             must not: no response
    D  Dara Ahmed    said no                     must not: said no
    E  Ellis Brown   yes to the old wording      must not: needs renewal
    F  Finn Clarke   yes, but objected to press  must not: objection under review (press only)
    G  Gina Dodd     yes, then left the school   must not: left the school (off roll)
    H  Hana Evans    yes                         may appear
    """
    oak = world.oak.school
    purposes.load(oak, PURPOSES_OF_EVERY_KIND + PRESS)
    pupils = dict(world.oak.pupils)
    guardians = {}
    for key, forename, surname in [
        ("D", "Dara", "Ahmed"),
        ("E", "Ellis", "Brown"),
        ("F", "Finn", "Clarke"),
        ("G", "Gina", "Dodd"),
        ("H", "Hana", "Evans"),
    ]:
        guardian, pupil = make_child(
            oak,
            guardian_email=f"{forename.lower()}.parent@example.org",
            forename=forename,
            surname=surname,
            mis_id=key,
        )
        pupils[key], guardians[key] = pupil, guardian
    website = db.session.get(Purpose, world.oak.purposes["photos-website"].id)
    press = db.session.scalars(
        select(Purpose).where(Purpose.school_id == oak.id, Purpose.key == "press-photos")
    ).one()
    assert website is not None

    decide(guardians["E"], website, "grant", pupil=pupils["E"])
    purposes.load(oak, PURPOSES_OF_EVERY_KIND.replace(OLD_WORDING, NEW_WORDING) + PRESS)
    assert website.version == 2

    decide(world.ada, website, "grant", pupil=pupils["A"])
    decide(world.ben, website, "withdraw", pupil=pupils["A"])
    decide(world.ada, website, "grant", pupil=pupils["B"])
    decide(guardians["D"], website, "withdraw", pupil=pupils["D"])
    decide(guardians["F"], website, "grant", pupil=pupils["F"])
    decide(guardians["F"], press, "object", pupil=pupils["F"], note="No press, please.")
    decide(guardians["G"], website, "grant", pupil=pupils["G"])
    decide(guardians["H"], website, "grant", pupil=pupils["H"])
    pupils["G"].on_roll = False
    pupils["G"].left_on = date.today() - timedelta(days=1)
    db.session.commit()
    return PhotoWorld(world, website, press, pupils)


def check_url(pw: PhotoWorld, *, path: str = "/staff/photo-check", **params: Any) -> str:
    """The photo check of both purposes for class 3 Oak and (picked) Gina, who has left."""
    query = {
        "purpose": [pw.website.id, pw.press.id],
        "class": "3 Oak",
        "pupil": pw.ids("G"),
        "action": "check",
        **params,
    }
    pairs = []
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return path + "?" + "&".join(f"{n}={v}".replace(" ", "+") for n, v in pairs)


EXPECTED = [  # must-not first, then by surname and forename
    ("Dara Ahmed", ["said no"], False),
    ("Ellis Brown", ["needs renewal"], False),
    ("Finn Clarke", ["objection under review"], False),
    ("Gina Dodd", ["left the school"], False),
    ("PupilA Test", ["said no (guardians disagree)"], False),
    ("PupilC Test", ["no response"], False),
    ("Hana Evans", [], True),
    ("PupilB Test", [], True),
]


# --- the domain ------------------------------------------------------------------------------


def test_every_reason_with_the_children_who_must_not_appear_first(photo_world):
    pw = photo_world
    result = photo_check.check(
        pw.world.oak.id,
        [pw.website.id, pw.press.id],
        class_name="3 Oak",
        pupil_ids=pw.ids("G"),
    )
    got = [(c.pupil.name, c.reasons, c.may_appear) for c in result.children]
    assert got == EXPECTED
    assert len(result.must_not) == 6 and len(result.may) == 2
    assert result.who == "class 3 Oak and 1 chosen pupil"
    finn = next(c for c in result.children if c.pupil.name == "Finn Clarke")
    assert [m.words for m in finn.marks] == [
        "May appear",
        "Must not appear: objection under review",
    ]
    ada = next(c for c in result.children if c.pupil.name == "PupilA Test")
    assert ada.marks[0].status == Status.WITHDRAWN and ada.marks[0].conflict
    assert ada.marks[1].words == "May appear"  # no objection: allowed


def test_the_reasons_are_the_agreed_words():
    assert photo_check.REASONS[Status.GRANTED] == "may appear"
    assert photo_check.REASONS[Status.ALLOWED] == "may appear"
    assert photo_check.REASONS[Status.NO_RESPONSE] == "no response"
    assert photo_check.REASONS[Status.WITHDRAWN] == "said no"
    assert photo_check.REASONS[Status.NEEDS_RENEWAL] == "needs renewal"
    assert photo_check.REASONS[Status.OBJECTED] == "objected"
    assert photo_check.REASONS[Status.UNDER_REVIEW] == "objection under review"
    assert photo_check.REASONS[Status.NOT_ON_ROLL] == "left the school"


def test_a_renewal_period_that_runs_out_means_needs_renewal(photo_world):
    pw = photo_world
    paper = pw.world.oak.purposes["local-paper"]  # renewal every 30 days, latest_wins
    decide(pw.world.eve, paper, "grant", pupil=pw.pupils["C"])
    now = utcnow()
    fresh = photo_check.check(pw.world.oak.id, [paper.id], pupil_ids=pw.ids("C"), now=now)
    later = photo_check.check(
        pw.world.oak.id, [paper.id], pupil_ids=pw.ids("C"), now=now + timedelta(days=31)
    )
    assert fresh.children[0].may_appear
    assert later.children[0].reasons == ["needs renewal"]


def test_a_year_group_lists_only_children_on_roll(photo_world):
    pw = photo_world
    result = photo_check.check(pw.world.oak.id, [pw.website.id], year_group="3")
    names = {c.pupil.name for c in result.children}
    assert "Gina Dodd" not in names and len(names) == 7
    assert result.who == "Year 3"


def generation_of(school_id: int) -> int:
    return int(db.session.scalar(select(School.generation).where(School.id == school_id)))


def test_only_the_schools_publishable_purposes_and_pupils(photo_world):
    pw = photo_world
    oak, elm = pw.world.oak, pw.world.elm
    options = photo_check.options(oak.id, generation_of(oak.id))
    assert [p.key for p in options.purposes] == ["photos-website", "local-paper", "press-photos"]
    assert options.classes == ("3 Oak",) and options.year_groups == ("3",)
    trips = oak.purposes["trip-videos"]  # consent, not publishable
    for purpose_ids in ([trips.id], [elm.purposes["photos-website"].id]):
        with pytest.raises(NotFound):
            photo_check.check(oak.id, purpose_ids, class_name="3 Oak")
    with pytest.raises(NotFound):
        photo_check.check(oak.id, [pw.website.id], pupil_ids=[elm.pupils["X"].id])
    with pytest.raises(NotFound):
        photo_check.pupils(elm.id, pw.ids("A"))
    # Elm's class has the same name: Oak's check never reaches Elm's pupils.
    result = photo_check.check(oak.id, [pw.website.id], class_name="3 Oak")
    assert elm.pupils["X"].id not in {c.pupil.id for c in result.children}


def test_search_finds_by_any_part_of_the_name_in_one_school(photo_world):
    pw = photo_world
    oak, elm = pw.world.oak.id, pw.world.elm.id
    assert [p.name for p in photo_check.search(oak, "dODD").pupils] == ["Gina Dodd"]
    assert [p.name for p in photo_check.search(oak, "  hana   evans ").pupils] == ["Hana Evans"]
    assert photo_check.search(oak, "%").pupils == ()  # LIKE wildcards are literal
    assert photo_check.search(oak, "   ").pupils == ()
    assert {p.name for p in photo_check.search(elm, "pupil").pupils} == {"PupilX Test"}
    few = photo_check.search(oak, "pupil", limit=2)
    assert len(few.pupils) == 2 and few.more
    rest = photo_check.search(oak, "pupil", exclude=pw.ids("A", "B"))
    assert [p.name for p in rest.pupils] == ["PupilC Test"] and not rest.more


def test_a_check_takes_the_same_number_of_queries_whatever_the_class_size(photo_world):
    pw = photo_world
    oak = pw.world.oak

    def queries(class_name: str) -> int:
        count = 0

        def counter(*args: Any) -> None:
            nonlocal count
            count += 1

        engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            result = photo_check.check(oak.id, [pw.website.id, pw.press.id], class_name=class_name)
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        assert result.children
        return count

    for n in range(12):
        make_child(oak.school, guardian_email=f"big{n}@example.org", forename=f"Big{n}",
                   mis_id=f"BIG{n}", class_name="4 Ash")  # fmt: skip
    assert queries("3 Oak") == queries("4 Ash")


# --- the pages -------------------------------------------------------------------------------


def test_the_form_alone_for_a_first_visit(photo_world, office):
    page = office.get("/staff/photo-check")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.text
    assert "What will the photo be used for?" in text and "Who is in the photo?" in text
    assert 'hx-trigger="input changed delay:300ms, search"' in text
    assert "Trip" not in text and "Videos of school trips" not in text  # not publishable
    assert "must not appear" not in text and "There is a problem" not in text
    boosted = office.get("/staff/photo-check", headers=BOOSTED)
    assert boosted.status_code == 200 and "<!DOCTYPE html>" in boosted.text


def test_the_answer_on_the_page_and_as_a_fragment(photo_world, office, admin):
    pw = photo_world
    page = office.get(check_url(pw))
    assert page.status_code == 200
    text = page.text
    assert "6 of 8 must not appear" in text
    for words in [
        "Must not appear: said no (guardians disagree)",
        "Must not appear: no response",
        "Must not appear: said no",
        "Must not appear: needs renewal",
        "Must not appear: objection under review",
        "Must not appear: left the school",
        "May appear",
    ]:
        assert words in text, words
    answer = text[text.index('id="photo-check-results"') :]
    order = [answer.index(name) for name, _, _ in EXPECTED]
    assert order == sorted(order), "the children who must not appear come first"
    assert text.index("Must not appear (6)") < text.index("May appear (2)")
    assert f'href="/staff/pupils/{pw.pupils["A"].id}"' in text
    assert 'class="govuk-tag govuk-tag--red' in text  # a tag, with words in it
    assert "Print a class sheet" in text

    fragment = office.get(check_url(pw), headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.text
    assert "<html" not in body and body.lstrip().startswith('<div id="photo-check-results"')
    assert "6 of 8 must not appear" in body
    assert "Must not appear: objection under review" in body
    assert 'hx-swap-oob="innerHTML">6 of 8 must not appear.' in body
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]
    # Admins check photos too.
    assert admin.get(check_url(pw)).status_code == 200


def test_a_link_without_the_button_is_a_check(photo_world, office):
    pw = photo_world
    url = f"/staff/photo-check?purpose={pw.website.id}&class=3+Oak"
    page = office.get(url)
    assert page.status_code == 200 and "4 of 7 must not appear" in page.text


def test_the_print_link_carries_the_same_check(photo_world, office):
    pw = photo_world
    page = office.get(check_url(pw, q="evans"))
    href = page.text.split("Print a class sheet")[0].rsplit('href="', 1)[1].split('"')[0]
    href = href.replace("&amp;", "&")
    parts = urlsplit(href)
    assert parts.path == "/staff/photo-check/print"
    assert parse_qs(parts.query) == {
        "purpose": [str(pw.website.id), str(pw.press.id)],
        "class": ["3 Oak"],
        "pupil": [str(pw.pupils["G"].id)],
    }


def heading_levels(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])[\s>]", html)]


def test_the_headings_follow_in_order_and_the_answer_has_a_print_button(photo_world, office):
    """axe's heading-order: the form's questions are h2s, so "Children you picked" (an h3)
    follows one; the answer's Print button is a link to the class sheet (no script needed)."""
    pw = photo_world
    page = office.get(check_url(pw))
    assert "Children you picked (1)" in page.text
    levels = heading_levels(page.text.split("<main", 1)[1])
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in pairwise(levels)), levels
    assert '<h2 class="govuk-fieldset__heading">Who is in the photo?</h2>' in page.text
    button = re.search(r'<a href="([^"]+)" role="button"[^>]*class="govuk-button[^"]*"', page.text)
    assert button and button.group(1).startswith("/staff/photo-check/print?")
    sheet = office.get(button.group(1).replace("&amp;", "&"))
    assert sheet.status_code == 200
    # The sheet's own Print button prints with the script, which shows it.
    assert 'data-portal-print="true" hidden="hidden"' in sheet.text
    assert "Or use your browser’s Print command" in sheet.text


def test_the_print_view_is_a_class_sheet_with_marks_in_words(photo_world, office):
    pw = photo_world
    page = office.get(check_url(pw, path="/staff/photo-check/print"))
    assert page.status_code == 200
    text = page.text
    assert "portal-print-sheet" in text
    assert "Oak Primary School" in text and "Photo check: class 3 Oak and 1 chosen pupil" in text
    assert "Photos on the school website" in text and "Photos at public events" in text
    assert "Check again before publishing: answers can change." in text
    assert "✓ Yes" in text
    for reason in ["said no (guardians disagree)", "no response", "needs renewal",
                   "objection under review", "left the school"]:  # fmt: skip
        assert f"✗ NO — {reason}" in text, reason
    assert "6 of 8 must not appear" in text
    # One row per child, must-not first.
    order = [text.index(f">{name}</th>") for name, _, _ in EXPECTED]
    assert order == sorted(order)
    boosted = office.get(check_url(pw, path="/staff/photo-check/print"), headers=BOOSTED)
    assert boosted.status_code == 200 and "✓ Yes" in boosted.text


def test_live_search_returns_the_pupils_fragment(photo_world, office):
    pw = photo_world
    gina = pw.pupils["G"].id
    response = office.get(f"/staff/photo-check/search?q=test&pupil={gina}", headers=HTMX)
    assert response.status_code == 200
    body = response.text
    assert body.lstrip().startswith('<div id="photo-check-pupils"')
    assert "<html" not in body
    # Gina stays ticked (she was picked before); the matches are not ticked.
    assert f'value="{gina}" checked' in body and "Gina Dodd" in body
    assert "(left the school)" in body
    assert "3 children match “test”" in body
    assert f'value="{pw.pupils["A"].id}">' in body
    assert 'hx-swap-oob="innerHTML">3 children match test' in body


def test_search_without_javascript_is_the_form_itself(photo_world, office):
    pw = photo_world
    redirect = office.get("/staff/photo-check/search?q=dodd")
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("/staff/photo-check?")
    assert "action=search" in redirect.headers["Location"]
    page = office.get(redirect.headers["Location"])
    assert page.status_code == 200
    assert "Gina Dodd" in page.text and "(left the school)" in page.text
    assert "There is a problem" not in page.text  # a search is not a check
    # The form keeps what was chosen while searching.
    page = office.get(
        f"/staff/photo-check?purpose={pw.website.id}&q=evans&pupil={pw.pupils['G'].id}"
        "&action=search"
    )
    assert page.status_code == 200
    assert f'value="{pw.website.id}" checked' in page.text
    assert f'value="{pw.pupils["G"].id}" checked' in page.text
    assert "Hana Evans" in page.text and "must not appear" not in page.text


LINKS = {
    "Choose what the photo will be used for": "purpose",
    "Choose a class or a year group, or pick pupils by name": "class",
    "Choose a class from the list": "class",
    "Choose a year group from the list": "year",
    "Pick pupils from the list": "q",
}


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        ("class=3+Oak", ["Choose what the photo will be used for"]),
        ("purpose={website}", ["Choose a class or a year group, or pick pupils by name"]),
        ("purpose={website}&class=9+Zzz", ["Choose a class from the list"]),
        ("purpose={website}&year=13", ["Choose a year group from the list"]),
        (
            "purpose=abc&pupil=xyz",
            ["Choose what the photo will be used for", "Pick pupils from the list"],
        ),
        (
            "action=check",
            [
                "Choose what the photo will be used for",
                "Choose a class or a year group, or pick pupils by name",
            ],
        ),
    ],
)
def test_an_incomplete_form_says_what_is_missing(photo_world, office, query, messages):
    pw = photo_world
    for path in ("/staff/photo-check", "/staff/photo-check/print"):
        url = f"{path}?{query.format(website=pw.website.id)}"
        page = office.get(url)
        assert page.status_code == 400, url
        assert "There is a problem" in page.text and "<title>Error: " in page.text
        assert 'class="govuk-error-summary"' in page.text
        for message in messages:
            assert page.text.count(message) == 2, message  # in the summary and by the field
        for message, field in LINKS.items():
            if message in messages:  # the summary links to the field
                assert f'<a href="#{field}">{message}</a>' in page.text
                assert f'id="{field}"' in page.text
    # With htmx the whole page takes the body's place, so the errors sit beside the fields.
    page = office.get(f"/staff/photo-check?{query.format(website=pw.website.id)}", headers=HTMX)
    assert page.status_code == 400
    assert page.headers["HX-Retarget"] == "body" and "There is a problem" in page.text


def test_another_schools_ids_are_not_found(photo_world, elm_admin):
    pw = photo_world
    elm = pw.world.elm
    elm_website = elm.purposes["photos-website"].id
    oak_pupil = pw.pupils["A"].id
    for url in [
        f"/staff/photo-check?purpose={pw.website.id}&class=3+Oak",
        f"/staff/photo-check?purpose={pw.website.id}",  # beside an input error too
        f"/staff/photo-check?purpose={elm_website}&pupil={oak_pupil}",
        f"/staff/photo-check?q=test&pupil={oak_pupil}&action=search",
        f"/staff/photo-check/print?purpose={pw.website.id}&class=3+Oak",
        f"/staff/photo-check/print?purpose={elm_website}&pupil={oak_pupil}",
    ]:
        assert elm_admin.get(url).status_code == 404, url
    response = elm_admin.get(f"/staff/photo-check/search?q=a&pupil={oak_pupil}", headers=HTMX)
    assert response.status_code == 404
    # Elm's own check of its class "3 Oak" has only Elm's pupil.
    page = elm_admin.get(f"/staff/photo-check?purpose={elm_website}&class=3+Oak")
    assert page.status_code == 200 and "1 of 1 must not appear" in page.text
    assert "PupilX Test" in page.text and "PupilA Test" not in page.text
    # Searching never shows Oak's children.
    for q in ("pupil", "test", "dodd", "evans"):
        found = elm_admin.get(f"/staff/photo-check/search?q={q}", headers=HTMX).text
        assert "PupilA" not in found and "Dodd" not in found and "Evans" not in found, q


def test_the_photo_check_is_only_read(photo_world, office):
    pw = photo_world
    from tests.support.world import snapshot

    before = snapshot(pw.world.oak.id)
    office.get(check_url(pw))
    office.get(check_url(pw, path="/staff/photo-check/print"))
    assert snapshot(pw.world.oak.id) == before


def test_anonymous_visitors_are_asked_to_sign_in(photo_world, client):
    for url in ["/staff/photo-check", "/staff/photo-check/search?q=a", "/staff/photo-check/print"]:
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
