"""Pupil records over HTTP: finding a pupil, the record with *why* and the full history, and
recording an answer given on paper, by phone or by email, plainly and as htmx sends it.

The world (tests/ledger/conftest.py): at Oak, Ada and Ben have parental responsibility for
A and Gran is A's contact without it; Ada and Dan for B; Eve for C. At Elm, Ada and Fay for X.
Staff: office@oak.example (staff, "Sam Taylor"), admin@oak.example (admin), marketing@oak.example,
admin@elm.example.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Pupil, Purpose, StaffUser
from tests.support.client import csrf_token
from tests.support.web import HTMX, PLAIN, post_form, text_of
from tests.support.world import T0, World, decide, event_rows, snapshot

FRAGMENT = {**HTMX, "HX-Current-URL": "http://localhost/staff/pupils"}
BOOSTED = {**FRAGMENT, "HX-Boosted": "true"}


def record_path(world: World, key: str = "A", school: str = "oak") -> str:
    return f"/staff/pupils/{getattr(world, school).pupils[key].id}"


def section(html: str, purpose_id: int) -> str:
    """The text of one purpose's section of a record."""
    match = re.search(
        rf'<section class="portal-record-purpose" id="record-purpose-{purpose_id}".*?</section>',
        html,
        re.S,
    )
    assert match, f"no section for purpose {purpose_id}"
    return text_of(match.group(0))


def history_rows(html: str) -> list[str]:
    body = html[html.index('class="govuk-table portal-record-history"') :]
    body = body[: body.index("</table>")]
    rows = re.findall(r'<tr class="govuk-table__row" id="event-\d+">.*?</tr>', body, re.S)
    return [text_of(row) for row in rows]


def staff_id(email: str) -> int:
    return db.session.scalars(select(StaffUser.id).where(StaffUser.email == email)).one()


def answer(world: World, **overrides: Any) -> dict[str, Any]:
    """A valid paper answer for pupil A: Ben says yes to photos on the website."""
    return {
        "guardian": world.ben.id,
        "purpose": world.oak.purposes["photos-website"].id,
        "decision": "grant",
        "channel": "paper",
        "note": "",
        **overrides,
    }


# --- finding a pupil -----------------------------------------------------------------------


def test_find_a_pupil_by_name_or_class(office, world):
    page = office.get("/staff/pupils")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = text_of(page.text)
    assert "3 pupils found" in text
    assert 'role="search"' in page.text and 'hx-get="/staff/pupils"' in page.text
    assert "PupilX" not in text  # Elm's

    page = office.get("/staff/pupils", query_string={"q": "pupila"})
    text = text_of(page.text)
    assert "1 pupil found" in text and "PupilA Test" in text and "PupilB" not in text
    assert f'href="{record_path(world)}"' in page.text

    page = office.get("/staff/pupils", query_string={"q": "test pupilc"})
    assert "PupilC Test" in text_of(page.text) and "PupilA" not in text_of(page.text)

    page = office.get("/staff/pupils", query_string={"class_name": "3 Oak"})
    assert "3 pupils found" in text_of(page.text)
    assert '<option value="3 Oak" selected>' in page.text

    page = office.get("/staff/pupils", query_string={"q": "%"})  # no wildcard
    assert "No pupils found" in text_of(page.text)
    page = office.get("/staff/pupils", query_string={"q": "PupilX"})
    assert "No pupils found" in text_of(page.text)


def test_live_search_answers_htmx_with_the_results_only(office, world):
    page = office.get("/staff/pupils", query_string={"q": "PupilB"}, headers=FRAGMENT)
    assert page.status_code == 200
    assert "<html" not in page.text and "<h1" not in page.text
    assert page.text.lstrip().startswith('<div id="pupil-results"')
    assert "PupilB Test" in page.text and "PupilA" not in page.text
    assert '<div id="portal-live" hx-swap-oob="innerHTML">1 pupil found</div>' in page.text
    assert "HX-Request" in page.headers.get("Vary", "")
    # A boosted navigation gets the whole page.
    page = office.get("/staff/pupils", query_string={"q": "PupilB"}, headers=BOOSTED)
    assert "<h1" in page.text and "PupilB Test" in page.text


# --- the record ----------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [PLAIN, BOOSTED], ids=["plain", "htmx-boosted"])
def test_a_pupils_record_is_a_whole_page(office, world, headers):
    page = office.get(record_path(world), headers=headers)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = text_of(page.text)
    assert "PupilA Test" in text and "3 Oak" in text and "Year group 3" in text
    assert "On roll Yes" in text
    # Contacts, with emails; Gran is listed as a contact who cannot decide.
    assert "ada@example.org" in text and "gran@example.org" in text
    assert "gran Test Parent gran@example.org No: a contact who cannot decide" in text
    assert "ben Test Parent ben@example.org Yes: can decide" in text
    p = world.oak.purposes
    for key in ("photos-website", "local-paper", "trip-videos", "class-photos"):
        assert f'id="record-purpose-{p[key].id}"' in page.text
    # Information only, with its lawful basis; guardian-level purposes are not a child's
    # (they are only on each parent's slip, as a choice for the person).
    assert "The school census : The law requires the school to do it" in text
    assert f'id="record-purpose-{p["school-census"].id}"' not in page.text
    choices = text[text.index("Choices and why") : text.index("Record answers given on paper")]
    assert "Fundraising emails" not in choices
    assert "Fundraising emails (a choice for the person, not only for PupilA)" in text
    # No answers yet: no response (treated as no), allowed for an objection purpose.
    assert "No response" in section(page.text, p["photos-website"].id)
    assert "Allowed" in section(page.text, p["class-photos"].id)
    assert "Nobody has given an answer about PupilA yet." in text
    # The form to record an answer offers only people with parental responsibility.
    assert f'name="guardian" type="radio" value="{world.ada.id}"' in page.text
    assert f'name="guardian" type="radio" value="{world.ben.id}"' in page.text
    assert f'name="guardian" type="radio" value="{world.gran.id}"' not in page.text


def test_a_records_htmx_request_gets_the_record_section(office, world):
    page = office.get(record_path(world), headers=FRAGMENT)
    assert page.status_code == 200
    assert page.text.lstrip().startswith('<div id="pupil-record"')
    assert "<h1" not in page.text and "Record the answer" in page.text


def test_why_shows_each_guardians_latest_decision_with_when_channel_and_who(office, world):
    oak = world.oak
    photos, paper = oak.purposes["photos-website"], oak.purposes["local-paper"]
    trips = oak.purposes["trip-videos"]  # a yes lapses each academic year
    a = oak.pupils["A"]
    decide(world.ada, photos, "grant", pupil=a, now=T0)
    decide(world.ben, photos, "grant", pupil=a, now=T0 + timedelta(hours=1))
    decide(world.ben, photos, "withdraw", pupil=a, staff=oak.staff, channel="phone",
           note="Rang the office", now=T0 + timedelta(days=1))  # fmt: skip
    decide(world.ada, paper, "grant", pupil=a)  # now: within its 30 days
    decide(world.ada, trips, "grant", pupil=a, now=T0)  # a school year ago or more

    page = office.get(record_path(world))
    why = section(page.text, photos.id)
    # Ada said yes online; Ben's latest is the no that Sam took down by phone: withdrawn,
    # with the conflict named.
    assert "Withdrawn" in why and "The school must not do this for PupilA." in why
    assert "The guardians disagree." in why and "one no is enough" in why
    assert "ada Test (Parent) Yes 6 October 2025 at 10:30am Online ada Test, online" in why
    assert "ben Test (Parent) No 7 October 2025 at 10:30am Phone Sam Taylor" in why
    assert "gran" not in why  # no parental responsibility: no say
    why = section(page.text, paper.id)
    assert "Granted" in why and "The school may do this for PupilA." in why
    assert "ada Test (Parent) Yes" in why and "ben Test (Parent) No answer yet" in why
    assert "disagree" not in why
    why = section(page.text, trips.id)
    assert "Needs renewal" in why and "so the school treats this as no" in why
    assert "ada Test (Parent) Yes (needs renewal) 6 October 2025 at 10:30am Online" in why


def test_the_history_lists_every_event_about_the_pupil_newest_first(office, world):
    oak = world.oak
    a, b = oak.pupils["A"], oak.pupils["B"]
    photos, classes = oak.purposes["photos-website"], oak.purposes["class-photos"]
    decide(world.ada, photos, "grant", pupil=a, now=T0)
    decide(world.ada, photos, "grant", pupil=b, now=T0)  # another child's: not shown
    decide(world.ben, classes, "object", pupil=a, note="<script>alert(1)</script>",
           now=T0 + timedelta(minutes=5))  # fmt: skip
    decide(world.ben, photos, "withdraw", pupil=a, staff=oak.staff, note="Form in file 3",
           now=T0 + timedelta(minutes=10))  # fmt: skip
    decide(world.ada, oak.purposes["marketing-emails"], "grant", now=T0)  # the guardian's own

    page = office.get(record_path(world))
    rows = history_rows(page.text)
    events = [e for e in event_rows(oak.id) if e.pupil_id == a.id]
    assert len(rows) == len(events) == 3
    newest = events[-1]
    assert rows[0] == (
        "6 October 2025 at 10:40am ben Test Photos on the school website (wording 1) No "
        f"Paper form Sam Taylor Form in file 3 OP-{newest.seq}-{newest.hash[:4].upper()} "
        f"Full fingerprint of OP-{newest.seq}-{newest.hash[:4].upper()} {newest.hash}"
    )
    assert rows[1].startswith("6 October 2025 at 10:35am ben Test Class photos on display")
    assert "Objected Online ben Test, online" in rows[1]
    assert "<script>alert(1)</script>" not in page.text  # escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert rows[2].startswith("6 October 2025 at 10:30am ada Test Photos on the school website")


def test_a_pupil_who_left_is_shown_as_not_on_roll(office, world):
    pupil = db.session.get(Pupil, world.oak.pupils["C"].id)
    pupil.on_roll, pupil.left_on = False, date(2025, 7, 22)
    db.session.commit()
    page = office.get(record_path(world, "C"))
    text = text_of(page.text)
    assert "On roll Left on 22 July 2025" in text
    assert "Not on roll" in section(page.text, world.oak.purposes["photos-website"].id)
    listing = text_of(office.get("/staff/pupils", query_string={"q": "PupilC"}).text)
    assert "Left 22 July 2025" in listing


# --- recording an answer -------------------------------------------------------------------


def test_a_paper_answer_is_a_ledger_event_by_the_staff_user(office, world, runner):
    oak = world.oak
    path = record_path(world)
    page = office.get(path)
    response = post_form(
        office,
        f"{path}/answers",
        answer(world, note="  Signed form, filed in the office  "),
        page=page,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{path}#record-answers"  # where the form was
    [event] = event_rows(oak.id)
    assert (event.actor_type, event.actor_id) == ("staff", staff_id("office@oak.example"))
    assert (event.guardian_id, event.pupil_id) == (world.ben.id, oak.pupils["A"].id)
    assert (event.purpose_id, event.decision, event.channel) == (
        oak.purposes["photos-website"].id, "grant", "paper")  # fmt: skip
    assert event.note == "Signed form, filed in the office"

    page = office.get(path)
    text = text_of(page.text)
    assert (
        "Recorded: ben Test gave yes to Photos on the school website for PupilA, "
        "from a paper form." in text
    )
    assert "ben Test (Parent) Yes" in section(page.text, oak.purposes["photos-website"].id)
    assert "Paper form Sam Taylor Signed form, filed in the office" in history_rows(page.text)[0]
    # Once only: the confirmation was flashed.
    assert "Recorded:" not in office.get(path).text

    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_an_answer_by_htmx_gets_the_updated_record_and_the_confirmation_in_view(
    admin, world, runner
):
    oak = world.oak
    path = record_path(world)
    page = admin.get(path)
    response = post_form(
        admin,
        f"{path}/answers",
        answer(world, guardian=world.ada.id, purpose=oak.purposes["class-photos"].id,
               decision="object", channel="email", note="Email of 6 October"),
        page=page,
        headers=FRAGMENT,
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "consent-saved"
    assert response.text.lstrip().startswith('<div id="pupil-record"')
    saved = (
        "Recorded: ada Test gave an objection to Class photos on display in school "
        "for PupilA, from an email."
    )
    # In view: a banner at the top of the answers, where the form was, that takes the focus;
    # the live region reads it out (once: the swapped banner is not an alert as well).
    banner = response.text[response.text.index('id="record-answers"') :]
    banner = banner[: banner.index('<section class="portal-slip"')]
    assert 'data-portal-focus="true"' in banner and 'role="alert"' not in banner
    assert saved in banner
    assert f'<div id="portal-live" hx-swap-oob="innerHTML">{saved}</div>' in response.text
    assert "Objected" in section(response.text, oak.purposes["class-photos"].id)
    assert "Email Dana Okafor Email of 6 October" in history_rows(response.text)[0]
    # The form is empty again (the slips' cells say "No change", and on paper).
    single = response.text[response.text.index('id="record-answer"') :]
    assert "checked" not in single[: single.index("</section>")]
    [event] = event_rows(oak.id)
    assert (event.actor_type, event.actor_id, event.channel) == (
        "staff", staff_id("admin@oak.example"), "email")  # fmt: skip
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


# --- one guardian's slip: every choice at once -------------------------------------------


def slip_form(page: Any, guardian: Any) -> dict[str, str]:
    """What one guardian's slip sends as it stands on the record: its cells ("No change"),
    its hidden fields and the CSRF token."""
    html = page.text
    start = html.index(f'<section class="portal-slip" id="slip-{guardian.id}"')
    form = html[start : html.index("</section>", start)]
    data = {"csrf_token": csrf_token(page), "channel": "paper"}
    for name in ("guardian", "as_of"):
        data[name] = re.search(rf'name="{name}" value="([^"]*)"', form).group(1)
    for name, value in re.findall(r'name="([cp]-[0-9-]+)" type="radio" value="([^"]*)" checked',
                                  form):  # fmt: skip
        data[name] = value
    return data


def key(pupil: Any, guardian: Any, purpose: Any) -> str:
    from portal.paper import cell_key

    return cell_key(pupil.id if pupil is not None else None, guardian.id, purpose.id)


@pytest.mark.parametrize("headers", [PLAIN, FRAGMENT], ids=["plain", "htmx"])
def test_one_guardians_slip_records_all_its_answers_in_one_submission(office, world, runner,
                                                                      headers):  # fmt: skip
    """Each of Ben's answers on his returned form, in one submission: one ledger event per
    changed answer (his own choices included), none for an answer left as it is or that
    he had given already; what was recorded shows where the form was."""
    oak = world.oak
    a, p = oak.pupils["A"], oak.purposes
    decide(world.ben, p["trip-videos"], "grant", pupil=a)
    path = record_path(world)
    page = office.get(path)
    assert "Answers from ben Test Parent. Reference" in text_of(page.text)
    assert "Answers from gran" not in text_of(page.text)  # no parental responsibility
    data = slip_form(page, world.ben)
    per_child = ("photos-website", "local-paper", "trip-videos", "class-photos")
    assert set(data) - {"csrf_token", "channel", "guardian", "as_of"} == {
        key(a, world.ben, p[k]) for k in per_child
    } | {key(None, world.ben, p[k]) for k in ("marketing-emails", "alumni-calls")}
    data.update({
        key(a, world.ben, p["photos-website"]): "grant",
        key(a, world.ben, p["local-paper"]): "withdraw",
        key(a, world.ben, p["trip-videos"]): "grant",  # his yes already: no change
        key(a, world.ben, p["class-photos"]): "object",
        key(None, world.ben, p["marketing-emails"]): "grant",
        "note": "Form in the office file",
    })  # fmt: skip
    before = len(event_rows(oak.id))
    response = office.post(f"{path}/slip", data=data, headers=headers)
    events = event_rows(oak.id)[before:]
    assert [(e.guardian_id, e.pupil_id, e.purpose_id, e.decision) for e in events] == [
        (world.ben.id, a.id, p["photos-website"].id, "grant"),
        (world.ben.id, a.id, p["local-paper"].id, "withdraw"),
        (world.ben.id, a.id, p["class-photos"].id, "object"),
        (world.ben.id, None, p["marketing-emails"].id, "grant"),
    ]
    assert {(e.channel, e.actor_type, e.actor_id, e.note) for e in events} == {
        ("paper", "staff", staff_id("office@oak.example"), "Form in the office file")
    }
    saved = ("Recorded 4 changed answers from ben Test for PupilA, from a paper form. "
             "2 other answers had no change.")  # fmt: skip
    if headers is PLAIN:
        assert response.status_code == 302
        assert response.headers["Location"] == f"{path}#record-answers"
        page = office.get(path)
    else:
        assert response.status_code == 200 and response.headers["HX-Trigger"] == "consent-saved"
        assert response.text.lstrip().startswith('<div id="pupil-record"')
        page = response
    answers = page.text[page.text.index('id="record-answers"') :]
    banner = answers[: answers.index('<section class="portal-slip"')]
    assert saved in text_of(banner) and 'data-portal-focus="true"' in banner
    # An alert on the page the redirect lands on; announced by the live region after a swap.
    assert ('role="alert"' in banner) is (headers is PLAIN)
    # His answers now stand on his slip.
    his = answers[answers.index(f'id="slip-{world.ben.id}"') :]
    his = text_of(his[: his.index("</section>")])
    assert "Class photos on display in school Their answer now: Objects," in his
    assert "Photos in the local paper Their answer now: No," in his
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0

    # The same slip again: nothing recorded, and it says so.
    page = office.get(path)
    again = office.post(f"{path}/slip", data={**data, "as_of": slip_form(page, world.ben)["as_of"]})
    assert again.status_code == 302 and len(event_rows(oak.id)) == before + 4
    assert "Nothing recorded: every answer was already the one shown." in text_of(
        office.get(path).text)  # fmt: skip


def test_a_slip_that_breaks_a_consent_rule_is_an_error_beside_the_choice(office, world):
    oak = world.oak
    decide(world.ben, oak.purposes["marketing-emails"], "object")
    path = record_path(world)
    page = office.get(path)
    data = slip_form(page, world.ben)
    bad = key(None, world.ben, oak.purposes["marketing-emails"])
    data[bad] = "grant"
    data[key(oak.pupils["A"], world.ben, oak.purposes["photos-website"])] = "grant"
    before = snapshot(oak.id)
    response = office.post(f"{path}/slip", data=data)
    assert response.status_code == 400
    assert snapshot(oak.id) == before
    assert "<title>Error: PupilA Test" in response.text
    assert f'<a href="#{bad}">' in response.text and f'id="{bad}-error"' in response.text
    assert "ben Test objects to all direct marketing" in text_of(response.text)
    # htmx: the record, with the summary inside the slip.
    response = office.post(f"{path}/slip", data=data, headers=FRAGMENT)
    assert response.status_code == 400
    assert response.text.lstrip().startswith('<div id="pupil-record"')
    assert "There is a problem" in response.text
    assert snapshot(oak.id) == before


@pytest.mark.parametrize(
    "change",
    [
        lambda w: {key(w.oak.pupils["B"], w.ada, w.oak.purposes["photos-website"]): "grant"},
        lambda w: {key(w.oak.pupils["A"], w.ben, w.oak.purposes["photos-website"]): "grant"},
        lambda w: {key(None, w.ben, w.oak.purposes["marketing-emails"]): "grant"},
    ],
    ids=["another-child", "another-guardian", "another-persons-choice"],
)
def test_a_slip_is_one_persons_answers_for_one_child(office, world, change):
    path = record_path(world)
    page = office.get(path)
    data = {**slip_form(page, world.ada), **change(world)}
    before = snapshot(world.oak.id)
    assert office.post(f"{path}/slip", data=data).status_code == 404
    # A slip without its person is not a form the page made.
    assert office.post(f"{path}/slip", data={**data, "guardian": ""}).status_code == 400
    assert snapshot(world.oak.id) == before


def test_another_schools_staff_cannot_record_a_slip(elm_admin, office, world):
    page = office.get(record_path(world))
    data = slip_form(page, world.ada)
    data[key(world.oak.pupils["A"], world.ada, world.oak.purposes["photos-website"])] = "grant"
    data["csrf_token"] = csrf_token(elm_admin.get("/staff/pupils"))
    before = snapshot(world.oak.id, world.elm.id)
    assert elm_admin.post(f"{record_path(world)}/slip", data=data).status_code == 404
    assert snapshot(world.oak.id, world.elm.id) == before


def test_each_purpose_section_and_its_scroll_area_have_their_own_names(office, world):
    """axe's landmark-unique: a section and the region inside it are labelled apart."""
    page = office.get(record_path(world)).text
    p = world.oak.purposes["photos-website"]
    assert f'aria-labelledby="record-purpose-{p.id}-title"' in page
    region = f'role="region" aria-labelledby="record-purpose-{p.id}-why"'
    assert region in page
    caption = "Why: each latest answer about photos on the school website"
    assert f'id="record-purpose-{p.id}-why">{caption}</caption>' in page
    labels = re.findall(r'role="region" aria-labelledby="([^"]+)"', page)
    assert len(labels) == len(set(labels))


BAD_ANSWERS = {
    "gran has no parental responsibility": (
        lambda w: {"guardian": w.gran.id},
        "guardian",
        "does not have parental responsibility for PupilA",
    ),
    "dan is not A's contact": (
        lambda w: {"guardian": w.dan.id},
        "guardian",
        "That person is not a contact of PupilA",
    ),
    "an objection to a consent purpose": (
        lambda w: {"decision": "object"},
        "decision",
        "For a choice that needs consent, record yes or no",
    ),
    "a yes to an objection purpose": (
        lambda w: {"purpose": w.oak.purposes["class-photos"].id},
        "decision",
        "record an objection or the withdrawal of one",
    ),
    "an information-only purpose": (
        lambda w: {"purpose": w.oak.purposes["school-census"].id},
        "purpose",
        "The school census is not a choice made for each child",
    ),
    "a guardian-level purpose": (
        lambda w: {"purpose": w.oak.purposes["marketing-emails"].id},
        "purpose",
        "Fundraising emails is not a choice made for each child",
    ),
    "the web is the guardian's own channel": (
        lambda w: {"channel": "web"},
        "channel",
        "Choose paper, phone or email",
    ),
    "an unknown decision": (
        lambda w: {"decision": "maybe"},
        "decision",
        "Choose one of the answers shown",
    ),
    "a note too long": (
        lambda w: {"note": "x" * 1001},
        "note",
        "The note must be 1000 characters or fewer",
    ),
    "nobody chosen": (lambda w: {"guardian": ""}, "guardian", "Choose who gave the answer"),
    "no purpose chosen": (
        lambda w: {"purpose": "nonsense"},
        "purpose",
        "Choose which choice the answer is about",
    ),
    "no channel chosen": (lambda w: {"channel": ""}, "channel", "Choose how the answer was given"),
    "a guardian id past the column": (
        lambda w: {"guardian": "2147483648"},
        "guardian",
        "Choose who gave the answer",
    ),
    "a purpose id in other digits": (
        lambda w: {"purpose": "²"},
        "purpose",
        "Choose which choice the answer is about",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_a_bad_answer_is_an_error_beside_the_field_and_nothing_is_written(office, world, case):
    change, field, message = BAD_ANSWERS[case]
    path = record_path(world)
    page = office.get(path)
    before = snapshot(world.oak.id, world.elm.id)
    response = post_form(office, f"{path}/answers", answer(world, **change(world)), page=page)
    assert response.status_code == 400
    assert snapshot(world.oak.id, world.elm.id) == before
    assert response.text.count(message) == 2  # in the summary and beside the field
    assert f'<a href="#{field}">' in response.text
    assert f'id="{field}-error"' in response.text
    assert "<title>Error: PupilA Test" in response.text
    # What was typed is kept.
    if field == "note":
        assert "x" * 1001 in response.text


def test_a_bad_answer_by_htmx_gets_the_section_with_the_errors(office, world):
    path = record_path(world)
    page = office.get(path)
    before = snapshot(world.oak.id)
    response = post_form(
        office,
        f"{path}/answers",
        answer(world, guardian=world.gran.id),
        page=page,
        headers=FRAGMENT,
    )
    assert response.status_code == 400
    assert snapshot(world.oak.id) == before
    assert response.text.lstrip().startswith('<div id="pupil-record"')
    assert "There is a problem" in response.text
    assert 'id="guardian-error"' in response.text
    assert f'value="{world.oak.purposes["photos-website"].id}" selected' in response.text


@pytest.mark.parametrize(
    "change",
    [
        lambda w: {"guardian": w.fay.id},  # Fay is only at Elm
        lambda w: {"purpose": w.elm.purposes["photos-website"].id},
        lambda w: {"guardian": 999999},
        lambda w: {"purpose": 999999},
    ],
    ids=["elm-guardian", "elm-purpose", "no-guardian", "no-purpose"],
)
def test_another_schools_guardian_or_purpose_answers_404(office, world, change):
    path = record_path(world)
    page = office.get(path)
    before = snapshot(world.oak.id, world.elm.id)
    response = post_form(office, f"{path}/answers", answer(world, **change(world)), page=page)
    assert response.status_code == 404
    assert snapshot(world.oak.id, world.elm.id) == before


def test_another_schools_pupil_answers_404(office, elm_admin, world):
    before = snapshot(world.oak.id, world.elm.id)
    assert office.get(record_path(world, "X", "elm")).status_code == 404
    page = office.get(record_path(world))
    response = post_form(
        office,
        f"{record_path(world, 'X', 'elm')}/answers",
        answer(world, guardian=world.ada.id, purpose=world.elm.purposes["photos-website"].id),
        page=page,
    )
    assert response.status_code == 404
    # And the other way round: Elm's admin cannot reach Oak's pupils.
    assert elm_admin.get(record_path(world)).status_code == 404
    page = elm_admin.get(record_path(world, "X", "elm"))
    assert page.status_code == 200 and "PupilX Test" in page.text
    response = post_form(elm_admin, f"{record_path(world)}/answers", answer(world), page=page)
    assert response.status_code == 404
    response = post_form(elm_admin, f"{record_path(world)}/answers", answer(world), page=page,
                         headers=FRAGMENT)  # fmt: skip
    assert response.status_code == 404
    assert snapshot(world.oak.id, world.elm.id) == before
    assert "PupilA" not in elm_admin.get("/staff/pupils").text


def test_an_answer_without_the_csrf_token_is_refused(office, world):
    before = snapshot(world.oak.id)
    response = office.post(f"{record_path(world)}/answers", data=answer(world))
    assert response.status_code == 400
    assert snapshot(world.oak.id) == before


def test_an_inactive_purpose_cannot_be_answered(office, world):
    """A purpose retired after the page was loaded: an error, nothing written."""
    path = record_path(world)
    page = office.get(path)
    photos = db.session.get(Purpose, world.oak.purposes["photos-website"].id)
    photos.active = False
    db.session.commit()
    before = snapshot(world.oak.id)
    response = post_form(office, f"{path}/answers", answer(world), page=page)
    assert response.status_code == 400
    assert "is no longer in use at the school" in response.text
    assert snapshot(world.oak.id) == before


def test_marketing_sees_nothing_about_individual_children(marketer, world):
    assert marketer.get("/staff/pupils").status_code == 403
    assert marketer.get(record_path(world)).status_code == 403
    token = csrf_token(marketer.get("/sign-in", follow_redirects=True))
    before = snapshot(world.oak.id)
    response = marketer.post(f"{record_path(world)}/answers",
                             data={**answer(world), "csrf_token": token})  # fmt: skip
    assert response.status_code == 403
    assert snapshot(world.oak.id) == before


# --- marking a pupil as left (admins) ------------------------------------------------------


def left_form(day: str = "6", month: str = "10", year: str = "2025", **extra: str) -> dict:
    return {"day": day, "month": month, "year": year, "confirm": "y", **extra}


def test_an_admin_marks_a_pupil_as_left_with_the_purposes_tasks(admin, world):
    from portal.models import StaffAuditEntry, TakedownTask

    website = db.session.get(Purpose, world.oak.purposes["photos-website"].id)
    website.on_leaving = "remove"
    db.session.commit()
    path = record_path(world)
    page = admin.get(path)
    assert "Mark as left" in text_of(page.text)
    response = post_form(admin, f"{path}/left", left_form(), page=page)
    assert response.status_code == 302 and response.headers["Location"] == path
    a = db.session.get(Pupil, world.oak.pupils["A"].id)
    db.session.refresh(a)
    assert (a.on_roll, a.left_on) == (False, date(2025, 10, 6))
    [task] = db.session.scalars(select(TakedownTask)).all()
    assert (task.kind, task.action, task.pupil_id) == ("leaving", "remove", a.id)
    [entry] = db.session.scalars(select(StaffAuditEntry)).all()
    assert entry.action == "pupil.left"
    page = admin.get(path)
    text = text_of(page.text)
    assert "Marked PupilA Test as left on 6 October 2025: 1 task for what the school" in text
    assert "Put back on roll" in text
    # In view: a banner at the top of the page, before the name.
    assert page.text.index('id="left-saved"') < page.text.index("<h1")

    # A mistake: back on roll, and the open leaving task goes.
    page = admin.get(path)
    response = post_form(admin, f"{path}/back-on-roll", {}, page=page)
    assert response.status_code == 302
    db.session.expire_all()
    a = db.session.get(Pupil, world.oak.pupils["A"].id)
    assert (a.on_roll, a.left_on) == (True, None)
    assert db.session.scalars(select(TakedownTask)).all() == []
    assert "is on roll again (1 open leaving task removed)" in text_of(admin.get(path).text)


@pytest.mark.parametrize(
    "data, message",
    [
        (left_form(day=""), "Enter the date they left, as day, month and year"),
        (left_form(day="31", month="2"), "Enter a real date"),
        ({"day": "6", "month": "10", "year": "2025"}, "Tick the box to confirm they have left"),
        (left_form(year="2999"), "The date they left must be today or in the past"),
    ],
)
def test_marking_as_left_with_a_problem_says_so_and_changes_nothing(admin, world, data, message):
    path = record_path(world)
    page = admin.get(path)
    before = snapshot(world.oak.id)
    response = post_form(admin, f"{path}/left", data, page=page)
    assert response.status_code == 400
    text = text_of(response.text)
    assert "There is a problem" in text and message in text
    assert "<title>Error:" in response.text
    db.session.expire_all()
    assert db.session.get(Pupil, world.oak.pupils["A"].id).on_roll
    assert snapshot(world.oak.id) == before


def test_staff_do_not_see_the_leaving_form(office, world):
    assert "Mark as left" not in text_of(office.get(record_path(world)).text)


def test_the_history_says_in_which_language_a_parent_read_the_wording(office, world):
    """In English words on a staff page: "(in Polish)"; nothing for English."""
    oak = world.oak
    a = oak.pupils["A"]
    decide(world.ada, oak.purposes["photos-website"], "grant", pupil=a, language="pl", now=T0)
    decide(world.ben, oak.purposes["photos-website"], "grant", pupil=a, now=T0)
    rows = history_rows(office.get(record_path(world)).text)
    assert "Photos on the school website (wording 1) Yes Online" in rows[0]
    assert "Photos on the school website (wording 1) Yes (in Polish) Online" in rows[1]
