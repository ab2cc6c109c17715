"""HTTP benchmark: the portal in its production configuration, loaded by wrk.

gunicorn with the documented settings (gunicorn.conf.py), PORTAL_ENV=production and
PostgreSQL, on 127.0.0.1, loaded from the same machine by wrk (`-t2 -c50 --latency`, a
warm-up, then the measured run) for each of:
- hello: a bare Flask app (bench/hello.py) under the very same gunicorn settings: the ceiling;
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
view sets, with a CSRF token of that session for the POST. Before and after the load a
sample of the requests is sent once and must get the page (200), or for the POST the
redirect back to the child's page (302): wrk counts any 2xx or 3xx as a success, and a
redirect to the sign-in page must not pass for a page.

For each: requests/s, latency p50/p95/p99 (microsecond figures from wrk's own histogram, via
the scripts' done()), errors (socket errors, timeouts of 2 s and non-2xx/3xx answers) and its
requests/s as a fraction of the ceiling's, beside the targets; and the CPU time each request
cost the app server (gunicorn's master and workers) and PostgreSQL, read from /proc before
and after the measured run: on a shared machine the steadier figure to compare changes by.
A missed target is reported, not a failure (exit status 0).

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
                                            [--warmup 5] [--duration 20] [--json PATH]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench),
seeded by bench/seed.py; `--seed` seeds it first (dropping it) at a small scale for
development. The sessions it opens are ended when it finishes. Needs wrk (Debian:
`apt-get install -y wrk`). WEB_CONCURRENCY and GUNICORN_THREADS override the workers and
threads, to compare settings.
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
import subprocess
import sys
import time
from dataclasses import dataclass, field
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
CONFIG = ROOT / "gunicorn.conf.py"


@dataclass(frozen=True)
class Target:
    ratio: float | None = None  # of the ceiling's requests/s, at least
    p95_ms: float | None = None  # at most


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
    Scenario("children", "children page", "pages", 200, Target(0.40, 50)),
    Scenario("child", "child page", "pages", 200, Target(0.40, 50)),
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
    (Flask-Login's `login_user`), with a CSRF token of that session."""

    def __init__(self, url: str) -> None:
        from portal import create_app

        self.app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        self.tokens: list[str] = []

    def sign_in(self, kind: str, principal_id: int) -> Signed:
        from flask import g, session
        from flask_login import login_user
        from flask_wtf.csrf import generate_csrf

        from portal import signin
        from portal.models import PrincipalType

        app = self.app
        with app.test_request_context("/", base_url=BASE_URL):
            principal = signin.Principal(PrincipalType(kind), principal_id, "bench")
            token = signin.start_session(principal)
            user = signin.load_session(token)
            assert user is not None, (kind, principal_id)
            login_user(user)
            # The token is cached on `g`, which belongs to the app context this request
            # context shares with the caller's: make a new one for this session.
            g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
            csrf = generate_csrf()
            value = app.session_interface.get_signing_serializer(app).dumps(dict(session))  # type: ignore[attr-defined]
        self.tokens.append(token)
        return Signed(f"{app.config['SESSION_COOKIE_NAME']}={value}", csrf)

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


# --- gunicorn ------------------------------------------------------------------------------


def settings() -> dict[str, Any]:
    """The settings gunicorn.conf.py gives in this environment."""
    found = runpy.run_path(str(CONFIG))
    chosen = {
        name: found[name]
        for name in ("worker_class", "workers", "threads", "keepalive", "timeout")
        if name in found
    }
    if os.environ.get("GUNICORN_CMD_ARGS"):  # gunicorn applies these over the file
        chosen["GUNICORN_CMD_ARGS"] = os.environ["GUNICORN_CMD_ARGS"]
    return chosen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """gunicorn with gunicorn.conf.py on 127.0.0.1, serving `app` (the portal or hello)."""

    def __init__(self, app: str, env: dict[str, str], name: str) -> None:
        self.port = free_port()
        self.log = OUT / f"gunicorn-{name}.log"
        command = [str(GUNICORN), "-c", str(CONFIG), "--bind", f"127.0.0.1:{self.port}",
                   "--error-logfile", str(self.log)]  # fmt: skip
        command.append(app)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn stopped (exit {self.process.returncode}); see {self.log}")
            try:
                status, _headers, _body = fetch(self.port, "GET", path, {})
            except OSError:
                time.sleep(0.2)
                continue
            if status == 200:
                return
            sys.exit(f"gunicorn answers {status} for {path}; see {self.log}")
        self.stop()
        sys.exit(f"gunicorn did not start within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master: it stops its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
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


def check(scenario: Scenario, port: int, entries: list[dict[str, Any]], sample: int) -> None:
    """A sample of the scenario's requests, each once, must get the expected status (a
    page, not a redirect to sign in): wrk counts any 2xx or 3xx as a success."""
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


def cpu_seconds(master: int) -> tuple[float, float]:
    """CPU time (user + system) used so far by the app server (gunicorn's master, its live
    workers and the workers it has reaped) and by every PostgreSQL process: the cost of the
    requests whatever else the machine is doing, unlike requests/s."""
    tick = os.sysconf("SC_CLK_TCK")
    app = db = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = int(fields[11]) + int(fields[12])  # utime, stime
        if int(entry) == master:
            app += used + int(fields[13]) + int(fields[14])  # and its reaped children's
        elif int(fields[1]) == master:  # ppid: a worker
            app += used
        elif name == "postgres":
            db += used
    return app / tick, db / tick


def run(scenario: Scenario, server: Server, url: str, answers: list[Answer]) -> None:
    port = server.port

    def data() -> Path:
        entries = consent_entries(url, answers) if scenario.key == "consent" else scenario.entries
        return write_data(scenario.key, entries)

    print(f"  {scenario.label}: warm-up {ARGS.warmup} s, then {ARGS.duration} s ...", flush=True)
    posts = scenario.key == "consent"
    if ARGS.warmup:
        wrk(scenario, port, data(), ARGS.warmup)
    # For the POST: from the answers as they stand after the warm-up, once the POSTs still in
    # flight when wrk stopped have been recorded.
    before = settled(url) if posts else 0
    app_before, db_before = cpu_seconds(server.process.pid)
    result = wrk(scenario, port, data(), ARGS.duration)
    app_after, db_after = cpu_seconds(server.process.pid)
    requests = max(result["requests"], 1)
    result["cpu_ms_app"] = (app_after - app_before) * 1000 / requests
    result["cpu_ms_db"] = (db_after - db_before) * 1000 / requests
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


def figures(ceiling: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in SCENARIOS:
        r = s.result
        if not r:
            continue
        ratio = r["rps"] / ceiling if ceiling else 0.0
        out.append({"name": f"{s.label}: requests/s", "value": round(r["rps"], 1),
                    "unit": "req/s", "target": None, "ok": None})  # fmt: skip
        if s.key != "hello":
            wanted = s.target.ratio
            out.append({
                "name": f"{s.label}: share of the hello ceiling's requests/s",
                "value": round(ratio, 3), "unit": "ratio",
                "target": f">= {wanted:.2f}" if wanted is not None else None,
                "ok": ratio >= wanted if wanted is not None else None,
            })  # fmt: skip
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


def table(ceiling: float) -> str:
    head = (f"{'scenario':<26} {'req/s':>8} {'of hello':>9} {'target':>7}  {'p50':>7} "
            f"{'p95':>7} {'target':>7} {'p99':>7}  {'errors':>6}  {'CPU ms/req':>10}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for s in SCENARIOS:
        r = s.result
        if not r:
            continue
        ratio = r["rps"] / ceiling if ceiling else 0.0
        ratio_target = p95_target = ""
        if s.target.ratio is not None:
            mark = "ok" if ratio >= s.target.ratio else "NO"
            ratio_target = f"{s.target.ratio:.0%} {mark}"
        if s.target.p95_ms is not None:
            mark = "ok" if ms(r["p95"]) <= s.target.p95_ms else "NO"
            p95_target = f"{s.target.p95_ms:g} {mark}"
        errors = f"{r['errors']}" + (" NO" if r["errors"] else "")
        lines.append(
            f"{s.label:<26} {r['rps']:>8.0f} {ratio:>9.0%} {ratio_target:>7}  "
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
    if not GUNICORN.exists():
        sys.exit(f"gunicorn is not installed beside this Python ({GUNICORN}): make install")
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
    wanted.add("hello")  # the ceiling, always

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
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, "
          f"PostgreSQL {data['postgresql']} (max_connections {data['max_connections']}), "
          f"load average {load[0]:.2f}")  # fmt: skip
    print(f"data: {data['schools']} schools, {data['pupils']:,} pupils, "
          f"{data['guardians']:,} guardians, {data['consent_events']:,} ledger events")  # fmt: skip
    print(f"gunicorn: {config}; wrk -t{ARGS.threads} -c{ARGS.connections}, warm-up "
          f"{ARGS.warmup} s, {ARGS.duration} s each")  # fmt: skip

    minter = Minter(url)
    requests, answers = build(url, minter, rng)
    staff_count = len(minter.tokens) - len(answers)
    for s in SCENARIOS:
        s.entries = requests[s.key]
    print(f"sessions: {len(answers)} guardians, {staff_count} staff; "
          f"{len(requests['photo_check'])} photo checks, "
          f"{len(requests['pupil_search'])} searches", flush=True)  # fmt: skip

    try:
        hello = Server("bench.hello:app", env, "hello")
        try:
            hello.wait_ready("/")
            check(SCENARIOS[0], hello.port, SCENARIOS[0].entries, 1)
            run(SCENARIOS[0], hello, url, answers)
        finally:
            hello.stop()
        portal = Server("app:app", env, "portal")
        try:
            portal.wait_ready("/sign-in")
            for s in SCENARIOS[1:]:
                if s.key not in wanted:
                    continue
                entries = consent_entries(url, answers) if s.key == "consent" else s.entries
                check(s, portal.port, entries, 3 if s.key == "consent" else ARGS.check)
                run(s, portal, url, answers)
                if s.key != "consent":
                    check(s, portal.port, s.entries, 3)  # still signed in after the load
        finally:
            portal.stop()
    finally:
        minter.end_all()

    ceiling = SCENARIOS[0].result["rps"]
    print()
    print(table(ceiling))
    print("\nerrors: socket errors, timeouts (2 s) and non-2xx/3xx answers; for the POST, "
          "also a redirect that appended nothing")  # fmt: skip
    print("CPU ms/req: CPU time of the app server (gunicorn and its workers) + of PostgreSQL, "
          "per request: what a request costs whatever else the machine is doing")  # fmt: skip
    if ARGS.json:
        report = {
            "script": "bench/http_load.py",
            "figures": figures(ceiling),
            "raw": {
                "machine": {"cores": os.cpu_count(), "cpu": cpu_model(),
                            "python": platform.python_version(), "load_average": load},
                "data": data,
                "gunicorn": config,
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
