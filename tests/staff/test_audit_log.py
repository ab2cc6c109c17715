"""The staff audit log page (admins only), and the table under it, which refuses UPDATE and
DELETE (and TRUNCATE on PostgreSQL) like the ledger (docs/security.md, promise 19)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal import audit_log
from portal.extensions import db
from portal.models import StaffAuditEntry, StaffUser
from tests.support.world import T0

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/staff/audit-log"}


def staff_user(email: str) -> StaffUser:
    return db.session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


@pytest.fixture
def logged(world):
    """Three entries at Oak (the oldest an operator's, with no staff user) and one at Elm."""
    dana = staff_user("admin@oak.example")
    morgan = staff_user("marketing@oak.example")
    audit_log.record(None, "roster.import", school_id=world.oak.id,
                 detail={"file": "roster.csv", "created": 12}, now=T0)  # fmt: skip
    audit_log.record(morgan, "export.marketing", detail={"purpose": "any"},
                 now=T0 + timedelta(hours=1))  # fmt: skip
    audit_log.record(dana, "export.ledger", detail={"class": "3 Oak", "up_to_seq": 4},
                 now=T0 + timedelta(hours=2))  # fmt: skip
    audit_log.record(staff_user("admin@elm.example"), "export.suppression",
                 detail={"list": "everyone who objected"}, now=T0)  # fmt: skip
    db.session.commit()
    return world


def test_only_admins_see_the_audit_log(logged, office, marketer, admin):
    assert office.get("/staff/audit-log").status_code == 403
    assert marketer.get("/staff/audit-log").status_code == 403
    page = admin.get("/staff/audit-log")
    assert page.status_code == 200
    assert 'href="/staff/audit-log" aria-current="page">Audit log' in page.text


def test_entries_newest_first_with_who_what_and_which_filter(logged, admin):
    page = admin.get("/staff/audit-log")
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', page.text, re.S)[1:]
    assert len(rows) == 3
    first, second, third = rows
    assert "Dana Okafor" in first and "Downloaded ledger events (CSV)" in first
    assert "<dt>Class</dt><dd>3 Oak</dd>" in first
    assert "<dt>Events up to seq</dt><dd>4</dd>" in first
    assert "6 October 2025 at 12:30pm" in first  # UK time
    assert "Morgan Lee" in second and "Downloaded the marketing list" in second
    assert "<dt>Purpose</dt><dd>any</dd>" in second
    assert "an operator" in third and "Roster: import" in third  # an action in words
    assert "<dt>Created</dt><dd>12</dd>" in third and "<dt>File</dt><dd>roster.csv</dd>" in third
    assert "3 entries." in page.text


def test_each_school_sees_only_its_own(logged, elm_admin):
    page = elm_admin.get("/staff/audit-log")
    assert "Downloaded the suppression list" in page.text and "Eli Admin" in page.text
    for oak_only in ("Dana Okafor", "Morgan Lee", "roster.csv", "3 Oak"):
        assert oak_only not in page.text


def test_pages(world, admin):
    dana = staff_user("admin@oak.example")
    for n in range(audit_log.PAGE_SIZE * 2 + 5):
        audit_log.record(dana, "export.marketing", detail={"n": n}, now=T0 + timedelta(minutes=n))
    db.session.commit()
    first = admin.get("/staff/audit-log")
    assert "<dt>N</dt><dd>104</dd>" in first.text and "<dt>N</dt><dd>55</dd>" in first.text
    assert "<dt>N</dt><dd>54</dd>" not in first.text
    assert "105 entries, page 1 of 3." in first.text
    assert 'aria-label="Page 1" aria-current="page"' in first.text
    assert 'rel="prev"' not in first.text
    third = admin.get("/staff/audit-log?page=3")
    assert third.text.count("<dt>N</dt>") == 5 and "<dt>N</dt><dd>0</dd>" in third.text
    assert 'rel="next"' not in third.text
    previous = html.unescape(re.search(r'href="([^"]+)" rel="prev"', third.text).group(1))
    assert previous == "/staff/audit-log?page=2"
    # Beyond the last page: the last page.
    assert "page 3 of 3" in admin.get("/staff/audit-log?page=99").text
    # With htmx, the page links swap just the entries.
    fragment = admin.get("/staff/audit-log?page=2", headers=HTMX)
    body = fragment.text.lstrip()
    assert body.startswith('<div id="audit-log-entries">') and "<h1" not in body
    assert "page 2 of 3" in body and 'hx-swap-oob="innerHTML">Page 2 of the audit log' in body
    plain = admin.get("/staff/audit-log?page=2")
    assert plain.text.lstrip().startswith("<!DOCTYPE html>")


def test_an_empty_log(world, admin):
    assert "Nothing has been recorded yet." in admin.get("/staff/audit-log").text


STATEMENTS = {
    "update an entry": "UPDATE staff_audit_log SET action = 'nothing' WHERE school_id = :s",
    "rewrite a filter": "UPDATE staff_audit_log SET detail = '{}' WHERE school_id = :s",
    "reassign": "UPDATE staff_audit_log SET staff_user_id = NULL",
    "delete one school's": "DELETE FROM staff_audit_log WHERE school_id = :s",
    "delete everything": "DELETE FROM staff_audit_log",
}


@pytest.mark.parametrize("statement", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_the_log_refuses_update_and_delete(logged, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement), {"s": logged.oak.id})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StaffAuditEntry)) == 4
    assert audit_log.entries(logged.oak.id).entries[0].action == "export.ledger"


@pytest.mark.postgres
def test_the_log_refuses_truncate(logged):
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("TRUNCATE staff_audit_log"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StaffAuditEntry)) == 4


def test_the_orm_cannot_change_an_entry_either(logged):
    entry = db.session.scalars(select(StaffAuditEntry).order_by(StaffAuditEntry.id)).first()
    entry.detail = "{}"
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(StaffAuditEntry, entry.id))
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
