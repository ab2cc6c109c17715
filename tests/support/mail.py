"""Tests of sign-in, sessions, rate limits and mail; helpers shared with the browser tests.

`MailServer` is a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it
receives, parsed with the `email` package; `sign_in_link` and `sign_in_code` read a sign-in
email the way a person would.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import Guardian, Pupil, School, SignInRequest, UserSession
from tests.support.client import CheckedClient, csrf_token

PARENT_EMAIL = "alex.morgan@example.org"
LINK = re.compile(r"https?://[^\s\"'<>]+/sign-in/link/([A-Za-z0-9_\-]+)")
CODE = re.compile(r"type this code:\s*(\d{6})\b")


def free_port() -> int:
    """A port nothing listens on (the OS's choice, released again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "the message has no text part"
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None, "the message has no HTML part"
        return str(part.get_content())


class _Keeper:
    """aiosmtpd handler: parse each message and keep it."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.changed:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
            self.changed.notify_all()
        return "250 Message accepted for delivery"


class MailServer:
    """A real SMTP server on 127.0.0.1, in aiosmtpd's own thread and event loop."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._keeper = _Keeper()
        self._controller: Controller | None = None

    @property
    def app_config(self) -> dict[str, Any]:
        """The settings that make the portal send to this server."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_TLS": False}

    @property
    def messages(self) -> list[Received]:
        with self._keeper.changed:
            return list(self._keeper.messages)

    def start(self) -> MailServer:
        controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port)
        try:
            controller.start()
        except BaseException:
            controller.loop.close()  # start() failed: close the loop __init__ made
            raise
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop the server; its thread ends and its event loop is closed."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            assert controller.loop.is_closed()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until `count` messages have arrived (at least); return them all."""
        deadline = time.monotonic() + timeout
        with self._keeper.changed:
            while len(self._keeper.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} message(s) within {timeout}s, "
                        f"got {len(self._keeper.messages)}"
                    )
                self._keeper.changed.wait(min(left, 0.05))
            return list(self._keeper.messages)

    def assert_no_more(self, count: int, settle: float = 0.2) -> None:
        """Exactly `count` messages, and none arrives within `settle` seconds."""
        time.sleep(settle)
        assert len(self.messages) == count, f"{len(self.messages)} messages, expected {count}"


def sign_in_link(received: Received) -> str:
    """The sign-in link (full URL) in the text part of a sign-in email."""
    match = LINK.search(received.text())
    assert match, f"no sign-in link in:\n{received.text()}"
    return match.group(0)


def sign_in_token(received: Received) -> str:
    match = LINK.search(received.text())
    assert match, f"no sign-in link in:\n{received.text()}"
    return match.group(1)


def sign_in_path(received: Received) -> str:
    return f"/sign-in/link/{sign_in_token(received)}"


def sign_in_code(received: Received) -> str:
    """The 6-digit code in the text part of a sign-in email."""
    match = CODE.search(received.text())
    assert match, f"no code in:\n{received.text()}"
    return match.group(1)


@dataclass
class Family:
    school: School
    guardian: Guardian
    pupil: Pupil

    @property
    def email(self) -> str:
        return self.guardian.email or ""


def make_family() -> Family:
    """Oak Primary, and Alex Morgan with parental responsibility for Robin Morgan (in the
    app context that is active)."""
    from tests.support.factories import make_child, make_school

    school = make_school()
    guardian, pupil = make_child(school, guardian_email=PARENT_EMAIL)
    return Family(school, guardian, pupil)


# --- helpers --------------------------------------------------------------------------


def ask_for_link(client: CheckedClient, address: str) -> Any:
    """Submit the sign-in form as a browser would; the response is closed, so the app
    tries to send the email at once. Returns the (unfollowed) response."""
    token = csrf_token(client.get("/sign-in"))
    with client.post("/sign-in", data={"email": address, "csrf_token": token}) as response:
        pass
    return response


def sign_in_with_email(client: CheckedClient, received: Received) -> Any:
    """Open the link in an email, press Continue; returns the POST's response."""
    page = client.get(sign_in_path(received))
    assert page.status_code == 200 and "Continue to sign in" in page.text, page.text
    return client.post(sign_in_path(received), data={"csrf_token": csrf_token(page)})


def sign_in(client: CheckedClient, server: MailServer, address: str) -> Any:
    """The whole journey by link; returns the POST's response (a redirect when it worked)."""
    before = len(server.messages)
    assert ask_for_link(client, address).status_code == 302
    received = server.wait_for(before + 1)[before]
    return sign_in_with_email(client, received)


def fresh() -> None:
    """Forget what this test's own session has loaded, to read what is committed now."""
    db.session.remove()


def row_values(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def sign_in_requests() -> list[SignInRequest]:
    fresh()
    return list(db.session.scalars(select(SignInRequest).order_by(SignInRequest.id)))


def user_sessions() -> list[UserSession]:
    fresh()
    return list(db.session.scalars(select(UserSession).order_by(UserSession.id)))


def session_cookie(client: CheckedClient, app: Flask) -> str | None:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def session_data(app: Flask, value: str) -> dict[str, Any]:
    """What a Flask session cookie holds (it is signed, not encrypted)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(value))


def without_per_request_values(html: str) -> str:
    """A page with its CSRF token and CSP nonce taken out, to compare two pages."""
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', html)
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)


def race_send_pending(app, passes, now=None):
    """`passes` mail-worker passes at the same moment, each in its own thread and session."""
    barrier = threading.Barrier(passes)
    results = []
    errors = []

    def one_pass():
        try:
            with app.app_context():
                barrier.wait()
                results.append(send_pending(now=now))
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_pass) for _ in range(passes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(results) == passes
    return results
