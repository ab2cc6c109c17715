from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from portal import roster
from portal.extensions import db
from portal.models import Guardian, GuardianLink, Pupil, SchoolContact
from tests.support.factories import make_school

SAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "roster-example.csv").read_text(
    encoding="utf-8"
)
HEADER = ",".join(roster.REQUIRED_COLUMNS)


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> tuple[int, int, int]:
    return count(Pupil), count(Guardian), count(GuardianLink)


def pupil(mis_id: str, school=None) -> Pupil:
    query = select(Pupil).where(Pupil.mis_id == mis_id)
    if school is not None:
        query = query.where(Pupil.school_id == school.id)
    return db.session.scalars(query).one()


def guardian(email: str) -> Guardian:
    return db.session.scalars(select(Guardian).where(Guardian.email == email)).one()


def name_at(school, person: Guardian) -> tuple[str, str]:
    """The name `school` holds for `person` (its SchoolContact)."""
    contact = db.session.scalars(
        select(SchoolContact).where(
            SchoolContact.school_id == school.id, SchoolContact.guardian_id == person.id
        )
    ).one()
    return contact.forename, contact.surname


def link(mis_id: str, email: str) -> GuardianLink:
    return db.session.scalars(
        select(GuardianLink)
        .join(Pupil, GuardianLink.pupil_id == Pupil.id)
        .join(Guardian, GuardianLink.guardian_id == Guardian.id)
        .where(Pupil.mis_id == mis_id, Guardian.email == email)
    ).one()


def test_importing_the_sample_creates_its_pupils_guardians_and_links(app):
    school = make_school()
    report = roster.import_roster(school, SAMPLE)
    # 8 pupils; 11 people (Farah has two children); one link per row.
    assert counts() == (8, 11, 12)
    assert report.summary() == "12 rows: 12 created, 0 updated, 0 unchanged, 0 rejected"
    assert (report.pupils_created, report.guardians_created) == (8, 11)
    amira = pupil("A1001")
    assert (amira.forename, amira.surname, amira.year_group, amira.class_name) == (
        "Amira", "Hussain", "3", "3 Oak",
    )  # fmt: skip
    assert amira.on_roll and amira.left_on is None
    assert pupil("A1003").forename == "Zoë"


def test_importing_the_same_file_twice_gives_the_same_rows(app):
    school = make_school()
    roster.import_roster(school, SAMPLE)
    before = counts()
    stamps = {p.mis_id: p.updated_at for p in db.session.scalars(select(Pupil))}

    again = roster.import_roster(school, SAMPLE)

    assert counts() == before
    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)
    assert again.summary() == "12 rows: 0 created, 0 updated, 12 unchanged, 0 rejected"
    assert (again.pupils_created, again.pupils_updated, again.guardians_created) == (0, 0, 0)
    assert again.links_ended == 0
    db.session.expire_all()
    assert {p.mis_id: p.updated_at for p in db.session.scalars(select(Pupil))} == stamps


def test_emails_differing_only_in_capitals_are_one_guardian_of_two_pupils(app):
    school = make_school()
    roster.import_roster(school, SAMPLE)
    farah = guardian("farah.hussain@example.org")
    assert sorted(link.pupil.mis_id for link in farah.links) == ["A1001", "A1002"]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Guardian)
            .where(func.lower(Guardian.email) == "farah.hussain@example.org")
        )
        == 1
    )
    # Stored in one normal form, lower-case.
    assert name_at(school, guardian("imran.h@example.net"))[0] == "Imran"


def test_a_guardian_with_children_in_two_schools_is_one_guardian(app):
    oak = make_school(slug="oak-primary")
    ash = make_school(slug="ash-academy", name="Ash Academy")
    roster.import_roster(
        oak, csv_text("P1,Amira,Hussain,3,3 Oak,Farah,Hussain,farah.hussain@example.org,Mother,yes")
    )
    roster.import_roster(
        ash, csv_text("P1,Omar,Hussain,9,9X,Farah,Hussain,FARAH.HUSSAIN@example.org,Mother,yes")
    )
    assert count(Guardian) == 1
    farah = guardian("farah.hussain@example.org")
    assert sorted((link.school_id, link.pupil.forename) for link in farah.links) == sorted(
        [(oak.id, "Amira"), (ash.id, "Omar")]
    )


def test_a_contact_without_an_email_is_kept_and_not_duplicated_on_reimport(app):
    school = make_school()
    roster.import_roster(school, SAMPLE)
    paper = db.session.scalars(select(Guardian).where(Guardian.email.is_(None))).one()
    assert name_at(school, paper) == ("Mary", "O'Brien")
    assert [(link.pupil.mis_id, link.parental_responsibility) for link in paper.links] == [
        ("A1003", False)
    ]

    roster.import_roster(school, SAMPLE)
    roster.import_roster(school, SAMPLE.replace("Mary,O'Brien,,", "MARY,o'brien,,"))

    assert (
        db.session.scalar(
            select(func.count()).select_from(Guardian).where(Guardian.email.is_(None))
        )
        == 1
    )
    assert count(GuardianLink) == 12


def test_header_is_matched_case_insensitively_with_extra_columns_ignored_and_a_bom(app):
    school = make_school()
    text = (
        "\ufeffContact_Email, PUPIL_ID ,Date_of_Birth,Pupil_Forename,pupil_surname,Year_Group,"
        "Class,Contact_Forename,Contact_Surname,Relationship,Parental_Responsibility,Notes\n"
        "jade.smith@example.co.uk,A1005,2019-01-02,Harvey,Smith,R,R Willow,Jade,Smith,"
        "Mother,Yes,allergic to nuts\n"
    )
    report = roster.import_roster(school, text)
    assert report.rejected == []
    assert counts() == (1, 1, 1)
    harvey = pupil("A1005")
    assert (harvey.forename, harvey.class_name) == ("Harvey", "R Willow")
    jade_link = link("A1005", "jade.smith@example.co.uk")
    assert jade_link.relationship_label == "Mother"
    assert jade_link.parental_responsibility is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("YES", True), ("y", True), ("true", True), ("1", True),
     ("no", False), ("N", False), ("false", False), ("0", False)],
)  # fmt: skip
def test_parental_responsibility_accepts_the_usual_spellings(app, value, expected):
    school = make_school()
    roster.import_roster(school, csv_text(f"P1,A,B,1,1A,C,D,c.d@example.org,Mother,{value}"))
    assert link("P1", "c.d@example.org").parental_responsibility is expected


def test_bad_rows_are_reported_with_their_line_numbers_and_the_good_rows_import(app):
    school = make_school()
    text = csv_text(
        "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",  # line 2
        ",Ben,Baker,1,1A,Bella,Baker,bella@example.org,Mother,yes",  # line 3: no pupil id
        "P3,Cat,Cole,1,1A,Carl,Cole,carl@@example,Father,yes",  # line 4: malformed email
        "P4,Dan,Dee,1,1A,Dora,Dee,dora@example.org,Mother,maybe",  # line 5: unknown value
        # lines 6-7: a quoted field with a newline in it is one record
        'P5,Eve,Eden,2,2B,Edna,Eden,edna@example.org,"Mother\nand carer",no',
        "P6,Fay,Fox,2,2B,Fred,Fox,not-an-email,Father,yes",  # line 8: malformed email
        "",  # line 9: blank, skipped
        "P7,Gus,Gray,2,2B,Gina,Gray,gina@example.org,Mother,perhaps",  # line 10
        "P8,Hal,Hart,2,2B,Hope,Hart,hope@example.org,Mother,no",  # line 11
    )
    report = roster.import_roster(school, text)

    assert [r.line for r in report.rejected] == [3, 4, 5, 8, 10]
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[3] == "pupil_id is empty"
    assert "contact_email 'carl@@example' is not a valid address" in reasons[4]
    assert reasons[5] == "parental_responsibility must be yes or no, not 'maybe'"
    assert "'not-an-email' is not a valid address" in reasons[8]
    assert reasons[10] == "parental_responsibility must be yes or no, not 'perhaps'"
    assert report.summary() == "8 rows: 3 created, 0 updated, 0 unchanged, 5 rejected"
    assert sorted(db.session.scalars(select(Pupil.mis_id))) == ["P1", "P5", "P8"]
    assert link("P5", "edna@example.org").relationship_label == "Mother\nand carer"


def test_a_row_with_several_problems_gives_every_reason(app):
    school = make_school()
    report = roster.import_roster(
        school, csv_text(f"P1,,Able,1,{'x' * 65},,,bad email,Mother,maybe")
    )
    [rejection] = report.rejected
    assert rejection.line == 2
    for reason in ("pupil_forename is empty", "the contact has no name",
                   "class is longer than 64 characters", "'bad email' is not a valid address",
                   "not 'maybe'"):  # fmt: skip
        assert reason in rejection.reason
    assert counts() == (0, 0, 0)


def test_a_row_with_too_few_columns_is_rejected(app):
    school = make_school()
    report = roster.import_roster(school, csv_text("P1,Ann,Able,1"))
    assert [r.line for r in report.rejected] == [2]
    assert "class is empty" in report.rejected[0].reason
    assert counts() == (0, 0, 0)


def test_reimport_updates_names_classes_relationship_and_parental_responsibility(app):
    school = make_school()
    roster.import_roster(
        school,
        csv_text(
            "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
            "P1,Ann,Able,1,1A,Bob,Able,bob@example.org,Father,yes",
        ),
    )
    report = roster.import_roster(
        school,
        csv_text(
            "P1,Annie,Able-Baker,2,2B,Alicia,Able,alice@example.org,Step-mother,no",
            "P1,Annie,Able-Baker,2,2B,Bob,Able,bob@example.org,Father,yes",
        ),
    )
    # The pupil's new details count once, on the first row that names the pupil.
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert report.pupils_updated == 1
    db.session.expire_all()
    ann = pupil("P1")
    assert (ann.forename, ann.surname, ann.year_group, ann.class_name) == (
        "Annie", "Able-Baker", "2", "2B",
    )  # fmt: skip
    assert name_at(school, guardian("alice@example.org"))[0] == "Alicia"
    alice = link("P1", "alice@example.org")
    assert (alice.relationship_label, alice.parental_responsibility) == ("Step-mother", False)
    assert link("P1", "bob@example.org").parental_responsibility is True
    assert counts() == (1, 2, 2)


def test_a_contact_dropped_from_the_file_has_its_link_ended_and_comes_back_when_readded(app):
    school = make_school()
    both = csv_text(
        "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
        "P1,Ann,Able,1,1A,Bob,Able,bob@example.org,Father,yes",
        "P2,Cal,Able,3,3C,Bob,Able,bob@example.org,Father,yes",
    )
    roster.import_roster(school, both)

    dropped = roster.import_roster(
        school,
        csv_text(
            "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
            "P2,Cal,Able,3,3C,Bob,Able,bob@example.org,Father,yes",
        ),
    )
    assert dropped.links_ended == 1
    db.session.expire_all()
    assert link("P1", "bob@example.org").ended_at is not None
    # Bob is still linked to his other child, and Alice to hers.
    assert link("P2", "bob@example.org").ended_at is None
    assert link("P1", "alice@example.org").ended_at is None
    assert counts() == (2, 2, 3)  # the link row is kept: the ledger refers to it

    back = roster.import_roster(school, both)
    assert (back.created, back.updated, back.links_ended) == (0, 1, 0)
    db.session.expire_all()
    assert link("P1", "bob@example.org").ended_at is None
    assert counts() == (2, 2, 3)


def test_a_pupil_absent_from_the_file_keeps_its_links_and_stays_on_roll_by_default(app):
    school = make_school()
    roster.import_roster(school, SAMPLE)
    without_amira = "\n".join(line for line in SAMPLE.splitlines() if not line.startswith("A1001,"))
    report = roster.import_roster(school, without_amira)
    assert (report.links_ended, report.marked_left) == (0, 0)
    db.session.expire_all()
    amira = pupil("A1001")
    assert amira.on_roll and amira.left_on is None
    assert all(link.ended_at is None for link in amira.links)


def test_mark_missing_as_left_takes_absent_pupils_off_roll_and_a_returning_pupil_back_on(app):
    school = make_school()
    roster.import_roster(school, SAMPLE)
    without_amira = "\n".join(line for line in SAMPLE.splitlines() if not line.startswith("A1001,"))

    report = roster.import_roster(
        school, without_amira, mark_missing_as_left=True, today=date(2025, 7, 18)
    )
    assert report.marked_left == 1
    db.session.expire_all()
    amira = pupil("A1001")
    assert (amira.on_roll, amira.left_on) == (False, date(2025, 7, 18))
    assert pupil("A1002").on_roll

    # Marking again does not move the date a pupil left.
    again = roster.import_roster(
        school, without_amira, mark_missing_as_left=True, today=date(2025, 9, 1)
    )
    assert again.marked_left == 0
    db.session.expire_all()
    assert pupil("A1001").left_on == date(2025, 7, 18)

    back = roster.import_roster(school, SAMPLE, mark_missing_as_left=True)
    assert (back.pupils_updated, back.marked_left) == (1, 0)
    db.session.expire_all()
    amira = pupil("A1001")
    assert (amira.on_roll, amira.left_on) == (True, None)


def test_a_rejected_row_does_not_end_a_link_or_take_its_pupil_off_roll(app):
    school = make_school()
    roster.import_roster(
        school,
        csv_text(
            "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
            "P1,Ann,Able,1,1A,Bob,Able,bob@example.org,Father,yes",
            "P2,Cal,Cole,3,3C,Carl,Cole,carl@example.org,Father,yes",
        ),
    )
    report = roster.import_roster(
        school,
        csv_text(
            "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
            "P1,Ann,Able,1,1A,Bob,Able,bob@example.org,Father,maybe",
            "P2,Cal,Cole,3,3C,Carl,Cole,carl@@example.org,Father,yes",
        ),
        mark_missing_as_left=True,
    )
    assert [r.line for r in report.rejected] == [3, 4]
    assert (report.links_ended, report.marked_left) == (0, 0)
    db.session.expire_all()
    assert link("P1", "bob@example.org").ended_at is None
    assert link("P1", "bob@example.org").parental_responsibility is True
    assert pupil("P2").on_roll
    assert link("P2", "carl@example.org").ended_at is None


def test_a_file_without_any_pupils_cannot_mark_the_whole_school_as_left(app):
    school = make_school()
    roster.import_roster(school, SAMPLE)
    with pytest.raises(roster.RosterFileError, match="no pupils"):
        roster.import_roster(school, csv_text(), mark_missing_as_left=True)
    assert (
        db.session.scalar(select(func.count()).select_from(Pupil).where(Pupil.on_roll.is_(True)))
        == 8
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        (SAMPLE.replace("contact_email,", "email,", 1), "missing the column(s): contact_email"),
        (
            SAMPLE.replace("pupil_id,", "", 1).replace(",class,", ",form,", 1),
            "missing the column(s): pupil_id, class",
        ),
    ],
)
def test_a_file_missing_a_required_column_is_refused_as_a_whole(app, text, message):
    school = make_school()
    with pytest.raises(roster.RosterFileError) as refused:
        roster.import_roster(school, text)
    assert message in str(refused.value)
    assert counts() == (0, 0, 0)


def test_import_for_one_school_never_changes_another_schools_pupils(app):
    oak = make_school(slug="oak-primary")
    ash = make_school(slug="ash-academy", name="Ash Academy")
    roster.import_roster(oak, SAMPLE)
    roster.import_roster(ash, SAMPLE)
    # The people with an email are shared; Mary, known only on paper, is one per school.
    assert counts() == (16, 12, 24)

    only_one = csv_text("A1001,Amelia,Hussain,4,4 Ash,Farah,Hussain,farah.hussain@example.org,"
                        "Mother,yes")  # fmt: skip
    report = roster.import_roster(ash, only_one, mark_missing_as_left=True)
    assert report.marked_left == 7
    assert report.links_ended == 1  # Imran, for Ash's A1001 only

    db.session.expire_all()
    oak_pupils = db.session.scalars(select(Pupil).where(Pupil.school_id == oak.id)).all()
    assert len(oak_pupils) == 8
    assert all(p.on_roll for p in oak_pupils)
    assert pupil("A1001", oak).forename == "Amira"
    assert pupil("A1001", ash).forename == "Amelia"
    oak_links = db.session.scalars(select(GuardianLink).where(GuardianLink.school_id == oak.id))
    assert all(link.ended_at is None for link in oak_links)


def test_blank_lines_and_windows_line_endings_keep_line_numbers_right(app):
    school = make_school()
    text = "\r\n".join(
        (
            HEADER,
            "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
            "",
            ",,,,,,,,,",
            "P2,Ben,Baker,1,1A,Bella,Baker,bella@example.org,Mother,unsure",
        )
    )
    report = roster.import_roster(school, text)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (5, "parental_responsibility must be yes or no, not 'unsure'")
    ]
    assert report.rows == 2


def test_a_contact_listed_twice_for_one_pupil_is_rejected_the_second_time(app):
    school = make_school()
    text = csv_text(
        "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
        "P1,Ann,Able,1,1A,Bob,Able,bob@example.org,Father,yes",
        "P1,Ann,Able,1,1A,Alice,Able,ALICE@example.org,Carer,no",
        "P1,Ann,Able,1,1A,Gran,Able,,Grandmother,no",
        "P1,Ann,Able,1,1A,gran,able,,Grandmother,yes",
        "P1,Ann,Able,1,1A,Carl,Able,carl@example.org,Uncle,maybe",
    )
    report = roster.import_roster(school, text)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (4, "repeats the contact on line 2 for pupil P1"),
        (6, "repeats the contact on line 5 for pupil P1"),
        (7, "parental_responsibility must be yes or no, not 'maybe'"),
    ]
    alice = link("P1", "alice@example.org")
    assert (alice.relationship_label, alice.parental_responsibility) == ("Mother", True)
    assert counts() == (1, 3, 3)

    again = roster.import_roster(school, text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert len(again.rejected) == 3


ONE_LINE = "must be one line, without line breaks or other control characters"


def test_a_line_break_or_control_character_in_a_one_line_field_rejects_its_row(app):
    """Red team item 2: a forename "Li\\nne" reached a take-down email's subject. Every field
    but the relationship is one line: a quoted field with a line break (or a control
    character) rejects its row, named by the line the row starts on; the good rows import."""
    school = make_school()
    text = csv_text(
        "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",  # line 2
        'P2,"Li\nne",Baker,1,1A,Bella,Baker,bella@example.org,Mother,yes',  # lines 3-4
        'P3,Cat,Cole,1,"1A\r\n",Carl,"Co\x1ble",carl@example.org,Father,yes',  # lines 5-6
        "P4,Dan,Dee,1,1A,Dora,Dee,dora@example.org,Mother,yes",  # line 7
        "P5,Eve,Eden,1,1A,Ed\u2028na,Eden,edna@example.org,Mo\x07ther,yes",  # line 8
        'P6,Fay,Fox,1,1A,Fred,Fox,"fred@\nexample.org",Father,"ye\ns"',  # lines 9-11
        "P\x857,Gus,Gray,1,1A,Gina,Gray,gina@example.org,Mother,yes",  # line 12
    )
    report = roster.import_roster(school, text)

    assert [(r.line, r.pupil_id, r.reason) for r in report.rejected] == [
        (3, "P2", f"pupil_forename {ONE_LINE}"),
        # A line break at the end of a cell is white space around it, stripped as any is.
        (5, "P3", f"contact_surname {ONE_LINE}"),
        (8, "P5", f"contact_forename {ONE_LINE}; relationship has a control character that is "
                  "not a line break or a tab"),
        (9, "P6", f"contact_email {ONE_LINE}; parental_responsibility {ONE_LINE}"),
        (12, "P\x857", f"pupil_id {ONE_LINE}"),
    ]  # fmt: skip
    assert report.summary() == "7 rows: 2 created, 0 updated, 0 unchanged, 5 rejected"
    assert sorted(db.session.scalars(select(Pupil.mis_id))) == ["P1", "P4"]


def test_the_migration_gives_each_school_the_name_the_guardian_had(app):
    """Migration 0007: every school that links a guardian gets the name the guardian had;
    going back, the guardian gets the name of the lowest-numbered school."""
    from flask_migrate import downgrade, upgrade

    oak = make_school(slug="oak-primary")
    elm = make_school(slug="elm-academy", name="Elm Academy")
    roster.import_roster(oak, csv_text("P1,Ann,Able,1,1A,Ada,Lovelace,ada@example.org,Mother,yes",
                                       "P2,Bob,Able,1,1A,Ben,Byron,,Father,yes"))  # fmt: skip
    roster.import_roster(elm, csv_text("Q1,Kit,King,9,9X,Ada,King,ada@example.org,Mother,yes"))
    db.session.remove()
    downgrade(revision="0006")
    people = db.session.execute(text("SELECT email, forename, surname FROM guardians")).all()
    assert sorted(people, key=str) == [
        ("ada@example.org", "Ada", "Lovelace"),  # Oak's name: Oak was made first
        (None, "Ben", "Byron"),
    ]
    db.session.execute(
        text("UPDATE guardians SET surname = 'Lovelace-King' WHERE email = 'ada@example.org'")
    )
    db.session.commit()
    db.session.remove()
    upgrade()
    names = db.session.execute(
        select(SchoolContact.school_id, Guardian.email, SchoolContact.forename,
               SchoolContact.surname)
        .join(Guardian, Guardian.id == SchoolContact.guardian_id)
    ).all()  # fmt: skip
    assert sorted(names, key=lambda row: (row[0], str(row[1]))) == [
        (oak.id, None, "Ben", "Byron"),
        (oak.id, "ada@example.org", "Ada", "Lovelace-King"),
        (elm.id, "ada@example.org", "Ada", "Lovelace-King"),
    ]


# --- leaving: the leaving_date column -------------------------------------------------------

LEAVING_HEADER = HEADER + ",leaving_date"


def test_a_leaving_date_marks_the_pupil_left_and_a_bad_date_is_line_numbered(app):
    from portal.models import Purpose, TakedownTask
    from tests.support.factories import make_purpose_set

    school = make_school()
    make_purpose_set(school)
    photos = db.session.scalars(select(Purpose).where(Purpose.key == "photos-website")).one()
    photos.on_leaving = "remove"
    db.session.commit()
    roster.import_roster(school, csv_text(
        "P1,Ethan,Price,6,6 Elm,Kim,Price,kim@example.org,Mother,yes",
        "P2,Ruby,Shaw,6,6 Elm,Sam,Shaw,sam@example.org,Father,yes",
        "P3,Noor,Ali,6,6 Elm,Aya,Ali,aya@example.org,Mother,yes",
    ))  # fmt: skip
    report = roster.import_roster(school, csv_text(
        "P1,Ethan,Price,6,6 Elm,Kim,Price,kim@example.org,Mother,yes,2025-07-18",  # line 2
        "P2,Ruby,Shaw,6,6 Elm,Sam,Shaw,sam@example.org,Father,yes,18/07/2025",  # line 3: bad
        "P3,Noor,Ali,6,6 Elm,Aya,Ali,aya@example.org,Mother,yes,",  # line 4: on roll
        "P4,Omar,Ali,2,2 Oak,Aya,Ali,aya@example.org,Mother,yes,2999-01-01",  # line 5: future
        header=LEAVING_HEADER,
    ), today=date(2025, 7, 21))  # fmt: skip
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "leaving_date '18/07/2025' is not a date written YYYY-MM-DD, like 2026-07-21"),
        (5, "leaving_date 2999-01-01 is in the future: import it once the pupil has left"),
    ]
    assert report.marked_left == 1 and [p.pupil_id for p in report.left] == ["P1"]
    db.session.expire_all()
    assert (pupil("P1").on_roll, pupil("P1").left_on) == (False, date(2025, 7, 18))
    assert pupil("P2").on_roll and pupil("P3").on_roll  # the bad row's pupil stays as they were
    [task] = db.session.scalars(select(TakedownTask)).all()
    assert (task.pupil_id, task.kind, task.action) == (pupil("P1").id, "leaving", "remove")

    # The same file again: nothing new, no second task.
    again = roster.import_roster(school, csv_text(
        "P1,Ethan,Price,6,6 Elm,Kim,Price,kim@example.org,Mother,yes,2025-07-18",
        header=LEAVING_HEADER,
    ), today=date(2025, 7, 22))  # fmt: skip
    assert again.marked_left == 0 and again.unchanged == 1
    assert len(db.session.scalars(select(TakedownTask)).all()) == 1


def test_mark_missing_as_left_makes_the_leaving_tasks_too(app):
    from portal.models import Purpose, TakedownTask
    from tests.support.factories import make_purpose_set

    school = make_school()
    make_purpose_set(school)
    display = db.session.scalars(select(Purpose).where(Purpose.key == "class-photos")).one()
    display.on_leaving = "review"
    db.session.commit()
    roster.import_roster(school, csv_text(
        "P1,Ethan,Price,6,6 Elm,Kim,Price,kim@example.org,Mother,yes",
        "P2,Ruby,Shaw,6,6 Elm,Sam,Shaw,sam@example.org,Father,yes",
    ))  # fmt: skip
    preview = roster.preview_roster(school, csv_text(
        "P2,Ruby,Shaw,6,6 Elm,Sam,Shaw,sam@example.org,Father,yes",
    ), mark_missing_as_left=True)  # fmt: skip
    assert preview.marked_left == 1 and db.session.scalars(select(TakedownTask)).all() == []
    roster.import_roster(school, csv_text(
        "P2,Ruby,Shaw,6,6 Elm,Sam,Shaw,sam@example.org,Father,yes",
    ), mark_missing_as_left=True)  # fmt: skip
    [task] = db.session.scalars(select(TakedownTask)).all()
    assert (task.pupil_id, task.action, task.purpose_id) == (pupil("P1").id, "review", display.id)


# --- the language column ------------------------------------------------------------------

LANGUAGE_HEADER = HEADER + ",language"


def test_the_language_column_sets_each_contacts_language_and_a_bad_code_is_line_numbered(app):
    school = make_school()
    report = roster.import_roster(school, csv_text(
        "P1,Ethan,Price,6,6 Elm,Kim,Price,kim@example.org,Mother,yes,pl",  # line 2
        "P2,Ruby,Shaw,6,6 Elm,Sam,Shaw,sam@example.org,Father,yes,Polish",  # line 3: not a code
        "P3,Noor,Ali,6,6 Elm,Aya,Ali,aya@example.org,Mother,yes,UR",  # line 4: any case
        "P4,Omar,Ali,2,2 Oak,Bilal,Ali,bilal@example.org,Father,yes,pa",  # line 5: which script?
        "P5,Amrit,Gill,2,2 Oak,Jas,Gill,jas@example.org,Mother,yes,pa-Guru",  # line 6
        "P6,Ana,Pop,2,2 Oak,Ioana,Pop,ioana@example.org,Mother,yes,ro",  # line 7: not offered yet
        "P7,Tom,Lee,2,2 Oak,Jo,Lee,jo@example.org,Mother,yes,",  # line 8: no language
        header=LANGUAGE_HEADER,
    ))  # fmt: skip
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "language 'Polish' is not a language code: use a BCP 47 code such as pl, ur, "
            "pa-Guru, gu or cy"),
        (5, "language 'pa': write pa-Guru for Punjabi in Gurmukhi script (Punjabi in "
            "Shahmukhi script is not offered yet)"),
    ]  # fmt: skip
    assert report.good == 5
    db.session.expire_all()
    assert guardian("kim@example.org").language == "pl"
    assert guardian("aya@example.org").language == "ur"
    assert guardian("jas@example.org").language == "pa-Guru"
    assert guardian("ioana@example.org").language is None  # Romanian: English for now
    assert guardian("jo@example.org").language is None
    assert not guardian("kim@example.org").language_chosen


def test_a_language_the_parent_chose_is_kept_over_the_roster(app):
    from portal import languages

    school = make_school()
    rows = ("P1,Ethan,Price,6,6 Elm,Kim,Price,kim@example.org,Mother,yes,pl",
            "P3,Noor,Ali,6,6 Elm,Aya,Ali,aya@example.org,Mother,yes,ur")  # fmt: skip
    roster.import_roster(school, csv_text(*rows, header=LANGUAGE_HEADER))
    languages.remember(guardian("kim@example.org").id, "cy")
    # The MIS changes both: the one who chose keeps Welsh, the other follows the file.
    changed = (rows[0].replace(",pl", ",ar"), rows[1].replace(",ur", ",gu"))
    roster.import_roster(school, csv_text(*changed, header=LANGUAGE_HEADER))
    db.session.expire_all()
    assert (guardian("kim@example.org").language, guardian("kim@example.org").language_chosen) == (
        "cy",
        True,
    )
    assert guardian("aya@example.org").language == "gu"
    # An empty cell, or a file without the column, leaves the language as it is.
    roster.import_roster(school, csv_text(rows[1].replace(",ur", ","), header=LANGUAGE_HEADER))
    roster.import_roster(school, csv_text(rows[1].removesuffix(",ur")))
    db.session.expire_all()
    assert guardian("aya@example.org").language == "gu"


def test_a_pupil_with_no_contact_imports_alone(app):
    """A row with the pupil's columns and every contact column empty (a pupil whose contacts
    the MIS does not hold yet) imports the pupil with no contact, not a rejection; again, it
    changes nothing. A row with some contact column but no name is still refused."""
    school = make_school()
    text_ = csv_text(
        "P1,Ann,Able,1,1A,,,,,",
        "P2,Ben,Best,2,2B,Bea,Best,bea@example.org,Mother,yes",
        "P3,Cy,Cole,3,3C,,,,Mother,",
        "P4,Dee,Dunn,4,4D",  # the contact columns missing altogether
    )
    report = roster.import_roster(school, text_)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (4, "the contact has no name; parental_responsibility must be yes or no, not ''")
    ]
    assert (report.created, report.pupils_created, report.guardians_created) == (3, 3, 1)
    assert counts() == (3, 1, 1)
    alone = pupil("P1")
    assert (alone.full_name, alone.class_name, alone.on_roll, alone.links) == (
        "Ann Able", "1A", True, [],
    )  # fmt: skip
    assert pupil("P4").links == []
    [outcome] = [o for o in report.outcomes if o.pupil_id == "P1"]
    assert (outcome.outcome, outcome.has_contact, outcome.contact_name) == ("created", False, "")

    again = roster.import_roster(school, text_)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert counts() == (3, 1, 1)


def test_a_pupil_listed_with_no_contact_loses_the_contacts_the_file_no_longer_lists(app):
    """A contactless row lists its pupil like any row: the pupil's contacts the file no
    longer names have their links ended, and a later file that names them brings them back;
    a class change on that row updates the pupil."""
    school = make_school()
    with_contact = csv_text("P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes")
    roster.import_roster(school, with_contact)
    report = roster.import_roster(school, csv_text("P1,Ann,Able,2,2A,,,,,"))
    assert (report.updated, report.links_ended) == (1, 1)
    db.session.expire_all()
    assert pupil("P1").class_name == "2A"
    assert link("P1", "alice@example.org").ended_at is not None
    back = roster.import_roster(school, with_contact)
    assert back.links_ended == 0
    db.session.expire_all()
    assert link("P1", "alice@example.org").ended_at is None
