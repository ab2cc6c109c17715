from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import notices, schools
from portal.extensions import db
from portal.models import Guardian, GuardianLink, Pupil, Purpose, School, StaffUser
from tests.support.factories import make_school

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HEADER = (
    "pupil_id,pupil_forename,pupil_surname,year_group,class,contact_forename,contact_surname,"
    "contact_email,relationship,parental_responsibility"
)


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


# flask school


def test_school_create_makes_a_school(runner):
    result = runner.invoke(
        args=[
            "school",
            "create",
            "oak-primary",
            "--name",
            "Oak Primary School",
            "--contact-email",
            "Office@Oak.example.org",
        ]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "Created school oak-primary: Oak Primary School\n"
    school = schools.get_by_slug("oak-primary")
    assert school.contact_email == "office@oak.example.org"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Oak Primary", "--name", "Oak"], "is not a valid slug"),
        (["oak", "--name", " "], "a school needs a name"),
        (["oak", "--name", "Oak", "--contact-email", "nope"], "is not a valid email address"),
    ],
)
def test_school_create_refuses_bad_input_with_a_clear_message(runner, args, message):
    result = runner.invoke(args=["school", "create", *args])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert count(School) == 0


def test_school_create_refuses_a_duplicate_slug(runner):
    make_school(slug="oak-primary")
    result = runner.invoke(args=["school", "create", "oak-primary", "--name", "Oak again"])
    assert result.exit_code == 1
    assert "a school with the slug 'oak-primary' already exists" in result.stderr
    assert count(School) == 1


def test_school_list_shows_slug_and_name(runner):
    make_school(slug="oak-primary", name="Oak Primary School")
    make_school(slug="ash-academy", name="Ash Academy")
    result = runner.invoke(args=["school", "list"])
    assert result.exit_code == 0
    assert result.stdout == "ash-academy\tAsh Academy\noak-primary\tOak Primary School\n"


# flask staff


def test_staff_add_adds_and_then_updates_a_staff_user(runner):
    make_school(slug="oak-primary")
    added = runner.invoke(
        args=[
            "staff",
            "add",
            "Sam@Oak.example.org",
            "--school",
            "oak-primary",
            "--role",
            "staff",
            "--name",
            "Sam Taylor",
        ]
    )
    assert added.exit_code == 0, added.output
    assert added.stdout == "Added sam@oak.example.org as staff at oak-primary\n"

    updated = runner.invoke(
        args=["staff", "add", "sam@oak.example.org", "--school", "oak-primary", "--role", "admin"]
    )
    assert updated.exit_code == 0, updated.output
    assert updated.stdout == "Updated sam@oak.example.org as admin at oak-primary\n"
    user = db.session.scalars(select(StaffUser)).one()
    db.session.refresh(user)
    assert (user.role, user.name) == ("admin", "Sam Taylor")


def test_staff_add_offers_only_the_three_roles(runner):
    make_school(slug="oak-primary")
    result = runner.invoke(
        args=["staff", "add", "sam@oak.example.org", "--school", "oak-primary", "--role", "owner"]
    )
    assert result.exit_code == 2
    assert "'owner' is not one of 'admin', 'staff', 'marketing'" in result.stderr
    assert count(StaffUser) == 0


def test_staff_add_refuses_an_invalid_email(runner):
    make_school(slug="oak-primary")
    result = runner.invoke(
        args=["staff", "add", "sam at oak", "--school", "oak-primary", "--role", "staff"]
    )
    assert result.exit_code == 1
    assert "is not a valid email address" in result.stderr
    assert count(StaffUser) == 0


@pytest.mark.parametrize(
    "command",
    [
        ["staff", "add", "sam@oak.example.org", "--role", "staff"],
        ["roster", "import", "{file}"],
        ["notice", "publish", "{file}", "--title", "Privacy notice"],
        ["purposes", "load", "{file}"],
    ],
)
def test_an_unknown_school_slug_is_a_clear_error(runner, tmp_path, command):
    make_school(slug="oak-primary")
    file = write(tmp_path, "input.txt", "anything")
    args = [arg.replace("{file}", file) for arg in command] + ["--school", "oak-primay"]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert result.stderr == "Error: no school with the slug 'oak-primay'\n"


# flask roster import


def test_roster_import_prints_the_summary_and_is_idempotent(runner):
    make_school(slug="oak-primary")
    file = str(EXAMPLES / "roster-example.csv")
    first = runner.invoke(args=["roster", "import", file, "--school", "oak-primary"])
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "12 rows: 12 created, 0 updated, 0 unchanged, 0 rejected",
        "pupils: 8 new, 0 updated; guardians: 11 new; links ended: 0",
    ]
    assert first.stderr == ""
    counts = (count(Pupil), count(Guardian), count(GuardianLink))
    assert counts == (8, 11, 12)

    second = runner.invoke(args=["roster", "import", file, "--school", "oak-primary"])
    assert second.exit_code == 0, second.output
    assert "12 rows: 0 created, 0 updated, 12 unchanged, 0 rejected" in second.stdout
    assert (count(Pupil), count(Guardian), count(GuardianLink)) == counts


def test_roster_import_reports_each_rejected_row_on_stderr_with_file_and_line(runner, tmp_path):
    make_school(slug="oak-primary")
    file = write(
        tmp_path,
        "roster.csv",
        "\n".join(
            [
                HEADER,
                "P1,Ann,Able,1,1A,Alice,Able,alice@example.org,Mother,yes",
                ",Ben,Baker,1,1A,Bella,Baker,bella@example.org,Mother,yes",
                'P3,Cat,Cole,1,1A,Carl,Cole,carl@example.org,"Father\nat weekends",maybe',
                "P4,Dan,Dee,1,1A,Dora,Dee,dora@@example.org,Mother,yes",
            ]
        ),
    )
    result = runner.invoke(args=["roster", "import", file, "--school", "oak-primary"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"{file}:3: rejected: pupil_id is empty"
    assert lines[1] == (
        f"{file}:4: rejected: parental_responsibility must be yes or no, not 'maybe'"
    )
    assert lines[2].startswith(
        f"{file}:6: rejected: contact_email 'dora@@example.org' is not a valid address"
    )
    assert len(lines) == 3
    assert "4 rows: 1 created, 0 updated, 0 unchanged, 3 rejected" in result.stdout
    assert "rejected:" not in result.stdout
    assert list(db.session.scalars(select(Pupil.mis_id))) == ["P1"]


def test_roster_import_refuses_a_file_missing_a_column_and_imports_nothing(runner, tmp_path):
    make_school(slug="oak-primary")
    text = (EXAMPLES / "roster-example.csv").read_text(encoding="utf-8")
    file = write(tmp_path, "roster.csv", text.replace(",parental_responsibility", ",pr", 1))
    result = runner.invoke(args=["roster", "import", file, "--school", "oak-primary"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {file}: the header is missing the column(s): parental_responsibility; "
        "nothing was imported\n"
    )
    assert count(Pupil) == 0 and count(Guardian) == 0


def test_roster_import_accepts_a_byte_order_mark_and_refuses_a_file_that_is_not_utf8(
    runner, tmp_path
):
    make_school(slug="oak-primary")
    row = "P1,Zoë,O'Brien,1,1A,Siobhan,O'Brien,s@example.org,Mother,yes"
    with_bom = write(tmp_path, "bom.csv", f"{HEADER}\n{row}\n", encoding="utf-8-sig")
    result = runner.invoke(args=["roster", "import", with_bom, "--school", "oak-primary"])
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(Pupil)).one().forename == "Zoë"

    latin = write(tmp_path, "latin.csv", f"{HEADER}\n{row.replace('P1', 'P2')}\n", "latin-1")
    refused = runner.invoke(args=["roster", "import", latin, "--school", "oak-primary"])
    assert refused.exit_code == 1
    assert "is not UTF-8 text" in refused.stderr
    assert count(Pupil) == 1


def test_roster_import_can_mark_missing_pupils_as_left(runner, tmp_path):
    make_school(slug="oak-primary")
    sample = EXAMPLES / "roster-example.csv"
    runner.invoke(args=["roster", "import", str(sample), "--school", "oak-primary"])
    fewer = write(
        tmp_path,
        "fewer.csv",
        "\n".join(
            line
            for line in sample.read_text(encoding="utf-8").splitlines()
            if not line.startswith(("A1007,", "A1008,"))
        ),
    )
    result = runner.invoke(
        args=["roster", "import", fewer, "--school", "oak-primary", "--mark-missing-as-left"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith("; marked as left: 2")
    db.session.expire_all()
    left = db.session.scalars(select(Pupil).where(Pupil.on_roll.is_(False))).all()
    assert sorted(p.mis_id for p in left) == ["A1007", "A1008"]
    assert all(p.left_on is not None for p in left)


# flask notice publish


def test_notice_publish_uses_markdown_for_md_and_says_when_nothing_changed(runner):
    school = make_school(slug="oak-primary")
    args = [
        "notice",
        "publish",
        str(EXAMPLES / "notice.md"),
        "--school",
        "oak-primary",
        "--title",
        "Privacy notice",
    ]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert first.stdout == "Published version 1 of oak-primary's notice\n"
    notice = notices.current(school)
    assert notice.source_format == "markdown"
    assert '<h3 class="govuk-heading-s" id="who-we-are">Who we are</h3>' in notice.body_html

    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("Unchanged: version 1 already has this title, text and brief")
    assert len(notices.versions(school)) == 1


def test_notice_publish_picks_the_text_format_for_a_txt_file(runner, tmp_path):
    school = make_school(slug="oak-primary")
    file = write(tmp_path, "notice.txt", "What we hold:\n• names\n• classes\n")
    result = runner.invoke(
        args=["notice", "publish", file, "--school", "oak-primary", "--title", "Privacy notice"]
    )
    assert result.exit_code == 0, result.output
    notice = notices.current(school)
    assert notice.source_format == "text"
    assert "<li>names</li><li>classes</li>" in notice.body_html


def test_notice_publish_with_a_brief_keeps_it_before_the_full_notice(runner):
    school = make_school(slug="oak-primary")
    args = ["notice", "publish", str(EXAMPLES / "notice.md"), "--school", "oak-primary"]
    args += ["--title", "Privacy notice", "--brief", str(EXAMPLES / "notice-brief.txt")]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    notice = notices.current(school)
    assert notice.brief == (EXAMPLES / "notice-brief.txt").read_text(encoding="utf-8").strip()
    assert (notice.brief_html or "").startswith('<p class="govuk-body">We hold your child')
    assert 'href="mailto:dpo@riverside-primary.example.org"' in (notice.brief_html or "")


def test_notice_publish_refuses_a_brief_of_more_than_300_words(runner, tmp_path):
    school = make_school(slug="oak-primary")
    brief = write(tmp_path, "brief.txt", "We hold names. " * 101)
    notice = write(tmp_path, "notice.txt", "We hold names.")
    args = ["notice", "publish", notice, "--school", "oak-primary", "--title", "Notice"]
    result = runner.invoke(args=[*args, "--brief", brief])
    assert result.exit_code == 1
    assert "the notice in brief has 303 words; keep it to 300 or fewer" in result.output
    assert notices.versions(school) == []


def test_notice_publish_format_option_overrides_the_file_name(runner, tmp_path):
    school = make_school(slug="oak-primary")
    file = write(tmp_path, "notice.txt", "**bold**")
    result = runner.invoke(
        args=[
            "notice",
            "publish",
            file,
            "--school",
            "oak-primary",
            "--title",
            "Notice",
            "--format",
            "markdown",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "<strong>bold</strong>" in notices.current(school).body_html


@pytest.mark.parametrize(
    ("content", "encoding", "message"),
    [
        ("  \n", "utf-8", "Error: the notice is empty"),
        ("Caf\u00e9 notice", "latin-1", "is not UTF-8 text"),
    ],
)
def test_notice_publish_refuses_an_empty_or_unreadable_file(
    runner, tmp_path, content, encoding, message
):
    school = make_school(slug="oak-primary")
    file = write(tmp_path, "notice.md", content, encoding)
    result = runner.invoke(
        args=["notice", "publish", file, "--school", "oak-primary", "--title", "Notice"]
    )
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert notices.current(school) is None


def test_notice_publish_with_lang_publishes_a_translation_of_the_version(runner, tmp_path):
    school = make_school(slug="oak-primary")
    english = write(tmp_path, "notice.txt", "Who we are\n\nOak Primary School.")
    base = ["notice", "publish", "--school", "oak-primary"]
    assert runner.invoke(args=[*base, english, "--title", "Privacy notice"]).exit_code == 0
    urdu = write(tmp_path, "notice-ur.txt", "ہم کون ہیں\n\nاوک پرائمری اسکول۔")
    brief = write(tmp_path, "brief-ur.txt", "ہم آپ کے بچے کا نام رکھتے ہیں۔")
    args = [*base, urdu, "--title", "رازداری کا نوٹس", "--lang", "ur", "--translation-of", "1"]
    result = runner.invoke(args=[*args, "--brief", brief])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Published the Urdu translation of version 1 of oak-primary's notice\n"
    [translation] = notices.translations(school)[1]
    assert (translation.language, translation.title, translation.source_format) == (
        "ur", "رازداری کا نوٹس", "text",
    )  # fmt: skip
    assert translation.brief == "ہم آپ کے بچے کا نام رکھتے ہیں۔"
    assert translation.published_by_id is None
    # No new English version, and the same translation again is refused.
    assert len(notices.versions(school)) == 1
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert again.stderr == (
        "Error: version 1 already has a translation into Urdu, and a published translation "
        "cannot change: to change it, publish a new version of the notice and translate that\n"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--lang", "ur"], "--lang needs --translation-of N: the version FILE translates"),
        (["--translation-of", "1"],
         "--translation-of needs --lang: the language FILE is written in"),
        (["--lang", "en", "--translation-of", "1"],
         "Error: the notice's own version is in English"),
        (["--lang", "xx", "--translation-of", "1"],
         "Error: 'xx' is not a language the portal offers"),
        (["--lang", "ur", "--translation-of", "2"],
         "Error: Oak Primary School has no notice version 2"),
        (["--lang", "ur", "--translation-of", "0"], "Invalid value for '--translation-of'"),
    ],
)  # fmt: skip
def test_notice_publish_refuses_a_translation_it_cannot_place(runner, tmp_path, extra, message):
    school = make_school(slug="oak-primary")
    file = write(tmp_path, "notice.md", "We hold names.")
    base = ["notice", "publish", file, "--school", "oak-primary", "--title", "Notice"]
    assert runner.invoke(args=base).exit_code == 0
    result = runner.invoke(args=[*base, *extra])
    assert result.exit_code in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert notices.translations(school) == {}
    assert len(notices.versions(school)) == 1


# flask purposes load


def test_purposes_load_reports_created_then_unchanged(runner):
    make_school(slug="oak-primary")
    args = ["purposes", "load", str(EXAMPLES / "purposes.toml"), "--school", "oak-primary"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert first.stdout == (
        "created: photos-website, photos-press, class-photos-display, school-census, "
        "marketing-emails\n"
        "translations added: photos-website (pl)\n"
    )
    second = runner.invoke(args=args)
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("unchanged: photos-website, photos-press")
    assert "translations" not in second.stdout
    assert count(Purpose) == 5


def test_purposes_load_lists_every_problem_on_stderr_and_loads_nothing(runner, tmp_path):
    make_school(slug="oak-primary")
    file = write(
        tmp_path,
        "purposes.toml",
        '[[purposes]]\nkey = "a"\ntitle = "A"\ndescription = "A"\nchoice = "consent"\n'
        'lawful_basis = "public_task"\n\n'
        '[[purposes]]\nkey = "b"\ntitle = "B"\ndescription = "B"\nchoice = "sometimes"\n'
        'lawful_basis = "consent"\n',
    )
    result = runner.invoke(args=["purposes", "load", file, "--school", "oak-primary"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f'{file}: purpose 1 (a): a "consent" choice needs lawful_basis = "consent"',
        f"{file}: purpose 2 (b): choice must be one of consent, none, objection",
        f"Error: {file} has problems; nothing was loaded",
    ]
    assert count(Purpose) == 0


def test_purposes_load_asks_to_check_a_translation_kept_through_new_english(runner, tmp_path):
    make_school(slug="oak-primary")
    text = (EXAMPLES / "purposes.toml").read_text(encoding="utf-8")
    first = write(tmp_path, "a.toml", text)
    assert runner.invoke(args=["purposes", "load", first, "--school", "oak-primary"]).exit_code == 0
    reworded = write(tmp_path, "b.toml", text.replace("short videos", "short films"))
    result = runner.invoke(args=["purposes", "load", reworded, "--school", "oak-primary"])
    assert result.exit_code == 0, result.output
    assert "new wording version: photos-website\n" in result.stdout
    assert "translations added: photos-website (pl)\n" in result.stdout
    assert result.stderr == (
        f"{reworded}: check photos-website (pl): the English wording changed, but the "
        "translation is word for word the one of the wording before\n"
    )


def test_purposes_load_reads_a_file_saved_with_a_byte_order_mark(runner, tmp_path):
    make_school(slug="oak-primary")
    text = (EXAMPLES / "purposes.toml").read_text(encoding="utf-8")
    file = write(tmp_path, "purposes.toml", text, encoding="utf-8-sig")
    result = runner.invoke(args=["purposes", "load", file, "--school", "oak-primary"])
    assert result.exit_code == 0, result.output
    assert count(Purpose) == 5


def test_purposes_load_says_which_purposes_were_reworded_updated_and_retired(runner, tmp_path):
    make_school(slug="oak-primary")
    text = (EXAMPLES / "purposes.toml").read_text(encoding="utf-8")
    runner.invoke(args=["purposes", "load", write(tmp_path, "a.toml", text),
                        "--school", "oak-primary"])  # fmt: skip
    changed = (
        text.replace("print children's first names", "print children's full names")
        .replace('lawful_basis = "public_task"\npublishable = false',
                 'lawful_basis = "public_task"\npublishable = true')
        .replace('key = "school-census"', 'key = "census"')
    )  # fmt: skip
    result = runner.invoke(
        args=["purposes", "load", write(tmp_path, "b.toml", changed), "--school", "oak-primary"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "created: census",
        "new wording version: photos-press",
        "updated: class-photos-display",
        "unchanged: photos-website, marketing-emails",
        "retired (no longer in the file): school-census",
    ]


def test_roster_import_will_not_mark_everyone_as_left_from_a_file_without_pupils(runner, tmp_path):
    make_school(slug="oak-primary")
    runner.invoke(
        args=["roster", "import", str(EXAMPLES / "roster-example.csv"), "--school", "oak-primary"]
    )
    file = write(tmp_path, "empty.csv", HEADER + "\n")
    result = runner.invoke(
        args=["roster", "import", file, "--school", "oak-primary", "--mark-missing-as-left"]
    )
    assert result.exit_code == 1
    assert "cannot show who has left; nothing was imported" in result.stderr
    assert db.session.scalar(select(func.count()).where(Pupil.on_roll.is_(True))) == 8


@pytest.mark.parametrize("command", ["roster", "notice", "purposes"])
def test_a_file_with_a_nul_byte_is_one_clear_line_and_loads_nothing(runner, tmp_path, command):
    school = make_school(slug="oak-primary")
    row = "P1,Robin,Morgan,1,1A,Alex,Morgan,alex@example.org,Mother,yes"
    file = write(tmp_path, "upload.csv", f"{HEADER}\n{row}\nP2,Li\x00ne,X\n")
    args = {
        "roster": ["roster", "import", file, "--school", "oak-primary"],
        "notice": ["notice", "publish", file, "--school", "oak-primary", "--title", "T"],
        "purposes": ["purposes", "load", file, "--school", "oak-primary"],
    }[command]
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == (
        f"Error: {file}:3: a NUL character: this is not a text file; nothing was loaded\n"
    )
    assert count(Pupil) == 0
    assert notices.current(school) is None
    assert count(Purpose) == 0


PURPOSE = 'key = "photos"\ndescription = "Photos."\nchoice = "consent"\nlawful_basis = "consent"\n'


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        (
            f'[[purposes]]\n{PURPOSE}title = "T"\nrenewal = "days"\n'
            "renewal_days = 9223372036854775807\n",
            "purpose 1 (photos): renewal_days must be at most 3650 (ten years)",
        ),
        (
            f'[[purposes]]\n{PURPOSE}title = "Photos\\u0000"\n',
            "purpose 1 (photos): title has a character that cannot be stored (NUL)",
        ),
        (
            f'[[purposes]]\n{PURPOSE}title = "Photos\\r\\nBcc: evil@example.org"\n',
            "purpose 1 (photos): title must be one line, without line breaks or other control "
            "characters",
        ),
        (
            f'[[purposes]]\n{PURPOSE}title = "T"\nshared_with = ' + "[" * 5000 + "]" * 5000 + "\n",
            "not valid TOML: it is nested too deeply",
        ),
    ],
    ids=["huge-renewal", "nul-title", "two-line-title", "deep-nesting"],
)
def test_purposes_load_refuses_what_it_cannot_store_in_one_line(runner, tmp_path, toml, problem):
    make_school(slug="oak-primary")
    file = write(tmp_path, "purposes.toml", toml)
    result = runner.invoke(args=["purposes", "load", file, "--school", "oak-primary"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        f"{file}: {problem}",
        f"Error: {file} has problems; nothing was loaded",
    ]
    assert count(Purpose) == 0
