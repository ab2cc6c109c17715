"""When the mail server is down, sign-in emails wait in the outbox (SECURITY.md item 20)."""

from __future__ import annotations

import asyncio
import smtplib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal import signin
from portal.extensions import db
from portal.mail import outbox
from portal.mail.delivery import send_pending
from portal.models import OutboxMessage
from portal.types import utcnow
from tests.auth import (
    ask_for_link,
    free_port,
    fresh,
    make_family,
    sign_in_path,
    sign_in_with_email,
)
from tests.factories import make_child


def outbox_rows():
    fresh()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def make_due():
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .values(send_after=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


@pytest.fixture
def mail_down(make_app, mail_servers):
    """An app whose mail server is not running yet (nothing listens on its port)."""
    server = mail_servers(port=free_port(), start=False)
    app = make_app(**server.app_config)
    with app.app_context():
        yield app, server
        db.session.remove()


def test_a_link_asked_for_while_the_mail_server_is_down_arrives_later(mail_down):
    app, server = mail_down
    family = make_family()
    client = app.test_client()
    before = utcnow()

    response = ask_for_link(client, family.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in/check-your-email"
    page = client.get("/sign-in/check-your-email")
    assert page.status_code == 200
    assert "The email may take a few minutes to arrive" in page.text

    (row,) = outbox_rows()
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error and "Connection" in row.last_error
    assert row.send_after > before + timedelta(seconds=30)
    assert row.claimed_until is None and row.claim_token is None

    # Not due yet: the worker leaves it alone.
    server.start()
    result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "sent 0" in result.output
    server.assert_no_more(0, settle=0.05)

    make_due()
    result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
    (received,) = server.wait_for(1)
    assert received.rcpt_tos == [family.email]
    (row,) = outbox_rows()
    assert row.sent_at is not None and row.attempts == 1

    result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert "sent 0, failed 0" in result.output
    server.assert_no_more(1)

    # The late email's link still works.
    response = sign_in_with_email(client, received)
    assert response.headers["Location"] == "/family"


def test_retries_back_off_and_nothing_is_lost(mail_down):
    _app, server = mail_down
    family = make_family()
    signin.request_link(family.email)
    delays = []
    for attempt in range(1, 4):
        make_due()
        started = utcnow()
        assert send_pending().failed == 1
        (row,) = outbox_rows()
        assert row.attempts == attempt and row.sent_at is None
        delays.append(row.send_after - started)
    assert delays[0] < delays[1] < delays[2]
    assert all(delay <= outbox.MAX_BACKOFF + timedelta(seconds=5) for delay in delays)

    server.start()
    make_due()
    assert send_pending().sent == 1
    server.wait_for(1)


def test_a_link_that_expired_while_waiting_is_not_sent(mail_down):
    _app, server = mail_down
    family = make_family()
    signin.request_link(family.email, now=utcnow() - timedelta(minutes=16))
    server.start()
    make_due()
    result = send_pending()
    assert (result.sent, result.skipped) == (0, 1)
    (row,) = outbox_rows()
    assert row.sent_at is not None
    assert "expired" in (row.last_error or "")
    server.assert_no_more(0, settle=0.05)


def _race_send_pending(app, passes):
    barrier = threading.Barrier(passes)
    results = []
    errors = []

    def one_pass():
        try:
            with app.app_context():
                barrier.wait()
                results.append(send_pending())
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


@pytest.mark.parametrize("round_", range(3))
def test_two_workers_at_once_send_a_due_message_once(smtp_app, smtp_server, family, round_):
    signin.request_link(family.email)
    (row,) = outbox_rows()
    assert row.sent_at is None  # no request closed a response: nobody sent it yet

    results = _race_send_pending(smtp_app, 2)

    assert sum(result.sent for result in results) == 1, results
    assert sum(result.failed for result in results) == 0
    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == [family.email]
    smtp_server.assert_no_more(1)
    (row,) = outbox_rows()
    assert row.sent_at is not None


def test_many_workers_share_many_messages_without_sending_one_twice(smtp_app, smtp_server, family):
    addresses = [f"parent{n}@example.org" for n in range(6)]
    for n, address in enumerate(addresses):
        make_child(family.school, guardian_email=address, mis_id=f"M{n}", forename=f"Kid{n}")
        signin.request_link(address)

    results = _race_send_pending(smtp_app, 4)

    assert sum(result.sent for result in results) == len(addresses), results
    received = smtp_server.wait_for(len(addresses))
    smtp_server.assert_no_more(len(addresses))
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(addresses)
    assert all(row.sent_at is not None for row in outbox_rows())


def test_a_lease_keeps_a_second_worker_off_a_claimed_message(smtp_app, smtp_server, family):
    signin.request_link(family.email)
    claimed = outbox.claim()
    assert len(claimed) == 1
    assert outbox.claim() == []  # leased to the first worker
    assert send_pending().sent == 0
    # A worker that died keeps its lease only so long.
    later = utcnow() + outbox.LEASE + timedelta(seconds=1)
    assert [c.id for c in outbox.claim(now=later)] == [claimed[0].id]
    # The first worker's late report changes nothing: its claim is no longer the row's.
    outbox.mark_sent(claimed[0])
    (row,) = outbox_rows()
    assert row.sent_at is None


def test_the_sign_in_link_is_built_when_sent_not_stored(smtp_app, smtp_server, family):
    signin.request_link(family.email)
    (row,) = outbox_rows()
    assert "sign-in/link" not in row.payload
    assert send_pending().sent == 1
    (received,) = smtp_server.wait_for(1)
    assert sign_in_path(received).startswith("/sign-in/link/")


def test_the_test_mail_server_starts_and_stops_cleanly(mail_servers):
    """The fixture's server runs in its own thread and loop, and leaves neither behind."""
    server = mail_servers()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as smtp:
        smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: Hello\r\n\r\nBody\r\n")
    (received,) = server.wait_for(1)
    assert received.message["Subject"] == "Hello"
    assert received.text().strip() == "Body"

    controller = server._controller
    thread = controller._thread
    server.stop()
    assert not thread.is_alive()
    assert controller.loop.is_closed()
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()  # none left on this thread either
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", server.port, timeout=1)
