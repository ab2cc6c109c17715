"""When the mail server is down, sign-in emails wait in the outbox (docs/security.md,
promise 20)."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal import signin
from portal.extensions import db
from portal.mail import outbox
from portal.mail.delivery import send_pending
from portal.models import OutboxMessage
from portal.types import utcnow
from tests.support.client import csrf_token
from tests.support.factories import make_child
from tests.support.mail import (
    MailServer,
    _Keeper,
    ask_for_link,
    free_port,
    fresh,
    make_family,
    race_send_pending,
    sign_in_code,
    sign_in_path,
    sign_in_requests,
    sign_in_with_email,
)


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


def test_an_email_written_again_after_a_failed_send_has_a_new_link_and_code(mail_down):
    """The nonce is erased when the email is written (docs/security.md, promise 3), so an
    email written again after its send failed gets a new link and code (the first was never
    delivered); the new ones work."""
    app, server = mail_down
    family = make_family()
    client = app.test_client()
    ask_for_link(client, family.email)  # written, then the send failed
    (request,) = sign_in_requests()
    assert request.nonce is None
    first_hash = request.token_hash

    server.start()
    make_due()
    assert send_pending().sent == 1
    (received,) = server.wait_for(1)
    (request,) = sign_in_requests()
    assert request.nonce is None and request.token_hash != first_hash
    page = client.get("/sign-in/check-your-email")
    response = client.post(
        "/sign-in/code", data={"code": sign_in_code(received), "csrf_token": csrf_token(page)}
    )
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


@pytest.mark.parametrize("round_", range(3))
def test_two_workers_at_once_send_a_due_message_once(smtp_app, smtp_server, family, round_):
    signin.request_link(family.email)
    (row,) = outbox_rows()
    assert row.sent_at is None  # no request closed a response: nobody sent it yet

    results = race_send_pending(smtp_app, 2)

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

    results = race_send_pending(smtp_app, 4)

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


# --- one connection for a pass ---------------------------------------------------------------


class _CountingKeeper(_Keeper):
    """Keeps messages as the test server does, and counts SMTP sessions (EHLO/HELO); can
    refuse some recipients, and answer one DATA with 421 (the server closing)."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.refused: set[str] = set()
        self.close_at: int | None = None  # answer the DATA of this message (1, 2, ...) 421
        self.datas = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.sessions += 1
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        self.sessions += 1
        return f"250 {server.hostname}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.datas += 1
        if self.datas == self.close_at:
            return "421 4.3.2 Service not available, closing transmission channel"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def counting_server():
    server = MailServer()
    server._keeper = _CountingKeeper()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def counting_app(make_app, counting_server):
    app = make_app(**counting_server.app_config)
    with app.app_context():
        yield app
        db.session.remove()


def ask_for_links(count: int) -> list[str]:
    family = make_family()
    addresses = [f"parent{n}@example.org" for n in range(count)]
    for n, address in enumerate(addresses):
        make_child(family.school, guardian_email=address, mis_id=f"M{n}", forename=f"Kid{n}")
        signin.request_link(address)
    return addresses


def test_one_pass_sends_every_email_over_one_connection(counting_app, counting_server):
    addresses = ask_for_links(5)
    result = send_pending()
    assert (result.claimed, result.sent, result.failed) == (5, 5, 0)
    received = counting_server.wait_for(5)
    assert sorted(r.rcpt_tos[0] for r in received) == addresses
    assert counting_server._keeper.sessions == 1
    assert all(row.sent_at is not None and row.attempts == 0 for row in outbox_rows())
    # The next pass opens its own connection (none when there is nothing to send).
    assert send_pending().claimed == 0
    assert counting_server._keeper.sessions == 1


def test_a_connection_the_server_closes_is_opened_again(counting_app, counting_server):
    """The server answers the third email with 421 (closing): the worker connects again,
    sends that email again and goes on; each email arrives once."""
    counting_server._keeper.close_at = 3
    addresses = ask_for_links(5)
    result = send_pending()
    assert (result.sent, result.failed) == (5, 0)
    received = counting_server.wait_for(5)
    counting_server.assert_no_more(5)
    assert sorted(r.rcpt_tos[0] for r in received) == addresses
    assert counting_server._keeper.sessions == 2


def test_a_refused_recipient_fails_alone(counting_app, counting_server):
    addresses = ask_for_links(4)
    counting_server._keeper.refused = {addresses[1]}
    result = send_pending()
    assert (result.sent, result.failed) == (3, 1)
    received = counting_server.wait_for(3)
    assert sorted(r.rcpt_tos[0] for r in received) == addresses[:1] + addresses[2:]
    assert counting_server._keeper.sessions == 1
    by_address = {row.to_address: row for row in outbox_rows()}
    refused = by_address[addresses[1]]
    assert refused.sent_at is None and refused.attempts == 1
    assert "No such user" in (refused.last_error or "")
    assert refused.claimed_until is None and refused.send_after > utcnow()


def test_when_the_server_is_down_the_rest_of_the_pass_waits_for_a_retry(mail_down):
    """The first email finds the server down: it and the others are marked failed at once
    (not tried one by one), each to be retried after the backoff."""
    _app, server = mail_down
    family = make_family()
    addresses = [f"parent{n}@example.org" for n in range(3)]
    for n, address in enumerate(addresses):
        make_child(family.school, guardian_email=address, mis_id=f"M{n}", forename=f"Kid{n}")
        signin.request_link(address)
    started = utcnow()
    result = send_pending()
    assert (result.claimed, result.sent, result.failed) == (3, 0, 3)
    rows = outbox_rows()
    assert all(row.sent_at is None and row.attempts == 1 for row in rows)
    assert all(row.send_after > started + timedelta(seconds=30) for row in rows)
    assert all(row.claimed_until is None and row.claim_token is None for row in rows)
    assert [row.last_error.startswith("not tried: ") for row in rows] == [False, True, True]
    server.start()
    make_due()
    assert send_pending().sent == 3
    server.wait_for(3)
    server.assert_no_more(3)
