"""Marketing exports (SECURITY.md items 18 and 19): CSV that cannot become formulas, the
marketing list (consented and not objected: the objection is absolute), the suppression list,
both streamed attachments that need the right role and are recorded in the audit log."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Integer, String, func, literal, select

from portal import audit_log, consent, exports, ledger_browser
from portal.errors import NotFound
from portal.extensions import db
from portal.models import StaffAuditEntry
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_child, make_purpose_set
from tests.support.web import post_form
from tests.support.world import T0, decide

NEWSLETTER = """
[[purposes]]
key = "newsletter"
title = "The parents' newsletter"
description = "A monthly email about school news and events."
choice = "consent"
lawful_basis = "consent"
scope = "guardian"
marketing = true
"""


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.response).decode("utf-8-sig")
    response.close()
    return list(csv.reader(io.StringIO(body, newline="")))


def entries(action: str) -> list[StaffAuditEntry]:
    return list(
        db.session.scalars(
            select(StaffAuditEntry)
            .where(StaffAuditEntry.action == action)
            .order_by(StaffAuditEntry.id)
        )
    )


# --- CSV cells that cannot become formulas -------------------------------------------------


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r", "\n", "\x00"])
def test_a_dangerous_first_character_is_neutralised(first):
    assert exports.safe_cell(f"{first}SUM(1)") == f"'{first}SUM(1)"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("Ada", "Ada"),
        ("", ""),
        (None, ""),
        (42, "42"),
        ("a=b", "a=b"),
        ("'=x", "'=x"),
        (" =x", " =x"),
        ("Zoë", "Zoë"),
    ],
)
def test_other_cells_are_left_alone(value, cell):
    assert exports.safe_cell(value) == cell


def parse(lines: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(lines, newline="")))


DANGEROUS = "".join(sorted(exports.DANGEROUS_FIRST))
cells = st.one_of(
    st.text(),  # every character but surrogates, control characters included
    st.text(alphabet=st.sampled_from(DANGEROUS + "\"',;' aZ\u00e9\u2028\x0b\x0c\x1c")),
)


@given(st.lists(st.lists(cells, min_size=1, max_size=6), max_size=8))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_every_file_round_trips_through_the_csv_reader(rows):
    """What csv_lines writes reads back, through csv.reader, as exactly the safe cells; no
    cell of the file begins with a dangerous character."""
    text = "".join(exports.csv_lines(rows))
    parsed = parse(text)
    assert parsed == [[exports.safe_cell(cell) for cell in row] for row in rows]
    for row in parsed:
        for cell in row:
            assert not cell or cell[0] not in exports.DANGEROUS_FIRST


@given(
    st.lists(st.lists(cells, min_size=3, max_size=3), max_size=30),
    st.integers(min_value=1, max_value=200),
)
@settings(max_examples=200)
def test_a_file_in_pieces_is_the_same_file(rows, chunk):
    """`csv_file` sends a header and the rows as UTF-8 in pieces: joined and decoded, they
    read back as the header and the safe rows, whatever the size of the pieces."""
    pieces = list(exports.csv_file(("a", "b", "c"), iter(rows), chunk=chunk))
    assert all(isinstance(piece, bytes) for piece in pieces)
    body = b"".join(pieces)
    assert body.startswith(b"\xef\xbb\xbf")  # a byte order mark, for spreadsheets
    parsed = parse(body.decode("utf-8-sig"))
    assert parsed == [["a", "b", "c"]] + [[exports.safe_cell(c) for c in row] for row in rows]


# --- the same rules in SQL (the ledger export on PostgreSQL) --------------------------------

# What PostgreSQL text can hold: every character but NUL (and surrogates, as in Python).
pg_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
pg_cells = st.one_of(
    pg_text,
    st.text(alphabet=st.sampled_from(DANGEROUS.replace("\x00", "") + "\"', a\u3000\u2028\x85")),
)


def test_the_whitespace_trimmed_in_sql_is_pythons():
    import sys

    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(ledger_browser.PY_WHITESPACE) == every


@pytest.mark.postgres
@given(value=pg_cells, number=st.integers(min_value=-(2**31), max_value=2**31 - 1))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_safe_sql_is_safe_cell(app, value, number):
    """The check that COPY's cells go through gives `safe_cell`'s text, for any text and
    any integer."""
    text, digits = db.session.execute(
        select(exports.safe_sql(literal(value, String)), exports.safe_sql(literal(number, Integer)))
    ).one()
    assert text == exports.safe_cell(value)
    assert digits == exports.safe_cell(number)
    assert db.session.scalar(select(exports.safe_sql(literal(None, String)))) is None


@pytest.mark.postgres
@given(
    forename=st.one_of(st.none(), pg_cells),
    surname=st.one_of(st.none(), pg_cells),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_person_name_sql_is_person_name(app, forename, surname):
    got = db.session.scalar(
        select(ledger_browser.person_name_sql(literal(forename, String), literal(surname, String)))
    )
    assert got == ledger_browser.person_name(forename, surname)


def pg_record(row: list[str], end: str) -> str:
    """One record as PostgreSQL's COPY writes CSV: a cell is quoted when it is empty or holds
    a comma, a quote or a line break."""
    return (
        ",".join(
            '"' + cell.replace('"', '""') + '"'
            if cell == "" or any(c in cell for c in ',"\r\n')
            else cell
            for cell in row
        )
        + end
    )


@given(
    st.lists(st.lists(cells, min_size=1, max_size=4), max_size=12),
    st.integers(min_value=1, max_value=120),
)
@settings(max_examples=300)
def test_crlf_blocks_end_records_with_crlf_and_keep_line_breaks_in_cells(rows, chunk):
    """COPY hands over one record at a time, ending in LF: the blocks end each record with
    CRLF, as csv.writer does, and leave a line break inside a quoted cell as it is."""
    records = [pg_record(row, "\n").encode("utf-8") for row in rows]
    blocks = list(exports.crlf_blocks(iter(records), chunk=chunk))
    body = b"".join(blocks)
    assert body == "".join(pg_record(row, "\r\n") for row in rows).encode("utf-8")
    assert all(block.endswith(b"\r\n") for block in blocks)
    assert parse(body.decode("utf-8")) == rows


# --- who may download ----------------------------------------------------------------------


def test_marketing_and_admin_may_export_and_others_may_not(world, office, marketer, admin):
    page = office.get("/staff")
    assert office.get("/staff/exports").status_code == 403
    for path in ("/staff/exports/marketing-list", "/staff/exports/suppression-list"):
        assert post_form(office, path, {"purpose": "any"}, page=page).status_code == 403
    assert entries("export.marketing") == entries("export.suppression") == []
    for client in (marketer, admin):
        page = client.get("/staff/exports")
        assert page.status_code == 200
        for path in ("/staff/exports/marketing-list", "/staff/exports/suppression-list"):
            response = post_form(client, path, {"purpose": "any"}, page=page)
            assert response.status_code == 200 and response.mimetype == "text/csv"
            response.close()
    assert len(entries("export.marketing")) == len(entries("export.suppression")) == 2


def test_the_marketers_menu_has_only_the_exports(world, marketer):
    page = marketer.get("/staff/exports")
    assert 'href="/staff/exports" aria-current="page">Marketing exports' in page.text
    for other in ("/staff/ledger", "/staff/audit-log", "/staff/pupils"):
        assert f'href="{other}"' not in page.text
    assert marketer.get("/staff/audit-log").status_code == 403
    assert marketer.get("/staff/ledger").status_code == 403


def test_a_download_needs_a_csrf_token(world, marketer):
    for path in ("/staff/exports/marketing-list", "/staff/exports/suppression-list"):
        assert marketer.post(path, data={"purpose": "any"}).status_code == 400
    assert entries("export.marketing") == entries("export.suppression") == []


# --- the marketing list --------------------------------------------------------------------


@pytest.fixture
def marketing(world):
    """At Oak: Ada and Gran (a contact without parental responsibility) said yes; Ben said yes
    and then objected to direct marketing; Dan objected, then said yes, then lifted his
    objection; Eve said yes and then no. At Elm, Fay said yes."""
    oak, elm = world.oak, world.elm
    emails = oak.purposes["marketing-emails"]
    decide(world.ada, emails, "grant", now=T0)
    decide(world.gran, emails, "grant", now=T0)
    decide(world.ben, emails, "grant", now=T0)
    decide(world.ben, emails, "object", now=T0 + timedelta(days=1))
    decide(world.dan, emails, "object", now=T0)
    decide(world.dan, emails, "grant", now=T0 + timedelta(days=1))
    decide(world.dan, emails, "lift_objection", now=T0 + timedelta(days=2))
    decide(world.eve, emails, "grant", now=T0)
    decide(world.eve, emails, "withdraw", now=T0 + timedelta(hours=1))
    decide(world.fay, elm.purposes["marketing-emails"], "grant", now=T0)
    return world


def emails_on(rows: list[list[str]]) -> list[str]:
    return [row[1] for row in rows[1:]]


def test_the_marketing_list_has_who_consented_and_not_objected(marketing, marketer):
    page = marketer.get("/staff/exports")
    assert '<dd class="govuk-summary-list__value">3</dd>' in page.text  # may email
    assert '<dd class="govuk-summary-list__value">1</dd>' in page.text  # objected
    response = post_form(marketer, "/staff/exports/marketing-list", {"purpose": "any"},
                         page=page)  # fmt: skip
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).astimezone(exports.LONDON).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="marketing-list-oak-primary-{today}.csv"'
    )
    rows = read_csv(response)
    assert rows == [
        ["name", "email", "school"],
        ["ada Test", "ada@example.org", "Oak Primary School"],
        ["dan Test", "dan@example.org", "Oak Primary School"],
        ["gran Test", "gran@example.org", "Oak Primary School"],  # by email address
    ]


def test_an_objector_never_appears(marketing, admin):
    """Ben consented and objected; then he says yes again: the objection still stands."""
    oak = marketing.oak
    decide(marketing.ben, oak.purposes["marketing-emails"], "grant", now=T0 + timedelta(days=3))
    page = admin.get("/staff/exports")
    rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    assert "ben@example.org" not in emails_on(rows)
    # The rule agrees with the consent rules that the parent's own page uses.
    statuses = consent.person_statuses(
        [g.id for g in marketing.guardians.values()],
        [oak.purposes["marketing-emails"]],
        school_id=oak.id,
    )
    granted = sorted(
        g.email
        for g in marketing.guardians.values()
        if statuses[(g.id, oak.purposes["marketing-emails"].id)].status == "granted"
    )
    assert emails_on(rows) == granted


def test_an_objection_to_a_retired_marketing_purpose_still_counts(world, admin):
    """Ben objected to the newsletter only; the newsletter is retired; he said yes to the
    fundraising emails. He is not on the fundraising list."""
    oak = world.oak
    purposes = make_purpose_set(oak.school, text=PURPOSES_OF_EVERY_KIND + NEWSLETTER)
    decide(world.ben, purposes["marketing-emails"], "grant", now=T0)
    decide(world.ben, purposes["newsletter"], "object", now=T0)
    decide(world.ada, purposes["marketing-emails"], "grant", now=T0)
    make_purpose_set(oak.school)  # without the newsletter: retired
    page = admin.get("/staff/exports")
    rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    assert emails_on(rows) == ["ada@example.org"]
    suppressed = read_csv(post_form(admin, "/staff/exports/suppression-list", {}, page=page))
    assert [row[0] for row in suppressed[1:]] == ["ben@example.org"]


def test_a_yes_to_older_wording_does_not_count(marketing, admin):
    reworded = PURPOSES_OF_EVERY_KIND.replace(
        "Emails about school fairs and fundraising appeals.",
        "Emails about school fairs, fundraising appeals and the summer ball.",
    )
    make_purpose_set(marketing.oak.school, text=reworded)
    decide(marketing.gran, marketing.oak.purposes["marketing-emails"], "grant")  # renewed
    page = admin.get("/staff/exports")
    rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    assert emails_on(rows) == ["gran@example.org"]


def test_a_contact_no_longer_at_the_school_is_not_listed(marketing, admin):
    make_child(marketing.oak.school, guardian_email="zed@example.org", mis_id="Z",
               guardian_forename="zed", guardian_surname="Test")  # fmt: skip
    zed = db.session.scalars(
        select(marketing.ada.__class__).where(marketing.ada.__class__.email == "zed@example.org")
    ).one()
    decide(zed, marketing.oak.purposes["marketing-emails"], "grant")
    assert "zed@example.org" in [r.email for r in exports.marketing_recipients(marketing.oak.id)]
    for link in zed.links:
        link.ended_at = datetime.now(UTC)
    db.session.commit()
    assert "zed@example.org" not in [
        r.email for r in exports.marketing_recipients(marketing.oak.id)
    ]


def test_several_marketing_purposes_can_be_chosen_one_at_a_time(world, admin, elm_admin):
    oak = world.oak
    purposes = make_purpose_set(oak.school, text=PURPOSES_OF_EVERY_KIND + NEWSLETTER)
    decide(world.ada, purposes["marketing-emails"], "grant", now=T0)
    decide(world.dan, purposes["newsletter"], "grant", now=T0)
    page = admin.get("/staff/exports")
    assert '<option value="any">Any marketing emails</option>' in page.text
    assert f'<option value="{purposes["newsletter"].id}">' in page.text
    for choice, expected in [
        ("any", ["ada@example.org", "dan@example.org"]),
        (str(purposes["marketing-emails"].id), ["ada@example.org"]),
        (str(purposes["newsletter"].id), ["dan@example.org"]),
    ]:
        rows = read_csv(post_form(admin, "/staff/exports/marketing-list", {"purpose": choice},
                                  page=page))  # fmt: skip
        assert emails_on(rows) == expected, choice
    details = [json.loads(e.detail) for e in entries("export.marketing")]
    assert details == [{"purpose": "any"}, {"purpose": "marketing-emails"},
                       {"purpose": "newsletter"}]  # fmt: skip
    # Another school's purpose: not found, and nothing recorded.
    elm_page = elm_admin.get("/staff/exports")
    response = post_form(elm_admin, "/staff/exports/marketing-list",
                         {"purpose": str(purposes["newsletter"].id)}, page=elm_page)  # fmt: skip
    assert response.status_code == 404
    # Not a purpose at all: explained.
    response = post_form(admin, "/staff/exports/marketing-list", {"purpose": "all"}, page=page)
    assert response.status_code == 400
    assert "Choose which marketing emails from the list" in response.text
    assert len(entries("export.marketing")) == 3


@pytest.mark.parametrize(
    "forename",
    ['=HYPERLINK("http://x","y")', "@SUM(1)", "+44 7700 900000", "-2+3"],
)
def test_a_formula_in_a_name_is_neutralised(world, marketer, forename):
    guardian, _ = make_child(world.oak.school, guardian_email="mallory@example.org",
                             mis_id="M", guardian_forename=forename,
                             guardian_surname="Test")  # fmt: skip
    decide(guardian, world.oak.purposes["marketing-emails"], "grant")
    page = marketer.get("/staff/exports")
    rows = read_csv(post_form(marketer, "/staff/exports/marketing-list", {"purpose": "any"},
                              page=page))  # fmt: skip
    (row,) = [r for r in rows if r[1] == "mallory@example.org"]
    assert row[0] == f"'{forename} Test"
    assert row[0].startswith("'")


# --- the suppression list ------------------------------------------------------------------


def test_the_suppression_list_has_every_objector_and_since_when(marketing, marketer, elm_admin):
    decide(marketing.fay, marketing.elm.purposes["marketing-emails"], "object", now=T0)
    page = marketer.get("/staff/exports")
    response = post_form(marketer, "/staff/exports/suppression-list", {}, page=page)
    assert response.is_streamed
    today = datetime.now(UTC).astimezone(exports.LONDON).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="suppression-list-oak-primary-{today}.csv"'
    )
    assert read_csv(response) == [
        ["email", "objected_since"],
        ["ben@example.org", "2025-10-07T09:30:00.000000Z"],
    ]
    elm = read_csv(post_form(elm_admin, "/staff/exports/suppression-list", {},
                             page=elm_admin.get("/staff/exports")))  # fmt: skip
    assert elm == [["email", "objected_since"], ["fay@example.org", "2025-10-06T09:30:00.000000Z"]]


# --- every export is recorded --------------------------------------------------------------


def test_every_export_is_recorded_and_shown_in_the_audit_log(marketing, marketer, admin):
    page = marketer.get("/staff/exports")
    before = datetime.now(UTC)
    response = post_form(marketer, "/staff/exports/marketing-list", {"purpose": "any"},
                         page=page)  # fmt: skip
    # Recorded before a byte of the file is read.
    (entry,) = entries("export.marketing")
    response.close()
    post_form(marketer, "/staff/exports/suppression-list", {}, page=page).close()
    (suppression,) = entries("export.suppression")
    staff_id = marketing.oak.school.id
    assert entry.school_id == suppression.school_id == staff_id
    assert entry.staff_user_id == suppression.staff_user_id
    assert entry.occurred_at >= before - timedelta(seconds=1)
    assert json.loads(entry.detail) == {"purpose": "any"}
    log = admin.get("/staff/audit-log")
    assert "Downloaded the marketing list" in log.text
    assert "Downloaded the suppression list" in log.text
    assert "Morgan Lee" in log.text
    assert "<dt>Purpose</dt><dd>any</dd>" in log.text
    assert log.text.index("Downloaded the suppression list") < log.text.index(
        "Downloaded the marketing list"
    )  # newest first
    assert audit_log.entries(staff_id).total == 2


def test_the_export_functions_refuse_another_schools_purpose(marketing):
    with pytest.raises(NotFound):
        list(
            exports.marketing_recipients(
                marketing.oak.id, purpose_id=marketing.elm.purposes["marketing-emails"].id
            )
        )
    assert db.session.scalar(select(func.count()).select_from(StaffAuditEntry)) == 0


def test_the_marketing_list_is_read_a_batch_of_guardians_at_a_time(marketing, monkeypatch):
    whole = list(exports.marketing_recipients(marketing.oak.id))
    monkeypatch.setattr(exports, "GUARDIAN_BATCH", 1)
    assert list(exports.marketing_recipients(marketing.oak.id)) == whole
    assert [r.email for r in whole] == ["ada@example.org", "dan@example.org", "gran@example.org"]
