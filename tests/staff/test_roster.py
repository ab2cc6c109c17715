"""Roster import from the web: upload, preview (nothing written), confirm (same import as the
CLI), with the previewed file carried back signed."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal import exports, roster
from portal.extensions import db
from portal.models import Guardian, GuardianLink, Pupil, SchoolContact, StaffAuditEntry
from portal.staff import roster as roster_views
from tests.support.client import CheckedClient, csrf_token
from tests.support.web import post_form, sign_in_as
from tests.support.world import decide

HEADER = ",".join(roster.REQUIRED_COLUMNS)
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}

# World's Oak has pupils A, B and C in 3 Oak. This file keeps A and B (B moves class and
# Dan's relationship changes), adds D, leaves C out, and has one malformed row (line 5).
FILE = "\n".join(
    [
        HEADER,
        "A,PupilA,Test,3,3 Oak,ada,Test,ada@example.org,Parent,yes",  # line 2: unchanged
        "A,PupilA,Test,3,3 Oak,ben,Test,ben@example.org,Parent,yes",  # line 3: unchanged
        "B,PupilB,Test,4,4 Ash,ada,Test,ada@example.org,Parent,yes",  # line 4: update
        "D,Dora,New,R,R Willow,Dee,New,dee@example.org,Mother,maybe",  # line 5: rejected
        "E,Eli,New,R,R Willow,Erin,New,erin@example.org,Mother,yes",  # line 6: create
        "B,PupilB,Test,4,4 Ash,dan,Test,dan@example.org,Step-father,yes",  # line 7: update
        "A,PupilA,Test,3,3 Oak,gran,Test,gran@example.org,Parent,no",  # line 8: unchanged
    ]
)


def upload(
    client: CheckedClient,
    text: str | bytes,
    *,
    filename: str = "roster.csv",
    left: bool = False,
    headers: dict[str, str] | None = None,
) -> Any:
    page = client.get("/staff/roster")
    data: dict[str, Any] = {
        "csrf_token": csrf_token(page),
        "file": file_part(text, filename),
    }
    if left:
        data["mark_missing_as_left"] = "y"
    return post_multipart(client, "/staff/roster/preview", data, headers=headers)


def file_part(content: str | bytes, filename: str = "roster.csv") -> FileStorage:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return FileStorage(io.BytesIO(data), filename=filename, content_type="text/csv")


def post_multipart(
    client: CheckedClient, path: str, data: dict[str, Any], *, headers: dict[str, str] | None = None
) -> Any:
    """POST a multipart form as a browser would. The body is encoded here, in memory: the test
    client would spool a large one to a temporary file that it never closes."""
    boundary, body = encode_multipart(data)
    return client.post(
        path,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers or {},
    )


def payload_of(page: Any) -> str:
    match = re.search(r'name="payload" type="hidden" value="([^"]+)"', page.text)
    if not match:
        match = re.search(r'type="hidden" name="payload" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def confirm(client: CheckedClient, page: Any, payload: str | None = None, **kw: Any) -> Any:
    return client.post(
        "/staff/roster/import",
        data={
            "csrf_token": csrf_token(page),
            "payload": payload if payload is not None else payload_of(page),
        },
        **kw,
    )


def state() -> tuple[Any, ...]:
    """Everything an import writes."""
    db.session.remove()
    return (
        sorted(
            db.session.execute(
                select(Pupil.school_id, Pupil.mis_id, Pupil.class_name, Pupil.on_roll)
            ).all()
        ),
        sorted(db.session.execute(select(Guardian.email)).all(), key=str),
        sorted(
            db.session.execute(
                select(
                    SchoolContact.school_id,
                    SchoolContact.guardian_id,
                    SchoolContact.forename,
                    SchoolContact.surname,
                )
            ).all(),
            key=str,
        ),
        sorted(
            db.session.execute(
                select(
                    GuardianLink.pupil_id,
                    GuardianLink.guardian_id,
                    GuardianLink.relationship_label,
                    GuardianLink.ended_at,
                )
            ).all(),
            key=str,
        ),
        db.session.scalar(select(func.count()).select_from(StaffAuditEntry)),
    )


def audit_entries(action: str) -> list[StaffAuditEntry]:
    db.session.remove()
    return list(db.session.scalars(select(StaffAuditEntry).where(StaffAuditEntry.action == action)))


# --- pages and access ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_the_upload_page_plain_and_boosted(admin, headers):
    page = admin.get("/staff/roster", headers=headers)
    assert page.status_code == 200
    assert '<h1 class="govuk-heading-l">Import the roster</h1>' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    # The checkbox is there, and off.
    assert 'name="mark_missing_as_left"' in page.text
    assert "checked" not in page.text.split('name="mark_missing_as_left"')[1].split(">")[0]


# --- preview -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_the_preview_shows_counts_and_the_malformed_row_and_writes_nothing(admin, headers):
    before = state()
    page = upload(admin, FILE, headers=headers)
    assert page.status_code == 200, page.text
    assert "Check the roster import" in page.text
    assert "Nothing has been imported yet" in page.text
    text = page.text
    counts = dict(
        re.findall(
            r'<dt class="govuk-summary-list__key">([^<]+)</dt>\s*'
            r'<dd class="govuk-summary-list__value">(?:<strong[^>]*>)?(\d+)',
            text,
        )
    )
    assert counts["Rows in the file"] == "7"
    assert counts["To create"] == "1"
    assert counts["To update"] == "2"
    assert counts["Unchanged"] == "3"
    assert counts["Rejected"] == "1"
    # The malformed row, with its line number and reason.
    rejected = text.split('id="rejected"')[1].split("</table>")[0]
    assert re.search(r"<td[^>]*>5</td>\s*<td[^>]*>D</td>", rejected)
    assert "Parental_responsibility must be yes or no, not &#39;maybe&#39;" in rejected
    # What an update changes.
    updating = text.split('id="to-update"')[1].split("</table>")[0]
    assert "Year group, class" in updating and "Relationship" in updating
    # Nothing is written by a preview, and the confirm button says how many rows go in.
    assert state() == before
    assert "Import 6 rows" in text


def test_the_preview_lists_the_pupils_to_mark_as_left_only_when_asked(admin, world):
    without = upload(admin, FILE)
    assert 'id="left"' not in without.text
    assert "To mark as left" not in without.text

    before = state()
    page = upload(admin, FILE, left=True)
    assert page.status_code == 200
    left = page.text.split('id="left"')[1].split("</table>")[0]
    assert "Pupils to mark as left (1)" in page.text
    assert re.search(r"<td[^>]*>C</td>\s*<td[^>]*>PupilC Test</td>", left)
    assert state() == before


def test_the_preview_counts_agree_with_what_the_cli_import_then_does(admin, world):
    page = upload(admin, FILE, left=True)
    previewed = roster.preview_roster(world.oak.school, FILE, mark_missing_as_left=True)
    done = roster.import_roster(world.oak.school, FILE, mark_missing_as_left=True)
    assert previewed.dry_run and not done.dry_run
    for name in ("rows", "created", "updated", "unchanged", "rejected", "pupils_created",
                 "pupils_updated", "guardians_created", "links_ended", "marked_left",
                 "outcomes", "left"):  # fmt: skip
        assert getattr(previewed, name) == getattr(done, name), name
    assert f"Import {len(done.outcomes)} rows" in page.text


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        ("café".encode("latin-1") + b"\n" + FILE.encode(), "roster.csv", "is not a UTF-8 CSV"),
        (b"PK\x03\x04" + b"\x00" * 100, "roster.xlsx", "is a spreadsheet, not a CSV file"),
        (b"PK\x03\x04" + b"\x00" * 100, "roster.csv", "is a spreadsheet, not a CSV file"),
        (b"", "roster.csv", "The file is empty"),
        (b"name,email\nAda,ada@example.org\n", "roster.csv", "missing the column(s)"),
        (b"just some\x00text\n", "notes.txt", "is not a CSV file"),
        ((HEADER + "\nA," + "x" * 140_000 + "\n").encode(), "r.csv", "line 2 is not valid CSV"),
        (b'"' + b"x" * 140_000 + b'"\n', "r.csv", "the header is not valid CSV"),
    ],
    ids=[
        "latin-1",
        "xlsx",
        "zip-named-csv",
        "empty",
        "other-columns",
        "binary",
        "huge-cell",
        "huge-header",
    ],
)
def test_a_file_that_is_not_a_utf8_roster_csv_gets_a_clear_error(admin, content, filename,
                                                                  message):  # fmt: skip
    before = state()
    page = upload(admin, content, filename=filename)
    assert page.status_code == 400
    assert page.text.startswith("<!DOCTYPE html>")
    assert "There is a problem" in page.text
    # In the error summary and beside the field.
    assert page.text.count(message) >= 2, page.text
    assert 'id="file-error"' in page.text
    assert state() == before


def test_a_file_with_a_bom_is_read(admin):
    page = upload(admin, "\ufeff" + FILE)
    assert page.status_code == 200
    assert "Import 6 rows" in page.text


def test_no_file_chosen(admin):
    page = admin.get("/staff/roster")
    response = post_multipart(admin, "/staff/roster/preview", {"csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert "Choose a CSV file to upload" in response.text


def test_a_file_over_the_limit_gets_a_clear_error(admin, monkeypatch):
    big = (FILE + "\n") + ("A,PupilA,Test,3,3 Oak,ada,Test,ada@example.org,Parent,yes\n" * 80_000)
    assert len(big.encode()) > roster_views.MAX_UPLOAD_BYTES
    before = state()
    page = upload(admin, big)
    assert page.status_code == 400
    assert "The file is larger than 4 MB" in page.text
    assert state() == before


def test_missing_csrf_is_refused(admin):
    before = state()
    response = post_multipart(admin, "/staff/roster/preview", {"file": file_part(FILE)})
    assert response.status_code == 400
    page = upload(admin, FILE)
    response = admin.post("/staff/roster/import", data={"payload": payload_of(page)})
    assert response.status_code == 400
    assert state() == before


# --- confirm -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["plain", "boosted"])
def test_confirm_imports_the_good_rows_and_reports_the_bad_one(admin, world, headers):
    page = upload(admin, FILE, headers=headers)
    response = confirm(admin, page, headers=headers)
    assert response.status_code == 200, response.text
    assert "Roster imported" in response.text
    assert "7 rows: 1 created, 2 updated, 3 unchanged, 1 rejected" in response.text
    rejected = response.text.split('id="rejected"')[1].split("</table>")[0]
    assert re.search(r"<td[^>]*>5</td>\s*<td[^>]*>D</td>", rejected)

    db.session.remove()
    oak = world.oak.id
    pupils = {p.mis_id: p for p in db.session.scalars(select(Pupil).where(Pupil.school_id == oak))}
    assert set(pupils) == {"A", "B", "C", "E"}  # D was rejected; C stays (not asked)
    assert pupils["B"].class_name == "4 Ash" and pupils["C"].on_roll
    assert pupils["E"].forename == "Eli"
    assert (
        db.session.scalars(select(Guardian).where(Guardian.email == "dee@example.org")).first()
        is None
    )
    [entry] = audit_entries("roster.import")
    detail = json.loads(entry.detail)
    assert entry.school_id == oak
    assert detail["filename"] == "roster.csv"
    assert detail["mark_missing_as_left"] is False
    assert (detail["rows"], detail["created"], detail["updated"], detail["unchanged"],
            detail["rejected"]) == (7, 1, 2, 3, 1)  # fmt: skip


def test_confirm_with_mark_missing_as_left_marks_the_pupils_listed(admin, world):
    page = upload(admin, FILE, left=True, filename="autumn.csv")
    response = confirm(admin, page)
    assert response.status_code == 200
    assert "Pupils marked as left (1)" in response.text
    db.session.remove()
    c = db.session.scalars(
        select(Pupil).where(Pupil.school_id == world.oak.id, Pupil.mis_id == "C")
    ).one()
    assert not c.on_roll and c.left_on is not None
    [entry] = audit_entries("roster.import")
    detail = json.loads(entry.detail)
    assert (detail["filename"], detail["mark_missing_as_left"], detail["marked_left"]) == (
        "autumn.csv", True, 1,
    )  # fmt: skip


def test_a_tampered_payload_is_refused_and_nothing_is_imported(admin):
    page = upload(admin, FILE)
    sealed = payload_of(page)
    before = state()
    for tampered in (
        sealed[:-3] + ("AAA" if not sealed.endswith("AAA") else "BBB"),  # the signature
        "x" + sealed[1:],  # the data
        sealed.split(".")[0],  # no signature at all
        "",
    ):
        response = confirm(admin, page, payload=tampered)
        assert response.status_code == 400, tampered
        assert state() == before
        if tampered:
            assert "could not be checked, so nothing was imported" in response.text


def test_the_options_cannot_be_changed_between_preview_and_confirm(admin, world):
    """The checkbox travels inside the signed payload: there is no field to flip."""
    page = upload(admin, FILE, left=False)
    response = admin.post(
        "/staff/roster/import",
        data={
            "csrf_token": csrf_token(page),
            "payload": payload_of(page),
            "mark_missing_as_left": "y",
        },
    )
    assert response.status_code == 200
    db.session.remove()
    assert db.session.scalars(
        select(Pupil.on_roll).where(Pupil.school_id == world.oak.id, Pupil.mis_id == "C")
    ).one()


def test_another_schools_payload_is_refused(admin, elm_admin, world):
    page = upload(admin, FILE)
    before = state()
    elm_page = elm_admin.get("/staff/roster")
    response = elm_admin.post(
        "/staff/roster/import",
        data={"csrf_token": csrf_token(elm_page), "payload": payload_of(page)},
    )
    assert response.status_code == 400
    assert "could not be checked" in response.text
    assert state() == before


def test_an_old_preview_is_refused(admin, monkeypatch):
    page = upload(admin, FILE)
    monkeypatch.setattr(roster_views, "PREVIEW_MAX_AGE", -1)
    before = state()
    response = confirm(admin, page)
    assert response.status_code == 400
    assert "more than an hour old" in response.text
    assert state() == before


def test_a_signed_payload_is_specific_to_this_portals_secret(admin, make_app, world):
    """A payload signed with another key (another portal) is refused."""
    other = make_app(SECRET_KEY="another-secret-key-that-is-long-enough-9876543210")
    with other.test_request_context():
        forged = roster_views.seal(
            world.oak.id, roster_views.Sealed(FILE, "forged.csv", mark_missing_as_left=True)
        )
    page = admin.get("/staff/roster")
    before = state()
    response = confirm(admin, page, payload=forged)
    assert response.status_code == 400
    assert state() == before


def test_a_file_with_the_same_rows_twice_reports_the_repeat(admin):
    text = "\n".join(
        [HEADER,
         "E,Eli,New,R,R Willow,Erin,New,erin@example.org,Mother,yes",
         "E,Eli,New,R,R Willow,Erin,New,ERIN@example.org,Mother,yes"]
    )  # fmt: skip
    page = upload(admin, text)
    assert page.status_code == 200
    assert "Repeats the contact on line 2 for pupil E" in page.text
    response = confirm(admin, page)
    assert "2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected" in response.text


def test_a_file_too_large_to_carry_back_to_the_confirm_is_refused_at_the_preview(
    admin, monkeypatch
):
    monkeypatch.setattr(roster_views, "_payload_limit", lambda: 100)
    page = upload(admin, FILE)
    assert page.status_code == 400
    assert "is too large to import from the web" in page.text
    assert 'name="payload"' not in page.text


# --- the name is the school's own -------------------------------------------------------------


def read_csv(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.response).decode("utf-8-sig")
    response.close()
    return list(csv.DictReader(io.StringIO(body, newline="")))


def test_a_roster_names_a_contact_for_its_own_school_only(world, admin, elm_admin, marketer):
    """Red team item 3: one person with children at Oak and at Elm, whom each school's roster
    names differently. Each school's staff see the name their own roster gave, on the pupil's
    record, the ledger page and its CSV, and the marketing list; the person stays one person,
    who signs in once and sees both children."""
    oak, elm = world.oak, world.elm
    roster.import_roster(
        oak.school, f"{HEADER}\nL1,Lin,Lace,3,3 Oak,Ada,Lovelace,ada@x.example,Mother,yes\n"
    )
    roster.import_roster(
        elm.school, f"{HEADER}\nK1,Kit,King,9,9X,Ada,King,ADA@x.example,Mother,yes\n"
    )
    [ada] = db.session.scalars(select(Guardian).where(Guardian.email == "ada@x.example")).all()
    lin = db.session.scalars(select(Pupil).where(Pupil.mis_id == "L1")).one()
    kit = db.session.scalars(select(Pupil).where(Pupil.mis_id == "K1")).one()
    for school, pupil in ((oak, lin), (elm, kit)):
        decide(ada, school.purposes["photos-website"], "grant", pupil=pupil)
        decide(ada, school.purposes["marketing-emails"], "grant")
    db.session.remove()

    for client, pupil, own, other in ((admin, lin, "Ada Lovelace", "King"),
                                      (elm_admin, kit, "Ada King", "Lovelace")):  # fmt: skip
        record = client.get(f"/staff/pupils/{pupil.id}")
        assert record.status_code == 200
        assert own in record.text and other not in record.text
        page = client.get("/staff/ledger")
        assert own in page.text and other not in page.text
        rows = read_csv(post_form(client, "/staff/ledger/export", {}, page=page))
        hers = [row for row in rows if row["guardian_email"] == "ada@x.example"]
        assert len(hers) == 2
        assert {row["guardian_name"] for row in hers} == {own}
        assert {row["actor"] for row in hers} == {own}
    listed = {
        row["email"]: row["name"]
        for row in read_csv(
            post_form(marketer, "/staff/exports/marketing-list", {"purpose": "any"},
                      page=marketer.get("/staff/exports"))
        )
    }  # fmt: skip
    assert listed["ada@x.example"] == "Ada Lovelace"
    with elm_admin.application.app_context():
        at_elm = {r.email: r.name for r in exports.marketing_recipients(elm.id)}
    assert at_elm["ada@x.example"] == "Ada King"

    # One person: one sign-in, both children.
    family = elm_admin.application.test_client()
    sign_in_as(family, "ada@x.example")
    page = family.get("/family")
    assert "Lin" in page.text and "Kit" in page.text


# --- one-line fields, large files ---------------------------------------------------------


def test_the_preview_names_the_row_with_a_line_break_and_imports_the_others(admin, world):
    """Red team item 2: a row whose forename holds a line break is rejected, named by the
    line it starts on; the rows around it import."""
    text = "\n".join(
        [HEADER,
         "E,Eli,New,R,R Willow,Erin,New,erin@example.org,Mother,yes",  # line 2
         'F,"Li\nne",New,R,R Willow,Fern,New,fern@example.org,Mother,yes',  # lines 3-4
         "G,Gus,New,R,R Willow,Gail,New,gail@example.org,Mother,yes"]  # line 5
    )  # fmt: skip
    page = upload(admin, text)
    assert page.status_code == 200
    rejected = page.text.split('id="rejected"')[1].split("</table>")[0]
    assert re.search(r"<td[^>]*>3</td>\s*<td[^>]*>F</td>", rejected)
    assert "Pupil_forename must be one line, without line breaks" in rejected
    response = confirm(admin, page)
    assert "3 rows: 2 created, 0 updated, 0 unchanged, 1 rejected" in response.text
    db.session.remove()
    names = db.session.scalars(select(Pupil.forename).where(Pupil.school_id == world.oak.id))
    assert sorted(names) == ["Eli", "Gus", "PupilA", "PupilB", "PupilC"]


def big_file(rows: int, bad_every: int) -> str:
    """`rows` rows of new pupils, one contact each; every `bad_every`th row rejected."""
    lines = [HEADER]
    for n in range(1, rows + 1):
        answer = "maybe" if n % bad_every == 0 else "yes"
        lines.append(f"N{n:05d},Pupil{n},Big,5,5 Elm,Carer{n},Big,c{n}@big.example,Mother,{answer}")
    return "\n".join(lines) + "\n"


def test_a_large_files_preview_shows_counts_and_the_first_rows_not_every_row(
    admin, runner, tmp_path
):
    """Red team item 11: the preview of a 35,000-row file was a 15 MB page. A page lists the
    first 50 rows of each kind and says how many more there are; the command line lists every
    rejected row (with --dry-run, importing nothing)."""
    text = big_file(5_000, bad_every=25)  # 200 rejected
    page = upload(admin, text, filename="big.csv")
    assert page.status_code == 200
    assert len(page.data) < 200_000, len(page.data)
    counts = dict(
        re.findall(
            r'<dt class="govuk-summary-list__key">([^<]+)</dt>\s*'
            r'<dd class="govuk-summary-list__value">(?:<strong[^>]*>)?(\d+)',
            page.text,
        )
    )
    assert (counts["Rows in the file"], counts["To create"], counts["Rejected"]) == (
        "5000", "4800", "200",
    )  # fmt: skip
    rejected = page.text.split('id="rejected"')[1].split("</table>")[0]
    assert rejected.count('<tr class="govuk-table__row">') == 1 + 50  # the headings' row
    assert re.search(r"<td[^>]*>26</td>\s*<td[^>]*>N00025</td>", rejected)  # the first
    assert ">1251</td>" in rejected and ">1276</td>" not in rejected  # the 50th, the 51st
    assert "And 150 more rows with a problem" in page.text
    assert "flask roster import FILE --school oak-primary --dry-run" in page.text
    creating = page.text.split('id="to-create"')[1]
    assert "To create (4800)</h2>" in page.text
    assert creating.split("</table>")[0].count('<tr class="govuk-table__row">') == 1 + 50
    assert "And 4750 more rows like these" in creating
    assert "Import 4800 rows" in page.text
    # Nothing was written; the command line's dry run lists every rejected row.
    before = state()
    path = tmp_path / "big.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(
        args=["roster", "import", str(path), "--school", "oak-primary", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count(": rejected: parental_responsibility must be yes or no") == 200
    assert "Dry run: nothing was imported" in result.output
    assert "5000 rows: 4800 created, 0 updated, 0 unchanged, 200 rejected" in result.output
    assert state() == before


def test_a_body_over_the_apps_limit_gets_a_page_that_says_the_limit_and_the_command(admin, app):
    """Red team item 11: a file over MAX_CONTENT_LENGTH got a bare 413. The page says the limit
    and points to the command, which takes larger files."""
    page = admin.get("/staff/roster")
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b"x" * (limit + 1)
    data = {"csrf_token": csrf_token(page), "file": file_part(body, "huge.csv")}
    before = state()
    response = post_multipart(admin, "/staff/roster/preview", data)
    assert response.status_code == 413
    assert "What you sent is too large" in response.text
    assert f"at most {limit // (1024 * 1024)} MB" in response.text
    assert "flask roster import FILE --school SLUG" in response.text
    assert state() == before
    # Between our own limit and the app's, the message beside the field says the same.
    between = b"x" * (roster_views.MAX_UPLOAD_BYTES + 1)
    response = upload(admin, between, filename="big.csv")
    assert response.status_code == 400
    assert "The file is larger than 4 MB" in response.text
    assert "flask roster import FILE --school SLUG" in response.text


def test_a_leaving_date_in_the_upload_marks_the_pupil_left_and_makes_the_task(admin, world):
    from portal.models import Purpose, TakedownTask

    photos = db.session.get(Purpose, world.oak.purposes["photos-website"].id)
    photos.on_leaving = "remove"
    db.session.commit()
    text = "\n".join([
        HEADER + ",leaving_date",
        "A,PupilA,Test,3,3 Oak,ada,Test,ada@example.org,Parent,yes,",
        "C,PupilC,Test,3,3 Oak,eve,Test,eve@example.org,Parent,yes,2025-10-03",
        "B,PupilB,Test,3,3 Oak,ada,Test,ada@example.org,Parent,yes,3 Oct 2025",  # line 4
    ])  # fmt: skip
    page = upload(admin, text)
    assert page.status_code == 200
    assert "Pupils to mark as left (1)" in page.text
    rejected = page.text.split('id="rejected"')[1].split("</table>")[0]
    assert re.search(r"<td[^>]*>4</td>\s*<td[^>]*>B</td>", rejected)
    assert "is not a date written YYYY-MM-DD" in rejected
    assert db.session.scalars(select(TakedownTask)).all() == []  # a preview writes nothing

    response = confirm(admin, page)
    assert response.status_code == 200 and "Pupils marked as left (1)" in response.text
    db.session.remove()
    c = db.session.get(Pupil, world.oak.pupils["C"].id)
    assert not c.on_roll and str(c.left_on) == "2025-10-03"
    [task] = db.session.scalars(select(TakedownTask)).all()
    assert (task.pupil_id, task.kind, task.action) == (c.id, "leaving", "remove")
    assert "Remove PupilC T." in admin.get("/staff/take-downs").text


def test_a_pupil_with_no_contact_is_previewed_and_imported_alone(admin, world):
    """The preview shows a contactless row as a pupil to create with no contact, and the
    import adds the pupil with no contact (not a rejection)."""
    text = "\n".join([HEADER, "F,Fin,Alone,R,R Willow,,,,,"])
    page = upload(admin, text)
    assert page.status_code == 200, page.text
    creating = page.text.split('id="to-create"')[1].split("</table>")[0]
    assert "Fin Alone" in creating and "no contact in the file" in creating
    assert 'id="rejected"' not in page.text
    response = confirm(admin, page)
    assert "1 rows: 1 created, 0 updated, 0 unchanged, 0 rejected" in response.text
    db.session.remove()
    fin = db.session.scalars(select(Pupil).where(Pupil.mis_id == "F")).one()
    assert (fin.school_id, fin.class_name, fin.links) == (world.oak.id, "R Willow", [])
