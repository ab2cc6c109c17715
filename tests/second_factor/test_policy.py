"""The second factor over HTTP (portal/staff/second_factor.py, portal/web/access.py): a staff
session that passed only the emailed link sees no staff page until it passes a second factor;
the riskiest pages ask again after FRESH_MINUTES; admins (or the operator) reset a lost one.

Codes come from the authenticator app's secret as a phone would show them now (pyotp); the
portal accepts each time step once, so a test uses at most this step's code and the next.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pyotp
import pytest
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import OutboxMessage, StaffPasskey, StaffTotp, UserSession
from portal.second_factor import factors_of, recovery, totp
from portal.staff.second_factor import WRONG_APP_CODE, WRONG_RECOVERY_CODE
from tests.second_factor.support import audit, session_row, sign_in_by_link
from tests.support.client import csrf_token
from tests.support.factories import make_child, make_school, make_staff
from tests.support.mail import session_cookie
from tests.support.web import text_of

ADMIN = "sam.taylor@oak.example.org"
TEACHER = "kim.lee@oak.example.org"
AN_HOUR_AGO = timedelta(hours=1)


# --- helpers --------------------------------------------------------------------------------


def enrol(user) -> str:
    """An authenticator app set up an hour ago (its codes since then are unused); the secret."""
    then = datetime.now(UTC) - AN_HOUR_AGO
    secret = totp.start_set_up(user, now=then).secret
    assert totp.confirm_set_up(user, pyotp.TOTP(secret).at(then), now=then)
    return secret


def next_code(user, secret: str) -> str:
    """The app's code that the portal will take now: this step's, or the next step's when
    this one was used (a phone shows it within 30 seconds)."""
    db.session.expire_all()
    last = db.session.scalars(
        select(StaffTotp.last_step).where(
            StaffTotp.staff_user_id == user.id, StaffTotp.confirmed_at.is_not(None)
        )
    ).one()
    here = int(datetime.now(UTC).timestamp()) // 30
    step = max(here, (last or 0) + 1)
    assert step <= here + 1, "a test may use this step's code and the next one only"
    return pyotp.TOTP(secret).at(step * 30)


def wrong_code(secret: str) -> str:
    """Six digits that are none of the codes the portal would take now."""
    now = int(datetime.now(UTC).timestamp())
    window = {pyotp.TOTP(secret).at(now + seconds) for seconds in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in window)


def enter_code(client, code: str, *, next: str = "/staff"):
    page = client.get(f"/staff/second-factor?next={quote(next)}")
    assert page.status_code == 200, page.status_code
    data = {"code": code, "next": next, "csrf_token": csrf_token(page)}
    return client.post("/staff/second-factor/app", data=data)


def sign_in_with_app(app, user, secret: str, *, address: str = "127.0.0.1"):
    """A client signed in by link, then with a code from the app."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    sign_in_by_link(client, user.email)
    response = enter_code(client, next_code(user, secret))
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/staff"
    return client


def passed_minutes_ago(client, minutes: int) -> None:
    """The client's session passed its second factor `minutes` ago."""
    row = session_row(client)
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == row.id)
        .values(second_factor_at=datetime.now(UTC) - timedelta(minutes=minutes))
    )
    db.session.commit()


def location(response) -> str:
    assert response.status_code == 302, (response.status_code, response.text[:500])
    return response.headers["Location"]


@pytest.fixture
def oak(app):
    return make_school()


@pytest.fixture
def admin(oak):
    return make_staff(oak, email=ADMIN, role="admin", name="Sam Taylor")


@pytest.fixture
def teacher(oak):
    return make_staff(oak, email=TEACHER, role="staff", name="Kim Lee")


# --- setting one up -------------------------------------------------------------------------


def test_a_first_sign_in_sets_up_an_app_and_recovery_codes_through_the_pages(app, admin):
    """A staff user with no factor, signed in by link, is sent from the dashboard to set one
    up; an app confirmed by its code passes the session, then come the recovery codes."""
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    assert location(client.get("/staff")) == "/staff/second-factor?next=/staff"
    assert location(client.get("/staff/second-factor?next=/staff")) == (
        "/staff/second-factor/set-up?next=/staff"
    )
    page = client.get("/staff/second-factor/set-up?next=/staff")
    assert "Set up a second factor" in page.text
    assert "Set up an authenticator app" in page.text
    response = client.post(
        "/staff/second-factor/set-up/app", data={"next": "/staff", "csrf_token": csrf_token(page)}
    )
    assert location(response) == "/staff/second-factor/set-up/app?next=/staff"

    page = client.get("/staff/second-factor/set-up/app?next=/staff")
    assert page.status_code == 200
    assert "Set up your authenticator app" in page.text
    assert "<svg" in page.text
    grouped = re.search(r'id="totp-secret"><code>([A-Z2-7 ]+)</code>', page.text).group(1)
    secret = grouped.replace(" ", "")
    # Reloading shows the same secret.
    assert grouped in client.get("/staff/second-factor/set-up/app?next=/staff").text

    form = {"next": "/staff", "csrf_token": csrf_token(page)}
    wrong = client.post(
        "/staff/second-factor/set-up/app/confirm", data={**form, "code": wrong_code(secret)}
    )
    assert wrong.status_code == 400
    assert "The code is not right" in text_of(wrong.text)
    assert not totp.has_app(admin.id)

    code = pyotp.TOTP(secret).now()
    response = client.post("/staff/second-factor/set-up/app/confirm", data={**form, "code": code})
    assert location(response) == "/staff/second-factor/recovery-codes?next=/staff"
    assert totp.has_app(admin.id)
    assert session_row(client).second_factor == "totp"

    page = client.get("/staff/second-factor/recovery-codes?next=/staff")
    assert "Show my recovery codes" in page.text
    shown = client.post(
        "/staff/second-factor/recovery-codes",
        data={"next": "/staff", "csrf_token": csrf_token(page)},
    )
    assert shown.status_code == 200
    listed = re.search(r'<ul[^>]*id="recovery-codes">(.*?)</ul>', shown.text, re.S).group(1)
    codes = re.findall(r"<li><code>([^<]+)</code></li>", listed)
    assert len(codes) == len(set(codes)) == 10
    assert recovery.left(admin.id) == 10
    assert '<a class="govuk-button" href="/staff">I have saved my codes, continue</a>' in shown.text
    assert client.get("/staff").status_code == 200
    assert audit("second_factor.enrol") == [{"factor": "totp"}]


def test_an_emailed_link_alone_cannot_add_a_factor_to_an_account_that_has_one(app, admin):
    """Someone with only the link (a stolen mailbox) is asked for the factor, not offered a
    new one: set-up pages send them to the check, and no set-up starts."""
    enrol(admin)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    assert location(client.get("/staff/second-factor/set-up?next=/staff")) == (
        "/staff/second-factor?next=/staff"
    )
    page = client.get("/staff/second-factor")
    token = csrf_token(page)
    response = client.post("/staff/second-factor/set-up/app", data={"csrf_token": token})
    assert location(response) == "/staff/second-factor?next=/staff"
    assert totp.pending_set_up(admin) is None
    response = client.post(
        "/staff/second-factor/set-up/passkey/options", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 403
    assert response.json == {"error": "Use your second factor first"}


# --- checking it ----------------------------------------------------------------------------


def test_a_new_sign_in_must_enter_a_code(app, admin):
    """After the link, every staff page (htmx too) waits for the code; a wrong code is
    refused with a message and audited; the right one goes on to `next`."""
    secret = enrol(admin)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    assert location(client.get("/staff")) == "/staff/second-factor?next=/staff"
    assert location(client.get("/staff/exports")) == "/staff/second-factor?next=/staff/exports"
    htmx = client.get("/staff", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"] == "/staff/second-factor?next=/staff"

    page = client.get("/staff/second-factor?next=/staff/exports")
    assert "Check it is you" in page.text
    wrong = enter_code(client, wrong_code(secret), next="/staff/exports")
    assert wrong.status_code == 400
    assert WRONG_APP_CODE in text_of(wrong.text)
    assert audit("second_factor.failure") == [{"factor": "totp", "reason": "wrong or used code"}]
    assert session_row(client).second_factor_at is None
    assert client.get("/staff").status_code == 302

    right = enter_code(client, next_code(admin, secret), next="/staff/exports")
    assert location(right) == "/staff/exports"
    row = session_row(client)
    assert row.second_factor == "totp" and row.second_factor_at is not None
    assert audit("second_factor.use") == [{"factor": "totp"}]
    assert client.get("/staff/exports").status_code == 200


def test_a_used_code_is_refused_for_the_next_sign_in(app, admin):
    """A code seen over someone's shoulder (or phished) is spent once it was used."""
    secret = enrol(admin)
    code = next_code(admin, secret)
    first = app.test_client()
    sign_in_by_link(first, ADMIN)
    assert location(enter_code(first, code)) == "/staff"
    second = app.test_client()
    sign_in_by_link(second, ADMIN)
    replay = enter_code(second, code)
    assert replay.status_code == 400
    assert WRONG_APP_CODE in text_of(replay.text)


def test_a_code_that_is_not_six_digits_is_refused_and_spaces_are_allowed(app, admin):
    secret = enrol(admin)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    response = enter_code(client, "12345")
    assert response.status_code == 400
    assert "The code is 6 digits, like 123456" in text_of(response.text)
    code = next_code(admin, secret)
    assert location(enter_code(client, f"{code[:3]} {code[3:]}")) == "/staff"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/staff",
        "//evil.example/staff",
        "/family",
        "/sign-in",
        "/staff\\..\\family",
        "",
    ],
)
def test_after_the_code_an_off_site_or_non_staff_next_goes_to_the_dashboard(app, admin, target):
    """`next` is only ever a staff page of this site: no open redirect after the code."""
    secret = enrol(admin)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    page = client.get(f"/staff/second-factor?next={quote(target)}")
    assert 'name="next" type="hidden" value="/staff"' in page.text
    data = {"code": next_code(admin, secret), "next": target, "csrf_token": csrf_token(page)}
    assert location(client.post("/staff/second-factor/app", data=data)) == "/staff"


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(app, admin):
    enrol(admin)
    codes = recovery.make_now(admin)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    page = client.get("/staff/second-factor/recovery-code?next=/staff/exports")
    assert page.status_code == 200
    data = {"code": codes[0].upper(), "next": "/staff/exports", "csrf_token": csrf_token(page)}
    response = client.post("/staff/second-factor/recovery-code", data=data)
    assert location(response) == "/staff/account/security?next=/staff/exports"
    security = client.get(location(response))
    assert "You used a recovery code. You have 9 left." in text_of(security.text)
    assert 'href="/staff/exports"' in security.text
    assert session_row(client).second_factor == "recovery"
    assert audit("second_factor.use") == [{"factor": "recovery", "left": 9}]
    assert client.get("/staff").status_code == 200

    other = app.test_client()
    sign_in_by_link(other, ADMIN)
    page = other.get("/staff/second-factor/recovery-code")
    again = other.post(
        "/staff/second-factor/recovery-code",
        data={"code": codes[0], "csrf_token": csrf_token(page)},
    )
    assert again.status_code == 400
    assert WRONG_RECOVERY_CODE in text_of(again.text)
    assert audit("second_factor.failure")[-1]["factor"] == "recovery"
    assert session_row(other).second_factor_at is None


def test_with_three_recovery_codes_left_the_page_says_to_make_new_ones(app, admin):
    enrol(admin)
    codes = recovery.make_now(admin)
    for code in codes[:6]:
        recovery.use(admin, code)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    page = client.get("/staff/second-factor/recovery-code")
    data = {"code": codes[6], "csrf_token": csrf_token(page)}
    security = client.post("/staff/second-factor/recovery-code", data=data, follow_redirects=True)
    words = text_of(security.text)
    assert "You have 3 left. Make new ones below" in words


# --- fresh for the riskiest pages ------------------------------------------------------------


def test_exports_ask_again_after_ten_minutes_and_come_back_after_the_code(app, admin):
    """Within FRESH_MINUTES of the factor an export page opens; after, it asks again ("Confirm
    it is you") and brings the person back once they have entered a code."""
    secret = enrol(admin)
    client = sign_in_with_app(app, admin, secret)
    passed_minutes_ago(client, 9)
    assert client.get("/staff/exports").status_code == 200

    passed_minutes_ago(client, 11)
    # Other staff pages do not ask again; the riskiest do.
    assert client.get("/staff").status_code == 200
    prompt = location(client.get("/staff/exports"))
    assert prompt == "/staff/second-factor?next=/staff/exports&again=1"
    page = client.get(prompt)
    assert "Confirm it is you" in page.text
    assert "more than 10 minutes ago" in text_of(page.text)
    data = {
        "code": next_code(admin, secret),
        "next": "/staff/exports",
        "csrf_token": csrf_token(page),
    }
    assert location(client.post("/staff/second-factor/app", data=data)) == "/staff/exports"
    assert client.get("/staff/exports").status_code == 200
    passed = session_row(client).second_factor_at
    assert datetime.now(UTC) - passed < timedelta(minutes=1)


def test_a_post_to_a_risky_page_after_ten_minutes_goes_back_to_its_form(app, admin):
    """A stale export POST is not done: the person confirms and comes back to the form."""
    secret = enrol(admin)
    client = sign_in_with_app(app, admin, secret)
    token = csrf_token(client.get("/staff/exports"))
    passed_minutes_ago(client, 11)
    response = client.post("/staff/exports/suppression-list", data={"csrf_token": token})
    assert location(response) == "/staff/second-factor?next=/staff/exports&again=1"
    assert audit("export.suppression") == []


# --- resetting a lost factor ----------------------------------------------------------------


def _give_every_factor(user) -> str:
    secret = enrol(user)
    recovery.make_now(user)
    db.session.add(
        StaffPasskey(
            staff_user_id=user.id,
            credential_id="a-passkey-credential-id",
            public_key=b"not used here",
            sign_count=0,
            name="Phone",
            created_at=datetime.now(UTC),
        )
    )
    db.session.commit()
    factors = factors_of(user.id)
    assert factors.app and len(factors.passkeys) == 1 and factors.recovery_codes_left == 10
    return secret


def _nothing_left(user) -> bool:
    db.session.expire_all()
    factors = factors_of(user.id)
    return not factors.app and not factors.passkeys and factors.recovery_codes_left == 0


def test_an_admin_resets_another_users_factor_after_confirming(app, admin, teacher):
    """The first press asks to confirm; then the user's app, passkeys and recovery codes are
    gone, their sessions ended, they are emailed, and the reset is audited."""
    admin_secret, teacher_secret = enrol(admin), _give_every_factor(teacher)
    admin_client = sign_in_with_app(app, admin, admin_secret)
    teacher_client = sign_in_with_app(app, teacher, teacher_secret, address="10.0.0.2")
    page = admin_client.get("/staff/users")
    assert page.status_code == 200
    path = f"/staff/users/{teacher.id}/reset-factor"

    confirm = admin_client.post(path, data={"csrf_token": csrf_token(page)})
    assert confirm.status_code == 200
    assert "Reset the second factor of Kim Lee?" in text_of(confirm.text)
    assert not _nothing_left(teacher)

    done = admin_client.post(path, data={"confirm": "yes", "csrf_token": csrf_token(confirm)})
    assert location(done) == f"/staff/users#user-{teacher.id}"
    assert "second factor was reset" in text_of(admin_client.get("/staff/users").text)
    assert _nothing_left(teacher)
    # Their sessions ended: the next page sends them to sign in.
    assert session_row(teacher_client).ended_at is not None
    assert location(teacher_client.get("/staff")) == "/sign-in"
    (email,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "second_factor_reset")
    ).all()
    assert email.to_address == TEACHER
    assert audit("second_factor.reset") == [
        {
            "user_id": teacher.id,
            "email": TEACHER,
            "sessions_ended": 1,
            "by": "Sam Taylor",
        }
    ]
    # At their next sign-in they set up a new one.
    fresh = app.test_client()
    sign_in_by_link(fresh, TEACHER)
    assert location(fresh.get("/staff/second-factor")) == "/staff/second-factor/set-up?next=/staff"


def test_an_admin_cannot_reset_their_own_factor(app, admin):
    client = sign_in_with_app(app, admin, enrol(admin))
    page = client.get("/staff/users")
    response = client.post(
        f"/staff/users/{admin.id}/reset-factor",
        data={"confirm": "yes", "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 400
    assert "You cannot reset your own second factor" in text_of(response.text)
    assert factors_of(admin.id).app
    assert audit("second_factor.reset") == []


def test_another_schools_admin_cannot_reset_a_factor(app, teacher):
    _give_every_factor(teacher)
    elm = make_school(slug="elm-academy", name="Elm Academy")
    head = make_staff(elm, email="head@elm.example.org", role="admin", name="Pat Jones")
    client = sign_in_with_app(app, head, enrol(head))
    page = client.get("/staff/users")
    response = client.post(
        f"/staff/users/{teacher.id}/reset-factor",
        data={"confirm": "yes", "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 404
    assert not _nothing_left(teacher)


def test_a_staff_user_who_is_not_an_admin_cannot_reset_a_factor(app, admin, teacher):
    _give_every_factor(admin)
    client = sign_in_with_app(app, teacher, enrol(teacher))
    token = csrf_token(client.get("/staff/account/security"))
    response = client.post(
        f"/staff/users/{admin.id}/reset-factor", data={"confirm": "yes", "csrf_token": token}
    )
    assert response.status_code == 403
    assert not _nothing_left(admin)


def test_the_operator_resets_a_factor_from_the_command_line(app, admin):
    """For the last admin, who has no other admin to ask: `flask staff reset-factor`."""
    signed_in = sign_in_with_app(app, admin, _give_every_factor(admin))
    result = app.test_cli_runner().invoke(
        args=["staff", "reset-factor", ADMIN.upper(), "--school", "oak-primary"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Reset the second factor of {ADMIN} at oak-primary: 1 session ended; they have been "
        "emailed, and set up a new one at their next sign-in.\n"
    )
    assert _nothing_left(admin)
    assert session_row(signed_in).ended_at is not None
    (email,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "second_factor_reset")
    ).all()
    assert email.to_address == ADMIN
    (entry,) = audit("second_factor.reset")
    assert entry["by"] == "the portal's operator" and entry["user_id"] == admin.id


def test_the_command_line_reset_refuses_an_unknown_user_or_school(app, admin):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "reset-factor", "nobody@oak.example.org",
                                 "--school", "oak-primary"])  # fmt: skip
    assert result.exit_code != 0
    assert "no staff user nobody@oak.example.org at oak-primary" in result.output
    result = runner.invoke(args=["staff", "reset-factor", ADMIN, "--school", "elm-academy"])
    assert result.exit_code != 0
    assert audit("second_factor.reset") == []


# --- a parent who is also staff -------------------------------------------------------------

BOTH = "sam.taylor@example.org"


def _choose(app, label_start: str):
    client = app.test_client()
    sign_in_by_link(client, BOTH, home="/sign-in/choose")
    page = client.get("/sign-in/choose")
    options = dict(
        re.findall(r'<input[^>]*value="([^"]+)"[^>]*>\s*<label[^>]*>\s*([^<]+?)\s*<', page.text)
    )
    key = next(k for k, label in options.items() if label.startswith(label_start))
    response = client.post(
        "/sign-in/choose", data={"principal": key, "csrf_token": csrf_token(page)}
    )
    return client, response


def test_a_parent_who_is_also_staff_needs_the_factor_only_as_staff(app, oak):
    """The same address signs in as a parent with the link alone, and as staff with the
    link and the second factor."""
    make_child(oak, guardian_email=BOTH, forename="Robin")
    staff = make_staff(oak, email=BOTH, role="staff", name="Sam Taylor")
    enrol(staff)

    parent, response = _choose(app, "Parent or carer")
    assert location(response) == "/family"
    family = parent.get("/family")
    assert family.status_code == 200 and "Robin Morgan" in family.text
    row = session_row(parent)
    assert row.principal_type == "guardian" and row.second_factor_at is None

    as_staff, response = _choose(app, "Staff")
    assert location(response) == "/staff"
    assert location(as_staff.get("/staff")) == "/staff/second-factor?next=/staff"


# --- rate limits ----------------------------------------------------------------------------


def _client(app, user, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    sign_in_by_link(client, user.email)
    return client


def test_wrong_codes_are_limited_per_user_and_per_client(make_app):
    """Wrong codes are limited for each user whichever client sends them, and for each
    client whichever user it is signed in as; right codes do not count."""
    app = make_app(
        SECOND_FACTOR_LIMIT_PER_USER="3 per 15 minutes",
        SECOND_FACTOR_LIMIT_PER_CLIENT="5 per 15 minutes",
    )
    with app.app_context():
        oak = make_school()
        sam = make_staff(oak, email=ADMIN, role="admin", name="Sam Taylor")
        kim = make_staff(oak, email=TEACHER, name="Kim Lee")
        lee = make_staff(oak, email="lee.jones@oak.example.org", name="Lee Jones")
        sam_secret, kim_secret, lee_secret = enrol(sam), enrol(kim), enrol(lee)

        first = _client(app, sam, "10.0.5.1")
        assert enter_code(first, wrong_code(sam_secret)).status_code == 400
        assert enter_code(first, wrong_code(sam_secret)).status_code == 400
        # A right code costs nothing: a third wrong one is still answered.
        assert location(enter_code(first, next_code(sam, sam_secret))) == "/staff"
        assert enter_code(first, wrong_code(sam_secret)).status_code == 400
        limited = enter_code(first, wrong_code(sam_secret))
        assert limited.status_code == 429
        assert "Too many requests" in limited.text and "Retry-After" in limited.headers

        # Another user on the same client: their own count is 0, the client's is 3 of 5.
        second = _client(app, kim, "10.0.5.1")
        assert enter_code(second, wrong_code(kim_secret)).status_code == 400
        assert enter_code(second, wrong_code(kim_secret)).status_code == 400
        assert enter_code(second, wrong_code(kim_secret)).status_code == 429
        # Sam is limited as a user on any client; someone else elsewhere is not limited.
        assert enter_code(_client(app, sam, "10.0.5.2"), "000000").status_code == 429
        elsewhere = _client(app, lee, "10.0.5.3")
        assert enter_code(elsewhere, wrong_code(lee_secret)).status_code == 400
        assert location(enter_code(elsewhere, next_code(lee, lee_secret))) == "/staff"
        db.session.remove()


def test_the_default_limits_are_set(app):
    assert app.config["SECOND_FACTOR_LIMIT_PER_USER"] == "5 per 15 minutes; 20 per day"
    assert app.config["SECOND_FACTOR_LIMIT_PER_CLIENT"] == "30 per 15 minutes"


# --- signing out, and the passkey endpoints without a passkey --------------------------------


def test_signing_out_ends_the_session(app, admin):
    """Signing out ends the session on the server: a copy of the cookie taken before opens
    nothing afterwards."""
    client = sign_in_with_app(app, admin, enrol(admin))
    row = session_row(client)
    cookie = session_cookie(client, app)
    token = csrf_token(client.get("/staff"))
    assert location(client.post("/sign-out", data={"csrf_token": token})) == "/signed-out"
    db.session.expire_all()
    assert db.session.get(UserSession, row.id).ended_at is not None
    assert location(client.get("/staff")) == "/sign-in"
    copy = app.test_client()
    copy.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert location(copy.get("/staff")) == "/sign-in"


def test_signing_out_before_passing_the_factor_ends_the_session(app, admin):
    enrol(admin)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    row = session_row(client)
    token = csrf_token(client.get("/staff/second-factor"))
    assert location(client.post("/sign-out", data={"csrf_token": token})) == "/signed-out"
    db.session.expire_all()
    assert db.session.get(UserSession, row.id).ended_at is not None
    assert location(client.get("/staff/second-factor")) == "/sign-in"


def test_passkey_options_without_a_passkey_or_without_a_csrf_token_are_refused(app, admin):
    enrol(admin)
    client = app.test_client()
    sign_in_by_link(client, ADMIN)
    token = csrf_token(client.get("/staff/second-factor"))
    response = client.post("/staff/second-factor/passkey/options", headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert response.json == {
        "error": "You have no passkey: use your authenticator app or a recovery code"
    }
    assert client.post("/staff/second-factor/passkey/options").status_code == 400
    assert client.post("/staff/second-factor/passkey", json={}).status_code == 400
    assert audit("second_factor.failure") == []


def test_a_refusal_by_the_client_limit_is_not_one_more_try_for_the_user(make_app):
    """Over the per-client limit the answer is 429, and that answer does not count against
    the user: from another network they still have their own tries left."""
    app = make_app(
        SECOND_FACTOR_LIMIT_PER_USER="3 per 15 minutes",
        SECOND_FACTOR_LIMIT_PER_CLIENT="2 per 15 minutes",
    )
    with app.app_context():
        sam = make_staff(make_school(), email=ADMIN, role="admin", name="Sam Taylor")
        secret = enrol(sam)
        busy = _client(app, sam, "10.0.6.1")  # a school's shared address, say
        assert enter_code(busy, wrong_code(secret)).status_code == 400
        assert enter_code(busy, wrong_code(secret)).status_code == 400
        assert enter_code(busy, wrong_code(secret)).status_code == 429  # the client's limit
        assert enter_code(busy, wrong_code(secret)).status_code == 429
        # Two of Sam's three tries are used, not four.
        home = _client(app, sam, "10.0.6.2")
        assert enter_code(home, wrong_code(secret)).status_code == 400
        assert enter_code(home, wrong_code(secret)).status_code == 429
        db.session.remove()


def test_an_app_sealed_under_another_key_is_refused_not_an_error(app, admin, caplog):
    """Changing the sealing key (here by setting SECOND_FACTOR_KEY where the key came from
    SECRET_KEY; changing SECRET_KEY does the same) leaves every app's secret sealed under the
    old key: its codes are refused like wrong ones (not a server error), and the log tells
    the operator what happened and what to do."""
    secret = enrol(admin)
    client = app.test_client()
    sign_in_by_link(client, admin.email)
    app.config["SECOND_FACTOR_KEY"] = "a-new-sealing-key-that-is-long-enough-0123456789"
    with caplog.at_level("ERROR"):
        response = enter_code(client, next_code(admin, secret))
    assert response.status_code == 400
    assert WRONG_APP_CODE in text_of(response.text)
    assert "does not open with this key" in caplog.text and "reset" in caplog.text
    assert session_row(client).second_factor_at is None
