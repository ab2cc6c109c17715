"""What every request must be before any view sees it (portal/web/incoming.py): a clear
answer, never a 500, and nothing changed."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from portal.extensions import db
from portal.models import SignInRequest
from portal.web.incoming import FORM_BODY_LIMIT, MAX_ID, IdConverter, parse_id
from tests.support.client import csrf_token
from tests.support.factories import make_notice, make_school


@pytest.fixture
def school(app):
    school = make_school()
    make_notice(school)
    return school


def sign_in_requests() -> int:
    return db.session.scalar(select(func.count()).select_from(SignInRequest)) or 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        (7, 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("0", None),
        ("-1", None),
        ("²", None),  # superscript two: isdigit() says yes, int() says no
        ("٣", None),  # Arabic-Indic three: int() would read it as 3
        ("1e3", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_ids_are_ascii_digits_within_the_column_range(value, expected):
    assert parse_id(value) == expected


def test_every_integer_in_a_route_is_bounded(app):
    integer_rules = []
    for rule in app.url_map.iter_rules():
        for converter in rule._converters.values():
            if isinstance(converter, IntegerConverter):
                integer_rules.append(rule.rule)
                assert isinstance(converter, IdConverter), rule.rule
                assert converter.max == MAX_ID, rule.rule
    assert integer_rules, "no route takes an id: the check above checked nothing"


@pytest.mark.parametrize("version", [str(MAX_ID + 1), "99999999999999999999", "٣"])
def test_an_id_past_the_column_range_is_not_found(client, school, version):
    page = client.get(f"/schools/{school.slug}/privacy-notice/versions/{version}")
    assert page.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/schools/a%00b/privacy-notice",
        "/schools/a%00b/your-rights",
        "/schools/oak-primary/privacy-notice?version=a%00b",
        "/sign-in?next=%00",
    ],
)
def test_a_nul_in_the_address_is_refused_politely(client, school, path):
    page = client.get(path)
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "not allowed (NUL)" in text
    assert "Nothing was saved" in text


def test_a_nul_in_a_form_is_refused_and_nothing_changes(client, school):
    token = csrf_token(client.get("/sign-in"))
    page = client.post("/sign-in", data={"csrf_token": token, "email": "ada\x00@example.org"})
    assert page.status_code == 400
    assert "not allowed (NUL)" in page.get_data(as_text=True)
    assert sign_in_requests() == 0


def test_an_over_long_form_is_refused_before_it_is_read(client, school):
    token = csrf_token(client.get("/sign-in"))
    huge = "a" * (4 * 1024 * 1024) + "@example.org"
    started = time.process_time()
    page = client.post("/sign-in", data={"csrf_token": token, "email": huge})
    assert page.status_code == 413
    text = page.get_data(as_text=True)
    assert f"at most {FORM_BODY_LIMIT // 1024} KB" in text
    assert "Nothing was saved" in text
    assert sign_in_requests() == 0
    # Not a timing assertion on the server: only that it did not parse 4 MB of address.
    assert time.process_time() - started < 60
