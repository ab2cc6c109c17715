"""The parent pages in the pseudo-locale: every word a family reads there is translated.

The pseudo-locale (`lang=en-XA`) translates each message at run time into accented letters in
brackets, "[Ŷöûŕ çĥîļđŕéñ ·····]". What is left of a page's <main> once the brackets are gone,
and with them the data that is never translated (the names of the school, the pupils and the
purposes, what the school or the family wrote, dates, references), must hold no English word:
a word left is a text that escaped translation.

The world (tests/support/world.py): at Oak, Ada and Ben have parental responsibility for A;
Ada and Dan for B. At Elm, Ada and Fay for X.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import html5lib
from sqlalchemy import select

from portal import notices, objections, purposes, rights_requests
from portal.choices import word_diff
from portal.extensions import db
from portal.models import Pupil, Purpose, PurposeVersion, School
from portal.types import utcnow
from tests.support.client import CheckedClient
from tests.support.factories import PURPOSES_OF_EVERY_KIND, make_staff
from tests.support.parent import child_path, decide_path, events
from tests.support.web import post_form
from tests.support.world import World
from tests.support.world import decide as record

# A message in the pseudo-locale: no bracket inside (an inner message, such as a channel in
# "The school recorded your yes, %(channel)s, …", is taken away first), dots at the end.
PSEUDO = re.compile(r"\[[^\[\]]*\s·+\]")
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# Dates and times are data: `uk_date` and `uk_datetime` keep their English form in the
# pseudo-locale ("6 October 2025 at 9:30am").
DATE = re.compile(rf"\b\d{{1,2}} (?:{MONTHS}) \d{{4}}(?: at \d{{1,2}}:\d{{2}}[ap]m)?")
REFERENCE = re.compile(r"\b(?:[A-Z]{2}-\d+-[0-9A-F]{4}|RR-\d{4})\b")
HASH = re.compile(r"\b[0-9a-f]{64}\b")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
ENGLISH_RUN = re.compile(r"\b[A-Za-z]+\s+[A-Za-z]+\b")

REWORDED = "Photos and videos of school life on the school website and its Instagram page."
SUMMARY = "We now keep photos for one year."
OBJECTION_REASONS = "Class photos are part of school life; only first names are shown."
DETAILS = "Which photos of PupilA do you hold?"
REFUSAL = "We hold no photos at all."


def main_text(html: str) -> str:
    """The text of the page's <main> as a person (or a screen reader) reads it, visually
    hidden text included, white space folded."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    main = document.find(".//main")
    assert main is not None, "no <main> on the page"
    return " ".join("".join(main.itertext()).split())


def untranslated(html: str, data: list[str]) -> str:
    """What is left of <main> once the pseudo-translated messages and the `data` (names,
    what people wrote) are taken away, with dates, references and hashes."""
    text = main_text(html)
    while True:
        stripped = PSEUDO.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    for pattern in (DATE, REFERENCE, HASH):
        text = pattern.sub(" ", text)
    return " ".join(text.split())


def assert_translated(html: str, data: list[str], *, allowed: frozenset[str] = frozenset()) -> None:
    left = untranslated(html, data)
    words = [w for w in ENGLISH_WORD.findall(left) if w not in allowed]
    assert words == [], f"English left on the page: {words} in {left!r}"
    runs = [r for r in ENGLISH_RUN.findall(left) if not set(r.split()) <= allowed]
    assert runs == [], f"English left on the page: {runs} in {left!r}"


def world_data() -> list[str]:
    """What is not translated: the schools', pupils' and purposes' names and wordings (the
    purpose titles lower-cased too, as a button's hidden text has them)."""
    data: list[str] = []
    for school in db.session.scalars(select(School)):
        # Its name, and its contacts (templates/parent/_partials/contact_school.html).
        data += [school.name, school.contact_email or "", school.contact_phone or ""]
        data += [school.dpo_name or "", school.dpo_email or ""]
    for pupil in db.session.scalars(select(Pupil)):
        data += [pupil.full_name, pupil.forename, pupil.surname, pupil.class_name]
    for purpose in db.session.scalars(select(Purpose)):
        data += [purpose.title, purpose.title.lower(), purpose.description]
        data += [purpose.shared_with or "", purpose.retention or ""]
    versions = db.session.scalars(
        select(PurposeVersion).order_by(PurposeVersion.purpose_id, PurposeVersion.version)
    ).all()
    for version in versions:
        data += [version.title, version.description]
    # "What changed" shows the school's wording in pieces (a word diff of two versions).
    for old, new in pairwise(versions):
        if old.purpose_id == new.purpose_id:
            data += [piece.text for piece in word_diff(old.description, new.description)]
    data += [SUMMARY, OBJECTION_REASONS, DETAILS, REFUSAL]
    return [value for value in data if value]


def in_pseudo(client: CheckedClient) -> CheckedClient:
    client.set_cookie("lang", "en-XA")
    return client


def check(client: CheckedClient, path: str, **kw: Any) -> Any:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    assert_translated(page.text, world_data(), **kw)
    return page


def _a_family_with_every_kind_of_answer(world: World) -> None:
    """Answers of every kind on Ada's children's cards, made before the pages are read."""
    p, a, b = world.oak.purposes, world.oak.pupils["A"], world.oak.pupils["B"]
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin")
    # A: another parent's no; a yes that has run out (renewed every 30 days); an objection
    # the school has not answered yet.
    record(world.ben, p["photos-website"], "withdraw", pupil=a)
    record(world.ada, p["local-paper"], "grant", pupil=a, notice_version=1,
           now=utcnow() - timedelta(days=40))  # fmt: skip
    record(world.ada, p["class-photos"], "object", pupil=a, notice_version=1)
    # B: a yes to a wording the school has changed since; an objection the school did not
    # uphold, with its reasons.
    record(world.ada, p["photos-website"], "grant", pupil=b, purpose_version=1, notice_version=1)
    asked = record(world.ada, p["class-photos"], "object", pupil=b)
    objections.record_outcome(admin.id, world.oak.id, asked.seq, upheld=False,
                              reasons=OBJECTION_REASONS)  # fmt: skip
    purposes.load(
        world.oak.school,
        PURPOSES_OF_EVERY_KIND.replace("Photos of school life on the school website.", REWORDED),
    )
    db.session.commit()


def test_the_childrens_and_a_childs_pages_are_translated(signed_in, world):
    _a_family_with_every_kind_of_answer(world)
    ada = in_pseudo(signed_in("ada"))
    a, b = child_path(world, "A"), child_path(world, "B")
    # One answer for two children: a confirmation that names both.
    page = ada.get(b)
    response = post_form(ada, decide_path(world, "B", "trip-videos"),
                         {"decision": "grant", "purpose_version": 1, "notice_version": 1,
                          "also": [world.oak.pupils["A"].id]}, page=page)  # fmt: skip
    assert response.status_code == 302
    page = check(ada, b)
    assert "PupilB" in page.text and "PupilA" in page.text and "·" in page.text
    # The school took down a no from Ada by phone; Ada says yes on the web.
    record(world.ada, world.oak.purposes["trip-videos"], "withdraw",
           pupil=world.oak.pupils["A"], staff=world.oak.staff, channel="phone")  # fmt: skip
    response = post_form(ada, decide_path(world, "A", "photos-website"),
                         {"decision": "grant", "purpose_version": 2, "notice_version": 1},
                         page=ada.get(a))  # fmt: skip
    assert response.status_code == 302
    check(ada, a)
    # A newer notice since Ada last answered: the banner on both pages.
    notices.publish(world.oak.school, title="Privacy notice", source="Version two.",
                    source_format="markdown", summary=SUMMARY)  # fmt: skip
    db.session.commit()
    for path in ("/family", a, b):
        page = check(ada, path)
        assert SUMMARY in page.text


def test_a_card_with_a_problem_is_translated(signed_in, world):
    ada = in_pseudo(signed_in("ada"))
    page = ada.get(child_path(world, "A"))
    for data in ({"decision": "maybe", "purpose_version": 1},
                 {"decision": "object", "purpose_version": 1, "note": "x" * 1001}):  # fmt: skip
        key = "class-photos" if data["decision"] == "object" else "photos-website"
        response = post_form(ada, decide_path(world, "A", key), data, page=page)
        assert response.status_code == 400
        assert_translated(response.text, [*world_data(), "x" * 1001])
    assert events(world) == []


def test_a_child_who_left_and_what_you_told_us_are_translated(signed_in, world):
    _a_family_with_every_kind_of_answer(world)
    record(world.ada, world.oak.purposes["marketing-emails"], "grant")
    x = db.session.get(Pupil, world.elm.pupils["X"].id)
    x.on_roll, x.left_on = False, date(2026, 3, 4)
    db.session.commit()
    ada = in_pseudo(signed_in("ada"))
    home = check(ada, "/family")
    assert "4 March 2026" in home.text
    history = check(ada, "/family/history")
    assert history.text.count('class="portal-history__entry"') == 7


def test_the_marketing_page_is_translated(signed_in, world):
    ada = in_pseudo(signed_in("ada"))
    path = "/family/schools/oak-primary/marketing"
    page = check(ada, path)
    purpose = world.oak.purposes["marketing-emails"].id
    for decision in ("grant", "object"):
        response = post_form(ada, path, {"decision": decision, "purpose": purpose}, page=page)
        assert response.status_code == 302
        page = check(ada, path)
        assert "portal-saved" in page.text
    response = post_form(ada, path, {"decision": "maybe"}, page=page)
    assert response.status_code == 400
    assert_translated(response.text, world_data())


def test_the_rights_request_pages_are_translated(signed_in, world):
    ada = in_pseudo(signed_in("ada"))
    check(ada, "/family/rights-requests")
    new = "/family/schools/oak-primary/rights-requests/new"
    page = check(ada, new)
    # A request refused by the form: the fields' "Error:" comes from the staff's form macros
    # (templates/staff/rights_requests/_partials/fields.html), which are not translated yet.
    response = post_form(ada, "/family/schools/oak-primary/rights-requests",
                         {"kind": "", "details": DETAILS}, page=page)  # fmt: skip
    assert response.status_code == 400
    assert_translated(response.text, world_data(), allowed=frozenset({"Error"}))
    response = post_form(ada, "/family/schools/oak-primary/rights-requests",
                         {"kind": "access", "details": DETAILS,
                          "pupil": world.oak.pupils["A"].id}, page=page)  # fmt: skip
    assert response.status_code == 302
    made = check(ada, response.headers["Location"])
    assert "portal-saved" in made.text and "RR-0001" in made.text
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin")
    (request,) = rights_requests.of_guardian(world.ada.id)
    rights_requests.refuse(admin.id, request.id, reasons=REFUSAL)
    refused = check(ada, response.headers["Location"])
    assert REFUSAL in refused.text
    check(ada, "/family/rights-requests")


def test_the_check_finds_english_left_on_a_page():
    """The check itself: English outside the brackets is found, data and dates are not."""
    html = (
        "<main><h1>[Ŷöûŕ çĥîļđŕéñ ·····]</h1><p>[Ţĥé šçĥööļ ŕéçöŕđéđ ýöûŕ ýéš, "
        "[ƒŕöɱ à þĥöñé çàļļ ·····], öñ 6 October 2025. ········]</p>"
        "<p>Oak Primary School OP-12-BEEF</p>{}</main>"
    )
    assert_translated(html.format(""), ["Oak Primary School"])
    try:
        assert_translated(html.format("<p>Back to your children</p>"), ["Oak Primary School"])
    except AssertionError as error:
        assert "Back" in str(error)
    else:
        raise AssertionError("English escaped the check")
