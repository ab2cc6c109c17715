"""One bad message never stops the mail worker, and no subject can carry a line break."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from portal.database import writing
from portal.extensions import db
from portal.mail import outbox
from portal.mail.delivery import send_pending
from portal.mail.render import register, render
from portal.models import OutboxMessage
from tests.support.mail import MailServer


def _context(payload, now):
    return {"title": payload["title"], "school_name": "Oak", "headline": payload["title"]}, ""


@pytest.fixture
def mail_app(make_app) -> Iterator:
    server = MailServer(None).start()
    app = make_app(**server.app_config)
    # A kind of email whose subject comes from what staff typed (as a take-down's does).
    register(app, "takedown", subject="Take down: {title}", builder=_context)
    with app.app_context():
        yield app, server
        db.session.remove()
    server.stop()


def queue(*rows: tuple[str, str]) -> None:
    with writing():
        for to_address, title in rows:
            outbox.enqueue(
                to_address=to_address,
                template="takedown",
                payload={"title": title},
                school_id=None,
            )


def test_a_subject_is_folded_onto_one_line(mail_app):
    rendered = render("takedown", {"title": "Photos\r\nBcc: evil@example.org"})
    assert not isinstance(rendered, str)
    assert rendered.subject == "Take down: Photos Bcc: evil@example.org"


def test_a_message_that_cannot_be_built_fails_alone_and_the_rest_are_sent(mail_app):
    _app, server = mail_app
    queue(
        ("first@example.org", "Photos on the website"),
        ("broken@example.org\nBcc: evil@example.org", "Photos in the paper"),
        ("third@example.org", "Photos\nBcc: evil@example.org"),
    )
    result = send_pending()
    assert (result.sent, result.failed) == (2, 1)
    received = server.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["first@example.org", "third@example.org"]
    server.assert_no_more(2, settle=0.05)
    assert all("\n" not in r.message["Subject"] for r in received)
    rows = {row.to_address: row for row in db.session.scalars(select(OutboxMessage))}
    broken = rows["broken@example.org\nBcc: evil@example.org"]
    assert broken.sent_at is None and broken.attempts == 1
    assert "could not build the email" in (broken.last_error or "")
    assert broken.claimed_until is None
    # The next pass does not crash either: the broken message waits for its retry.
    assert send_pending().failed == 0
