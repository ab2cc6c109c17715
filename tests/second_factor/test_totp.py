"""An authenticator app as a staff user's second factor (portal/second_factor/totp.py).

Time is given with `now=`; the app's codes are made with pyotp, as a phone's app makes them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import StaffAuditEntry, StaffTotp
from portal.second_factor import sealed, totp
from tests.support.factories import make_school, make_staff

# The middle of a 30-second step: a second either way stays in the same step.
T0 = datetime(2025, 3, 3, 9, 0, 15, tzinfo=UTC)
STEP = timedelta(seconds=30)


def code_at(secret: str, moment: datetime) -> str:
    """The code the app shows at `moment`."""
    return pyotp.TOTP(secret).at(int(moment.timestamp()))


def enrol(user, *, at: datetime = T0) -> str:
    """Set up an app for `user` at `at`, confirmed with the code of that moment; its secret."""
    secret = totp.start_set_up(user, now=at).secret
    assert totp.confirm_set_up(user, code_at(secret, at), now=at)
    return secret


def rows(user) -> list[StaffTotp]:
    db.session.expire_all()
    return list(db.session.scalars(select(StaffTotp).where(StaffTotp.staff_user_id == user.id)))


def audit(action: str) -> list[dict]:
    entries = db.session.scalars(
        select(StaffAuditEntry).where(StaffAuditEntry.action == action).order_by(StaffAuditEntry.id)
    )
    return [json.loads(entry.detail) for entry in entries]


@pytest.fixture
def staff(app):
    return make_staff(make_school(), email="sam.taylor@oak.example.org")


def test_a_code_is_accepted_once(staff):
    """A code works once: the same code again, even a second later, is a replay."""
    secret = enrol(staff)
    later = T0 + timedelta(minutes=5)
    code = code_at(secret, later)
    assert totp.check(staff, code, now=later)
    assert not totp.check(staff, code, now=later)
    assert not totp.check(staff, code, now=later + timedelta(seconds=1))
    # The next step's code is a new code.
    assert totp.check(staff, code_at(secret, later + STEP), now=later + STEP)


def test_the_previous_and_next_step_are_accepted_but_not_two_away(staff):
    """A phone's clock may be a step out either way; two steps (a minute) is too far."""
    secret = enrol(staff)
    now = T0 + timedelta(minutes=10)
    assert not totp.check(staff, code_at(secret, now - 2 * STEP), now=now)
    assert not totp.check(staff, code_at(secret, now + 2 * STEP), now=now)
    # In order, each a step later than the last: previous, this one, next.
    assert totp.check(staff, code_at(secret, now - STEP), now=now)
    assert totp.check(staff, code_at(secret, now), now=now)
    assert totp.check(staff, code_at(secret, now + STEP), now=now)


def test_a_code_for_a_step_before_the_last_accepted_one_is_refused(staff):
    """Once the next step's code was used, this step's and the previous step's are old,
    though they were never used and are still inside the clock window."""
    secret = enrol(staff)
    now = T0 + timedelta(minutes=10)
    assert totp.check(staff, code_at(secret, now + STEP), now=now)
    assert not totp.check(staff, code_at(secret, now), now=now)
    assert not totp.check(staff, code_at(secret, now - STEP), now=now)
    (row,) = rows(staff)
    assert row.last_step == int((now + STEP).timestamp()) // 30


def test_spaces_and_dashes_in_a_code_do_not_matter_but_other_text_does(staff):
    secret = enrol(staff)
    now = T0 + timedelta(minutes=10)
    code = code_at(secret, now)
    for wrong in ("", "12345", "1234567", "abcdef", code[:5] + "x"):
        assert not totp.check(staff, wrong, now=now)
    assert totp.check(staff, f" {code[:3]} - {code[3:]} ", now=now)


def test_a_user_without_an_app_or_with_another_users_code_is_refused(staff):
    other = make_staff(staff.school, email="kim.lee@oak.example.org", name="Kim Lee")
    secret = enrol(staff)
    now = T0 + timedelta(minutes=10)
    assert not totp.has_app(other.id)
    assert not totp.check(other, code_at(secret, now), now=now)
    # Refused for the other user, still unused for its owner.
    assert totp.check(staff, code_at(secret, now), now=now)


def test_set_up_is_confirmed_only_by_a_right_code(staff):
    """Until a code from the app confirms it, a set-up is not a factor; a wrong code changes
    nothing; the right one is recorded in the audit log."""
    set_up = totp.start_set_up(staff, now=T0)
    assert not totp.has_app(staff.id)
    # A wrong code: any six digits that are none of the window's codes.
    window = {code_at(set_up.secret, T0 + n * STEP) for n in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in window)
    assert not totp.confirm_set_up(staff, wrong, now=T0)
    assert not totp.confirm_set_up(staff, code_at(set_up.secret, T0 + 2 * STEP), now=T0)
    assert not totp.has_app(staff.id)
    (row,) = rows(staff)
    assert row.confirmed_at is None and row.last_step is None
    assert audit("second_factor.enrol") == []

    assert totp.confirm_set_up(staff, code_at(set_up.secret, T0), now=T0)
    assert totp.has_app(staff.id)
    (row,) = rows(staff)
    assert row.confirmed_at == T0
    assert row.last_step == int(T0.timestamp()) // 30
    assert audit("second_factor.enrol") == [{"factor": "totp"}]
    # The code that confirmed the set-up is spent too.
    assert not totp.check(staff, code_at(set_up.secret, T0), now=T0)


def test_confirming_without_a_set_up_in_progress_is_refused(staff):
    assert not totp.confirm_set_up(staff, "123456", now=T0)
    assert totp.pending_set_up(staff) is None
    assert rows(staff) == []


def test_a_new_app_replaces_the_old_one_only_once_confirmed(staff):
    """Setting up a new app (a new phone) leaves the old one working until a code from the
    new one confirms it; then only the new one works."""
    old = enrol(staff)
    now = T0 + timedelta(minutes=10)
    new = totp.start_set_up(staff, now=now).secret
    assert new != old
    assert totp.has_app(staff.id)
    assert totp.check(staff, code_at(old, now), now=now)
    assert not totp.check(staff, code_at(new, now + STEP), now=now)

    later = now + timedelta(minutes=5)
    assert totp.confirm_set_up(staff, code_at(new, later), now=later)
    (row,) = rows(staff)
    assert row.confirmed_at == later
    even_later = later + timedelta(minutes=5)
    assert not totp.check(staff, code_at(old, even_later), now=even_later)
    assert totp.check(staff, code_at(new, even_later), now=even_later)


def test_a_pending_set_up_keeps_its_secret_until_confirmed(staff):
    """Reloading the set-up page shows the same QR code; starting again makes a new secret
    and drops the unfinished one; once confirmed there is nothing pending."""
    assert totp.pending_set_up(staff) is None
    first = totp.start_set_up(staff, now=T0)
    assert totp.pending_set_up(staff).secret == first.secret
    assert totp.pending_set_up(staff).secret == first.secret
    assert totp.pending_set_up(staff).uri == first.uri

    second = totp.start_set_up(staff, now=T0 + STEP)
    assert second.secret != first.secret
    assert totp.pending_set_up(staff).secret == second.secret
    assert len(rows(staff)) == 1
    # The dropped secret's code no longer confirms anything.
    assert not totp.confirm_set_up(staff, code_at(first.secret, T0 + STEP), now=T0 + STEP)

    assert totp.confirm_set_up(staff, code_at(second.secret, T0 + STEP), now=T0 + STEP)
    assert totp.pending_set_up(staff) is None


def test_the_secret_is_stored_sealed_for_this_user(staff):
    """The row holds the secret encrypted, with the user's id bound to it: neither the
    base32 text nor its groups appear, and it opens only for this user."""
    secret = totp.start_set_up(staff, now=T0).secret
    (row,) = rows(staff)
    stored = row.secret_sealed
    assert stored.startswith("v1:")
    for form in (secret, secret.lower(), totp.grouped(secret)):
        assert form not in stored
    assert sealed.unseal(stored, staff_user_id=staff.id) == secret
    with pytest.raises(sealed.CannotOpen):
        sealed.unseal(stored, staff_user_id=staff.id + 1)
    # Sealing twice gives two different texts (a new nonce each time).
    assert sealed.seal(secret, staff_user_id=staff.id) != sealed.seal(
        secret, staff_user_id=staff.id
    )


def test_another_secret_key_cannot_open_the_secret(make_app, staff):
    """A copy of the database without the key is no use: another SECRET_KEY (and no
    SECOND_FACTOR_KEY) does not open the secret."""
    secret = totp.start_set_up(staff, now=T0).secret
    (row,) = rows(staff)
    other = make_app(SECRET_KEY="another-secret-key-that-is-long-enough-9876543210")
    with other.app_context(), pytest.raises(sealed.CannotOpen):
        sealed.unseal(row.secret_sealed, staff_user_id=staff.id)
    assert sealed.unseal(row.secret_sealed, staff_user_id=staff.id) == secret


def test_second_factor_key_is_used_instead_of_secret_key_when_set(make_app):
    """With SECOND_FACTOR_KEY set, the secret is sealed with it: the SECRET_KEY can change
    (it signs cookies) and the apps keep working; without the key it does not open."""
    key = "a-separate-second-factor-key-0123456789abcdef"
    with_key = make_app(SECOND_FACTOR_KEY=key)
    with with_key.app_context():
        staff = make_staff(make_school(), email="sam.taylor@oak.example.org")
        secret = totp.start_set_up(staff, now=T0).secret
        (row,) = rows(staff)
        stored, user_id = row.secret_sealed, staff.id
        db.session.remove()

    rotated = make_app(
        SECOND_FACTOR_KEY=key, SECRET_KEY="a-new-secret-key-after-rotation-0123456789abcdef"
    )
    with rotated.app_context():
        assert sealed.unseal(stored, staff_user_id=user_id) == secret
        db.session.remove()

    without_key = make_app()
    with without_key.app_context(), pytest.raises(sealed.CannotOpen):
        sealed.unseal(stored, staff_user_id=user_id)


def test_the_qr_code_is_an_inline_svg_with_no_outside_reference(staff):
    set_up = totp.start_set_up(staff, now=T0)
    svg = set_up.qr_svg()
    assert svg.startswith("<svg")
    root = ET.fromstring(svg)  # well-formed, one element
    assert root.tag.endswith("svg")
    for outside in ("http", "href", "<image", "url(", "<script", "<use"):
        assert outside not in svg, outside
    # What it encodes: the otpauth URI an app reads, with this user's secret and the school.
    parsed = pyotp.parse_uri(set_up.uri)
    assert parsed.secret == set_up.secret
    assert parsed.name == staff.email
    assert parsed.issuer == "School consent portal (Oak Primary School)"
    assert (parsed.digits, parsed.interval) == (6, 30)


def test_the_secret_is_shown_in_groups_of_four(staff):
    assert totp.grouped("ABCDEFGHIJKLMNOPQR") == "ABCD EFGH IJKL MNOP QR"
    set_up = totp.start_set_up(staff, now=T0)
    assert len(set_up.secret) == 32  # 160 bits of base32
    groups = set_up.grouped.split(" ")
    assert len(groups) == 8 and all(len(group) == 4 for group in groups)
    assert "".join(groups) == set_up.secret
