"""The staff dashboard (the staff home page): response coverage per purpose and per class,
open take-downs, and the menu of each role."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal import dashboard
from portal.extensions import db
from portal.models import TakedownTask
from portal.types import utcnow
from tests.support.factories import make_child
from tests.support.world import World, decide

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "http://localhost/staff"}


@pytest.fixture
def seeded(world: World) -> World:
    """Oak on roll: A, B, C in 3 Oak and D in 4 Ash (E in 3 Oak has left, so is not counted).

    purpose          A            B            C                D
    photos-website   yes          no           yes              yes
    local-paper      yes          -            yes 40 days ago  yes   (renewal: 30 days)
    trip-videos      yes          -            no               yes
    class-photos     objected (under review)  -   -                -     (objection)
    """
    oak = world.oak
    p = oak.purposes
    a, b, c = oak.pupils["A"], oak.pupils["B"], oak.pupils["C"]
    dee, d = make_child(oak.school, guardian_email="dee.parent@example.org", forename="Dee",
                        surname="Ash", mis_id="D", class_name="4 Ash")  # fmt: skip
    eli, e = make_child(oak.school, guardian_email="eli.parent@example.org", forename="Eli",
                        surname="Gone", mis_id="E")  # fmt: skip
    for key in ("photos-website", "local-paper", "trip-videos"):
        decide(world.ada, p[key], "grant", pupil=a)
        decide(dee, p[key], "grant", pupil=d)
        decide(eli, p[key], "withdraw", pupil=e)
    decide(world.ben, p["class-photos"], "object", pupil=a)
    decide(world.dan, p["photos-website"], "withdraw", pupil=b)
    decide(world.eve, p["photos-website"], "grant", pupil=c)
    decide(world.eve, p["local-paper"], "grant", pupil=c, now=utcnow() - timedelta(days=40))
    decide(world.eve, p["trip-videos"], "withdraw", pupil=c)
    e.on_roll, e.left_on = False, date.today()
    db.session.commit()
    return world


def takedown(world_school, pupil, purpose, seq: int, *, done: bool = False) -> None:
    db.session.add(
        TakedownTask(
            school_id=world_school.id,
            pupil_id=pupil.id,
            purpose_id=purpose.id,
            event_seq=seq,
            created_at=utcnow(),
            done_at=utcnow() if done else None,
            done_by_id=world_school.staff.id if done else None,
        )
    )
    db.session.commit()


def test_the_numbers_of_a_seeded_school(seeded):
    summary = dashboard.summary(seeded.oak.id)
    assert summary.pupils_on_roll == 4
    consent = {c.purpose.key: c for c in summary.consent_purposes}
    assert list(consent) == ["photos-website", "local-paper", "trip-videos"]

    def counts(key: str) -> dict[str, int]:
        return {s.key: s.count for s in consent[key].segments}

    assert counts("photos-website") == {"answered": 4, "needs_renewal": 0, "not_answered": 0}
    assert consent["photos-website"].count("granted") == 3
    assert consent["photos-website"].count("withdrawn") == 1
    assert counts("local-paper") == {"answered": 2, "needs_renewal": 1, "not_answered": 1}
    assert counts("trip-videos") == {"answered": 3, "needs_renewal": 0, "not_answered": 1}
    # Guardian-level (marketing) and information-only purposes are not per child.
    (objection,) = summary.objection_purposes
    assert objection.purpose.key == "class-photos"
    assert {s.key: s.count for s in objection.segments} == {
        "objected": 0,
        "under_review": 1,
        "no_objection": 3,
    }

    classes = {c.class_name: c for c in summary.classes}
    assert list(classes) == ["3 Oak", "4 Ash"]
    oak = classes["3 Oak"]
    assert (oak.total, oak.all_answered, oak.needs_renewal, oak.not_answered) == (3, 1, 1, 1)
    ash = classes["4 Ash"]
    assert (ash.total, ash.all_answered, ash.needs_renewal, ash.not_answered) == (1, 1, 0, 0)
    assert summary.open_takedowns == 0


def test_the_page_shows_the_numbers_as_text_and_bars(seeded, office):
    page = office.get("/staff")
    assert page.status_code == 200
    text = page.text
    assert "Answers per purpose" in text and "Answers per class" in text
    assert "For the 4 children on roll" in text
    assert "Answered: <strong>2</strong> of 4 (50%)" in text  # local-paper
    assert "Needs renewal: <strong>1</strong> of 4 (25%)" in text
    assert "Answered: <strong>4</strong> of 4 (100%), 3 yes, 1 no" in text
    assert "Objection under review: <strong>1</strong> of 4 (25%)" in text
    assert (
        "Class 3 Oak: 3 children" in text
        and "Some not answered: <strong>1</strong> of 3 (33%)" in text
    )
    # The bars: widths as SVG attributes, hidden from screen readers (the text says it all).
    assert '<svg class="portal-bar"' in text and 'aria-hidden="true"' in text
    assert 'width="50.0" height="20"' in text
    assert "style=" not in text
    # The ledger head is still there.
    assert "Consent ledger" in text and 'class="portal-hash"' in text
    if dashboard.open_takedowns(seeded.oak.id) == 0:  # none made by this scenario's events
        assert "Nothing to take down." in text
    assert 'href="/staff/take-downs"' in text
    boosted = office.get("/staff", headers=BOOSTED)
    assert boosted.status_code == 200 and "Answers per purpose" in boosted.text


def test_open_takedowns_are_counted_for_this_school_only(seeded, admin, elm_admin):
    oak, elm = seeded.oak, seeded.elm
    # Tasks the ledger itself may have made for this scenario count too.
    oak_before, elm_before = dashboard.open_takedowns(oak.id), dashboard.open_takedowns(elm.id)
    takedown(oak, oak.pupils["A"], oak.purposes["photos-website"], 10_001)
    takedown(oak, oak.pupils["B"], oak.purposes["photos-website"], 10_002)
    takedown(oak, oak.pupils["C"], oak.purposes["photos-website"], 10_003, done=True)
    takedown(elm, elm.pupils["X"], elm.purposes["photos-website"], 10_001)
    assert dashboard.open_takedowns(oak.id) == oak_before + 2
    assert dashboard.open_takedowns(elm.id) == elm_before + 1
    page = admin.get("/staff")
    assert page.status_code == 200
    assert f"{oak_before + 2} things must come down" in page.text
    assert "Take down: Photos on the school website — PupilA T. (3 Oak)" in page.text
    page = elm_admin.get("/staff")
    n = elm_before + 1
    assert f"{n} {'thing' if n == 1 else 'things'} must come down" in page.text
    # Elm's dashboard counts only Elm's pupils.
    assert "For the 1 child on roll" in page.text and "Class 4 Ash" not in page.text


def test_each_role_sees_its_menu(office, admin, marketer):
    page = office.get("/staff")
    assert page.status_code == 200 and "Dashboard" in page.text
    assert 'aria-label="Staff menu"' in page.text
    page = admin.get("/staff")
    assert page.status_code == 200
    response = marketer.get("/staff")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/exports"


def test_marketing_still_goes_to_the_exports(seeded, marketer):
    response = marketer.get("/staff")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/exports"


def test_an_empty_school(app, world, staff_client):
    from tests.support.factories import make_school, make_staff

    school = make_school(slug="new-school", name="New School")
    make_staff(school, email="head@new.example", role="admin")
    summary = dashboard.summary(school.id)
    assert summary.pupils_on_roll == 0 and summary.classes == []
    page = staff_client("head@new.example").get("/staff")
    assert page.status_code == 200
    assert "no purposes that ask parents for a choice" in page.text


def test_the_home_page_opens_on_things_to_do_with_counts_that_match_the_lists(world, admin, office):
    import re as _re

    from tests.support.world import decide as _decide

    oak = world.oak
    first = _decide(world.eve, oak.purposes["class-photos"], "object", pupil=oak.pupils["C"])
    second = _decide(world.ada, oak.purposes["class-photos"], "object", pupil=oak.pupils["A"])
    page = admin.get("/staff")
    assert page.status_code == 200
    text = page.text
    assert text.index("Things to do") < text.index("Answers per purpose")
    section = text[text.index('id="things-to-do"') : text.index("</section>")]
    assert "Objections to review (2)" in section
    links = _re.findall(r'href="/staff/objections/(\d+)"', section)
    assert links == [str(first.seq), str(second.seq)]  # oldest first
    headed = sum(int(n) for n in _re.findall(r"\((\d+)\)</h3>", section))
    assert headed == section.count('class="portal-todo__item"')
    assert f"{headed} things to do" in section
    # Staff do not review objections: their queue leaves them out.
    staff_page = office.get("/staff").text
    assert "Objections to review" not in staff_page
