"""What one request costs, in process, on PostgreSQL: CPU time and SQL round trips per page.

The pages bench/http_load.py loads (the children page, a child's page, the consent POST, the
staff photo check of a class of 30, the pupil search), each requested through Flask's test
client by a signed-in guardian or staff user (second factor passed), WARM times and then
ROUNDS times in turns, so that a busy moment of a shared machine falls on every page alike.
Reported per page: the median CPU time of the app's process per request (time.process_time
around the request: Python's work, not PostgreSQL's), the SQL statements and the round trips
to PostgreSQL per request, counted by libpq's own trace of the protocol (every ReadyForQuery
the server sends ends one round trip: a statement, BEGIN, COMMIT, or the pool's pre-ping).
The same figures as bench/http_load.py's CPU per request without wrk and gunicorn, to compare
one change of the request plumbing before and after (bench/CHANGES.md). The reference page
(bench/reference.py, at the children page's size, with the parent's own session cookie) is
measured in the same turns, and each page's CPU is given as a share of it: the reference
page's CPU over the page's, the fraction of the reference page's requests/s the page would
serve if CPU were all that counted, steadier on a busy machine than wrk's. The libpq trace
that counts round trips is on only while each page is requested once for the count: it
costs the process CPU of its own.

Usage:  .venv/bin/python bench/per_request.py [--rounds 200] [--seed] [--json PATH]
Database: BENCH_DATABASE_URL's database name (default consent_bench) with `_requests` added,
seeded by bench/seed.py at a small scale (3 schools of 600 pupils, 30,000 events) with
--seed, or when it does not exist yet.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.config import normalise_database_url  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench"
BASE_URL = "https://bench.example.org"
WARM = 20


def own_database(trust_url: str) -> str:
    parsed = make_url(trust_url)
    return parsed.set(database=f"{parsed.database}_requests").render_as_string(hide_password=False)


def exists(url: str) -> bool:
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname="postgres"
    ) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)
        ).fetchone()
    return found is not None


def seed(url: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed.py"), "--schools", "3", "--pupils", "600",
         "--events", "30000", "--largest", "10000"],
        check=True, env={**os.environ, "BENCH_DATABASE_URL": url},
    )  # fmt: skip


class Trace:
    """libpq's trace of every connection the app opens, in one file: round trips are the
    ReadyForQuery messages, statements the Query and Execute messages the client sent."""

    def __init__(self) -> None:
        self.file = tempfile.NamedTemporaryFile(prefix="bench-trace-", delete=False)  # noqa: SIM115
        self.offset = 0
        self.shown: list[str] = []
        self.on = False

    def attach(self, engine: Any) -> None:
        """Trace each connection the engine checks out while `on` is set, until it is back in
        the pool: libpq writes each protocol message to the file, which costs the process
        CPU, so the CPU figures are taken with it off."""

        def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if self.on:
                self.shown.append(" ".join(statement.split())[:220])

        event.listen(engine, "before_cursor_execute", on_execute)

        def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            if self.on:
                dbapi_connection.pgconn.trace(self.file.fileno())
                dbapi_connection.pgconn.set_trace_flags(
                    psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
                )

        def on_checkin(dbapi_connection: Any, _record: Any) -> None:
            # libpq writes the trace through a buffered stream: untracing flushes it, so
            # the file holds every message of a request once its connections are back.
            if dbapi_connection is not None:
                dbapi_connection.pgconn.untrace()

        event.listen(engine, "checkout", on_checkout)
        event.listen(engine, "checkin", on_checkin)

    def since_last(self, show: bool = False) -> tuple[int, int]:
        """(round trips, statements) since the last call; `show` prints what was sent."""
        with open(self.file.name, "rb") as read:
            read.seek(self.offset)
            data = read.read()
            self.offset += len(data)
        lines = data.decode("utf-8", "replace").splitlines()
        if show:
            for line in self.shown:
                print("   ", line)
        self.shown.clear()
        trips = sum(1 for line in lines if line.startswith("B\t") and "\tReadyForQuery" in line)
        statements = sum(
            1
            for line in lines
            if line.startswith("F\t") and ("\tQuery\t" in line or "\tExecute\t" in line)
        )
        return trips, statements


def main() -> None:
    trust = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    url = own_database(trust)
    if ARGS.seed or not exists(url):
        seed(url)
    os.environ.update(
        PORTAL_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        BASE_URL=BASE_URL,
        DATABASE_URL=url,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT="2525",
        TRUSTED_PROXY_HOPS="0",
    )
    from flask import g, session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from portal import create_app, signin
    from portal.extensions import db
    from portal.models import (
        Choice,
        GuardianLink,
        NoticeVersion,
        PrincipalType,
        Pupil,
        Purpose,
        Scope,
        StaffUser,
        UserSession,
    )
    from portal.types import utcnow

    app = create_app()
    trace = Trace()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()  # a database seeded by an earlier version is brought up to date
        db.session.remove()
        db.engine.dispose()  # every connection from now on passes the trace's checkout hook
        trace.attach(db.engine)

    def sign_in(kind: str, principal_id: int) -> tuple[Any, str]:
        client = app.test_client()
        with app.test_request_context("/", base_url=BASE_URL):
            token = signin.start_session(signin.Principal(PrincipalType(kind), principal_id, "b"))
            user = signin.load_session(token)
            login_user(user)
            g.pop("csrf_token", None)
            csrf = generate_csrf()
            value = app.session_interface.get_signing_serializer(app).dumps(dict(session))  # type: ignore[attr-defined]
            if kind == "staff":
                db.session.execute(
                    update(UserSession)
                    .where(UserSession.token_hash == signin.hash_token(token))
                    .values(second_factor="totp", second_factor_at=utcnow())
                )
                db.session.commit()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], value, domain="bench.example.org")
        return client, csrf

    with app.app_context():
        guardian_id, pupil_id, school_id = db.session.execute(
            select(GuardianLink.guardian_id, Pupil.id, Pupil.school_id)
            .join(Pupil, Pupil.id == GuardianLink.pupil_id)
            .where(GuardianLink.parental_responsibility.is_(True), Pupil.on_roll.is_(True))
            .order_by(GuardianLink.guardian_id)
            .limit(1)
        ).one()
        purpose_id, purpose_version = db.session.execute(
            select(Purpose.id, Purpose.version)
            .where(
                Purpose.school_id == school_id,
                Purpose.active.is_(True),
                Purpose.scope == Scope.PUPIL,
                Purpose.choice == Choice.CONSENT,
            )
            .order_by(Purpose.id)
            .limit(1)
        ).one()
        notice_version = db.session.scalar(
            select(func.max(NoticeVersion.version)).where(NoticeVersion.school_id == school_id)
        )
        staff_id = db.session.scalar(
            select(StaffUser.id).where(StaffUser.school_id == school_id, StaffUser.role == "staff")
        )
        class_name = db.session.scalar(
            select(Pupil.class_name)
            .where(Pupil.school_id == school_id, Pupil.on_roll.is_(True))
            .group_by(Pupil.class_name)
            .having(func.count() == 30)
            .order_by(Pupil.class_name)
            .limit(1)
        )
        surname = db.session.scalar(
            select(Pupil.surname)
            .where(Pupil.school_id == school_id)
            .group_by(Pupil.surname)
            .order_by(func.count().desc(), Pupil.surname)
            .limit(1)
        )
        parent, parent_csrf = sign_in("guardian", guardian_id)
        staff, _ = sign_in("staff", staff_id)
        db.session.remove()

    answer = {"n": 0}

    def consent() -> Any:
        answer["n"] += 1
        form: dict[str, Any] = {
            "decision": "grant" if answer["n"] % 2 else "withdraw",
            "purpose_version": purpose_version,
            "csrf_token": parent_csrf,
        }
        if notice_version is not None:
            form["notice_version"] = notice_version
        return parent.post(
            f"/family/children/{pupil_id}/choices/{purpose_id}",
            data=form,
            headers={"Referer": f"{BASE_URL}/family/children/{pupil_id}"},
            base_url=BASE_URL,
        )  # fmt: skip

    check = urlencode({"purpose": purpose_id, "class": class_name, "action": "check"})
    pages: dict[str, tuple[Any, int]] = {
        "children page": (lambda: parent.get("/family", base_url=BASE_URL), 200),
        "child page": (lambda: parent.get(f"/family/children/{pupil_id}", base_url=BASE_URL), 200),
        "consent POST": (consent, 302),
        "photo check, class of 30": (
            lambda: staff.get(f"/staff/photo-check?{check}", base_url=BASE_URL),
            200,
        ),
        "pupil search": (lambda: staff.get(f"/staff/pupils?q={surname}", base_url=BASE_URL), 200),
    }
    # The reference page (bench/reference.py, as bench/http_load.py serves it), in this
    # process: the parent's own cookie (its `_user_id` is the session token), a page of the
    # children page's size.
    os.environ["REFERENCE_PAGE_BYTES"] = str(len(pages["children page"][0]().data))
    sys.path.insert(0, str(ROOT / "bench"))
    import reference

    trace.attach(reference.engine)
    cookie = parent.get_cookie(app.config["SESSION_COOKIE_NAME"], domain="bench.example.org")
    assert cookie is not None
    plain = reference.app.test_client()
    plain.set_cookie(cookie.key, cookie.value, domain="localhost")
    pages = {"reference page": (lambda: plain.get("/family"), 200), **pages}

    cpu: dict[str, list[float]] = {name: [] for name in pages}
    trips: dict[str, tuple[int, int]] = {}
    for name, (request, status) in pages.items():
        for _ in range(WARM):
            response = request()
            assert response.status_code == status, (name, response.status_code, response.text[:300])
    trace.on = True  # round trips, once each, warm; then off again for the CPU figures
    trace.since_last()
    for name, (request, _status) in pages.items():
        # Three times, and the fewest: psycopg prepares a statement on a connection the fifth
        # time it runs there, in a round trip of its own, once (and the consent POST
        # alternates a yes and a no, which make different statements).
        counts = []
        for _ in range(2):
            request()
            counts.append(trace.since_last())
        request()
        if ARGS.show_sql:
            print(name)
        trips[name] = min(*counts, trace.since_last(show=ARGS.show_sql))
    trace.on = False
    if ARGS.show_sql:
        for name, (request, _status) in pages.items():
            response = request()
            cookie = bool(response.headers.getlist("Set-Cookie"))
            print(f"{name}: {len(response.data):,} bytes, sets a cookie: {cookie}")
    if ARGS.profile:
        # pyinstrument (`pip install pyinstrument`), over ROUNDS requests of one page.
        from pyinstrument import Profiler

        request = pages[ARGS.profile][0]
        profiler = Profiler(interval=0.0001)
        profiler.start()
        for _ in range(ARGS.rounds):
            request()
        profiler.stop()
        print(profiler.output_text(unicode=True, show_all=False, time="percent_of_total"))
        return
    for _ in range(ARGS.rounds):
        for name, (request, _status) in pages.items():
            began = time.process_time()
            request()
            cpu[name].append(time.process_time() - began)
    trace.since_last()

    print(f"in process on PostgreSQL ({url}), {ARGS.rounds} rounds, medians of CPU per request")
    print("of reference: the reference page's CPU per request over the page's (the share of the")
    print("reference page's requests/s the page would serve if CPU were all that counted)")
    print(f"{'page':<28}{'CPU ms':>9}{'of reference':>14}{'round trips':>13}{'statements':>12}")
    figures = []
    reference_ms = statistics.median(cpu["reference page"]) * 1000
    for name in pages:
        median = statistics.median(cpu[name]) * 1000
        round_trips, statements = trips[name]
        share = reference_ms / median
        print(f"{name:<28}{median:>9.2f}{share:>14.0%}{round_trips:>13}{statements:>12}")
        figures.append({"page": name, "cpu_ms": round(median, 3), "of_reference": round(share, 3),
                        "round_trips": round_trips, "statements": statements})  # fmt: skip
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    os.unlink(trace.file.name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", action="store_true", help="seed the database first")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--show-sql", action="store_true", help="print each page's statements")
    parser.add_argument("--profile", help="profile one page (its name, as printed) instead")
    ARGS = parser.parse_args()
    main()
