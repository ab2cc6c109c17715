"""Helpers for the browser tests: what a person sees (headings), axe-core, and signing in
through the real emailed link."""

from __future__ import annotations

import time
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from portal.mail.delivery import send_pending
from tests.support.mail import MailServer, Received, sign_in_path

WCAG_22_AA = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
    }
}
AXE = Axe()


def read_email(smtp_server: MailServer) -> Received:
    """The one email sent so far, after a pass of the mail worker.

    The app sends an email once its response is closed. Werkzeug's development server skips
    that close when the browser resets the connection after a redirect (it reads the socket
    in a `finally` block first, which raises), as Chromium sometimes does; then the email
    waits for the worker, as it would in production. So the test runs a worker pass itself
    (`flask mail send-pending`): the email is sent exactly once either way.
    """
    send_pending()
    (received,) = smtp_server.wait_for(1)
    smtp_server.assert_no_more(1, settle=0.05)
    return received


def h1(page: Any, name: str) -> Any:
    return page.get_by_role("heading", level=1, name=name, exact=True)


def settled(page: Any) -> None:
    """Wait for the page's `load` event: its stylesheets and scripts are in.

    A click that navigates returns once the new page has begun to arrive, and a heading is
    visible before the stylesheet has been applied. Checked that early, the unstyled page
    fails axe (a visible skip link, links without their padding) though no person would see
    it; so every check of what the page looks like waits for `load` first.
    """
    page.wait_for_load_state("load")


def assert_no_axe_violations(page: Any) -> None:
    settled(page)
    violations = AXE.run(page, options=WCAG_22_AA).response["violations"]
    if violations:
        lines = [f"axe found {len(violations)} WCAG 2.2 AA violation(s) on {page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"]:
                target = " ".join(str(part) for part in node["target"])
                why = " ".join(line.strip() for line in node.get("failureSummary", "").splitlines())
                lines.append(f"    {target} -- {why}")
        raise AssertionError("\n".join(lines))


def assert_no_sideways_scrolling(page: Any) -> None:
    settled(page)
    original = page.viewport_size
    try:
        for width in (390, 320):
            page.set_viewport_size({"width": width, "height": original["height"]})
            scroll_width, client_width = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert scroll_width <= client_width, (
                f"{page.url} scrolls sideways at {width}px: "
                f"content is {scroll_width}px wide in a {client_width}px window"
            )
    finally:
        page.set_viewport_size(original)


def sign_in(
    page: Any,
    live_server: str,
    smtp_server: MailServer,
    address: str,
    *,
    home: str = "Your children",
) -> None:
    page.goto(live_server + "/sign-in")
    page.get_by_label("Email address").fill(address)
    before = len(smtp_server.messages)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(h1(page, "Check your email")).to_be_visible()
    send_pending()  # as the worker would (see read_email in test_sign_in)
    # The first new email to this address: the pass may send other people's email too (an
    # objection's email to the admins, say), in any order.
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
    page.goto(live_server + sign_in_path(received))
    page.get_by_role("button", name="Continue").click()
    if page.url.startswith(live_server + "/staff/second-factor"):
        pass_second_factor(page, live_server, address)
    expect(h1(page, home)).to_be_visible()


# The authenticator app each staff user set up, by (server, address): what their phone would
# hold. Each test has its own server (and database), so nothing leaks between tests.
_APPS: dict[tuple[str, str], str] = {}
_USED_STEPS: dict[tuple[str, str], int] = {}


def app_code(live_server: str, address: str) -> str:
    """The code the person's authenticator app shows now; a code is accepted once, so when
    this time step's code was used already, wait for the next one (at most 30 seconds)."""
    import pyotp

    key = (live_server, address.lower())
    totp = pyotp.TOTP(_APPS[key])
    step = int(time.time()) // 30
    if _USED_STEPS.get(key, -1) >= step:
        time.sleep(30 - time.time() % 30 + 0.1)
        step = int(time.time()) // 30
    _USED_STEPS[key] = step
    return str(totp.at(step * 30))


def pass_second_factor(page: Any, live_server: str, address: str) -> None:
    """A staff user's second factor, through the pages: the first time, set up an
    authenticator app by reading its key from the page (and show the recovery codes);
    after that, enter the app's code."""
    key = (live_server, address.lower())
    if key not in _APPS:
        expect(h1(page, "Set up a second factor")).to_be_visible()
        page.get_by_role("button", name="Set up an authenticator app").click()
        expect(h1(page, "Set up your authenticator app")).to_be_visible()
        _APPS[key] = "".join(page.locator("#totp-secret").inner_text().split())
        page.get_by_label("Code from your authenticator app").fill(app_code(live_server, address))
        page.get_by_role("button", name="Continue").click()
        expect(h1(page, "Your recovery codes")).to_be_visible()
        page.get_by_role("button", name="Show my recovery codes").click()
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        page.get_by_role("link", name="I have saved my codes, continue").click()
        return
    expect(h1(page, "Check it is you")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(app_code(live_server, address))
    page.get_by_role("button", name="Continue").click()
