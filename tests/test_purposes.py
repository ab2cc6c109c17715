from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import purposes
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Purpose, PurposeVersion
from tests.support.factories import make_school

EXAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "purposes.toml").read_text(
    encoding="utf-8"
)
KEYS = ["photos-website", "photos-press", "class-photos-display", "school-census",
        "marketing-emails"]  # fmt: skip

ONE = """
[[purposes]]
key = "photos-website"
title = "Photos on the website"
description = "Photos of school life on the school website."
choice = "consent"
lawful_basis = "consent"
"""


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def purpose(key: str) -> Purpose:
    return db.session.scalars(select(Purpose).where(Purpose.key == key)).one()


def test_loading_the_example_creates_five_purposes_at_version_one(app):
    school = make_school()
    report = purposes.load(school, EXAMPLE)

    assert report.created == KEYS
    assert (report.reworded, report.updated, report.unchanged) == ([], [], [])
    loaded = purposes.for_school(school)
    assert [p.key for p in loaded] == KEYS
    assert all(p.version == 1 for p in loaded)
    assert count(PurposeVersion) == 5
    for p in loaded:
        [version] = p.versions
        assert (version.version, version.title, version.description) == (
            1, p.title, p.description,
        )  # fmt: skip


def test_the_example_file_sets_every_field(app):
    school = make_school()
    purposes.load(school, EXAMPLE)
    website = purpose("photos-website")
    assert (website.choice, website.lawful_basis, website.scope) == ("consent", "consent", "pupil")
    assert (website.renewal, website.renewal_days) == ("academic_year", None)
    assert website.guardian_rule == "any_objection_blocks"
    assert website.publishable is True and website.marketing is False
    assert website.description.startswith("We would like to use photos")
    assert not website.description.endswith("\n")
    assert website.shared_with.startswith("Anyone who visits")
    display = purpose("class-photos-display")
    assert (display.choice, display.lawful_basis) == ("objection", "public_task")
    census = purpose("school-census")
    assert (census.choice, census.lawful_basis) == ("none", "legal_obligation")
    marketing = purpose("marketing-emails")
    assert (marketing.scope, marketing.marketing) == ("guardian", True)


def test_loading_the_same_file_again_reports_everything_unchanged(app):
    school = make_school()
    purposes.load(school, EXAMPLE)
    stamps = {p.key: p.updated_at for p in purposes.for_school(school)}

    report = purposes.load(school, EXAMPLE)

    assert report.unchanged == KEYS
    assert (report.created, report.reworded, report.updated) == ([], [], [])
    assert count(Purpose) == 5 and count(PurposeVersion) == 5
    db.session.expire_all()
    assert {p.key: p.updated_at for p in purposes.for_school(school)} == stamps


def test_changing_a_description_makes_version_two_and_keeps_the_first_wording(app):
    school = make_school()
    purposes.load(school, EXAMPLE)
    old = purpose("photos-press").description
    changed = EXAMPLE.replace("print children's first names", "print children's full names")

    report = purposes.load(school, changed)

    assert report.reworded == ["photos-press"]
    assert len(report.unchanged) == 4
    db.session.expire_all()
    press = purpose("photos-press")
    assert press.version == 2
    assert "full names" in press.description
    assert [(v.version, v.description) for v in press.versions] == [
        (1, old),
        (2, press.description),
    ]
    assert count(PurposeVersion) == 6


def test_changing_a_title_makes_a_new_version_too(app):
    school = make_school()
    purposes.load(school, ONE)
    purposes.load(school, ONE.replace("Photos on the website", "Photos on our website"))
    purposes.load(school, ONE)  # back to the first words: still a new version
    db.session.expire_all()
    website = purpose("photos-website")
    assert website.version == 3
    assert [v.title for v in website.versions] == [
        "Photos on the website", "Photos on our website", "Photos on the website",
    ]  # fmt: skip


def test_changing_only_a_setting_updates_without_a_new_version(app):
    school = make_school()
    purposes.load(school, EXAMPLE)
    changed = EXAMPLE.replace(
        'lawful_basis = "public_task"\npublishable = false',
        'lawful_basis = "public_task"\npublishable = true',
    )
    assert changed != EXAMPLE

    report = purposes.load(school, changed)

    assert report.updated == ["class-photos-display"]
    assert report.reworded == []
    db.session.expire_all()
    display = purpose("class-photos-display")
    assert (display.publishable, display.version) == (True, 1)
    assert count(PurposeVersion) == 5


def test_renewal_in_days_keeps_the_number_of_days(app):
    school = make_school()
    purposes.load(school, ONE + 'renewal = "days"\nrenewal_days = 365\n')
    website = purpose("photos-website")
    assert (website.renewal, website.renewal_days) == ("days", 365)

    report = purposes.load(school, ONE + 'renewal = "academic_year"\n')
    assert report.updated == ["photos-website"]
    db.session.expire_all()
    assert (purpose("photos-website").renewal, purpose("photos-website").renewal_days) == (
        "academic_year", None,
    )  # fmt: skip


def test_each_school_has_its_own_purposes(app):
    oak = make_school(slug="oak-primary")
    ash = make_school(slug="ash-academy", name="Ash Academy")
    purposes.load(oak, EXAMPLE)
    report = purposes.load(ash, ONE.replace("Photos on the website", "Ash photos"))
    assert report.created == ["photos-website"]
    assert [p.key for p in purposes.for_school(ash)] == ["photos-website"]
    assert len(purposes.for_school(oak)) == 5
    oak_website = next(p for p in purposes.for_school(oak) if p.key == "photos-website")
    assert (oak_website.title, oak_website.version) == (
        "Photos on the school website and social media", 1,
    )  # fmt: skip


def test_a_purpose_left_out_of_the_file_is_retired_and_comes_back_when_listed(app):
    school = make_school()
    purposes.load(school, EXAMPLE)
    without_press = EXAMPLE.replace('key = "photos-press"', 'key = "photos-newspaper"')

    report = purposes.load(school, without_press)

    assert report.created == ["photos-newspaper"]
    assert report.retired == ["photos-press"]
    assert "photos-press" not in [p.key for p in purposes.for_school(school)]
    # Kept, with its wording, because decisions refer to it.
    assert "photos-press" in [p.key for p in purposes.for_school(school, active_only=False)]

    again = purposes.load(school, EXAMPLE)
    assert again.updated == ["photos-press"]
    assert again.retired == ["photos-newspaper"]
    db.session.expire_all()
    assert purpose("photos-press").active and purpose("photos-press").version == 1


def bad(entry: str) -> str:
    return "[[purposes]]\n" + entry


BASE = """key = "p"
title = "T"
description = "D"
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("this is [not toml", "not valid TOML"),
        (ONE + 'key = "again"\n', "not valid TOML"),  # a key twice in one table
        ("title = 'no purposes here'\n", "at least one [[purposes]] table"),
        ("purposes = ['a', 'b']\n", "purpose 1: must be a table"),
        (ONE + 'colour = "blue"\n', "unknown field(s) colour"),
        (ONE + "[[purpose]]\nkey = 'typo'\n", "unknown section(s) purpose"),
        (bad(BASE + 'choice = "maybe"\nlawful_basis = "consent"\n'),
         "choice must be one of consent, none, objection"),
        (bad(BASE + 'choice = ["consent"]\nlawful_basis = "consent"\n'),
         "choice must be one of"),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "because"\n'),
         "lawful_basis must be one of"),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "public_task"\n'),
         'a "consent" choice needs lawful_basis = "consent"'),
        (bad(BASE + 'choice = "objection"\nlawful_basis = "legal_obligation"\n'),
         'an "objection" choice needs lawful_basis "public_task" or "legitimate_interests"'),
        (bad(BASE + 'choice = "none"\nlawful_basis = "consent"\n'),
         'processing based on consent must offer choice = "consent"'),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "consent"\nrenewal = "days"\n'),
         'renewal = "days" needs renewal_days'),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "consent"\nrenewal = "days"\n'
                    "renewal_days = 0\n"),
         'renewal = "days" needs renewal_days'),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "consent"\nrenewal_days = 30\n'),
         'renewal_days only goes with renewal = "days"'),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "consent"\nmarketing = true\n'),
         'marketing needs choice = "consent" and scope = "guardian"'),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "consent"\npublishable = "yes"\n'),
         "publishable must be true or false"),
        (bad(BASE + 'choice = "consent"\nlawful_basis = "consent"\nshared_with = 3\n'),
         "shared_with must be text"),
        (bad('key = "Photos Website"\ntitle = "T"\ndescription = "D"\nchoice = "consent"\n'
             'lawful_basis = "consent"\n'),
         "key 'Photos Website' must be lower-case letters"),
        (bad('key = "p"\ndescription = "D"\nchoice = "consent"\nlawful_basis = "consent"\n'),
         "title is required"),
        (bad('key = "p"\ntitle = "T"\ndescription = "  "\nchoice = "consent"\n'
             'lawful_basis = "consent"\n'),
         "description is required"),
        (ONE + ONE.replace("Photos on the website", "Other"),
         "purpose 2 (photos-website): the key 'photos-website' appears twice"),
    ],
)  # fmt: skip
def test_an_invalid_file_is_refused_and_loads_nothing(app, text, problem):
    school = make_school()
    with pytest.raises(purposes.PurposesFileError) as refused:
        purposes.load(school, text)
    assert any(problem in p for p in refused.value.problems), refused.value.problems
    assert count(Purpose) == 0 and count(PurposeVersion) == 0


def test_every_problem_in_a_file_is_listed(app):
    school = make_school()
    text = (
        bad(BASE + 'choice = "consent"\nlawful_basis = "public_task"\n')
        + bad('key = "q"\ntitle = "T"\ndescription = "D"\nchoice = "objection"\n'
              'lawful_basis = "legal_obligation"\nrenewal = "days"\nsize = 3\n')
        + bad('key = "m"\ntitle = "T"\ndescription = "D"\nchoice = "consent"\n'
              'lawful_basis = "consent"\nmarketing = true\n')
        + ONE
    )  # fmt: skip
    with pytest.raises(purposes.PurposesFileError) as refused:
        purposes.load(school, text)
    problems = refused.value.problems
    assert problems == [
        'purpose 1 (p): a "consent" choice needs lawful_basis = "consent"',
        "purpose 2 (q): unknown field(s) size",
        'purpose 2 (q): renewal = "days" needs renewal_days, a whole number > 0',
        'purpose 2 (q): an "objection" choice needs lawful_basis "public_task" or '
        '"legitimate_interests" (the right to object applies to those)',
        'purpose 3 (m): marketing needs choice = "consent" and scope = "guardian" '
        "(electronic marketing needs the person's own consent)",
    ]
    assert count(Purpose) == 0


def test_changing_the_choice_kind_of_an_existing_purpose_is_refused(app):
    school = make_school()
    purposes.load(school, EXAMPLE)
    changed = EXAMPLE.replace(
        'choice = "objection"\nlawful_basis = "public_task"',
        'choice = "consent"\nlawful_basis = "consent"',
    ).replace("print children's first names", "print children's full names")

    with pytest.raises(purposes.PurposesFileError) as refused:
        purposes.load(school, changed)

    assert refused.value.problems == [
        "class-photos-display: its choice cannot change from 'objection' to 'consent'; "
        "add a purpose with a new key instead"
    ]
    db.session.expire_all()
    assert purpose("class-photos-display").choice == "objection"
    # Nothing else in the refused file was applied either.
    assert purpose("photos-press").version == 1
    assert count(PurposeVersion) == 5


def test_changing_the_scope_of_an_existing_purpose_is_refused(app):
    school = make_school()
    purposes.load(school, ONE)
    with pytest.raises(purposes.PurposesFileError, match="its scope cannot change"):
        purposes.load(school, ONE + 'scope = "guardian"\n')
    db.session.expire_all()
    assert purpose("photos-website").scope == "pupil"


# --- take-down days and what happens when a pupil leaves ------------------------------------

LEAVING = """
[[purposes]]
key = "photos-website"
title = "Photos on the school website"
description = "Photos of school life on the school website."
choice = "consent"
lawful_basis = "consent"
publishable = true
takedown_days = 3
on_leaving = "remove"
leaving_days = 10

[[purposes]]
key = "class-photos"
title = "Class photos on display"
description = "Class photos on the display boards."
choice = "objection"
lawful_basis = "public_task"
keep_months = 6
"""


def test_the_file_says_how_fast_and_what_happens_when_a_pupil_leaves(app):
    school = make_school()
    purposes.load(school, LEAVING)
    website, display = purpose("photos-website"), purpose("class-photos")
    assert (website.takedown_days, website.on_leaving, website.leaving_days) == (3, "remove", 10)
    assert (display.on_leaving, display.keep_months, display.takedown_days) == ("keep", 6, None)
    example = make_school(slug="ash", name="Ash")
    purposes.load(example, EXAMPLE)
    found = {
        p.key: (p.takedown_days, p.on_leaving, p.leaving_days)
        for p in db.session.scalars(select(Purpose).where(Purpose.school_id == example.id))
    }
    assert found["photos-website"] == (5, "remove", 5)
    assert found["class-photos-display"] == (None, "review", 10)
    assert found["school-census"] == (None, "keep", None)


@pytest.mark.parametrize(
    "change, problem",
    [
        ('on_leaving = "shred"', "on_leaving must be one of keep, remove, review"),
        ("takedown_days = 61", "takedown_days must be a whole number from 0 to 60"),
        ('takedown_days = "5"', "takedown_days must be a whole number from 0 to 60"),
        (
            'on_leaving = "remove"\nleaving_days = -1',
            "leaving_days must be a whole number from 0 to 60",
        ),
        ("keep_months = 1201", "keep_months must be a whole number from 0 to 1200"),
        ("leaving_days = 5", 'leaving_days only goes with on_leaving = "remove" or "review"'),
        (
            'on_leaving = "review"\nkeep_months = 6',
            'keep_months only goes with on_leaving = "keep"',
        ),
        (
            "publishable = false\ntakedown_days = 2",
            "takedown_days only goes with publishable = true",
        ),
    ],
)
def test_leaving_and_take_down_settings_are_checked(app, change, problem):
    school = make_school()
    text = (
        """
[[purposes]]
key = "photos-website"
title = "Photos on the school website"
description = "Photos of school life on the school website."
choice = "consent"
lawful_basis = "consent"
"""
        + ("" if "publishable" in change else "publishable = true\n")
        + change
        + "\n"
    )
    with pytest.raises(purposes.PurposesFileError) as refused:
        purposes.load(school, text)
    assert refused.value.problems == [f"purpose 1 (photos-website): {problem}"]
    assert db.session.scalar(select(func.count()).select_from(Purpose)) == 0


# --- translations of the wording ---------------------------------------------------------

POLISH = """
[purposes.translations.pl]
title = "Zdjęcia na stronie"
description = "Zdjęcia z życia szkoły na stronie szkoły."
"""
WELSH = """
[purposes.translations.cy]
title = "Lluniau ar y wefan"
description = "Lluniau o fywyd yr ysgol ar wefan yr ysgol."
"""


def translations(key: str) -> list[tuple[int, str, str, str]]:
    from portal.models import PurposeTranslation

    return [
        (t.version, t.language, t.title, t.description)
        for t in db.session.scalars(
            select(PurposeTranslation)
            .join(Purpose, Purpose.id == PurposeTranslation.purpose_id)
            .where(Purpose.key == key)
            .order_by(PurposeTranslation.version, PurposeTranslation.language)
        )
    ]


def test_the_example_file_translates_a_purpose_into_polish(app):
    school = make_school()
    report = purposes.load(school, EXAMPLE)
    assert report.translated == ["photos-website (pl)"]
    [(version, language, title, description)] = translations("photos-website")
    assert (version, language) == (1, "pl")
    assert title == "Zdjęcia na stronie internetowej szkoły i w mediach społecznościowych"
    assert description.startswith("Chcielibyśmy publikować zdjęcia")
    assert not description.startswith("\n") and not description.endswith("\n")
    # Loading it again changes nothing.
    assert purposes.load(school, EXAMPLE).translated == []
    assert len(translations("photos-website")) == 1


def test_a_file_adds_translations_to_the_wording_it_gives(app):
    school = make_school()
    purposes.load(school, ONE + POLISH)
    report = purposes.load(school, ONE + POLISH + WELSH)  # a language added later
    assert report.translated == ["photos-website (cy)"]
    assert report.unchanged == ["photos-website"]
    assert [(v, lang) for v, lang, _, _ in translations("photos-website")] == [
        (1, "cy"), (1, "pl"),
    ]  # fmt: skip
    # Left out of the file, a translation stays: it is the record of what was shown.
    assert purposes.load(school, ONE).translated == []
    assert len(translations("photos-website")) == 2


def test_a_new_english_wording_does_not_carry_the_old_translations_forward(app):
    school = make_school()
    purposes.load(school, ONE + POLISH)
    reworded = ONE.replace("Photos of school life", "Photos and videos of school life")
    report = purposes.load(school, reworded)
    assert report.reworded == ["photos-website"] and report.translated == []
    db.session.expire_all()
    website = purpose("photos-website")
    assert website.version == 2
    # Version 1 keeps its Polish; version 2 has none, so a Polish page shows the English.
    assert [(v, lang) for v, lang, _, _ in translations("photos-website")] == [(1, "pl")]
    [shown] = purposes.wordings([website], "pl").values()
    assert (shown.title, shown.language, shown.fallback) == ("Photos on the website", "en", True)
    # The new wording's translation, given with it, belongs to version 2.
    again = reworded.replace("Photos and videos", "Photos, videos")
    report = purposes.load(school, again + POLISH.replace("Zdjęcia z życia", "Zdjęcia i filmy"))
    assert report.translated == ["photos-website (pl)"] and report.translated_as_before == []
    assert [(v, lang) for v, lang, _, _ in translations("photos-website")] == [
        (1, "pl"), (3, "pl"),
    ]  # fmt: skip


def test_a_translation_kept_word_for_word_through_a_new_wording_is_reported(app):
    school = make_school()
    purposes.load(school, ONE + POLISH)
    reworded = ONE.replace("Photos of school life", "Photos and videos of school life")
    report = purposes.load(school, reworded + POLISH)
    assert report.translated == ["photos-website (pl)"]
    assert report.translated_as_before == ["photos-website (pl)"]


def test_a_translation_of_a_wording_cannot_change_and_the_file_loads_nothing(app):
    school = make_school()
    purposes.load(school, ONE + POLISH)
    changed = ONE + POLISH.replace("na stronie szkoły", "na szkolnej stronie") + WELSH
    with pytest.raises(purposes.PurposesFileError) as refused:
        purposes.load(school, changed)
    assert refused.value.problems == [
        "purpose 1 (photos-website): translations.pl: wording version 1 already has a Polish "
        "translation that says something else, and a translation cannot change; to change "
        "it, change the English wording too (a new version)"
    ]
    db.session.rollback()
    assert [(v, lang) for v, lang, _, _ in translations("photos-website")] == [(1, "pl")]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('[purposes.translations.en]\ntitle = "A"\ndescription = "B"\n',
         "translations.en: English is the purpose's own wording; a translation is into "
         "another language"),
        ('[purposes.translations.de]\ntitle = "A"\ndescription = "B"\n',
         "translations.de: 'de' is not a language the portal offers; use one of cy, pl, ur, "
         "pa-Guru, gu, bn, so, ar"),
        ('[purposes.translations.pl]\ntitle = "A"\n',
         "translations.pl: description is required"),
        ('[purposes.translations.pl]\ntitle = "A\\nB"\ndescription = "B"\n',
         "translations.pl: title "),
        (f'[purposes.translations.pl]\ntitle = "{"a" * 201}"\ndescription = "B"\n',
         "translations.pl: title is longer than 200 characters"),
        ('[purposes.translations.pl]\ntitle = "A"\ndescription = "B"\nshared_with = "C"\n',
         "translations.pl: unknown field(s) shared_with: a translation has a title and a "
         "description"),
        ('[purposes.translations]\npl = "Zdjęcia"\n',
         "translations.pl must be a table with a title and a description, written "
         "[purposes.translations.pl]"),
        ('translations = "pl"\n',
         "translations must be tables, one per language, written [purposes.translations.pl] "
         "with a title and a description"),
        ('[purposes.translations.pl]\ntitle = "A"\ndescription = "B"\n'
         '[purposes.translations.PL-pl]\ntitle = "C"\ndescription = "D"\n',
         "translations.PL-pl: Polish is given twice (as pl and PL-pl)"),
    ],
)  # fmt: skip
def test_a_translation_in_the_file_is_checked_and_nothing_is_loaded(app, table, problem):
    school = make_school()
    with pytest.raises(purposes.PurposesFileError) as refused:
        purposes.load(school, ONE + table)
    [found] = refused.value.problems
    assert found.startswith(f"purpose 1 (photos-website): {problem}"), found
    assert count(Purpose) == 0


def test_a_page_shows_the_translation_in_its_language_or_the_english_flagged(app):
    school = make_school()
    purposes.load(school, ONE + POLISH)
    website = purpose("photos-website")
    polish = purposes.wordings([website], "pl")[website.id]
    assert polish == purposes.Wording(
        "Zdjęcia na stronie", "Zdjęcia z życia szkoły na stronie szkoły.", "pl"
    )
    for page, fallback in [("en", False), (None, False), ("ur", True), ("en-XA", True)]:
        shown = purposes.wordings([website], page)[website.id]
        assert shown == purposes.Wording(website.title, website.description, "en", fallback)
    assert purposes.wordings([], "pl") == {}


def test_an_english_page_reads_no_translation(app):
    from sqlalchemy import event

    school = make_school()
    purposes.load(school, ONE + POLISH)
    website = purpose("photos-website")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        purposes.wordings([website], "en")
        assert statements == []
        purposes.wordings([website], "pl")
        assert len(statements) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# --- purpose templates and the biometric rule ------------------------------------------------


@pytest.mark.parametrize("template", purposes.TEMPLATES, ids=lambda t: t.key)
def test_every_template_is_a_valid_purpose_whose_choice_fits_its_lawful_basis(template):
    """Each template passes the checks of the purposes file as it is, and what it fixes is
    what it says: no template leaves the kind of choice or the lawful basis to the admin."""
    spec, problems = purposes.check(template.entry)
    assert problems == [] and spec is not None
    assert spec.key == template.key
    fixed = template.fixed()
    assert {name: getattr(spec, name) for name in fixed} == fixed
    assert template.why and template.name


def test_the_templates_cover_the_common_school_purposes_honestly():
    found = {t.key: t.fixed() for t in purposes.TEMPLATES}
    assert set(found) == {
        "photos-website", "photos-social-media", "photos-press", "class-photographs", "cctv",
        "marketing-emails", "biometric-recognition",
    }  # fmt: skip
    # Publication and marketing are asked for; class photos can be objected to; CCTV is told.
    for key in ("photos-website", "photos-social-media", "photos-press"):
        assert (found[key]["choice"], found[key]["lawful_basis"]) == ("consent", "consent")
        assert found[key]["publishable"]
    assert (found["class-photographs"]["choice"], found["class-photographs"]["lawful_basis"]) == (
        "objection",
        "public_task",
    )
    assert (found["cctv"]["choice"], found["cctv"]["lawful_basis"]) == ("none", "public_task")
    assert found["marketing-emails"]["marketing"] and found["marketing-emails"]["scope"] == (
        "guardian"
    )
    biometric = found["biometric-recognition"]
    assert (biometric["choice"], biometric["guardian_rule"], biometric["scope"]) == (
        "consent",
        "biometric",
        "pupil",
    )
    assert not biometric["publishable"]
    with pytest.raises(NotFound):
        purposes.template("vital-interests")


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            {"choice": "objection", "lawful_basis": "public_task"},
            "guardian_rule",
            'guardian_rule = "biometric" needs choice = "consent" and scope = "pupil"',
        ),
        (
            {"scope": "guardian"},
            "guardian_rule",
            'guardian_rule = "biometric" needs choice = "consent" and scope = "pupil"',
        ),
        (
            {"publishable": True},
            "publishable",
            'guardian_rule = "biometric" does not go with publishable = true',
        ),
    ],
    ids=["objection", "per-person", "publishable"],
)
def test_the_biometric_rule_needs_a_consent_choice_per_child_never_published(change, field,
                                                                             problem):  # fmt: skip
    entry = {**purposes.template("biometric-recognition").entry, **change}
    spec, problems = purposes.check(entry)
    assert spec is None
    assert any(p.field == field and problem in p.message for p in problems), problems


def test_a_purposes_file_may_use_the_biometric_rule(app):
    school = make_school()
    biometric = ONE + 'guardian_rule = "biometric"\n'
    report = purposes.load(school, biometric)
    assert report.created == ["photos-website"]
    assert purpose("photos-website").guardian_rule == "biometric"
