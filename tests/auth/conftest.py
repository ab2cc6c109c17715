"""Fixtures for the sign-in tests: a real SMTP server, an app that sends to it, a family.

`smtp_server` is function-scoped: each test gets its own aiosmtpd server on a free port,
stopped (thread joined, event loop closed) when the test ends. `mail_servers` makes more,
started or not (a test that needs "the mail server is down, then comes back" uses it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from portal.extensions import db
from tests.support.client import CheckedClient
from tests.support.mail import Family, MailServer, make_family


@pytest.fixture
def mail_servers() -> Iterator[Callable[..., MailServer]]:
    """`mail_servers(port=None, start=True)`: SMTP servers, all stopped after the test."""
    made: list[MailServer] = []

    def make(*, port: int | None = None, start: bool = True) -> MailServer:
        server = MailServer(port)
        made.append(server)
        return server.start() if start else server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def smtp_server(mail_servers: Callable[..., MailServer]) -> MailServer:
    return mail_servers()


@pytest.fixture
def smtp_app(make_app: Callable[..., Flask], smtp_server: MailServer) -> Iterator[Flask]:
    """The app, sending its email by SMTP to `smtp_server`, with an app context pushed."""
    app = make_app(**smtp_server.app_config)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def smtp_client(smtp_app: Flask) -> CheckedClient:
    return smtp_app.test_client()  # type: ignore[return-value]


@pytest.fixture
def family(smtp_app: Flask) -> Family:
    """Oak Primary, and Alex Morgan with parental responsibility for Robin Morgan."""
    return make_family()
