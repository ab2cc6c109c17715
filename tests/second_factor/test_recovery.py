"""Recovery codes (portal/second_factor/recovery.py): ten single-use codes, shown once and
stored only as HMACs."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import StaffAuditEntry, StaffRecoveryCode
from portal.second_factor import factors_of, recovery
from tests.support.factories import make_school, make_staff

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SHAPE = re.compile(r"[23456789a-hjkmnp-z]{4}-[23456789a-hjkmnp-z]{4}-[23456789a-hjkmnp-z]{4}")


@pytest.fixture
def staff(app):
    return make_staff(make_school(), email="sam.taylor@oak.example.org")


def stored(user) -> list[StaffRecoveryCode]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(StaffRecoveryCode)
            .where(StaffRecoveryCode.staff_user_id == user.id)
            .order_by(StaffRecoveryCode.id)
        )
    )


def audit(action: str) -> list[dict]:
    entries = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == action).order_by(StaffAuditEntry.id)
    )
    return [json.loads(entry.detail) for entry in entries]


def test_ten_distinct_codes_are_made(staff):
    codes = recovery.make_now(staff, now=T0)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert SHAPE.fullmatch(code), code
        assert set(code.replace("-", "")) <= set(recovery.ALPHABET)
    assert recovery.left(staff.id) == 10
    assert factors_of(staff.id).recovery_codes_left == 10
    # Recovery codes alone are not a factor to sign in with: they stand in for one.
    assert not factors_of(staff.id).enrolled


def test_each_code_works_once_and_use_says_how_many_are_left(staff):
    codes = recovery.make_now(staff, now=T0)
    for n, code in enumerate(codes, start=1):
        assert recovery.use(staff, code, now=T0 + timedelta(minutes=n)) == 10 - n
        assert recovery.use(staff, code, now=T0 + timedelta(minutes=n)) is None
    assert recovery.left(staff.id) == 0
    used = [row.used_at for row in stored(staff)]
    assert sorted(used) == [T0 + timedelta(minutes=n) for n in range(1, 11)]


def test_case_spaces_and_dashes_do_not_matter(staff):
    codes = recovery.make_now(staff, now=T0)
    typed = [
        codes[0].upper(),
        codes[1].replace("-", " "),
        codes[2].replace("-", ""),
        f"  {codes[3]}  ",
        codes[4].replace("-", " - ").title(),
    ]
    assert [recovery.use(staff, text, now=T0) for text in typed] == [9, 8, 7, 6, 5]
    # Each of them, once used, is used however it is typed again.
    assert recovery.use(staff, codes[0], now=T0) is None
    assert recovery.use(staff, codes[2], now=T0) is None


def test_text_that_is_not_a_code_is_refused(staff):
    codes = recovery.make_now(staff, now=T0)
    # Too short, too long, and the look-alikes the alphabet leaves out (0, 1, i, l, o).
    for wrong in ("", "abcd-efgh", codes[0] + "a", "0abc-defg-hjkm", "abcd-efgh-ijkl"):
        assert recovery.use(staff, wrong, now=T0) is None
    assert recovery.left(staff.id) == 10


def test_making_new_codes_stops_the_old_ones_working(staff):
    old = recovery.make_now(staff, now=T0)
    assert recovery.use(staff, old[0], now=T0) == 9
    new = recovery.make_now(staff, now=T0 + timedelta(days=1))
    assert not set(old) & set(new)
    assert recovery.left(staff.id) == 10
    assert all(recovery.use(staff, code, now=T0) is None for code in old[1:])
    assert recovery.use(staff, new[0], now=T0) == 9
    assert len(stored(staff)) == 10


def test_another_users_code_does_not_work(staff):
    other = make_staff(staff.school, email="kim.lee@oak.example.org", name="Kim Lee")
    mine = recovery.make_now(staff, now=T0)
    theirs = recovery.make_now(other, now=T0)
    assert recovery.use(other, mine[0], now=T0) is None
    assert recovery.use(staff, theirs[0], now=T0) is None
    # Neither was spent by the other's attempt.
    assert recovery.use(staff, mine[0], now=T0) == 9
    assert recovery.use(other, theirs[0], now=T0) == 9


def test_the_database_holds_only_hmacs_of_the_codes(staff):
    """A copy of the database cannot be read for codes, nor tested against guesses without
    the key: each row is a keyed hash (not a plain SHA-256) and no code text is anywhere in
    the rows or the audit log."""
    codes = recovery.make_now(staff, now=T0)
    recovery.use(staff, codes[0], now=T0)
    rows = stored(staff)
    hashes = {row.code_hash for row in rows}
    assert len(hashes) == 10
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    texts = [f"{row.code_hash} {row.created_at} {row.used_at}" for row in rows]
    texts += [entry.detail for entry in db.session.scalars(select(StaffAuditEntry))]
    everything = "\n".join(texts)
    for code in codes:
        plain = code.replace("-", "")
        assert code not in everything and plain not in everything
        for message in (code, plain, f"{staff.id}:{plain}"):
            assert hashlib.sha256(message.encode()).hexdigest() not in hashes


def test_making_and_using_codes_is_in_the_audit_log(staff):
    codes = recovery.make_now(staff, now=T0)
    recovery.use(staff, "2222-3333-4444", now=T0)  # not one of theirs: no entry
    recovery.use(staff, codes[0], now=T0)
    recovery.use(staff, codes[1], now=T0)
    assert audit("second_factor.recovery_codes") == [{"count": 10}]
    assert audit("second_factor.recovery_code_used") == [{"left": 9}, {"left": 8}]
    entry = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == "second_factor.recovery_codes")
    ).one()
    assert (entry.staff_user_id, entry.school_id) == (staff.id, staff.school_id)
