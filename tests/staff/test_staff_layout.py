"""What every staff page shares: a plain footer (the families' promise and their list of
schools are theirs), a GOV.UK back link above the h1 on each page deeper than a list, and
date hints that show the format their input takes."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from portal import PROJECT_ROOT
from portal.staff.ledger_browser import UKDateField
from tests.staff.test_roles import oak_ids
from tests.support.client import csrf_token
from tests.support.web import sign_in_as
from tests.web.test_components import govuk, markup, render

RIGHTS = "Back to rights requests"
FAMILIES_PROMISE = "Saying no, or not answering, never affects your child"


def footer(page: Any) -> str:
    return page.text.split('<footer class="govuk-footer"')[1].split("</footer>")[0]


def before_main(page: Any) -> str:
    return page.text.split('<main class="govuk-main-wrapper"')[0]


def test_staff_pages_have_a_plain_footer_and_families_keep_theirs(app, world, admin, office):
    """No staff page, before or after the second factor, carries the families' footer; every
    other page does."""
    before_factor = app.test_client()
    sign_in_as(before_factor, "marketing@oak.example", home="/staff", second_factor=False)
    pages = [
        admin.get("/staff"),
        admin.get("/staff/pupils"),
        office.get(f"/staff/pupils/{world.oak.pupils['A'].id}"),
        admin.get("/staff/nowhere"),  # a staff address's error page
        before_factor.get("/staff/second-factor/set-up"),
    ]
    for page in pages:
        text = footer(page)
        assert "School consent portal" in text, page.request.path
        assert "never affects your child" not in text, page.request.path
        assert "All schools" not in text, page.request.path
    parent = app.test_client()
    sign_in_as(parent, "ada@example.org")
    for page in (app.test_client().get("/"), app.test_client().get("/sign-in"),
                 parent.get("/family")):  # fmt: skip
        text = footer(page)
        assert FAMILIES_PROMISE in text and ">All schools</a>" in text, page.request.path


def test_the_back_link_macro_is_govuk_back_link(app: Flask) -> None:
    """templates/_components.html's back_link emits govukBackLink's markup, escaped alike."""
    title = 'Back to "pupils" <b>'
    ours = render(
        app,
        '{% from "_components.html" import back_link %}{{ back_link("/staff/pupils?a=1&b=2", t) }}',
        t=title,
    )
    params = {"href": "/staff/pupils?a=1&b=2", "text": title}
    assert markup(ours) == markup(govuk(app, "back-link", "govukBackLink", params))


@pytest.mark.parametrize(
    ("path", "back"),
    [
        ("/staff/pupils/{pupil_id}", ("/staff/pupils", "Back to pupils")),
        ("/staff/objections/{seq}", ("/staff/objections", "Back to objections")),
        ("/staff/rights-requests/{request_id}", ("/staff/rights-requests", RIGHTS)),
        ("/staff/rights-requests/new", ("/staff/rights-requests", RIGHTS)),
        ("/staff/invitations/{batch_id}", ("/staff/invitations", "Back to invitations")),
        ("/staff/purposes/{purpose_id}/edit", ("/staff/purposes", "Back to purposes")),
        ("/staff/purposes/new", ("/staff/purposes", "Back to purposes")),
    ],
)  # fmt: skip
def test_a_deeper_page_has_one_back_link_above_its_h1(admin, world, path, back):
    """One GOV.UK back link, before the page's main region (so above its h1), to the list
    the page belongs to."""
    page = admin.get(path.format(**oak_ids(world)))
    assert page.status_code == 200, page.text
    links = re.findall(r'<a href="([^"]*)" class="govuk-back-link">([^<]*)</a>', page.text)
    assert links == [back]
    assert 'class="govuk-back-link"' in before_main(page)
    assert page.text.index("govuk-back-link") < page.text.index("<h1")


def test_confirmation_pages_and_the_family_file_lead_back_too(admin, world):
    """Pages reached by a form (a confirmation, the family's file) lead back as well: the
    family's file to its request."""
    ids = oak_ids(world)
    token = csrf_token(admin.get("/staff/users"))
    page = admin.post(f"/staff/users/{ids['user_id']}/deactivate", data={"csrf_token": token})
    assert '<a href="/staff/users" class="govuk-back-link">Back to staff users</a>' in (
        before_main(page)
    )
    request_page = admin.get(f"/staff/rights-requests/{ids['request_id']}")
    built = admin.post(
        f"/staff/rights-requests/{ids['request_id']}/family-file",
        data={"csrf_token": csrf_token(request_page)},
    )
    assert built.status_code == 200, built.text
    back = f'<a href="/staff/rights-requests/{ids["request_id"]}" class="govuk-back-link">'
    assert back + "Back to the request</a>" in before_main(built)


def test_lists_have_no_back_link(admin):
    for path in ("/staff", "/staff/pupils", "/staff/objections", "/staff/invitations"):
        assert "govuk-back-link" not in admin.get(path).text, path


# --- date hints ----------------------------------------------------------------------------

# A date typed in a text box is read day first (UKDateField: 6/10/2025, or 2025-10-06), so
# its hint's example is written that way. A native date input (`type="date"`) is not used:
# it shows the browser's own format (mm/dd/yyyy in a browser set to American English), which
# no hint can match.
DAY_FIRST_HINT = re.compile(r"For example, (\d{1,2})/(\d{1,2})/(\d{4})\b")
# A GOV.UK date input (three boxes: day, month, year): "For example, 27 3 2025".
GOVUK_HINT = re.compile(r"For example, (\d{1,2}) (\d{1,2}) (\d{4})</div>")
# The fields a staff or parent form reads as a date typed in one box.
DATE_FIELDS = re.compile(r"\binput\((?:form\.)?\"?(date_from|date_to|received_on|told_on)\b")


class _DateForm(FlaskForm):
    day = UKDateField("Date")


def _templates() -> list[Any]:
    return [
        template
        for folder in ("staff", "parent", "public", "auth")
        for template in sorted((PROJECT_ROOT / "templates" / folder).rglob("*.html"))
    ]


def test_no_form_uses_a_native_date_input():
    for template in _templates():
        assert 'type="date"' not in template.read_text(encoding="utf-8"), template


def test_every_date_typed_in_one_box_hints_the_format_it_is_read_in(app):
    """Each example, typed in its box, is read as the date it shows."""
    found = []
    for template in _templates():
        for line in template.read_text(encoding="utf-8").splitlines():
            if field := DATE_FIELDS.search(line):
                found.append(field.group(1))
                match = DAY_FIRST_HINT.search(line)
                assert match, f"{template}: {field.group(1)} has no day-first example"
                day, month, year = (int(part) for part in match.groups())
                typed = match.group(0).removeprefix("For example, ")
                with app.test_request_context():
                    form = _DateForm(formdata=MultiDict({"day": typed}), meta={"csrf": False})
                    assert form.validate(), form.errors
                assert form.day.data == date(year, month, day), template
    assert sorted(found) == ["date_from", "date_to", "received_on", "told_on"]


def test_the_govuk_date_input_hints_day_month_year(admin, world):
    """The pupil's leaving date is three boxes (day, month, year): its example is three
    numbers in that order, as GOV.UK's pattern writes it."""
    page = admin.get(f"/staff/pupils/{world.oak.pupils['A'].id}")
    assert GOVUK_HINT.search(page.text), "no 'For example, D M YYYY' hint"
    labels = re.findall(r'class="govuk-label govuk-date-input__label" for="left-(\w+)"', page.text)
    assert labels == ["day", "month", "year"]
