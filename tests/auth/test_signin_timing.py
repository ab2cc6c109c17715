"""Asking for a link costs the same whether the address is known (docs/security.md, promise 5).

Two checks. The structural one: a known and an unknown address make the very same SQL
statements (counted with a `before_cursor_execute` listener), so they write the same tables.
The statistical one: 60 requests for each, interleaved in a shuffled order, and a two-sided
Mann-Whitney U test on their times must not tell the two apart. The red team found medians of
13.4 ms and 8.6 ms; the same work for both leaves only noise, and the threshold is low
(p > 0.001), so the test does not flake on a loaded machine.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from portal.extensions import db
from tests.support.client import csrf_token
from tests.support.mail import make_family, sign_in_requests

# The same length as the family's address (alex.morgan@example.org), one letter apart: the
# address's own length and parsing cost the same for both.
UNKNOWN = "alex.morgen@example.org"
WARM_UP = 10
SAMPLES = 60
THRESHOLD = 0.001
WRITES = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)


def mann_whitney_u(first: Sequence[float], second: Sequence[float]) -> tuple[float, float]:
    """U of `first` against `second`, and the two-sided p-value by the normal approximation
    with the tie correction and a continuity correction (good for samples of 20 or more)."""
    n1, n2 = len(first), len(second)
    pooled = sorted([(value, 0) for value in first] + [(value, 1) for value in second])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    start = 0
    while start < len(pooled):
        end = start
        while end + 1 < len(pooled) and pooled[end + 1][0] == pooled[start][0]:
            end += 1
        for index in range(start, end + 1):
            ranks[index] = (start + end) / 2 + 1  # the mean of ranks start+1 .. end+1
        tied = end - start + 1
        ties += tied**3 - tied
        start = end + 1
    rank_sum = sum(rank for rank, (_value, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance == 0:
        return u, 1.0
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)
    return u, math.erfc(max(z, 0.0) / math.sqrt(2))


def test_the_u_test_tells_apart_what_differs_and_not_what_does_not():
    rng = random.Random(7)
    same_a = [rng.gauss(10, 1) for _ in range(60)]
    same_b = [rng.gauss(10, 1) for _ in range(60)]
    shifted = [value + 1.0 for value in same_b]
    assert mann_whitney_u(same_a, same_b)[1] > THRESHOLD
    assert mann_whitney_u(same_a, shifted)[1] < 1e-6
    # Hand-checked: U counts the pairs where the first sample's value is the larger.
    assert mann_whitney_u([1, 2, 3], [4, 5, 6])[0] == 0
    assert mann_whitney_u([4, 5, 6], [1, 2, 3])[0] == 9
    assert mann_whitney_u([1, 2], [2, 3])[0] == 0.5  # a tie counts a half


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement sent to the database in the block."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def asking(make_app):
    """An app whose limits let one client ask many times, a family, and `ask(address)`: one
    POST /sign-in, timed (wall clock) and its SQL statements recorded, without the delivery
    that runs once the answer has gone; then the response is closed, so that the mail worker
    does its part before the next request. Returns (seconds, statements)."""
    app = make_app(
        SIGN_IN_LIMIT_PER_CLIENT="10000 per hour", SIGN_IN_LIMIT_PER_ADDRESS="10000 per hour"
    )
    with app.app_context():
        family = make_family()
        client = app.test_client()
        token = csrf_token(client.get("/sign-in"))

        def ask(address: str) -> tuple[float, list[str]]:
            with statements() as sent:
                started = time.perf_counter()
                response = client.post("/sign-in", data={"email": address, "csrf_token": token})
                took = time.perf_counter() - started
            assert response.status_code == 302, response.text
            response.close()  # the mail worker's turn, after the answer (not timed)
            return took, sent

        yield family, ask
        db.session.remove()


def written_tables(sent: Sequence[str]) -> list[str]:
    return [match.group(1) for statement in sent if (match := WRITES.match(statement))]


def test_a_known_and_an_unknown_address_make_the_same_statements(asking):
    family, ask = asking
    for _ in range(2):  # the first request of each, then one with an earlier request
        _took, known = ask(family.email)
        _took, unknown = ask(UNKNOWN)
        assert len(known) == len(unknown), (known, unknown)
        assert written_tables(known) == written_tables(unknown)
        assert "sign_in_requests" in written_tables(known)
        assert "outbox" in written_tables(known)
        assert known == unknown
    # After the answer, the worker sent the known address its email and kept nothing of the
    # unknown one.
    assert {row.email for row in sign_in_requests()} == {family.email}


def test_a_wrong_code_costs_the_same_for_a_known_and_an_unknown_address(make_app):
    app = make_app()
    with app.app_context():
        family = make_family()
        sent = {}
        for address in (family.email, UNKNOWN):
            client = app.test_client()
            token = csrf_token(client.get("/sign-in"))
            with client.post("/sign-in", data={"email": address, "csrf_token": token}):
                pass
            page = client.get("/sign-in/check-your-email")
            with statements() as sent[address]:
                response = client.post(
                    "/sign-in/code", data={"code": "000000", "csrf_token": csrf_token(page)}
                )
            assert response.status_code == 400
            assert "The code is not right" in response.text
        assert written_tables(sent[family.email]) == written_tables(sent[UNKNOWN])
        assert written_tables(sent[family.email]) == ["sign_in_requests"]
        assert len(sent[family.email]) == len(sent[UNKNOWN])


def test_the_answer_takes_as_long_for_a_known_as_for_an_unknown_address(asking, capsys):
    family, ask = asking
    for _ in range(WARM_UP):
        ask(family.email)
        ask(UNKNOWN)
    rng = random.Random(20260501)
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(SAMPLES):
        pair = [(family.email, known), (UNKNOWN, unknown)]
        rng.shuffle(pair)  # neither always goes first
        for address, times in pair:
            times.append(ask(address)[0])

    u, p = mann_whitney_u(known, unknown)
    summary = (
        f"median known {statistics.median(known) * 1000:.2f} ms, "
        f"unknown {statistics.median(unknown) * 1000:.2f} ms, U = {u:.0f}, p = {p:.3g}"
    )
    with capsys.disabled():
        print(f"\n{db.engine.dialect.name}: {summary}")
    assert p > THRESHOLD, f"the two can be told apart: {summary}"
