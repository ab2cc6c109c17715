"""The email a staff user gets when their second factor is reset: sent over real SMTP
(aiosmtpd), in English, saying who reset it and what to do if they did not ask."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from portal import second_factor
from portal.extensions import db
from portal.mail.delivery import send_pending
from tests.support.factories import make_school, make_staff
from tests.support.mail import MailServer


@pytest.fixture
def server() -> Iterator[MailServer]:
    mail = MailServer().start()
    yield mail
    mail.stop()


@pytest.fixture
def mail_app(make_app: Any, server: MailServer) -> Iterator[Flask]:
    app: Flask = make_app(**server.app_config)
    with app.app_context():
        yield app
        db.session.remove()


def test_a_reset_by_another_admin_emails_the_user_saying_who(mail_app, server):
    school = make_school()
    admin = make_staff(school, email="head@oak.example.org", role="admin", name="Dana Okafor")
    user = make_staff(school, email="office@oak.example.org", name="Sam Taylor")
    second_factor.reset(admin, user.id)
    send_pending()
    (received,) = server.wait_for(1)
    assert received.rcpt_tos == ["office@oak.example.org"]
    assert received.message["Subject"] == (f"Your second factor for {school.name} was reset")
    text = received.text()
    assert "Sam Taylor, your second factor" in text
    assert "was reset by Dana Okafor" in text
    assert "http://localhost/sign-in" in text
    assert "If you did not ask for this, tell an admin" in text
    assert 'lang="en-GB"' in received.html()


def test_a_reset_by_the_operator_says_so(mail_app, server):
    school = make_school()
    make_staff(school, email="head@oak.example.org", role="admin", name="Dana Okafor")
    second_factor.reset_by_operator(school.slug, "HEAD@oak.example.org")
    send_pending()
    (received,) = server.wait_for(1)
    assert received.rcpt_tos == ["head@oak.example.org"]
    assert "was reset by the portal's operator" in received.text()
