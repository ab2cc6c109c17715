"""Many people at once: after a school's newsletter, everyone signs in within a minute.

On SQLite a transaction that reads and then writes fails at once ("database is locked") when
another writer got there first, so every sign-in write takes the write lock up front; these
tests run the requests in threads and expect every one of them to succeed.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from portal.extensions import db
from portal.models import UserSession
from portal.types import utcnow
from tests.support.client import csrf_token
from tests.support.factories import make_child, make_school
from tests.support.mail import sign_in, sign_in_requests, user_sessions

PEOPLE = 10


def _at_once(work, count):
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def run(index):
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def _families():
    school = make_school()
    addresses = [f"parent{n}@example.org" for n in range(PEOPLE)]
    for n, address in enumerate(addresses):
        make_child(school, guardian_email=address, mis_id=f"P{n}", forename=f"Child{n}")
    return addresses


def _clients(app):
    clients = []
    for n in range(PEOPLE):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.20.0.{n}"
        clients.append(client)
    return clients


def test_many_people_ask_for_a_link_at_once(smtp_app, smtp_server):
    addresses = _families()
    clients = _clients(smtp_app)
    tokens = [csrf_token(client.get("/sign-in")) for client in clients]

    def ask(n):
        data = {"email": addresses[n], "csrf_token": tokens[n]}
        with clients[n].post("/sign-in", data=data) as response:
            pass
        return response.status_code

    assert _at_once(ask, PEOPLE) == [302] * PEOPLE
    assert len(sign_in_requests()) == PEOPLE
    received = smtp_server.wait_for(PEOPLE, timeout=15)
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(addresses)


def test_many_signed_in_people_load_pages_at_once(smtp_app, smtp_server):
    addresses = _families()
    clients = _clients(smtp_app)
    for client, address in zip(clients, addresses, strict=True):
        assert sign_in(client, smtp_server, address).status_code == 302
    # Last seen two minutes ago: each page load now also records that they were seen.
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
    db.session.commit()

    statuses = _at_once(lambda n: clients[n].get("/family").status_code, PEOPLE)

    assert statuses == [200] * PEOPLE
    assert all(utcnow() - s.last_seen_at < timedelta(minutes=1) for s in user_sessions())


def test_many_people_sign_out_at_once(smtp_app, smtp_server):
    addresses = _families()
    clients = _clients(smtp_app)
    for client, address in zip(clients, addresses, strict=True):
        sign_in(client, smtp_server, address)
    tokens = [csrf_token(client.get("/family")) for client in clients]

    statuses = _at_once(
        lambda n: clients[n].post("/sign-out", data={"csrf_token": tokens[n]}).status_code,
        PEOPLE,
    )

    assert statuses == [302] * PEOPLE
    assert all(s.ended_at is not None for s in user_sessions())
