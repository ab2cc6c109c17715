"""Staff users' second factor in Chromium, on the demo school.

A passkey made by Chromium's virtual authenticator (WebAuthn driven through the DevTools
protocol), on `http://localhost:PORT`: WebAuthn needs a secure context and a relying party
id that is a domain name, so this one test serves the app on that origin, with BASE_URL to
match. An authenticator app whose key the test reads from the page, as a person would type
it into their phone; recovery codes; the pages without JavaScript; an admin's reset of
another user's factor; the fresh check before exports. axe-core finds nothing on any of the
pages.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import demo
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import StaffPasskey, StaffUser, UserSession
from portal.second_factor import totp
from tests.support.browser import (
    assert_no_axe_violations,
    assert_no_sideways_scrolling,
    h1,
)
from tests.support.live import serving
from tests.support.mail import MailServer, sign_in_path

pytestmark = pytest.mark.browser

ADMIN = demo.STAFF[demo.Role.ADMIN][0]
OFFICE = demo.STAFF[demo.Role.STAFF][0]
MARKETING = demo.STAFF[demo.Role.MARKETING][0]
DESK = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False}
REFUSED = "the server responded with a status of 400 (BAD REQUEST)"
WRONG_CODE = (
    "The code is not right, or it has been used already. Wait for the next code in your "
    "app and enter that"
)
USED_RECOVERY_CODE = "That is not one of your recovery codes, or it has been used already"


@pytest.fixture
def school(app: Any) -> Any:
    result = demo.load().school
    db.session.commit()
    return result


@pytest.fixture
def localhost_server(make_app: Callable[..., Any]) -> Iterator[str]:
    """The app served as `http://localhost:PORT`, with BASE_URL that very origin: the
    relying party of its passkeys is `localhost`, which WebAuthn accepts over plain HTTP."""
    app = make_app()
    with serving(app) as port:
        app.config["BASE_URL"] = f"http://localhost:{port}"
        yield app.config["BASE_URL"]


# --- what the person does ------------------------------------------------------------------


def open_emailed_link(page: Any, server: str, smtp_server: MailServer, address: str) -> None:
    """Ask for a sign-in link, open it from the email and press Continue: the first factor
    only (the second is what these tests are about)."""
    page.goto(server + "/sign-in")
    page.get_by_label("Email address").fill(address)
    before = len(smtp_server.messages)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(h1(page, "Check your email")).to_be_visible()
    send_pending()  # as the mail worker would (see tests/support/browser.py read_email)
    wanted = address.lower()
    received = None
    for count in range(before + 1, before + 20):
        arrived = smtp_server.wait_for(count)
        received = next(
            (m for m in arrived[before:] if wanted in (r.lower() for r in m.rcpt_tos)), None
        )
        if received is not None:
            break
    assert received is not None, f"no sign-in email to {address}"
    page.goto(server + sign_in_path(received))
    page.get_by_role("button", name="Continue").click()


def sign_out(page: Any) -> None:
    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(h1(page, "You have signed out")).to_be_visible()


class Phone:
    """The authenticator app on the person's phone, set up with the key from the page.

    The portal accepts each time step's code once, within a step either side of now; so the
    next code is this step's, or the next step's when this one was used (no waiting for the
    clock), and only a third code within the same 30 seconds waits.
    """

    def __init__(self, key: str) -> None:
        self.totp = pyotp.TOTP("".join(key.split()))
        self.last_step = -1

    def code(self) -> str:
        now = int(time.time()) // 30
        step = max(self.last_step + 1, now)
        if step > now + 1:
            time.sleep((step - 1) * 30 - time.time() + 0.1)
        self.last_step = step
        return str(self.totp.at(step * 30))

    def wrong_code(self) -> str:
        now = int(time.time()) // 30
        near = {self.totp.at((now + d) * 30) for d in range(-2, 3)}
        return next(c for c in (f"{n}" * 6 for n in range(10)) if c not in near)


def set_up_app(page: Any) -> Phone:
    """From "Set up a second factor": the authenticator app, set up with its first code; ends
    on "Your recovery codes", before they are shown. Returns the phone."""
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(h1(page, "Set up your authenticator app")).to_be_visible()
    phone = Phone(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from your authenticator app").fill(phone.code())
    page.get_by_role("button", name="Continue").click()
    expect(h1(page, "Your recovery codes")).to_be_visible()
    return phone


def staff_user(address: str) -> StaffUser:
    db.session.remove()
    return db.session.scalars(select(StaffUser).where(StaffUser.email == address)).one()


def open_session(address: str) -> UserSession:
    """The person's newest session that has not ended."""
    user = staff_user(address)
    session = db.session.scalars(
        select(UserSession)
        .where(UserSession.staff_user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.id.desc())
    ).first()
    assert session is not None, f"{address} has no open session"
    return session


def b64_bytes(value: str) -> bytes:
    """Standard or URL-safe base64, with or without padding."""
    value = value.replace("-", "+").replace("_", "/")
    return base64.b64decode(value + "=" * (-len(value) % 4))


# --- passkeys --------------------------------------------------------------------------

NOT_USED = "The passkey was not used. Try again, or use another way below."


def add_authenticator(cdp: Any) -> str:
    """A platform authenticator (like a laptop's fingerprint reader) in Chromium's virtual
    WebAuthn environment: it keeps discoverable credentials, verifies the user, and the
    user's presence is taken as given. Returns its id."""
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return str(answer["authenticatorId"])


def credentials(cdp: Any, authenticator: str) -> list[dict[str, Any]]:
    return list(
        cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    )


def credential_sign_count(cdp: Any, authenticator: str) -> int:
    (credential,) = credentials(cdp, authenticator)
    return int(credential["signCount"])


def test_a_passkey_from_chromiums_virtual_authenticator(
    school, localhost_server, smtp_server, page
):
    server = localhost_server
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = add_authenticator(cdp)

    open_emailed_link(page, server, smtp_server, OFFICE)
    expect(h1(page, "Set up a second factor")).to_be_visible()
    expect(page.locator(".portal-passkey")).to_be_visible()
    expect(page.locator(".portal-passkey__unavailable")).to_be_hidden()
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)

    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator(".portal-passkey").get_by_role("alert")).to_have_text(
        "Enter a name for this passkey, such as the device it is on"
    )
    assert credentials(cdp, authenticator) == []
    page.get_by_label("Name for this passkey").fill("Office laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(h1(page, "Your recovery codes")).to_be_visible()
    page.get_by_role("button", name="Show my recovery codes").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved my codes, continue").click()
    expect(h1(page, "Things to do")).to_be_visible()
    expect(page).to_have_url(server + "/staff")

    (credential,) = credentials(cdp, authenticator)
    assert credential["rpId"] == "localhost"
    (passkey,) = db.session.scalars(
        select(StaffPasskey).where(StaffPasskey.staff_user_id == staff_user(OFFICE).id)
    )
    assert passkey.name == "Office laptop"
    assert b64_bytes(passkey.credential_id) == b64_bytes(credential["credentialId"])
    assert passkey.last_used_at is None
    assert open_session(OFFICE).second_factor == "passkey"

    # Signing in again: the passkey instead of the app.
    sign_out(page)
    open_emailed_link(page, server, smtp_server, OFFICE)
    expect(h1(page, "Check it is you")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Use a passkey").click()
    expect(h1(page, "Things to do")).to_be_visible()
    assert open_session(OFFICE).second_factor == "passkey"
    used = db.session.get(StaffPasskey, passkey.id)
    assert used is not None and used.last_used_at is not None
    assert used.sign_count == credential_sign_count(cdp, authenticator) > 0
    page.goto(server + "/staff/account/security")
    expect(h1(page, "Your second factor")).to_be_visible()
    expect(page.get_by_text("This session passed a passkey at")).to_be_visible()
    expect(page.locator(".govuk-summary-list__row")).to_contain_text(
        re.compile(r"Office laptop\s*Added .*; last used ")
    )

    # Her fingerprint is not recognised: nothing passes, and she can try again.
    sign_out(page)
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    open_emailed_link(page, server, smtp_server, OFFICE)
    expect(h1(page, "Check it is you")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    alert = page.locator(".portal-passkey").get_by_role("alert")
    expect(alert).to_have_text(NOT_USED)
    expect(alert).to_be_focused()
    expect(page.get_by_role("button", name="Use a passkey")).to_be_enabled()
    assert_no_axe_violations(page)
    assert open_session(OFFICE).second_factor is None
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": True})
    page.get_by_role("button", name="Use a passkey").click()
    expect(h1(page, "Things to do")).to_be_visible()
    assert open_session(OFFICE).second_factor == "passkey"

    # On another device, without the passkey (this authenticator replaced by an empty one):
    # nothing passes, and every staff page still asks for the second factor.
    sign_out(page)
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    add_authenticator(cdp)
    open_emailed_link(page, server, smtp_server, OFFICE)
    expect(h1(page, "Check it is you")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator(".portal-passkey").get_by_role("alert")).to_have_text(NOT_USED)
    assert open_session(OFFICE).second_factor is None
    page.goto(server + "/staff")
    expect(h1(page, "Check it is you")).to_be_visible()
    expect(page).to_have_url(server + "/staff/second-factor?next=/staff")


# --- an authenticator app and recovery codes -----------------------------------------------


def test_an_authenticator_app_then_its_codes_and_recovery_codes(
    school, live_server, smtp_server, page, page_problems
):
    page_problems.allow(REFUSED)  # a wrong code is answered with a 400
    open_emailed_link(page, live_server, smtp_server, OFFICE)
    expect(h1(page, "Set up a second factor")).to_be_visible()
    # Before the factor: nothing of the school, no staff menu.
    expect(page.get_by_role("navigation", name="Staff menu")).to_have_count(0)
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(h1(page, "Set up your authenticator app")).to_be_visible()
    expect(page.locator(".portal-qr svg")).to_be_visible()
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)
    phone = Phone(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from your authenticator app").fill(phone.code())
    page.get_by_role("button", name="Continue").click()

    expect(h1(page, "Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes")).to_have_count(0)
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Show my recovery codes").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    saved = [code.strip() for code in codes.all_inner_texts()]
    assert all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", c) for c in saved), saved
    assert len(set(saved)) == 10
    assert_no_axe_violations(page)
    assert_no_sideways_scrolling(page)
    page.get_by_role("link", name="I have saved my codes, continue").click()
    expect(h1(page, "Things to do")).to_be_visible()
    assert open_session(OFFICE).second_factor == "totp"

    # The next sign-in asks for a code; a wrong one is refused, with the reason by the field.
    sign_out(page)
    open_emailed_link(page, live_server, smtp_server, OFFICE)
    expect(h1(page, "Check it is you")).to_be_visible()
    expect(page.get_by_role("button", name="Use a passkey")).to_have_count(0)
    assert_no_axe_violations(page)
    page.get_by_label("Code from your authenticator app").fill(phone.wrong_code())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile(r"^Error: Check it is you"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name=WRONG_CODE)).to_be_visible()
    expect(page.locator(".govuk-error-message")).to_contain_text(WRONG_CODE)
    assert_no_axe_violations(page)
    assert open_session(OFFICE).second_factor is None
    page.get_by_label("Code from your authenticator app").fill(phone.code())
    page.get_by_role("button", name="Continue").click()
    expect(h1(page, "Things to do")).to_be_visible()
    assert open_session(OFFICE).second_factor == "totp"

    # Phone lost: a recovery code lets her in once, and she is told how many are left.
    sign_out(page)
    open_emailed_link(page, live_server, smtp_server, OFFICE)
    page.get_by_role("link", name="Use a recovery code").click()
    expect(h1(page, "Use a recovery code")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Recovery code").fill(saved[0])
    page.get_by_role("button", name="Continue").click()
    expect(h1(page, "Your second factor")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("You used a recovery code. You have 9 left.")
    expect(page.get_by_text("This session passed a recovery code at")).to_be_visible()
    expect(page.get_by_text("You have 9 recovery codes left.")).to_be_visible()
    assert_no_axe_violations(page)
    assert open_session(OFFICE).second_factor == "recovery"

    # The same code again is refused; another of hers works.
    sign_out(page)
    open_emailed_link(page, live_server, smtp_server, OFFICE)
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(saved[0])
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile(r"^Error: Use a recovery code"))
    expect(page.locator(".govuk-error-message")).to_contain_text(USED_RECOVERY_CODE)
    assert open_session(OFFICE).second_factor is None
    page.get_by_label("Recovery code").fill(saved[1])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("You have 8 left.")


# --- without JavaScript ----------------------------------------------------------------


def test_without_javascript_the_app_is_set_up_and_passkeys_say_what_they_need(
    school, live_server, smtp_server, new_page
):
    page = new_page(java_script_enabled=False)
    open_emailed_link(page, live_server, smtp_server, MARKETING)
    expect(h1(page, "Set up a second factor")).to_be_visible()
    expect(page.locator(".portal-passkey__unavailable")).to_be_visible()
    expect(page.locator(".portal-passkey__unavailable")).to_contain_text(
        "Passkeys need JavaScript and a browser that supports them."
    )
    expect(page.locator(".portal-passkey")).to_be_hidden()
    expect(page.get_by_role("button", name="Add a passkey")).to_have_count(0)
    set_up_app(page)
    page.get_by_role("button", name="Show my recovery codes").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved my codes, continue").click()
    expect(h1(page, "Marketing exports")).to_be_visible()
    assert open_session(MARKETING).second_factor == "totp"


# --- an admin: another user's reset, and the fresh check -----------------------------------


def test_an_admin_resets_a_factor_and_confirms_it_is_them_before_exports(
    school, live_server, smtp_server, new_page
):
    # The office has an authenticator app already.
    office = staff_user(OFFICE)
    office_id = office.id
    set_up = totp.start_set_up(office)
    assert totp.confirm_set_up(office, pyotp.TOTP(set_up.secret).now())

    page = new_page(**DESK)
    open_emailed_link(page, live_server, smtp_server, ADMIN)
    expect(h1(page, "Set up a second factor")).to_be_visible()
    phone = set_up_app(page)
    page.get_by_role("button", name="Show my recovery codes").click()
    page.get_by_role("link", name="I have saved my codes, continue").click()
    expect(h1(page, "Things to do")).to_be_visible()

    page.goto(live_server + "/staff/account/security")
    expect(h1(page, "Your second factor")).to_be_visible()
    expect(page.get_by_text("Your authenticator app is set up.")).to_be_visible()
    expect(page.get_by_text("You have no passkey.")).to_be_visible()
    assert_no_axe_violations(page)

    page.goto(live_server + "/staff/users")
    card = page.locator(f"#user-{office_id}")
    expect(card).to_contain_text("An authenticator app")
    card.get_by_text("Change role, deactivate or reset second factor").click()
    card.get_by_role("button", name="Reset second factor of Sam Taylor").click()
    expect(h1(page, "Reset the second factor of Sam Taylor?")).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Yes, reset their second factor").click()
    expect(page.get_by_role("alert")).to_contain_text("Sam Taylor's second factor was reset")
    expect(page.locator(f"#user-{office_id}")).to_contain_text("Not set up yet")

    # Eleven minutes later, the exports ask for the second factor again.
    session = open_session(ADMIN)
    session.second_factor_at -= timedelta(minutes=11)
    db.session.commit()
    page.goto(live_server + "/staff/exports")
    expect(h1(page, "Confirm it is you")).to_be_visible()
    expect(page).to_have_url(live_server + "/staff/second-factor?next=/staff/exports&again=1")
    assert_no_axe_violations(page)
    page.get_by_label("Code from your authenticator app").fill(phone.code())
    page.get_by_role("button", name="Continue").click()
    expect(h1(page, "Marketing exports")).to_be_visible()
    expect(page).to_have_url(live_server + "/staff/exports")
