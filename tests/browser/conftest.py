"""Browser fixtures: the real app served over HTTP, driven by a headless Chromium.

One Chromium per session, one fresh context per page, at a phone's viewport. Every test
here carries the `browser` marker. Without Chromium the tests are skipped, except in CI
(the CI environment variable is set), where a missing browser is a failure.

A page that logs a console error, throws an uncaught exception or breaks its Content
Security Policy fails the test that opened it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.live import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
}
IN_CI = bool(os.environ.get("CI"))
BROWSER_DIR = Path(__file__).resolve().parent
ASSETS = Path(__file__).resolve().parents[2] / "static" / "dist"

# Chromium reports a CSP violation on the console; this makes sure even one it would not
# (a blocked inline style, say) reaches us, with the directive that refused it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || "?"}:${event.lineNumber}`);
});
"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/browser is a browser test, and the browser tests run last.

    Playwright's sync API leaves its event loop marked as running on the main thread while
    the session's browser is open, so `asyncio.run()` in a test after the first browser test
    would fail. Running them last keeps every other test out of that window.
    """
    in_browser_dir = {id(item): Path(str(item.path)).is_relative_to(BROWSER_DIR) for item in items}
    for item in items:
        if in_browser_dir[id(item)]:
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: in_browser_dir[id(item)])


# --- the app over HTTP ---------------------------------------------------------------


@pytest.fixture
def live_server(make_app: Callable[..., Any]) -> Iterator[str]:
    """The app on this test's migrated database, served on a free local port (see
    tests/support/live.py)."""
    with serving(make_app()) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for this test."""
    from tests.support.mail import MailServer

    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_app(make_app: Callable[..., Any], smtp_server: Any) -> Callable[..., Any]:
    """Every app of the browser tests, `live_server`'s included, sends its email to
    `smtp_server`: the journeys read their sign-in emails from it."""

    def factory(**overrides: Any) -> Any:
        return make_app(**{**smtp_server.app_config, **overrides})

    return factory


# --- the browser ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{reason}; CI is set, so the browser tests must run", pytrace=False)
        pytest.skip(f"{reason}; browser tests skipped")
    if not (ASSETS / "portal.css").exists() or not (ASSETS / "htmx.min.js").exists():
        pytest.fail(f"the assets are not built in {ASSETS}: run `npm run build`", pytrace=False)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen by a test's pages."""

    seen: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, text: str) -> None:
        """Expect console errors containing `text` (a 404 page reports its own status)."""
        self.allowed.append(text)

    def unexpected(self) -> list[str]:
        return [p for p in self.seen if not any(text in p for text in self.allowed)]


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_page(browser: Any, page_problems: PageProblems) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh context at a phone's size; `new_page(java_script_enabled=False)`."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        context = browser.new_context(**{**PHONE, **options})
        # Generous for a shared 2-core machine under load (a click that starts a navigation
        # waits for it; the live server answers one request at a time): a real failure
        # still fails, only later.
        context.set_default_timeout(15_000)
        expect.set_options(timeout=15_000)  # the same for assertions
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()

        def on_console(message: Any) -> None:
            where = (message.location or {}).get("url", "")
            if message.type == "error":
                page_problems.seen.append(f"console error: {message.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: page_problems.seen.append(f"page error: {error}"))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test (not its teardown) when one of its pages reported a problem."""
    result = yield
    problems: PageProblems | None = getattr(item, "funcargs", {}).get("page_problems")
    if problems is not None and (unexpected := problems.unexpected()):
        raise AssertionError("the page reported problems:\n  " + "\n  ".join(unexpected))
    return result
