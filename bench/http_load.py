"""HTTP benchmark: the portal in its production configuration, loaded by wrk.

gunicorn with the documented settings (gunicorn.conf.py), PORTAL_ENV=production and
PostgreSQL, on 127.0.0.1, loaded from the same machine by wrk (`-t2 -c50 --latency`, a
warm-up, then the measured run) for each of:
- hello: a bare Flask app (bench/hello.py) under the very same server settings: the ceiling;
- the reference page: a minimal real page (bench/reference.py) under the same settings,
  answering the children page's requests (GET /family, the same session cookies): the
  session row by the token's hash and the guardian's children in two SQLAlchemy Core
  queries, and a Jinja page of the size of the portal's children page (REFERENCE_PAGE_BYTES:
  the median size of the children pages fetched by a check of the portal beforehand);
- the guardian's children page (GET /family);
- a child's page (GET /family/children/ID);
- a consent POST (POST /family/children/ID/choices/PURPOSE, the plain form post answered by a
  redirect: a ledger append with its receipt and take-down checks), each guardian's answer
  alternating yes and no so that every POST is recorded (checked: the ledger must grow by
  at least one event per POST);
- the staff photo check for a class of 30 (GET /staff/photo-check?purpose=..&class=..);
- the staff pupil search for a common surname (GET /staff/pupils?q=..).
Many guardians, children, schools and classes take turns (bench/wrk/*.lua rotate through
request lists written to bench/out/http/), each guardian and staff user with their own
session: a server-side session from `signin.start_session`, in the signed cookie the sign-in
view sets, with a CSRF token of that session for the POST (a staff session has passed its
second factor, which every staff page requires). Every session is marked used just before
each portal scenario, so that the once-a-minute write of a session's last use falls in none
of them (with a warm-up and a run of less than a minute together; the reference page never
writes it). Before and after the load a
sample of the requests is sent once and must get the page (200), or for the POST the
redirect back to the child's page (302): wrk counts any 2xx or 3xx as a success, and a
redirect to the sign-in page must not pass for a page.

For each: requests/s, latency p50/p95/p99 (microsecond figures from wrk's own histogram, via
the scripts' done()), errors (socket errors, timeouts of 2 s and non-2xx/3xx answers), its
requests/s as a fraction of the ceiling's and, for the portal's pages, of the reference
page's, beside the targets (the children page at least 0.80 of the reference page, a child's
page 0.70: what the framework, the sessions and the page's own work may cost on top of a
minimal page); and the CPU time each request cost the app server (its master process and
everything under it) and PostgreSQL (its processes that work for the bench's database), read
from /proc before and after the measured run: on a shared machine the steadier figure to
compare changes by. PostgreSQL is made quiet before each scenario (`CHECKPOINT`, and once
after the set-up `VACUUM (ANALYZE)`), so that the background work the seeding or an earlier
scenario left is not counted in the next one. The ratio to the reference page
says how far a page is from what a minimal page of its size costs on the same machine and
server, whatever the machine's load and however fast hello is. A missed target is reported,
not a failure (exit status 0). A scenario with no requests at the scale seeded (no class of
30 in a small seeding) is skipped.

`--server granian` serves hello, the reference page and the portal with granian instead
(`--interface wsgi`, as many worker processes as gunicorn.conf.py gives gunicorn, each with
as many blocking threads as a gunicorn worker has threads; see `granian_settings`), to
compare WSGI servers on the same pages: compare the ratios and the CPU per request of runs
made one after the other, since hello itself differs between servers.

Production settings over plain http: SECRET_KEY is a fresh random one and BASE_URL
https://bench.example.org. Nothing refuses plain http: the `__Host-` cookie is sent by wrk as
a header, Flask-WTF's strict referrer check applies to https requests only (the POST sends a
same-origin Referer anyway), HSTS is only a header, nothing redirects to https, and
TRUSTED_PROXY_HOPS is 0 (wrk connects directly, no proxy headers). REDIS_URL is the local
Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/0), as production requires: the rate
limits apply to sign-in only, so the pages measured never ask Redis anything.

Not bench/http.py: a script's folder comes first on sys.path, and a bench/http.py would
shadow the standard library's `http` (which werkzeug imports) in every script of bench/.

Usage:  .venv/bin/python bench/http_load.py [--seed [--schools 5] [--events 50000]]
                                            [--server gunicorn|granian] [--only children,child]
                                            [--warmup 5] [--duration 20] [--json PATH]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench),
seeded by bench/seed.py; `--seed` seeds it first (dropping it) at a small scale for
development. The sessions it opens are ended when it finishes. Needs wrk (Debian:
`apt-get install -y wrk`); granian is in the `test` extra (`make install-test`).
WEB_CONCURRENCY and GUNICORN_THREADS override the workers and threads of either server, to
compare settings.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.config import normalise_database_url  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench"
BASE_URL = "https://bench.example.org"
OUT = ROOT / "bench" / "out" / "http"
WRK = ROOT / "bench" / "wrk"
GUNICORN = Path(sys.executable).parent / "gunicorn"  # beside this Python
GRANIAN = Path(sys.executable).parent / "granian"
CONFIG = ROOT / "gunicorn.conf.py"
SERVERS = ("gunicorn", "granian")


@dataclass(frozen=True)
class Target:
    ratio: float | None = None  # of the ceiling's requests/s, at least
    p95_ms: float | None = None  # at most
    of_reference: float | None = None  # of the reference page's requests/s, at least


@dataclass
class Scenario:
    key: str
    label: str
    script: str  # bench/wrk/<script>.lua
    expect: int  # the status every request must get (checked before and after the load)
    target: Target
    entries: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario("hello", "hello (ceiling)", "pages", 200, Target()),
    Scenario("reference", "reference page", "pages", 200, Target()),
    Scenario("children", "children page", "pages", 200, Target(0.40, 50, 0.80)),
    Scenario("child", "child page", "pages", 200, Target(0.40, 50, 0.70)),
    Scenario("consent", "consent POST", "consent", 302, Target(0.25, 100)),
    Scenario("photo_check", "photo check, class of 30", "pages", 200, Target(0.30, 50)),
    Scenario("pupil_search", "pupil search", "pages", 200, Target(None, 50)),
]


# --- the database --------------------------------------------------------------------------


def connect(url: str) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        autocommit=True,
    )


def seed(url: str) -> None:
    """bench/seed.py at a small scale (the largest school holds a fifth of the events, as
    in the full seeding)."""
    command = [
        sys.executable, str(ROOT / "bench" / "seed.py"),
        "--schools", str(ARGS.schools), "--pupils", str(ARGS.pupils),
        "--events", str(ARGS.events), "--largest", str(max(1, ARGS.events // 5)),
    ]  # fmt: skip
    env = {**os.environ, "BENCH_DATABASE_URL": url}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def scale(url: str) -> dict[str, Any]:
    with connect(url) as conn:
        found = {
            name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
            for name in ("schools", "pupils", "guardians", "consent_events")
        }
        found["max_connections"] = int(conn.execute("SHOW max_connections").fetchone()[0])  # type: ignore[index]
        found["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    return found


def events_count(url: str) -> int:
    with connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM consent_events").fetchone()[0])  # type: ignore[index]


def quiet_database(url: str, *, vacuum: bool = False) -> None:
    """PostgreSQL with no work of its own left over when a scenario starts: the dirty pages
    written out (`CHECKPOINT`) and, with `vacuum`, the tables vacuumed and analysed, so that
    neither the checkpointer nor an autovacuum worker, which are counted with the bench's
    database (`works_for`), spends in one scenario what the seeding or an earlier scenario
    left (the first portal scenario after seeding paid for both: 2 ms of PostgreSQL's CPU a
    children page, three times a child page's)."""
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        dbname=parsed.database, autocommit=True,
    ) as conn:  # fmt: skip
        if vacuum:
            conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def settled(url: str) -> int:
    """The number of events once it stops growing (the server finishes what it was doing
    when wrk stopped)."""
    last = events_count(url)
    for _ in range(50):
        time.sleep(0.3)
        now = events_count(url)
        if now == last:
            break
        last = now
    return last


# --- sessions and the requests of each scenario --------------------------------------------


@dataclass(frozen=True)
class Signed:
    cookie: str  # the Cookie header
    csrf: str  # a CSRF token valid for that session


@dataclass(frozen=True)
class Answer:
    guardian_id: int
    pupil_id: int
    purpose_id: int
    purpose_version: int
    notice_version: int | None
    cookie: str
    csrf: str


class Minter:
    """Signed-in session cookies without email: a server-side session through
    `signin.start_session`, put in Flask's signed session cookie as the sign-in view does
    (Flask-Login's `login_user`), with a CSRF token of that session. A staff session has
    passed its second factor (`second_factor.record_pass`, as after an app's code): every
    staff page asks for it first."""

    def __init__(self, url: str) -> None:
        from portal import create_app

        self.app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        self.tokens: list[str] = []

    def sign_in(self, kind: str, principal_id: int) -> Signed:
        from flask import g, session
        from flask_login import login_user
        from flask_wtf.csrf import generate_csrf

        from portal import second_factor, signin
        from portal.models import PrincipalType

        app = self.app
        with app.test_request_context("/", base_url=BASE_URL):
            principal = signin.Principal(PrincipalType(kind), principal_id, "bench")
            token = signin.start_session(principal)
            user = signin.load_session(token)
            assert user is not None, (kind, principal_id)
            if user.staff is not None:
                second_factor.record_pass(user.staff, token, "totp")
            login_user(user)
            # The token is cached on `g`, which belongs to the app context this request
            # context shares with the caller's: make a new one for this session.
            g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
            csrf = generate_csrf()
            value = app.session_interface.get_signing_serializer(app).dumps(dict(session))  # type: ignore[attr-defined]
        self.tokens.append(token)
        return Signed(f"{app.config['SESSION_COOKIE_NAME']}={value}", csrf)

    def mark_used(self) -> None:
        """Every bench session used now (`last_seen_at`): a page writes that at most once a
        minute a session (`signin.LAST_SEEN_RESOLUTION`), so a scenario started within a
        minute of it writes it in none of its requests. Without this, the first portal
        scenario more than a minute after the sessions were made paid one UPDATE and its
        commit for each of them, and the others none: the children page's CPU in PostgreSQL
        tripled in one run and not the next. The reference page never writes it."""
        from sqlalchemy import update

        from portal.extensions import db
        from portal.models import UserSession
        from portal.signin import hash_token
        from portal.types import utcnow

        with self.app.app_context():
            hashes = [hash_token(token) for token in self.tokens]
            db.session.execute(
                update(UserSession)
                .where(UserSession.token_hash.in_(hashes))
                .values(last_seen_at=utcnow())
            )
            db.session.commit()
            db.session.remove()

    def end_all(self) -> None:
        from portal import signin

        with self.app.app_context():
            for token in self.tokens:
                signin.end_session(token)


def build(url: str, minter: Minter, rng: random.Random) -> tuple[dict[str, list], list[Answer]]:
    """The requests of every scenario, and the answers the consent POST alternates."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.models import (
        Choice,
        GuardianLink,
        NoticeVersion,
        Pupil,
        Purpose,
        School,
        Scope,
        StaffUser,
    )

    requests: dict[str, list] = {s.key: [] for s in SCENARIOS}
    answers: list[Answer] = []
    with minter.app.app_context():
        if db.session.scalar(select(School.id).where(School.slug == "school-001")) is None:
            sys.exit("the database is not seeded: run with --seed, or run bench/seed.py first")
        # Guardians with parental responsibility for a child on roll, spread over the schools.
        families: dict[int, list[tuple[int, int]]] = {}
        for guardian_id, pupil_id, school_id in db.session.execute(
            select(GuardianLink.guardian_id, Pupil.id, Pupil.school_id)
            .join(Pupil, Pupil.id == GuardianLink.pupil_id)
            .where(
                GuardianLink.parental_responsibility.is_(True),
                GuardianLink.ended_at.is_(None),
                Pupil.on_roll.is_(True),
            )
            .order_by(GuardianLink.guardian_id, Pupil.id)
        ):
            families.setdefault(guardian_id, []).append((pupil_id, school_id))
        chosen = rng.sample(sorted(families), min(ARGS.guardians, len(families)))
        consent_purposes: dict[int, list[tuple[int, int]]] = {}
        for school_id, purpose_id, version in db.session.execute(
            select(Purpose.school_id, Purpose.id, Purpose.version)
            .where(
                Purpose.active.is_(True),
                Purpose.scope == Scope.PUPIL,
                Purpose.choice == Choice.CONSENT,
            )
            .order_by(Purpose.id)
        ):
            consent_purposes.setdefault(school_id, []).append((purpose_id, version))
        notices = dict(
            db.session.execute(
                select(NoticeVersion.school_id, func.max(NoticeVersion.version)).group_by(
                    NoticeVersion.school_id
                )
            ).all()
        )
        for guardian_id in chosen:
            signed = minter.sign_in("guardian", guardian_id)
            headers = {"Cookie": signed.cookie}
            requests["children"].append(get("/family", headers))
            pupil_id, school_id = rng.choice(families[guardian_id])
            requests["child"].append(get(f"/family/children/{pupil_id}", headers))
            purpose_id, version = rng.choice(consent_purposes[school_id])
            answers.append(
                Answer(
                    guardian_id,
                    pupil_id,
                    purpose_id,
                    version,
                    notices.get(school_id),
                    signed.cookie,
                    signed.csrf,
                )
            )

        # Staff: the "staff" user of each school; classes of 30, the commonest surnames.
        staff = db.session.execute(
            select(StaffUser.id, StaffUser.school_id)
            .where(StaffUser.role == "staff", StaffUser.active.is_(True))
            .order_by(StaffUser.school_id)
        ).all()
        staff = rng.sample(staff, min(ARGS.staff, len(staff)))
        for staff_id, school_id in staff:
            signed = minter.sign_in("staff", staff_id)
            headers = {"Cookie": signed.cookie}
            publishable = db.session.scalars(
                select(Purpose.id).where(
                    Purpose.school_id == school_id,
                    Purpose.active.is_(True),
                    Purpose.publishable.is_(True),
                    Purpose.scope == Scope.PUPIL,
                    Purpose.choice != Choice.NONE,
                )
            ).all()
            classes = db.session.scalars(
                select(Pupil.class_name)
                .where(Pupil.school_id == school_id, Pupil.on_roll.is_(True))
                .group_by(Pupil.class_name)
                .having(func.count() == 30)
                .order_by(Pupil.class_name)
            ).all()
            for class_name in classes:
                for purpose_id in publishable:
                    query = urlencode(
                        {"purpose": purpose_id, "class": class_name, "action": "check"}
                    )
                    requests["photo_check"].append(get(f"/staff/photo-check?{query}", headers))
            surnames = db.session.scalars(
                select(Pupil.surname)
                .where(Pupil.school_id == school_id)
                .group_by(Pupil.surname)
                .order_by(func.count().desc(), Pupil.surname)
                .limit(3)
            ).all()
            for surname in surnames:
                requests["pupil_search"].append(get(f"/staff/pupils?q={quote(surname)}", headers))
        db.session.remove()
    requests["hello"] = [get("/", {}) for _ in range(ARGS.threads)]
    requests["reference"] = list(requests["children"])  # the same requests, the same cookies
    for key in ("photo_check", "pupil_search"):
        rng.shuffle(requests[key])  # schools and classes interleaved
    return requests, answers


def get(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"method": "GET", "path": path, "headers": headers}


def consent_entries(url: str, answers: list[Answer]) -> list[dict[str, Any]]:
    """One POST entry per answer, its first answer the opposite of the guardian's current
    one (read now), so that each POST, alternating, changes it."""
    with connect(url) as conn:
        current = {
            (g, p, u): d
            for g, p, u, d in conn.execute(
                "SELECT guardian_id, pupil_id, purpose_id, decision FROM current_decisions "
                "WHERE axis = 'answer' AND pupil_id IS NOT NULL AND guardian_id = ANY(%s)",
                ([a.guardian_id for a in answers],),
            )
        }
    entries = []
    for a in answers:
        first = (
            "withdraw"
            if current.get((a.guardian_id, a.pupil_id, a.purpose_id)) == "grant"
            else "grant"
        )
        second = "grant" if first == "withdraw" else "withdraw"
        bodies = []
        for decision in (first, second):
            form = {
                "decision": decision,
                "purpose_version": a.purpose_version,
                "csrf_token": a.csrf,
            }
            if a.notice_version is not None:
                form["notice_version"] = a.notice_version
            bodies.append(urlencode(form))
        entries.append(
            {
                "method": "POST",
                "path": f"/family/children/{a.pupil_id}/choices/{a.purpose_id}",
                "headers": {
                    "Cookie": a.cookie,
                    "Content-Type": "application/x-www-form-urlencoded",
                    # What a browser sends from the child's page (checked over https only).
                    "Referer": f"{BASE_URL}/family/children/{a.pupil_id}",
                },
                "bodies": bodies,
            }
        )
    return entries


def lua(value: Any) -> str:
    """A Python value as a Lua literal (str, int, list, dict)."""
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\r", "\\r").replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def write_data(name: str, entries: list[dict[str, Any]]) -> Path:
    path = OUT / f"{name}.lua"
    lines = ["return {"] + [f"  {lua(e)}," for e in entries] + ["}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the app server: gunicorn or granian ---------------------------------------------------


def settings() -> dict[str, Any]:
    """The settings gunicorn.conf.py gives in this environment (granian gets the same number
    of worker processes and of threads per worker: `granian_settings`)."""
    found = runpy.run_path(str(CONFIG))
    chosen: dict[str, Any] = {
        name: found[name]
        for name in ("worker_class", "workers", "threads", "keepalive", "timeout")
        if name in found
    }
    if os.environ.get("GUNICORN_CMD_ARGS"):  # gunicorn applies these over the file
        chosen["GUNICORN_CMD_ARGS"] = os.environ["GUNICORN_CMD_ARGS"]
    return chosen


def granian_settings(config: dict[str, Any]) -> dict[str, Any]:
    """granian's settings equivalent to gunicorn.conf.py's: as many worker processes
    (2 x cores + 1, or WEB_CONCURRENCY), each running the WSGI app on as many threads as a
    gunicorn worker has (GUNICORN_THREADS, default 4: granian's "blocking threads"; its own
    default would be hundreds), HTTP/1.1 with keep-alive (as wrk speaks it), no access log.
    gunicorn's restart of a worker after 20,000 requests (max_requests) has no equivalent:
    granian restarts workers by age or memory only, and that stays off."""
    return {
        "interface": "wsgi",
        "workers": config["workers"],
        "blocking_threads": config["threads"],
        "runtime_threads": 1,
        "http": "1",
        "websockets": False,
    }


def granian_command(app: str, port: int) -> list[str]:
    chosen = granian_settings(settings())
    return [
        str(GRANIAN), "--interface", chosen["interface"], "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(chosen["workers"]),
        "--blocking-threads", str(chosen["blocking_threads"]),
        "--runtime-threads", str(chosen["runtime_threads"]), "--http", chosen["http"],
        "--no-ws", "--no-access-log", "--working-dir", str(ROOT), app,
    ]  # fmt: skip


def server_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The app server chosen (--server) on 127.0.0.1 on a free port, serving `app` (the
    portal, hello or the reference page): gunicorn with gunicorn.conf.py, or granian with the
    equivalent settings. In a session of its own, so that its process group is its own."""

    def __init__(self, app: str, env: dict[str, str], name: str) -> None:
        self.kind = ARGS.server
        self.port = free_port()
        self.log = OUT / f"{self.kind}-{name}.log"
        if self.kind == "granian":
            command = granian_command(app, self.port)
        else:
            command = [str(GUNICORN), "-c", str(CONFIG), "--bind", f"127.0.0.1:{self.port}",
                       "--error-logfile", str(self.log), app]  # fmt: skip
        with self.log.open("wb") as log:  # granian logs to its standard output
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, path: str, expect: int = 200) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.kind} stopped (exit {self.process.returncode}); see {self.log}")
            try:
                status, _headers, _body = fetch(self.port, "GET", path, {})
            except OSError:
                time.sleep(0.2)
                continue
            if status == expect:
                return
            sys.exit(f"{self.kind} answers {status} for {path}; see {self.log}")
        self.stop()
        sys.exit(f"{self.kind} did not start within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master: it stops its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its workers too
                self.process.wait()


def fetch(port: int, method: str, path: str, headers: dict[str, str],
          body: str | None = None) -> tuple[int, dict[str, str], str]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        conn.close()


def check(scenario: Scenario, port: int, entries: list[dict[str, Any]], sample: int) -> list[int]:
    """A sample of the scenario's requests, each once, must get the expected status (a
    page, not a redirect to sign in): wrk counts any 2xx or 3xx as a success. Returns the
    size of each answer's body in bytes."""
    sizes = []
    for entry in entries[:sample]:
        body = entry.get("body") or (entry.get("bodies") or [None])[0]
        status, headers, text = fetch(port, entry["method"], entry["path"], entry["headers"], body)
        location = headers.get("location", "")
        if status != scenario.expect or "/sign-in" in location:
            sys.exit(
                f"{scenario.label}: {entry['method']} {entry['path']} answered {status} "
                f"{location} (expected {scenario.expect})\n{text[:500]}"
            )
        if scenario.expect == 302 and "#purpose-" not in location:
            sys.exit(f"{scenario.label}: the POST was not recorded (redirect to {location})")
        sizes.append(len(text.encode("utf-8")))
    return sizes


# --- wrk -----------------------------------------------------------------------------------


def wrk(scenario: Scenario, port: int, data: Path, seconds: int) -> dict[str, Any]:
    command = [
        "wrk", f"-t{ARGS.threads}", f"-c{ARGS.connections}", f"-d{seconds}s", "--latency",
        "-s", str(WRK / f"{scenario.script}.lua"), f"http://127.0.0.1:{port}",
        "--", str(data), str(ARGS.threads),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    match = re.search(r"^BENCH (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        sys.exit(f"wrk failed for {scenario.label}:\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(match.group(1))
    seconds_run = figures["duration_us"] / 1e6
    figures["rps"] = figures["requests"] / seconds_run if seconds_run else 0.0
    figures["socket_errors"] = sum(figures[k] for k in ("connect", "read", "write", "timeout"))
    figures["errors"] = figures["socket_errors"] + figures["status"]
    figures["wrk_output"] = done.stdout
    return figures


# A client backend's command line: "postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE".
BACKEND = re.compile(r"postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")


def works_for(pid: int, database: str) -> bool:
    """Whether a PostgreSQL process works for the bench's database: a client backend of it,
    or a process that serves every database (the WAL writer, the checkpointer...); not a
    backend of another database (other work on a shared machine)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:  # gone meanwhile
        return False
    match = BACKEND.match(cmdline.decode("utf-8", "replace"))
    return match is None or match.group(1) == database


def cpu_seconds(master: int, database: str) -> tuple[float, dict[int, float]]:
    """CPU time (user + system) used so far by the app server (its master process and every
    process under it: gunicorn's or granian's workers, and those they have reaped), and by
    each PostgreSQL process working for `database`, by pid (`run` adds up the differences of
    the processes it sees both times: a backend of other work that exits meanwhile must not
    make the sum smaller): the cost of the requests whatever else the machine is doing,
    unlike requests/s."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[int, int] = {}  # pid: CPU of the process and of the children it has reaped
    parent: dict[int, int] = {}
    db: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry)
        parent[pid] = int(fields[1])
        # utime and stime; cutime and cstime: a child's, and its own children's, once reaped.
        used[pid] = sum(int(f) for f in fields[11:15])
        if name == "postgres" and works_for(pid, database):
            db[pid] = (int(fields[11]) + int(fields[12])) / tick
    app = 0
    for pid, cpu in used.items():
        ancestor = pid
        while ancestor > 1 and ancestor != master:
            ancestor = parent.get(ancestor, 0)
        if ancestor == master:
            app += cpu
    return app / tick, db


def run(scenario: Scenario, server: Server, url: str, answers: list[Answer]) -> None:
    port = server.port

    def data() -> Path:
        entries = consent_entries(url, answers) if scenario.key == "consent" else scenario.entries
        return write_data(scenario.key, entries)

    print(f"  {scenario.label}: warm-up {ARGS.warmup} s, then {ARGS.duration} s ...", flush=True)
    quiet_database(url)
    posts = scenario.key == "consent"
    if ARGS.warmup:
        wrk(scenario, port, data(), ARGS.warmup)
    # For the POST: from the answers as they stand after the warm-up, once the POSTs still in
    # flight when wrk stopped have been recorded.
    before = settled(url) if posts else 0
    database = make_url(url).database or ""
    app_before, db_before = cpu_seconds(server.process.pid, database)
    result = wrk(scenario, port, data(), ARGS.duration)
    app_after, db_after = cpu_seconds(server.process.pid, database)
    requests = max(result["requests"], 1)
    result["cpu_ms_app"] = (app_after - app_before) * 1000 / requests
    db_used = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
    result["cpu_ms_db"] = db_used * 1000 / requests
    if posts:
        # Each POST answered with a redirect must have appended an event (the portal records
        # nothing for a repeated answer); POSTs in flight when wrk stopped may add a few more.
        appended = settled(url) - before
        result["ledger_appends"] = appended
        answered = result["requests"] - result["status"]
        if appended < answered:
            result["errors"] += answered - appended
            print(f"    only {appended} appends for {answered} POSTs: the difference counts "
                  "as errors")  # fmt: skip
    scenario.result = result


# --- the report ----------------------------------------------------------------------------


def ms(us: float) -> float:
    return us / 1000.0


def ratios(s: Scenario, ceiling: float, reference: float) -> tuple[float, float | None]:
    """A scenario's requests/s as a fraction of hello's, and of the reference page's (none
    for hello and the reference page itself)."""
    rps = s.result["rps"]
    of_hello = rps / ceiling if ceiling else 0.0
    if s.key in ("hello", "reference"):
        return of_hello, None
    return of_hello, rps / reference if reference else 0.0


def share(name: str, value: float, wanted: float | None) -> dict[str, Any]:
    """A figure that is a ratio of requests/s, with its target (at least `wanted`) if any."""
    return {
        "name": name,
        "value": round(value, 3),
        "unit": "ratio",
        "target": f">= {wanted:.2f}" if wanted is not None else None,
        "ok": value >= wanted if wanted is not None else None,
    }


def figures(ceiling: float, reference: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in SCENARIOS:
        r = s.result
        if not r:
            continue
        ratio, of_reference = ratios(s, ceiling, reference)
        out.append({"name": f"{s.label}: requests/s", "value": round(r["rps"], 1),
                    "unit": "req/s", "target": None, "ok": None})  # fmt: skip
        if s.key != "hello":
            out.append(
                share(f"{s.label}: share of the hello ceiling's requests/s", ratio, s.target.ratio)
            )
        if of_reference is not None:
            out.append(
                share(f"{s.label}: req/s ÷ reference page", of_reference, s.target.of_reference)
            )
        for p in ("p50", "p95", "p99"):
            target = s.target.p95_ms if p == "p95" else None
            value = ms(r[p])
            out.append({
                "name": f"{s.label}: latency {p}", "value": round(value, 1), "unit": "ms",
                "target": f"<= {target:g}" if target is not None else None,
                "ok": value <= target if target is not None else None,
            })  # fmt: skip
        out.append({"name": f"{s.label}: errors", "value": r["errors"], "unit": "count",
                    "target": "= 0", "ok": r["errors"] == 0})  # fmt: skip
        for key, whose in (("cpu_ms_app", "app server"), ("cpu_ms_db", "PostgreSQL")):
            out.append({"name": f"{s.label}: CPU per request, {whose}",
                        "value": round(r[key], 2), "unit": "ms",
                        "target": None, "ok": None})  # fmt: skip
    return out


def aimed(value: float | None, target: float | None) -> str:
    """A target beside its figure: "80% ok", "80% NO", or nothing."""
    if value is None or target is None:
        return ""
    return f"{target:.0%} {'ok' if value >= target else 'NO'}"


def table(ceiling: float, reference: float) -> str:
    head = (f"{'scenario':<26} {'req/s':>8} {'of hello':>9} {'target':>7} {'of ref':>7} "
            f"{'target':>7}  {'p50':>7} {'p95':>7} {'target':>7} {'p99':>7}  {'errors':>6}  "
            f"{'CPU ms/req':>10}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for s in SCENARIOS:
        r = s.result
        if not r:
            continue
        ratio, of_reference = ratios(s, ceiling, reference)
        p95_target = ""
        if s.target.p95_ms is not None:
            mark = "ok" if ms(r["p95"]) <= s.target.p95_ms else "NO"
            p95_target = f"{s.target.p95_ms:g} {mark}"
        shown = f"{of_reference:.0%}" if of_reference is not None else ""
        errors = f"{r['errors']}" + (" NO" if r["errors"] else "")
        lines.append(
            f"{s.label:<26} {r['rps']:>8.0f} {ratio:>9.0%} {aimed(ratio, s.target.ratio):>7} "
            f"{shown:>7} {aimed(of_reference, s.target.of_reference):>7}  "
            f"{ms(r['p50']):>5.1f}ms {ms(r['p95']):>5.1f}ms {p95_target:>7} "
            f"{ms(r['p99']):>5.1f}ms  {errors:>6}  {r['cpu_ms_app']:>5.2f}+{r['cpu_ms_db']:.2f}"
        )
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: on Debian or Ubuntu, `apt-get install -y wrk`")
    binary = GRANIAN if ARGS.server == "granian" else GUNICORN
    if not binary.exists():
        how = "make install-test" if ARGS.server == "granian" else "make install"
        sys.exit(f"{ARGS.server} is not installed beside this Python ({binary}): {how}")
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    OUT.mkdir(parents=True, exist_ok=True)
    if ARGS.seed:
        print(f"seeding {url}: {ARGS.schools} schools x {ARGS.pupils} pupils, "
              f"{ARGS.events:,} events ...", flush=True)  # fmt: skip
        seed(url)
    wanted = set(ARGS.only.split(",")) if ARGS.only else {s.key for s in SCENARIOS}
    unknown = wanted - {s.key for s in SCENARIOS}
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    wanted |= {"hello", "reference"}  # the ceiling and the reference page, always

    # The production configuration: a real secret and an https BASE_URL. Plain http from
    # wrk is fine: the `__Host-` cookie is sent as a header, CSRF's strict referrer check
    # applies to https requests only, HSTS is only a header and nothing redirects to https.
    env = dict(os.environ)
    env.update(
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Production needs a mail server; none of the pages measured sends mail at once.
        MAIL_SERVER=os.environ.get("BENCH_MAIL_SERVER", "127.0.0.1"),
        MAIL_PORT=os.environ.get("BENCH_MAIL_PORT", "2525"),
        PORTAL_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        BASE_URL=BASE_URL,
        DATABASE_URL=url,
        TRUSTED_PROXY_HOPS="0",  # wrk connects directly: no proxy in front
    )
    os.environ.update(env)
    rng = random.Random(ARGS.rng_seed)
    data = scale(url)
    config = settings()
    server = {
        "name": ARGS.server,
        "version": server_version(ARGS.server),
        "settings": granian_settings(config) if ARGS.server == "granian" else config,
    }
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, "
          f"PostgreSQL {data['postgresql']} (max_connections {data['max_connections']}), "
          f"load average {load[0]:.2f}")  # fmt: skip
    print(f"data: {data['schools']} schools, {data['pupils']:,} pupils, "
          f"{data['guardians']:,} guardians, {data['consent_events']:,} ledger events")  # fmt: skip
    print(f"server: {server['name']} {server['version']}: {server['settings']}; "
          f"wrk -t{ARGS.threads} -c{ARGS.connections}, warm-up {ARGS.warmup} s, "
          f"{ARGS.duration} s each")  # fmt: skip

    minter = Minter(url)
    requests, answers = build(url, minter, rng)
    staff_count = len(minter.tokens) - len(answers)
    for s in SCENARIOS:
        s.entries = requests[s.key]
    print(f"sessions: {len(answers)} guardians, {staff_count} staff; "
          f"{len(requests['photo_check'])} photo checks, "
          f"{len(requests['pupil_search'])} searches", flush=True)  # fmt: skip

    quiet_database(url, vacuum=True)
    hello_s, reference_s, children_s = SCENARIOS[0], SCENARIOS[1], SCENARIOS[2]
    page_bytes: dict[str, int] = {}
    try:
        # The size of the portal's children page, which the reference page matches.
        portal = Server("app:app", env, "portal-sizes")
        try:
            portal.wait_ready("/sign-in")
            sizes = check(children_s, portal.port, children_s.entries, ARGS.check)
        finally:
            portal.stop()
        page_bytes["children page"] = int(statistics.median(sizes))
        env["REFERENCE_PAGE_BYTES"] = str(page_bytes["children page"])

        hello = Server("bench.hello:app", env, "hello")
        try:
            hello.wait_ready("/")
            check(hello_s, hello.port, hello_s.entries, 1)
            run(hello_s, hello, url, answers)
        finally:
            hello.stop()
        reference = Server("bench.reference:app", env, "reference")
        try:
            reference.wait_ready("/family", 302)  # no cookie: a redirect to sign in
            sizes = check(reference_s, reference.port, reference_s.entries, ARGS.check)
            page_bytes["reference page"] = int(statistics.median(sizes))
            print(f"  page sizes (medians): children page {page_bytes['children page']:,} "
                  f"bytes, reference page {page_bytes['reference page']:,} bytes")  # fmt: skip
            run(reference_s, reference, url, answers)
            check(reference_s, reference.port, reference_s.entries, 3)
        finally:
            reference.stop()
        portal = Server("app:app", env, "portal")
        try:
            portal.wait_ready("/sign-in")
            for s in SCENARIOS[2:]:
                if s.key not in wanted:
                    continue
                if not (answers if s.key == "consent" else s.entries):  # e.g. no class of 30
                    print(f"  {s.label}: skipped, no requests at this scale")
                    continue
                entries = consent_entries(url, answers) if s.key == "consent" else s.entries
                check(s, portal.port, entries, 3 if s.key == "consent" else ARGS.check)
                minter.mark_used()  # no once-a-minute session write inside the scenario
                run(s, portal, url, answers)
                if s.key != "consent":
                    check(s, portal.port, s.entries, 3)  # still signed in after the load
        finally:
            portal.stop()
    finally:
        minter.end_all()

    ceiling, reference_rps = hello_s.result["rps"], reference_s.result["rps"]
    print()
    print(f"server: {server['name']} {server['version']}")
    print(table(ceiling, reference_rps))
    print("\nerrors: socket errors, timeouts (2 s) and non-2xx/3xx answers; for the POST, "
          "also a redirect that appended nothing")  # fmt: skip
    print("of ref: requests/s as a fraction of the reference page's (bench/reference.py: the "
          "session row and at most 5 children in two Core queries, a "
          f"{page_bytes['reference page']:,}-byte page)")  # fmt: skip
    print(f"CPU ms/req: CPU time of the app server ({ARGS.server} and its workers) + of "
          "PostgreSQL, per request: what a request costs whatever else the machine is "
          "doing")  # fmt: skip
    if ARGS.json:
        report = {
            "script": "bench/http_load.py",
            "server": ARGS.server,
            "figures": figures(ceiling, reference_rps),
            "raw": {
                "machine": {"cores": os.cpu_count(), "cpu": cpu_model(),
                            "python": platform.python_version(), "load_average": load},
                "data": data,
                "server": server,
                "gunicorn": config,
                "page_bytes": page_bytes,
                "wrk": {"threads": ARGS.threads, "connections": ARGS.connections,
                        "warmup_s": ARGS.warmup, "duration_s": ARGS.duration},
                "scenarios": {
                    s.key: {k: v for k, v in s.result.items() if k != "wrk_output"}
                    for s in SCENARIOS if s.result
                },
            },
        }  # fmt: skip
        Path(ARGS.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--server", choices=SERVERS, default="gunicorn",
                        help="serves hello, the reference page and the portal")  # fmt: skip
    parser.add_argument("--seed", action="store_true", help="seed the database first (drops it)")
    parser.add_argument("--schools", type=int, default=5, help="with --seed")
    parser.add_argument("--pupils", type=int, default=600, help="with --seed: per school")
    parser.add_argument("--events", type=int, default=50_000, help="with --seed")
    parser.add_argument("--guardians", type=int, default=1000, help="signed-in guardians")
    parser.add_argument("--staff", type=int, default=100, help="signed-in staff (one a school)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds")
    parser.add_argument("--duration", type=int, default=20, help="seconds")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--check", type=int, default=50, help="requests checked before the load")
    parser.add_argument("--only", help="comma-separated scenarios (hello always runs): "
                        + ", ".join(s.key for s in SCENARIOS))  # fmt: skip
    parser.add_argument("--rng-seed", type=int, default=2026)
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
