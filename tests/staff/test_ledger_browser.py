"""The ledger browser (admins): filters, pages, htmx fragments, verify now and the streamed
CSV export of the filtered events.

Elm's admin asking for an Oak pupil (or purpose) by id gets 404, not an empty list: every id
of another school is answered with 404 (docs/security.md, promise 12), and 404 is also what a
made-up id gets, so the answer says nothing about whether the pupil exists. Free-text searches
are matched only within the school, so an Oak name or MIS id simply finds nothing at Elm.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, func, literal, select, text

from portal import csv_files, ledger_browser
from portal.extensions import db
from portal.ledger import checkpoints, notes
from portal.models import GENESIS_HASH, SchoolContact, StaffAuditEntry
from portal.types import LONDON
from tests.support.client import csrf_token
from tests.support.web import post_form, text_of
from tests.support.world import T0, decide, event_rows

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/staff/ledger"}
LATE_EVENING = datetime(2025, 10, 11, 23, 30, tzinfo=UTC)  # 00:30 on 12 October in London


@pytest.fixture
def events(world):
    """Six events at Oak (seq 3 a paper form taken down by staff, with a note; seq 5 a
    guardian-level marketing consent; seq 6 late on a Saturday evening, UTC) and two at Elm.
    Pupil C is moved to class 4 Ash."""
    oak, elm = world.oak, world.elm
    a, b, c = oak.pupils["A"], oak.pupils["B"], oak.pupils["C"]
    photos = oak.purposes["photos-website"]
    decide(world.ada, photos, "grant", pupil=a, now=T0)
    decide(world.ben, photos, "grant", pupil=a, now=T0 + timedelta(days=1))
    decide(world.dan, photos, "withdraw", pupil=b, staff=oak.staff,
           note="Form handed in at the office", now=T0 + timedelta(days=2))  # fmt: skip
    decide(world.eve, oak.purposes["class-photos"], "object", pupil=c, now=T0 + timedelta(days=3))
    decide(world.ada, oak.purposes["marketing-emails"], "grant", now=T0 + timedelta(days=4))
    decide(world.ada, photos, "withdraw", pupil=a, now=LATE_EVENING)
    x = elm.pupils["X"]
    decide(world.fay, elm.purposes["photos-website"], "grant", pupil=x, now=T0)
    decide(world.ada, elm.purposes["photos-website"], "grant", pupil=x, now=T0)
    c.class_name = "4 Ash"
    db.session.commit()
    return world


def seqs(response) -> list[int]:
    """The seqs in the results table, in the order shown."""
    body = response.get_data(as_text=True)
    return [int(s) for s in re.findall(r'govuk-table__cell--numeric">(\d+)</td>', body)]


def link(response, rel: str) -> str | None:
    match = re.search(rf'href="([^"]+)" rel="{rel}"', response.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else None


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.response).decode("utf-8-sig")
    response.close()
    return list(csv.reader(io.StringIO(body, newline="")))


def audit_count(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(StaffAuditEntry).where(StaffAuditEntry.action == action)
    )


# --- who may see it ------------------------------------------------------------------------


def test_only_admins_reach_the_ledger(events, office, marketer, admin):
    for client in (office, marketer):
        page = client.get("/staff", follow_redirects=True)
        assert client.get("/staff/ledger").status_code == 403
        assert post_form(client, "/staff/ledger/verify", {}, page=page).status_code == 403
        assert post_form(client, "/staff/ledger/export", {}, page=page).status_code == 403
    assert audit_count("ledger.verify") == audit_count("export.ledger") == 0
    page = admin.get("/staff/ledger")
    assert page.status_code == 200
    assert 'href="/staff/ledger" aria-current="page"' in page.text


def test_elm_never_sees_oak(events, elm_admin):
    oak = events.oak
    page = elm_admin.get("/staff/ledger")
    assert seqs(page) == [2, 1]
    assert "fay Test" in page.text
    for oak_only in ("ben Test", "dan Test", "eve Test", "PupilA", "Form handed in"):
        assert oak_only not in page.text
    # Oak's pupil or purpose by id: 404, like an id that does not exist.
    assert elm_admin.get(f"/staff/ledger?pupil_id={oak.pupils['A'].id}").status_code == 404
    assert elm_admin.get("/staff/ledger?pupil_id=999999").status_code == 404
    photos = oak.purposes["photos-website"].id
    assert elm_admin.get(f"/staff/ledger?purpose={photos}").status_code == 404
    assert (
        elm_admin.get(f"/staff/ledger?pupil_id={oak.pupils['A'].id}", headers=HTMX).status_code
        == 404
    )
    # Oak's pupils by name or MIS id: nothing at Elm.
    assert seqs(elm_admin.get("/staff/ledger?pupil=PupilA")) == []
    assert seqs(elm_admin.get("/staff/ledger?pupil=A")) == []
    # Nor can the export reach them, and a refused export is not recorded.
    response = post_form(elm_admin, "/staff/ledger/export",
                         {"pupil_id": oak.pupils["A"].id}, page=page)  # fmt: skip
    assert response.status_code == 404
    assert audit_count("export.ledger") == 0


# --- filters and pages ---------------------------------------------------------------------


def test_newest_first_with_every_column(events, admin):
    page = admin.get("/staff/ledger")
    assert seqs(page) == [6, 5, 4, 3, 2, 1]
    assert "<strong>6</strong> events match, newest first." in page.text
    row = page.text.split('govuk-table__cell--numeric">3</td>')[1].split("</tr>")[0]
    third = event_rows(events.oak.id)[2]
    for shown in ("PupilB Test", "B, 3 Oak", "dan Test", "Photos on the school website",
                  "wording v1, notice v1", "No", "From a paper form", "Sam Taylor", "staff",
                  "Form handed in at the office", f"OP-3-{third.hash[:4].upper()}",
                  third.hash):  # fmt: skip
        assert shown in row, shown
    head = event_rows(events.oak.id)[-1]
    assert head.hash in page.text  # the chain head, in full
    assert "No pupil: a choice of the guardian's own" in page.text  # seq 5, marketing


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date_from=2025-10-07&date_to=2025-10-08", [3, 2]),
        ("date_from=7/10/2025&date_to=8/10/2025", [3, 2]),
        ("date_to=2025-10-11", [5, 4, 3, 2, 1]),  # seq 6 is 12 October in London
        ("date_from=2025-10-12", [6]),
        ("class_name=4+Ash", [4]),
        ("class_name=3+Oak", [6, 3, 2, 1]),
        ("pupil=pupilb", [3]),
        ("pupil=PupilA+Test", [6, 2, 1]),
        ("pupil=A", [6, 2, 1]),  # the MIS id, exactly
        ("pupil=%25", []),  # a LIKE wildcard is just a character
        ("decision=withdraw", [6, 3]),
        ("decision=grant&pupil=A", [2, 1]),
        ("channel=paper", [3]),
        ("channel=web&decision=object", [4]),
    ],
)
def test_each_filter_narrows_the_results(events, admin, query, expected):
    response = admin.get(f"/staff/ledger?{query}")
    assert response.status_code == 200
    assert seqs(response) == expected


def test_filter_by_pupil_and_purpose_id(events, admin):
    oak = events.oak
    page = admin.get(f"/staff/ledger?pupil_id={oak.pupils['A'].id}")
    assert seqs(page) == [6, 2, 1]
    assert "Only the events of one pupil, PupilA Test." in page.text
    marketing = oak.purposes["marketing-emails"].id
    assert seqs(admin.get(f"/staff/ledger?purpose={marketing}")) == [5]
    page = admin.get(f"/staff/ledger?purpose={marketing}")
    assert f'<option value="{marketing}" selected>' in page.text


def test_a_pupil_id_past_the_column_range_is_refused_not_a_crash(events, admin):
    response = admin.get("/staff/ledger?pupil_id=2147483648")
    assert response.status_code == 400
    assert "Choose a pupil from the list" in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2025-10-08&date_to=2025-10-07", "To must be the same as or after From"),
        ("date_from=31/02/2025", "From must be a real date"),
        ("class_name=9+Z", "Choose a class from the list"),
        ("decision=maybe", "Choose a decision from the list"),
        ("channel=pigeon", "Choose a channel from the list"),
        ("purpose=photos", "Choose a purpose from the list"),
        ("purpose=%C2%B2", "Choose a purpose from the list"),  # "²": isdigit() but not int()
        ("purpose=2147483648", "Choose a purpose from the list"),  # past the id column
    ],
)
def test_a_bad_filter_is_explained(events, admin, query, message):
    response = admin.get(f"/staff/ledger?{query}")
    assert response.status_code == 400
    assert "There is a problem" in response.text and message in response.text
    assert response.text.count(message) == 2  # in the summary and beside the field
    assert "Correct the filter to see the events." in response.text
    assert "<title>Error: Consent ledger" in response.text


def test_pages_keep_the_filter(events, admin, monkeypatch):
    monkeypatch.setattr(ledger_browser.events, "PAGE_SIZE", 2)
    first = admin.get("/staff/ledger")
    assert seqs(first) == [6, 5] and link(first, "prev") is None
    second = admin.get(link(first, "next"))
    assert seqs(second) == [4, 3]
    third = admin.get(link(second, "next"))
    assert seqs(third) == [2, 1] and link(third, "next") is None
    back = admin.get(link(third, "prev"))
    assert seqs(back) == [4, 3]
    assert seqs(admin.get(link(back, "prev"))) == [6, 5]
    # With a filter, the links carry it.
    first = admin.get("/staff/ledger?channel=web")
    assert seqs(first) == [6, 5]
    older = link(first, "next")
    assert "channel=web" in older
    assert seqs(admin.get(older)) == [4, 2]
    assert seqs(admin.get(link(admin.get(older), "next"))) == [1]


def test_htmx_gets_the_results_and_a_plain_request_the_page(events, admin):
    plain = admin.get("/staff/ledger?decision=withdraw")
    assert plain.text.lstrip().startswith("<!DOCTYPE html>")
    assert "<h1" in plain.text and 'id="ledger-results"' in plain.text
    assert "HX-Request" in plain.headers["Vary"]
    fragment = admin.get("/staff/ledger?decision=withdraw", headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.text.lstrip()
    assert body.startswith('<div id="ledger-results"')
    assert "<h1" not in body and "<html" not in body
    assert seqs(fragment) == [6, 3]
    assert '<div id="portal-live" hx-swap-oob="innerHTML">2 events match</div>' in body
    # The address bar gets the filter without the form's empty fields.
    both = admin.get("/staff/ledger?date_from=&class_name=&decision=withdraw&pupil=", headers=HTMX)
    assert both.headers["HX-Push-Url"] == "/staff/ledger?decision=withdraw"
    # The filter form swaps the results and pushes the URL.
    assert 'hx-target="#ledger-results"' in plain.text and 'hx-push-url="true"' in plain.text
    # A boosted navigation is a page load: the whole page.
    boosted = admin.get("/staff/ledger", headers={**HTMX, "HX-Boosted": "true"})
    assert boosted.text.lstrip().startswith("<!DOCTYPE html>")
    # A bad filter: the fragment, with the problem, and 400.
    bad = admin.get("/staff/ledger?decision=maybe", headers=HTMX)
    assert bad.status_code == 400 and "Correct the filter" in bad.text


def test_free_text_is_escaped(events, admin):
    decide(events.eve, events.oak.purposes["class-photos"], "lift_objection",
           pupil=events.oak.pupils["C"], staff=events.oak.staff,
           note='<script>alert("x")</script>')  # fmt: skip
    page = admin.get("/staff/ledger")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


# --- find a reference ----------------------------------------------------------------------


def found_section(response) -> str | None:
    """The text of the event a reference found, or None."""
    body = response.get_data(as_text=True)
    match = re.search(
        r'<div class="portal-ledger-found" id="reference-found">(.*?)</dl>', body, re.S
    )
    return html.unescape(text_of(match.group(1))) if match else None


def reference_error(response) -> str:
    body = response.get_data(as_text=True)
    match = re.search(r'<p class="govuk-error-message" id="reference-error">(.*?)</p>', body, re.S)
    assert match, "no error message on the reference field"
    assert 'href="#reference"' in body  # the error summary links to the field
    return html.unescape(text_of(match.group(1))).removeprefix("Error: ")


def short(row, code: str = "OP") -> str:
    return f"{code}-{row.seq}-{row.hash[:4].upper()}"


def test_the_page_shows_the_signed_checkpoint_and_a_found_events_proof(events, admin):
    page = admin.get("/staff/ledger")
    assert "Signed checkpoint None signed yet" in text_of(page.get_data(as_text=True))
    checkpoints.sign(notes.Signer.generate("localhost"))
    third = event_rows(events.oak.id)[2]
    page = admin.get("/staff/ledger", query_string={"reference": short(third)})
    body = page.get_data(as_text=True)
    assert "Signed checkpoint 6 events, signed" in text_of(body)
    assert 'href="/schools/oak-primary/ledger/checkpoint"' in body
    found = found_section(page)
    assert (
        found is not None and "Proof Proof that event 3 is in the signed record (entry 2)" in found
    )
    link = re.search(r'href="(/schools/oak-primary/ledger/proof/2\?t=[\w-]+)"', body)
    assert link is not None
    proof = admin.get(html.unescape(link.group(1)))
    assert proof.status_code == 200
    assert proof.get_json()["chain"]["hash"] == third.hash


@pytest.mark.parametrize(
    "typed",
    ["{ref}", "{lower}", "  {spaced}  ", "{squeezed}", "{without_code}"],
)
def test_find_a_reference_however_it_is_typed(events, admin, typed):
    third = event_rows(events.oak.id)[2]
    ref = short(third)
    typed = typed.format(ref=ref, lower=ref.lower(), spaced=ref.replace("-", " "),
                         squeezed=ref.replace("-", ""), without_code=ref[3:])  # fmt: skip
    page = admin.get("/staff/ledger", query_string={"reference": typed})
    assert page.status_code == 200
    found = found_section(page)
    assert found is not None
    assert found.startswith(f"{ref}: event 3")
    for shown in ("PupilB Test", "dan Test", "Photos on the school website", "No",
                  "From a paper form", "Sam Taylor", "Form handed in at the office",
                  f"Full fingerprint {third.hash}",
                  f"Previous fingerprint {third.prev_hash}"):  # fmt: skip
        assert shown in found, shown
    assert 'id="reference-error"' not in page.text
    assert f'value="{typed.strip()}"' in page.text  # the field keeps what was typed


def test_the_page_offers_the_field_and_shows_this_schools_example(events, admin):
    page = admin.get("/staff/ledger")
    assert page.status_code == 200
    assert 'id="find-reference"' in page.text and 'name="reference"' in page.text
    assert "like OP-1042-7F3A" in page.text
    assert found_section(page) is None and 'id="reference-error"' not in page.text


def test_a_wrong_check_says_which_characters_to_look_at(events, admin):
    third = event_rows(events.oak.id)[2]
    wrong = "0000" if third.hash[:4].upper() != "0000" else "1111"
    page = admin.get("/staff/ledger", query_string={"reference": f"OP-3-{wrong}"})
    assert page.status_code == 200
    assert reference_error(page) == (
        "That reference does not match the event 3: check the last four characters"
    )
    assert found_section(page) is None
    assert "<title>Error: " in page.text


def test_no_such_event_at_this_school(events, admin):
    page = admin.get("/staff/ledger", query_string={"reference": "OP-99-7F3A"})
    assert page.status_code == 200
    assert reference_error(page) == "No event with that reference at Oak Primary School"
    assert found_section(page) is None


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "hello", "OP-3", "OP-3-7F3", "OP-3-7F3G", "<script>alert(1)</script>", "9" * 500],
)
def test_a_bad_reference_is_explained_and_changes_nothing(events, admin, typed):
    before = (len(event_rows(events.oak.id)),
              db.session.scalar(select(func.count()).select_from(StaffAuditEntry)))  # fmt: skip
    page = admin.get("/staff/ledger", query_string={"reference": typed})
    assert page.status_code == 400
    assert reference_error(page) == (
        "Enter a reference like OP-1042-7F3A: the school's letters, the event's number and "
        "the four characters after it"
    )
    assert found_section(page) is None
    assert "<script>alert(1)</script>" not in page.text
    db.session.remove()
    after = (len(event_rows(events.oak.id)),
             db.session.scalar(select(func.count()).select_from(StaffAuditEntry)))  # fmt: skip
    assert after == before
    # The filter's results still show below.
    assert seqs(page) == [6, 5, 4, 3, 2, 1]


def test_another_schools_reference_never_shows_its_event(events, admin, elm_admin):
    oak_rows, elm_rows = event_rows(events.oak.id), event_rows(events.elm.id)
    elm_first, oak_first = elm_rows[0], oak_rows[0]
    assert elm_first.seq == oak_first.seq == 1
    assert elm_first.hash[:4] != oak_first.hash[:4]  # the fixture's hashes differ

    # Elm's reference at Oak: Elm's code is not Oak's.
    page = admin.get("/staff/ledger", query_string={"reference": short(elm_first, "EA")})
    assert page.status_code == 200
    assert reference_error(page) == (
        "No event with that reference at Oak Primary School: its references start with OP-"
    )
    assert found_section(page) is None
    assert elm_first.hash not in page.text

    # Elm's number and check with Oak's code (or none): Oak's event 1 does not match.
    for typed in (short(elm_first, "OP"), short(elm_first)[3:]):
        page = admin.get("/staff/ledger", query_string={"reference": typed})
        assert reference_error(page) == (
            "That reference does not match the event 1: check the last four characters"
        )
        assert found_section(page) is None and elm_first.hash not in page.text

    # And the other way round: Oak's references at Elm.
    at_elm = "No event with that reference at Elm Academy"
    for typed, message in (
        (short(oak_first), f"{at_elm}: its references start with EA-"),
        (short(oak_first, "EA"), "That reference does not match the event 1: "
                                 "check the last four characters"),
        (short(oak_rows[5], "EA"), at_elm),  # Elm has no event 6
    ):  # fmt: skip
        page = elm_admin.get("/staff/ledger", query_string={"reference": typed})
        assert page.status_code == 200
        assert found_section(page) is None
        assert reference_error(page) == message
        for row in oak_rows:
            assert row.hash not in page.text

    # Elm's own reference at Elm is found.
    page = elm_admin.get("/staff/ledger", query_string={"reference": short(elm_first, "ea")})
    found = found_section(page)
    assert found is not None and f"Full fingerprint {elm_first.hash}" in found


def test_only_admins_can_look_up_a_reference(events, office, marketer):
    ref = short(event_rows(events.oak.id)[2])
    for client in (office, marketer):
        page = client.get("/staff/ledger", query_string={"reference": ref})
        assert page.status_code == 403
        assert event_rows(events.oak.id)[2].hash not in page.text


# --- verify now ----------------------------------------------------------------------------


def test_verify_now_shows_the_outcome_and_is_recorded(events, admin):
    page = admin.get("/staff/ledger")
    assert "Nobody has checked the ledger from this page yet." in page.text
    response = post_form(admin, "/staff/ledger/verify", {}, page=page)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/ledger#verify"
    page = admin.get("/staff/ledger")
    assert "Intact" in page.text and "All 6 events check out" in page.text
    assert "Checked just now by Dana Okafor" in page.text
    head = event_rows(events.oak.id)[-1]
    assert f'seq 6, hash <code class="portal-hash">{head.hash}</code>' in page.text
    # Seen again later, it is the last check, with its time.
    again = admin.get("/staff/ledger")
    assert "Last checked" in again.text and "by Dana Okafor" in again.text
    entry = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == "ledger.verify")
    ).one()
    assert entry.school_id == events.oak.id
    assert '"result": "ok"' in entry.detail and f'"head_hash": "{head.hash}"' in entry.detail


def test_verify_now_with_htmx_swaps_the_outcome(events, admin):
    page = admin.get("/staff/ledger")
    response = post_form(admin, "/staff/ledger/verify", {}, page=page, headers=HTMX)
    assert response.status_code == 200
    body = response.text.lstrip()
    assert body.startswith('<section id="verify"')
    assert "All 6 events check out" in body and "Checked just now" in body
    assert 'hx-swap-oob="innerHTML">The ledger checks out.</div>' in body


def test_verify_needs_a_csrf_token(events, admin):
    response = admin.post("/staff/ledger/verify", data={})
    assert response.status_code == 400
    assert audit_count("ledger.verify") == 0


@pytest.fixture
def unprotected(events, is_postgres):
    """The events, with the ledger's append-only triggers out of the way (tests/ledger/
    test_tampering.py does the same): someone with database rights edits the table."""
    if is_postgres:
        db.session.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
    else:
        db.session.execute(text("DROP TRIGGER consent_events_no_update"))
        db.session.execute(text("DROP TRIGGER consent_events_no_delete"))
    db.session.commit()
    return events


def test_verify_now_names_the_first_broken_seq(unprotected, admin):
    db.session.execute(
        text("UPDATE consent_events SET note = 'Form lost' WHERE school_id = :s AND seq = 3"),
        {"s": unprotected.oak.id},
    )
    db.session.commit()
    page = admin.get("/staff/ledger")
    response = post_form(admin, "/staff/ledger/verify", {}, page=page, headers=HTMX)
    assert "Broken" in response.text
    assert "The chain is broken at seq 3: the event&#39;s note does not match its commitment" in (
        response.text
    )
    assert "The ledger is broken." in response.text
    page = admin.get("/staff/ledger")
    assert "broken at seq 3" in page.text
    entry = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == "ledger.verify")
    ).one()
    assert '"broken_seq": 3' in entry.detail and '"result": "broken"' in entry.detail


# --- the export ----------------------------------------------------------------------------


def test_the_export_is_a_streamed_csv_attachment_with_every_column(events, admin):
    page = admin.get("/staff/ledger")
    # Unbuffered: the response as the server sends it, read as it comes.
    response = admin.post(
        "/staff/ledger/export", data={"csrf_token": csrf_token(page)}, buffered=False
    )
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).astimezone(LONDON).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="ledger-oak-primary-{today}.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert "Content-Length" not in response.headers
    # Recorded before the first byte is sent.
    assert audit_count("export.ledger") == 1
    rows = read_csv(response)
    assert rows[0] == list(ledger_browser.LEDGER_HEADER)
    assert len(rows) == 7 and all(len(row) == 18 for row in rows)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    db_rows = event_rows(events.oak.id)
    assert [r["seq"] for r in records] == ["1", "2", "3", "4", "5", "6"]  # the chain's order
    assert [r["hash"] for r in records] == [r.hash for r in db_rows]
    assert records[0]["prev_hash"] == GENESIS_HASH
    assert all(records[i]["prev_hash"] == records[i - 1]["hash"] for i in range(1, 6))
    assert records[2] == {
        "seq": "3",
        "occurred_at": "2025-10-08T09:30:00.000000Z",
        "pupil_mis_id": "B",
        "pupil_name": "PupilB Test",
        "class": "3 Oak",
        "guardian_name": "dan Test",
        "guardian_email": "dan@example.org",
        "purpose_key": "photos-website",
        "purpose_title": "Photos on the school website",
        "purpose_version": "1",
        "notice_version": "1",
        "decision": "withdraw",
        "channel": "paper",
        "actor_type": "staff",
        "actor": "Sam Taylor",
        "note": "Form handed in at the office",
        "prev_hash": db_rows[1].hash,
        "hash": db_rows[2].hash,
    }
    marketing = records[4]
    assert (marketing["pupil_mis_id"], marketing["pupil_name"], marketing["class"]) == ("", "", "")
    assert marketing["actor"] == "ada Test" and marketing["actor_type"] == "guardian"


def test_the_export_takes_the_filter_and_records_it(events, admin):
    page = admin.get("/staff/ledger?decision=withdraw")
    assert 'name="decision" value="withdraw"' in page.text  # the export form carries it
    assert "Download these 2 events (CSV)" in page.text
    wanted = {"decision": "withdraw", "date_from": "2025-10-01"}
    response = post_form(admin, "/staff/ledger/export", wanted, page=page)
    rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == ["3", "6"]
    entry = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == "export.ledger")
    ).one()
    assert entry.detail == '{"decision": "withdraw", "from": "2025-10-01", "up_to_seq": 6}'
    log = admin.get("/staff/audit-log")
    assert "Downloaded ledger events (CSV)" in log.text
    assert "<dt>Decision</dt><dd>withdraw</dd>" in log.text
    assert "<dt>Events up to seq</dt><dd>6</dd>" in log.text


def test_the_export_holds_the_events_up_to_the_head_when_it_was_asked_for(events, admin):
    page = admin.get("/staff/ledger")
    response = post_form(admin, "/staff/ledger/export", {}, page=page)
    # Seq 7, while the file is on its way.
    decide(events.eve, events.oak.purposes["class-photos"], "lift_objection",
           pupil=events.oak.pupils["C"])  # fmt: skip
    rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4", "5", "6"]


def test_a_bad_export_filter_is_explained_and_not_recorded(events, admin):
    page = admin.get("/staff/ledger")
    response = post_form(admin, "/staff/ledger/export", {"channel": "pigeon"}, page=page)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Choose a channel from the list" in response.text
    assert audit_count("export.ledger") == 0
    response = admin.post("/staff/ledger/export", data={})  # no CSRF token
    assert response.status_code == 400 and audit_count("export.ledger") == 0


def test_notes_cannot_become_formulas(events, admin):
    decide(events.eve, events.oak.purposes["class-photos"], "lift_objection",
           pupil=events.oak.pupils["C"], staff=events.oak.staff,
           note='=HYPERLINK("http://x","y")')  # fmt: skip
    page = admin.get("/staff/ledger")
    rows = read_csv(post_form(admin, "/staff/ledger/export", {"channel": "paper"}, page=page))
    assert rows[-1][15] == '\'=HYPERLINK("http://x","y")'


def test_the_export_reads_in_batches(events, app):
    """The generator reads through a cursor a batch at a time: the whole file comes out the
    same whatever the batch size, and nothing is read before the first row is asked for."""
    oak = events.oak
    whole = b"".join(ledger_browser.ledger_csv(oak.id, ledger_browser.EventFilter(), up_to_seq=6))
    small = ledger_browser.ledger_csv(oak.id, ledger_browser.EventFilter(), up_to_seq=6, batch=1)
    assert b"".join(small) == whole
    rows = list(csv.reader(io.StringIO(whole.decode("utf-8-sig"), newline="")))
    assert len(rows) == 7


# --- the export on PostgreSQL: the database writes the rows --------------------------------


def both_files(school_id: int, wanted=None, *, up_to_seq: int, chunk: int = 64 * 1024):
    """The same export by COPY and by Python (PostgreSQL): the bodies, as bytes."""
    wanted = wanted or ledger_browser.EventFilter()
    copy = b"".join(
        ledger_browser.ledger_csv(
            school_id, wanted, up_to_seq=up_to_seq, method="copy", chunk=chunk
        )
    )
    python = b"".join(
        ledger_browser.ledger_csv(
            school_id, wanted, up_to_seq=up_to_seq, method="python", chunk=chunk
        )
    )
    return copy, python


def parse_file(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def records(body: bytes) -> list[bytes]:
    """The file's records as the bytes between CRLFs outside quotes (each must end in CRLF)."""
    found, start, quoted = [], 0, False
    for n, byte in enumerate(body):
        if byte == ord('"'):
            quoted = not quoted
        elif byte == ord("\n") and not quoted:
            assert body[n - 1 : n] == b"\r", body[start : n + 1]
            found.append(body[start : n - 1])
            start = n + 1
    assert start == len(body) and not quoted
    return found


def assert_same_file(copy: bytes, python: bytes) -> list[list[str]]:
    rows = parse_file(copy)
    assert rows == parse_file(python)
    assert len(records(copy)) == len(records(python)) == len(rows)
    for row in rows[1:]:
        for cell in row:
            assert not cell or cell[0] not in csv_files.DANGEROUS_FIRST, row
    return rows


@pytest.mark.postgres
def test_on_postgresql_the_export_is_written_by_copy(events, admin, monkeypatch):
    """The view's file comes from COPY on PostgreSQL, and is the Python path's file."""
    used = []
    real = ledger_browser.export._ledger_csv_copy
    monkeypatch.setattr(
        ledger_browser.export, "_ledger_csv_copy", lambda *a, **kw: used.append(1) or real(*a, **kw)
    )
    page = admin.get("/staff/ledger")
    response = admin.post(
        "/staff/ledger/export", data={"csrf_token": csrf_token(page)}, buffered=False
    )
    body = b"".join(response.response)
    response.close()
    assert used == [1]
    copy, python = both_files(events.oak.id, up_to_seq=6)
    assert body == copy
    assert copy == python  # no empty text, no line break in a cell: byte for byte
    assert len(assert_same_file(copy, python)) == 7


NASTY = [
    '=HYPERLINK("http://x","y")', "+44 7700 900000", "-2+3", "@SUM(1)", "\tTab", "\rCR",
    "\nLF", " =padded", "'=quoted", 'say "hi", then go', "two\nlines", "two\r\nlines",
    "\u3000Ideographic space\u2028", "Zo\u00eb", "", " ", "\x85", "a,b", "\u200a-x",
]  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize("value", NASTY)
def test_copy_makes_the_same_safe_cells_as_python(events, value):
    """Names, MIS id, class, staff name and a note with formulas, quotes, commas, line
    breaks and whitespace of every kind: COPY's file reads back to Python's cells."""
    oak = events.oak
    ada, pupil = events.ada, oak.pupils["A"]
    name = oak_name(oak.id, ada.id)
    name.forename, name.surname = value, value[::-1]
    pupil.mis_id, pupil.class_name, pupil.surname = value or "M", value, value
    oak.staff.name = value
    db.session.commit()
    decide(events.ada, oak.purposes["photos-website"], "grant", pupil=pupil, staff=oak.staff,
           note=value)  # fmt: skip
    decide(events.ada, oak.purposes["photos-website"], "withdraw", pupil=pupil)
    copy, python = both_files(oak.id, up_to_seq=8, chunk=100)
    rows = assert_same_file(copy, python)
    assert len(rows) == 9
    stored = event_rows(oak.id)[6]
    assert rows[7][15] == csv_files.safe_cell(stored.note)
    assert rows[7][14] == csv_files.safe_cell(value or oak.staff.email)  # the actor


def oak_name(school_id: int, guardian_id: int) -> SchoolContact:
    """The name the school holds for the guardian, as staff see it."""
    return db.session.scalars(
        select(SchoolContact).where(
            SchoolContact.school_id == school_id, SchoolContact.guardian_id == guardian_id
        )
    ).one()


pg_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))

# What a name can hold: any PostgreSQL text, or the characters that need care.
name_parts = st.one_of(
    pg_text,
    st.text(
        alphabet=st.sampled_from(
            "".join(sorted(csv_files.DANGEROUS_FIRST - {"\x00"})) + "\"', a\u3000\u2028\x85"
        )
    ),
)


def test_the_whitespace_trimmed_in_sql_is_pythons():
    import sys

    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(ledger_browser.PY_WHITESPACE) == every


@pytest.mark.postgres
@given(
    forename=st.one_of(st.none(), name_parts),
    surname=st.one_of(st.none(), name_parts),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_person_name_sql_is_person_name(app, forename, surname):
    got = db.session.scalar(
        select(ledger_browser.person_name_sql(literal(forename, String), literal(surname, String)))
    )
    assert got == ledger_browser.person_name(forename, surname)


pg_cells = st.one_of(
    pg_text,
    st.text(alphabet=st.sampled_from("=+-@\t\r\n\"', ;a\u00e9\u3000\u2028\x85\x0b")),
)


@pytest.mark.postgres
@given(forename=pg_cells, surname=pg_cells, staff_name=pg_cells, note=pg_cells)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_text_makes_the_same_file_by_copy_as_by_python(
    events, forename, surname, staff_name, note
):
    """Whatever the names and the note hold, the file COPY writes reads back through
    csv.reader to the cells the Python path writes, none of them a formula."""
    oak = events.oak
    ada = events.ada
    name = oak_name(oak.id, ada.id)
    name.forename, name.surname, oak.staff.name = forename, surname, staff_name
    db.session.commit()
    decide(ada, oak.purposes["photos-website"], "grant", pupil=oak.pupils["A"],
           staff=oak.staff, note=note or None)  # fmt: skip
    head = ledger_browser.head(oak.school).seq
    assert_same_file(*both_files(oak.id, up_to_seq=head, chunk=200))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "wanted",
    [
        {"decision": "withdraw"},
        {"channel": "paper"},
        {"class_name": "3 Oak"},
        {"pupil": "pupila"},
        {"pupil": "A"},
        {"pupil": "%"},
        {"pupil": "_"},
        {"date_from": "2025-10-07", "date_to": "2025-10-08"},
        {"date_from": "2025-10-12"},
    ],
    ids=str,
)
def test_copy_takes_the_same_filter_as_python(events, wanted):
    from datetime import date

    values = {k: date.fromisoformat(v) if k.startswith("date") else v for k, v in wanted.items()}
    chosen = ledger_browser.EventFilter(**values)
    copy, python = both_files(events.oak.id, chosen, up_to_seq=6)
    assert_same_file(copy, python)
    # The same shape of filter at another school: the statement compiled for Oak's file
    # (kept by its shape), with Elm's values.
    assert_same_file(*both_files(events.elm.id, chosen, up_to_seq=2))
    by_id = ledger_browser.EventFilter(
        pupil_id=events.oak.pupils["A"].id, purpose_id=events.oak.purposes["photos-website"].id
    )
    rows = assert_same_file(*both_files(events.oak.id, by_id, up_to_seq=6))
    assert [row[0] for row in rows[1:]] == ["1", "2", "6"]


@pytest.mark.postgres
def test_copy_leaves_out_an_event_about_another_schools_purpose(unprotected):
    """Never written by the portal: an Oak event about an Elm purpose, put straight into
    the table. Both paths leave it out, as the ledger page does."""
    oak, elm = unprotected.oak, unprotected.elm
    db.session.execute(
        text(
            "INSERT INTO consent_events (school_id, seq, occurred_at, actor_type, actor_id,"
            " guardian_id, pupil_id, purpose_id, purpose_version, notice_version, decision,"
            " channel, note, prev_hash, hash) VALUES (:s, 7, now(), 'guardian', :g, :g, NULL,"
            " :p, 1, 1, 'grant', 'web', NULL, :h, :h)"
        ),
        {"s": oak.id, "g": unprotected.ada.id, "p": elm.purposes["photos-website"].id,
         "h": "0" * 64},
    )  # fmt: skip
    db.session.commit()
    copy, python = both_files(oak.id, up_to_seq=7)
    rows = assert_same_file(copy, python)
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4", "5", "6"]


@pytest.mark.postgres
def test_a_copy_given_up_half_way_leaves_the_connection_usable(events):
    """The client goes away: the generator is closed mid-file; psycopg cancels the COPY and
    the snapshot ends, and the session goes on working."""
    pieces = ledger_browser.ledger_csv(events.oak.id, ledger_browser.EventFilter(), up_to_seq=6,
                                method="copy", chunk=1)  # fmt: skip
    first = next(pieces)
    assert first.startswith(b"\xef\xbb\xbfseq,occurred_at,")
    pieces.close()
    assert db.session.scalar(select(func.count()).select_from(StaffAuditEntry)) == 0
    copy, python = both_files(events.oak.id, up_to_seq=6)
    assert copy == python


def test_an_unknown_method_is_refused(events):
    with pytest.raises(ValueError, match="unknown method"):
        next(ledger_browser.ledger_csv(events.oak.id, ledger_browser.EventFilter(), up_to_seq=6,
                                method="fast"))  # fmt: skip


@pytest.mark.postgres
def test_the_copy_streams_in_seq_order_and_its_settings_end_with_it(events):
    """The query is planned as a stream (no sort of the whole result before the first row)
    under the export's own settings, which end with its transaction."""
    statement, params = ledger_browser.ledger_copy_statement(
        events.oak.id, ledger_browser.EventFilter(), up_to_seq=6
    )
    select_sql = statement.removeprefix("COPY (").removesuffix(") TO STDOUT WITH (FORMAT csv)")
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(csv_files.STREAM_SETTINGS_SQL)
        cursor.execute("EXPLAIN " + select_sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    db.session.rollback()
    assert "Sort" not in plan, plan
    assert "uq_consent_events_school_id_seq" in plan, plan
    b"".join(ledger_browser.ledger_csv(events.oak.id, ledger_browser.EventFilter(), up_to_seq=6))
    assert db.session.execute(text("SHOW enable_sort")).scalar() == "on"
    assert db.session.execute(text("SHOW jit")).scalar() in {"on", "off"}
