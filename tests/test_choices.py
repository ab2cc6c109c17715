"""The family's choices (portal/choices/): the summary, a child's page and deciding, on the
shared world.

Oak Primary: pupil A (Ada and Ben with parental responsibility, Gran without), pupil B (Ada
and Dan), pupil C (Eve). Elm Academy: pupil X (Ada and Fay).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from portal import choices, history, ledger, purposes
from portal.consent import EffectiveStatus, GuardianView, Status
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Guardian, SchoolContact
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_families
from tests.support.world import OAK_FAMILIES, T0, World, build_school, snapshot
from tests.support.world import decide as record


def oak_pupil(world: World, key: str) -> int:
    return world.oak.pupils[key].id


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- the family summary --------------------------------------------------------------------


def mis(world: World, pupil: Any) -> str:
    """The MIS id the world gave a pupil of the family's pages (which read only what they
    show, and not the MIS id)."""
    for school in (world.oak, world.elm):
        for key, known in school.pupils.items():
            if known.id == pupil.id:
                return key
    raise AssertionError(f"pupil {pupil.id} is not in the world")


def test_family_summary_for_two_children_with_mixed_answers(world: World) -> None:
    p = world.oak.purposes
    a, b = world.oak.pupils["A"], world.oak.pupils["B"]
    record(world.ada, p["photos-website"], "grant", pupil=a, now=T0)
    record(world.ada, p["local-paper"], "grant", pupil=a, now=T0)
    for key in ("photos-website", "local-paper", "trip-videos"):
        record(world.ada, p[key], "withdraw" if key == "trip-videos" else "grant", pupil=b, now=T0)
    # Another guardian's answer does not answer for Ada.
    record(world.ben, p["trip-videos"], "grant", pupil=a, now=T0)

    summary = choices.family_summary(world.ada.id, now=T0 + timedelta(days=1))
    assert [s.school.name for s in summary] == ["Elm Academy", "Oak Primary School"]
    elm, oak = summary
    assert [(mis(world, c.pupil), c.text) for c in elm.children] == [
        ("X", "3 choices need your answer")
    ]
    assert [(mis(world, c.pupil), c.text) for c in oak.children] == [
        ("A", "1 choice needs your answer"),
        ("B", "All answered"),
    ]
    assert oak.children[1].all_answered and not oak.children[0].all_answered
    assert {c.choices for c in oak.children} == {4}  # three consent, one objection

    # Forty days on, the local paper's 30-day grants lapse; the withdrawal does not.
    later = choices.family_summary(world.ada.id, now=T0 + timedelta(days=40))
    assert [c.text for c in later[1].children] == [
        "1 choice needs your answer, 1 needs renewing",
        "1 needs renewing",
    ]


def test_the_summary_says_where_another_persons_answer_decides(world: World) -> None:
    """Where another person with parental responsibility decides instead of Ada: her yes
    stopped by their no, her no overtaken by their later yes (the latest answer counts),
    an objection of theirs where she has none; never who they are. With no answer of her
    own a consent choice just needs her answer."""
    p = world.oak.purposes
    a, b = world.oak.pupils["A"], world.oak.pupils["B"]
    record(world.ada, p["photos-website"], "grant", pupil=a, now=T0)
    record(world.ben, p["photos-website"], "withdraw", pupil=a, now=T0)
    record(world.ada, p["local-paper"], "withdraw", pupil=a, now=T0)
    record(world.ben, p["local-paper"], "grant", pupil=a, now=T0 + timedelta(hours=1))
    record(world.ben, p["class-photos"], "object", pupil=a, now=T0)
    record(world.dan, p["trip-videos"], "withdraw", pupil=b, now=T0)  # Ada has not answered
    record(world.dan, p["class-photos"], "object", pupil=b, now=T0)
    record(world.ada, p["class-photos"], "object", pupil=b, now=T0)  # hers too: as she asked

    oak = choices.family_summary(world.ada.id, now=T0 + timedelta(days=1))[1]
    child_a, child_b = oak.children
    assert [(o.wording.title, o.kind) for o in child_a.others] == [
        ("Photos on the school website", choices.Overruled.SAID_NO),
        ("Photos in the local paper", choices.Overruled.SAID_YES),
        ("Class photos on display in school", choices.Overruled.OBJECTED),
    ]
    assert child_b.others == ()
    for path, value in _walk(oak):
        assert "guardian" not in path, path
        assert not isinstance(value, Guardian | GuardianView | EffectiveStatus), path


def test_the_summary_titles_what_another_person_decided_in_the_page_language(
    world: World,
) -> None:
    p = world.oak.purposes
    a = world.oak.pupils["A"]
    purposes.translate(world.oak.id, p["photos-website"].id, version=1, language="pl",
                       title="Zdjęcia", description="Zdjęcia na stronie.",
                       staff=world.oak.staff)  # fmt: skip
    record(world.ada, p["photos-website"], "grant", pupil=a, now=T0)
    record(world.ben, p["photos-website"], "withdraw", pupil=a, now=T0)
    oak = choices.family_summary(world.ada.id, now=T0, language="pl")[1]
    [other] = oak.children[0].others
    assert other.wording == purposes.Wording("Zdjęcia", "Zdjęcia na stronie.", "pl")


@pytest.mark.parametrize(
    ("name", "says"),
    [("Class 5", True), ("class 3B", True), ("  CLASS Oak", True), ("3 Oak", False),
     ("Classic", False), ("Reception", False), ("", False), (None, False)],
)  # fmt: skip
def test_a_class_name_that_says_class_already(name: str | None, says: bool) -> None:
    assert choices.says_class(name) is says


# --- whose children ------------------------------------------------------------------------


def test_a_guardian_without_parental_responsibility_sees_and_decides_nothing(
    world: World,
) -> None:
    a = oak_pupil(world, "A")
    photos = world.oak.purposes["photos-website"].id
    assert choices.family_summary(world.gran.id) == []
    with pytest.raises(NotFound):
        choices.child_page(world.gran.id, a)
    before = snapshot(world.oak.id, world.elm.id)
    with pytest.raises(NotFound):
        choices.decide(world.gran.id, [a], photos, "grant")
    assert snapshot(world.oak.id, world.elm.id) == before
    assert history.entries(world.gran.id) == []


def test_another_familys_pupil_is_not_found_and_nothing_is_written(world: World) -> None:
    a, c = oak_pupil(world, "A"), oak_pupil(world, "C")
    x = world.elm.pupils["X"].id
    photos = world.oak.purposes["photos-website"].id
    with pytest.raises(NotFound):
        choices.child_page(world.ada.id, c)
    with pytest.raises(NotFound):
        choices.child_page(world.ada.id, 999_999)
    before = snapshot(world.oak.id, world.elm.id)
    for pupils, purpose in [
        ([a, c], photos),  # one of them is not Ada's
        ([a, x], photos),  # two schools at once
        ([x], photos),  # a purpose of another school
        ([a], 999_999),
        ([], photos),
    ]:
        with pytest.raises(NotFound):
            choices.decide(world.ada.id, pupils, purpose, "grant")
    assert snapshot(world.oak.id, world.elm.id) == before


def test_an_ended_link_or_a_pupil_off_roll_is_not_found(world: World) -> None:
    from portal.models import GuardianLink, Pupil

    b = world.oak.pupils["B"]
    db.session.get(Pupil, b.id).on_roll = False  # type: ignore[union-attr]
    db.session.get(Pupil, b.id).left_on = T0.date()  # type: ignore[union-attr]
    link = db.session.query(GuardianLink).filter_by(guardian_id=world.ben.id).one()
    link.ended_at = T0
    db.session.commit()
    with pytest.raises(NotFound):
        choices.child_page(world.ada.id, b.id)
    with pytest.raises(NotFound):
        choices.child_page(world.ben.id, oak_pupil(world, "A"))
    assert [
        mis(world, c.pupil) for s in choices.family_summary(world.ada.id) for c in s.children
    ] == [
        "X",
        "A",
    ]


# --- a child's page ------------------------------------------------------------------------


def _walk(value: Any, path: str = "page") -> Iterator[tuple[str, Any]]:
    yield path, value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def test_child_page_groups_and_others_differ_without_revealing_the_other_parent(
    world: World,
) -> None:
    p = world.oak.purposes
    a = world.oak.pupils["A"]
    record(world.ada, p["photos-website"], "grant", pupil=a, now=T0)
    record(world.ben, p["photos-website"], "grant", pupil=a, now=T0)
    record(world.ben, p["photos-website"], "withdraw", pupil=a, now=T0 + timedelta(hours=1))
    record(world.ben, p["class-photos"], "object", pupil=a, note="No photos, please")

    page = choices.child_page(world.ada.id, a.id, now=T0 + timedelta(days=1))
    assert page.pupil.id == a.id and page.school.id == world.oak.id
    assert page.notice is not None and page.notice.version == 1
    assert [c.purpose.key for c in page.consent] == ["photos-website", "local-paper", "trip-videos"]
    assert [c.purpose.key for c in page.objection] == ["class-photos"]
    assert [pp.key for pp in page.information] == ["school-census"]
    assert [mis(world, s) for s in page.siblings] == ["B"]

    photos = page.consent[0]
    assert photos.own is not None and photos.own.decision == "grant"
    assert photos.own.channel == "web" and photos.own.decided_at == T0
    assert photos.own.purpose_version == 1 and not photos.own.needs_renewal
    assert photos.status == Status.WITHDRAWN and photos.others_differ
    assert not photos.needs_answer
    paper = page.consent[1]
    assert paper.own is None and paper.status == Status.NO_RESPONSE and not paper.others_differ
    assert paper.needs_answer
    objection = page.objection[0]
    assert objection.own is None and objection.status == Status.UNDER_REVIEW
    assert objection.others_differ

    # Ben sees his own answer, which is the effective one.
    bens = choices.child_page(world.ben.id, a.id, now=T0 + timedelta(days=1))
    assert bens.consent[0].status == Status.WITHDRAWN and not bens.consent[0].others_differ
    assert bens.siblings == []

    # Nothing about Ben (or Gran) is anywhere in Ada's page.
    text = repr(page)
    for other in (world.ben, world.gran):
        name = db.session.scalars(  # the name Oak holds for them
            select(SchoolContact).where(
                SchoolContact.school_id == world.oak.id, SchoolContact.guardian_id == other.id
            )
        ).one()
        assert other.email not in text
        assert name.full_name not in text
        assert f"'{name.forename}'" not in text
    for path, value in _walk(page):
        assert "guardian" not in path, path
        assert not isinstance(value, Guardian | GuardianView | EffectiveStatus), path


def test_needs_renewal_after_a_wording_change(world: World) -> None:
    a = world.oak.pupils["A"]
    photos = world.oak.purposes["photos-website"]
    old = photos.description
    record(world.ada, photos, "grant", pupil=a, now=T0)
    assert choices.family_summary(world.ada.id, now=T0)[1].children[0].need_renewal == 0

    purposes.load(
        world.oak.school,
        PURPOSES_OF_EVERY_KIND.replace(old, "Photos of school life and first names online."),
    )
    page = choices.child_page(world.ada.id, a.id, now=T0 + timedelta(days=1))
    item = page.consent[0]
    assert item.purpose.version == 2
    assert item.own is not None and item.own.purpose_version == 1 and item.own.needs_renewal
    assert item.status == Status.NEEDS_RENEWAL and item.needs_answer
    assert item.answered_wording == old
    summary = choices.family_summary(world.ada.id, now=T0 + timedelta(days=1))
    assert summary[1].children[0].text == "2 choices need your answer, 1 needs renewing"

    # Answering again, to the new wording, renews it.
    choices.decide(world.ada.id, [a.id], photos.id, "grant", now=T0 + timedelta(days=2))
    again = choices.child_page(world.ada.id, a.id, now=T0 + timedelta(days=3)).consent[0]
    assert again.status == Status.GRANTED and again.answered_wording is None


def test_a_newer_notice_is_flagged(world: World) -> None:
    from tests.support.factories import make_notice

    a = world.oak.pupils["A"]
    choices.decide(world.ada.id, [a.id], world.oak.purposes["photos-website"].id, "grant")
    assert not choices.child_page(world.ada.id, a.id).notice_changed
    make_notice(world.oak.school, source="We hold your child's name and photo.")
    page = choices.child_page(world.ada.id, a.id)
    assert page.notice is not None and page.notice.version == 2 and page.notice_changed


def test_a_card_says_which_answer_stands_and_why_a_yes_needs_renewing(world: World) -> None:
    """`standing` is the answer whose button is pressed (none for a yes that needs renewing);
    `renewal_reason` is one reason: the wording, which comes first, or the period, with the
    day it ran out (`lapsed_at`)."""
    p = world.oak.purposes
    a = world.oak.pupils["A"]
    record(world.ada, p["photos-website"], "grant", pupil=a, now=T0)
    record(world.ada, p["local-paper"], "grant", pupil=a, now=T0)  # renewed every 30 days
    record(world.ada, p["trip-videos"], "withdraw", pupil=a, now=T0)
    page = choices.child_page(world.ada.id, a.id, now=T0 + timedelta(days=1))
    website, paper, trips = page.consent
    assert (website.standing, paper.standing, trips.standing) == ("grant", "grant", "withdraw")
    assert website.renewal_reason is None and website.lapsed_at is None
    assert page.objection[0].standing is None  # no yes or no on an objection
    assert page.need_answer == 0

    later = choices.child_page(world.ada.id, a.id, now=T0 + timedelta(days=31)).consent[1]
    assert later.standing is None and later.renewal_reason == "period"
    assert later.lapsed_at == T0 + timedelta(days=30)

    # Reworded as well as lapsed: the wording is the reason, stated alone.
    reworded_text = PURPOSES_OF_EVERY_KIND.replace(
        "Photos and first names in the local newspaper.", "Photos and full names in the paper."
    )
    purposes.load(world.oak.school, reworded_text)
    reworded = choices.child_page(world.ada.id, a.id, now=T0 + timedelta(days=31)).consent[1]
    assert reworded.renewal_reason == "wording"
    assert [(c.change, c.text) for c in reworded.changes] == [
        (choices.Change.SAME, "Photos and"),
        (choices.Change.REMOVED, "first"),
        (choices.Change.ADDED, "full"),
        (choices.Change.SAME, "names in the"),
        (choices.Change.REMOVED, "local newspaper."),
        (choices.Change.ADDED, "paper."),
    ]
    assert reworded.title_changes == ()  # the title did not change
    page = choices.child_page(world.ada.id, a.id, now=T0 + timedelta(days=31))
    assert page.need_answer == 1  # the local paper again; the no to the trips stands


def test_word_diff_marks_the_words_removed_and_added() -> None:
    """Words, not letters: each place the wordings differ is the words removed then the words
    added; white space is folded; the same wording is one run."""
    diff = choices.word_diff
    same, removed, added = choices.Change.SAME, choices.Change.REMOVED, choices.Change.ADDED
    assert [(p.change, p.text) for p in diff("Photos on the website.", "Photos and videos "
                                              "on the  website\nand Instagram.")] == [
        (same, "Photos"),
        (added, "and videos"),
        (same, "on the"),
        (removed, "website."),
        (added, "website and Instagram."),
    ]  # fmt: skip
    assert [(p.change, p.text) for p in diff("One two.", "One two.")] == [(same, "One two.")]
    assert [(p.change, p.text) for p in diff("", "New.")] == [(added, "New.")]
    assert [(p.change, p.text) for p in diff("Old.", "")] == [(removed, "Old.")]


# --- deciding ------------------------------------------------------------------------------


def test_decide_for_two_siblings_makes_two_events_with_consecutive_seqs(world: World) -> None:
    a, b = oak_pupil(world, "A"), oak_pupil(world, "B")
    photos = world.oak.purposes["photos-website"].id
    events = choices.decide(world.ada.id, [a, b], photos, "grant", now=T0)
    assert [e.pupil_id for e in events] == [a, b]
    assert [e.seq for e in events] == [events[0].seq, events[0].seq + 1]
    assert {(e.channel, e.actor_type, e.actor_id, e.guardian_id) for e in events} == {
        ("web", "guardian", world.ada.id, world.ada.id)
    }
    for pupil in (a, b):
        own = choices.child_page(world.ada.id, pupil, now=T0).consent[0].own
        assert own is not None and own.decision == "grant" and own.seq in {e.seq for e in events}
    assert ledger.verify().ok


def test_decisions_that_do_not_fit_are_refused_by_the_ledger(world: World) -> None:
    a = oak_pupil(world, "A")
    p = world.oak.purposes
    before = snapshot(world.oak.id)
    with pytest.raises(ledger.LedgerError):
        choices.decide(world.ada.id, [a], p["photos-website"].id, "object")
    with pytest.raises(ledger.LedgerError):
        choices.decide(world.ada.id, [a], p["school-census"].id, "grant")
    # Marketing is decided per person, on its own page: not a purpose of a child's page.
    with pytest.raises(NotFound):
        choices.decide(world.ada.id, [a], p["marketing-emails"].id, "grant")
    assert snapshot(world.oak.id) == before


# --- query counts --------------------------------------------------------------------------


def test_summary_and_child_page_use_a_fixed_number_of_queries(app: Any) -> None:
    setup = build_school("oak-primary", "Oak Primary School", OAK_FAMILIES, "office@oak.example")
    families = {"P1": [("pat@example.org", True)]}
    families |= {f"S{i}": [("sam@example.org", True), ("sid@example.org", True)] for i in range(6)}
    pupils = make_families(setup.school, families=families)
    guardians = {g.email.split("@")[0]: g for g in db.session.query(Guardian)}
    photos, paper = setup.purposes["photos-website"], setup.purposes["local-paper"]
    record(guardians["pat"], photos, "grant", pupil=pupils["P1"], now=T0)
    for i in range(6):
        record(guardians["sam"], photos, "grant", pupil=pupils[f"S{i}"], now=T0)
        record(guardians["sid"], paper, "grant", pupil=pupils[f"S{i}"], now=T0)
    db.session.commit()

    def queries(call: Any) -> int:
        db.session.commit()  # each call starts its own transaction (and its BEGIN)
        with counting_queries() as statements:
            call()
        return len(statements)

    pat, sam = guardians["pat"].id, guardians["sam"].id
    # The school's purposes are kept for its generation (portal/school_cache.py): the first
    # page of the school reads them, the next ones do not.
    choices.family_summary(pat, now=T0)
    one = queries(lambda: choices.family_summary(pat, now=T0))
    six = queries(lambda: choices.family_summary(sam, now=T0))
    assert one == six
    assert [c.text for c in choices.family_summary(sam, now=T0)[0].children] == [
        "2 choices need your answer"
    ] * 6

    one = queries(lambda: choices.child_page(pat, pupils["P1"].id, now=T0))
    six = queries(lambda: choices.child_page(sam, pupils["S0"].id, now=T0))
    assert one == six
    assert len(choices.child_page(sam, pupils["S0"].id).siblings) == 5


# --- the page's language -------------------------------------------------------------------


def test_a_page_in_another_language_words_each_purpose_as_the_school_translated_it(
    world: World,
) -> None:
    p = world.oak.purposes
    a = oak_pupil(world, "A")
    purposes.translate(world.oak.id, p["photos-website"].id, version=1, language="pl",
                       title="Zdjęcia", description="Zdjęcia na stronie.",
                       staff=world.oak.staff)  # fmt: skip
    page = choices.child_page(world.ada.id, a, language="pl")
    website = page.card(p["photos-website"].id)
    assert website is not None
    assert website.wording == purposes.Wording("Zdjęcia", "Zdjęcia na stronie.", "pl")
    paper = page.card(p["local-paper"].id)
    assert paper is not None
    assert paper.wording == purposes.Wording(
        "Photos in the local paper", "Photos and first names in the local newspaper.", "en", True
    )
    census = page.wordings[p["school-census"].id]
    assert (census.language, census.fallback) == ("en", True)
    english = choices.child_page(world.ada.id, a)
    assert english.card(p["photos-website"].id).wording.language == "en"  # type: ignore[union-attr]
    assert not any(w.fallback for w in english.wordings.values())


def test_the_answered_wording_is_shown_in_the_page_language_when_translated(
    world: World,
) -> None:
    p = world.oak.purposes["photos-website"]
    a = oak_pupil(world, "A")
    purposes.translate(world.oak.id, p.id, version=1, language="pl", title="Zdjęcia",
                       description="Zdjęcia na stronie.", staff=world.oak.staff)  # fmt: skip
    record(world.ada, p, "grant", pupil=a, now=T0)
    purposes.load(world.oak.school, PURPOSES_OF_EVERY_KIND.replace(
        "Photos of school life on the school website.", "Photos and videos."))  # fmt: skip
    item = choices.child_page(world.ada.id, a, language="pl").card(p.id)
    assert item is not None
    assert (item.answered_wording, item.answered_language) == ("Zdjęcia na stronie.", "pl")
    assert (item.wording.description, item.wording.fallback) == ("Photos and videos.", True)
    item = choices.child_page(world.ada.id, a, language="ur").card(p.id)
    assert item is not None
    assert (item.answered_wording, item.answered_language) == (
        "Photos of school life on the school website.", "en",
    )  # fmt: skip


def test_decide_records_the_language_of_the_wording_the_page_showed(world: World) -> None:
    p = world.oak.purposes
    a, b = oak_pupil(world, "A"), oak_pupil(world, "B")
    purposes.translate(world.oak.id, p["photos-website"].id, version=1, language="pa-Guru",
                       title="ਫੋਟੋਆਂ", description="ਸਕੂਲ ਦੀ ਵੈੱਬਸਾਈਟ ਉੱਤੇ ਫੋਟੋਆਂ।",
                       staff=world.oak.staff)  # fmt: skip
    [both] = [choices.decide(world.ada.id, [a, b], p["photos-website"].id, "grant",
                             language="pa-Guru")]  # fmt: skip
    assert [e.language for e in both] == ["pa-Guru", "pa-Guru"]
    [no_translation] = choices.decide(world.ada.id, [a], p["local-paper"].id, "grant",
                                      language="pa-Guru")  # fmt: skip
    [unknown] = choices.decide(world.ada.id, [a], p["trip-videos"].id, "grant", language="de")
    [default] = choices.decide(world.ada.id, [b], p["trip-videos"].id, "grant")
    assert (no_translation.language, unknown.language, default.language) == ("en", "en", "en")
    assert '"language":"pa-Guru"' in ledger.event_canonical(both[0])
    assert ledger.verify().ok
