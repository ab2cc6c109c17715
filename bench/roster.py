"""Roster benchmark: a large school's roster import, over HTTP and from the command line.

Seeds its own schools (each with an admin) and prints, as medians over --runs runs:
- over HTTP (the Flask test client, signed in as the school's admin, as a browser posts):
  the preview and the import of a --rows file (5,000 rows by default, 1% of them rejected)
  into an empty school, then the preview and the import of the same file with a tenth of
  its pupils changed (a new class) into the school that now holds it; the size of each
  preview page;
- the command line: `flask --app app roster import FILE --school SLUG` of a --cli-rows file
  (50,000 rows by default) into an empty school, then again (every row unchanged), as a
  child process: wall time, and the command's peak resident memory (its own VmHWM, from
  wait4).
Each run imports into a school of its own, whose contacts have addresses of their own, so
every run does the same work.

Targets: the preview and the import of 5,000 rows in a few seconds each (at most 5 s, well
within gunicorn's 30 s worker timeout), a preview page of at most 200 KB, and the 50,000-row
command in tens of seconds (at most 60 s).

Usage:  .venv/bin/python bench/roster.py [--rows 5000] [--cli-rows 50000] [--runs 3]
                                         [--json PATH]
Database: its own, beside the trust's: BENCH_DATABASE_URL's database name (PostgreSQL) with
`_roster` added, dropped and recreated; when BENCH_DATABASE_URL is not set, a temporary SQLite
file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from staff_client import csrf, staff_client  # noqa: E402

from portal import create_app, schools  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402

HEADER = (
    "pupil_id,pupil_forename,pupil_surname,year_group,class,contact_forename,"
    "contact_surname,contact_email,relationship,parental_responsibility"
)
FORENAMES = (
    "Amira", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hari", "Isla", "Jack", "Kai",
    "Lola", "Milo", "Nia", "Omar", "Priya", "Ruby", "Sam", "Tara", "Zoë",
)  # fmt: skip
SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Khan", "Patel", "Wilson", "O'Brien", "Nowak",
    "Evans", "Hussain", "Walker", "Wright", "Murphy", "Ahmed", "Clarke",
)  # fmt: skip
SECRET = "bench-roster-" * 4
PAYLOAD = re.compile(r'name="payload"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="payload"')


def roster_csv(rows: int, domain: str, *, changed: bool = False, bad: float = 0.01) -> str:
    """A roster of `rows` rows: pupils with one or two contacts (about 1.5 rows a pupil), a
    fraction `bad` of the rows rejected (parental_responsibility "maybe"). `changed`: every
    tenth pupil in another class. The same arguments give the same file."""
    rng = random.Random(rows)
    lines = [HEADER]
    pupil = 0
    while len(lines) <= rows:
        pupil += 1
        year = "R123456"[pupil % 7]
        klass = f"{year} {'ABCD'[(pupil // 7) % 4]}"
        if changed and pupil % 10 == 0:
            klass = f"{year} E"
        surname = rng.choice(SURNAMES)
        forename = rng.choice(FORENAMES)
        for c in range(1 if rng.random() < 0.5 else 2):
            if len(lines) > rows:
                break
            answer = "maybe" if rng.random() < bad else "yes"
            lines.append(
                f"M{pupil:06d},{forename},{surname},{year},{klass},{rng.choice(FORENAMES)},"
                f"{surname},carer{c}.m{pupil:06d}@{domain},{'Mother' if c == 0 else 'Father'},"
                f"{answer}"
            )
    return "\n".join(lines) + "\n"


# --- the database ----------------------------------------------------------------------------


def database_url(folder: Path) -> str:
    configured = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if not configured:
        return f"sqlite:///{folder / 'roster.sqlite3'}"
    trust = make_url(normalise_database_url(configured))
    parsed = trust.set(database=f"{trust.database}_roster")
    url = parsed.render_as_string(hide_password=False)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')
    return url


def make_app(url: str, folder: Path) -> Any:
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "MAIL_OUTBOX_DIR": str(folder)}
    )


def new_school(app: Any, slug: str) -> str:
    """A school with an admin; the admin's address."""
    admin = f"admin@{slug}.bench.example.org"
    with app.app_context():
        school = schools.create(slug, name=f"Bench {slug}")
        schools.add_staff(school, admin, role="admin", name="Bench Admin")
        db.session.remove()
    return admin


# --- over HTTP ------------------------------------------------------------------------------


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = call()
    return result, time.perf_counter() - began


def preview(client: Any, text: str) -> tuple[str, float]:
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    token = csrf(client.get("/staff/roster").get_data(as_text=True))
    storage = FileStorage(_bytes(text), filename="roster.csv", content_type="text/csv")
    boundary, body = encode_multipart({"csrf_token": token, "file": storage})
    response, seconds = timed(
        lambda: client.post(
            "/staff/roster/preview", data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200, (response.status_code, page[:2000])
    return page, seconds


def confirm(client: Any, page: str) -> float:
    found = PAYLOAD.search(page)
    assert found, "no payload on the preview page"
    data = {"csrf_token": csrf(page), "payload": found.group(1) or found.group(2)}
    response, seconds = timed(lambda: client.post("/staff/roster/import", data=data))
    assert response.status_code == 200, response.status_code
    assert "Roster imported" in response.get_data(as_text=True)
    return seconds


def _bytes(text: str) -> Any:
    import io

    return io.BytesIO(text.encode("utf-8"))


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> None:
    """Linux: make VmHWM start again from the current RSS (writes "5" to clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def http_runs(app: Any) -> dict[str, list[float]]:
    reset_peak_rss()
    found: dict[str, list[float]] = {
        "preview": [], "import": [], "preview again": [], "import again": [],
        "preview page KB": [], "preview again page KB": [],
    }  # fmt: skip
    for run in range(ARGS.runs):
        slug = f"http-{run}"
        client = staff_client(app, new_school(app, slug))
        domain = f"{slug}.bench.example.org"
        first = roster_csv(ARGS.rows, domain)
        page, seconds = preview(client, first)
        found["preview"].append(seconds)
        found["preview page KB"].append(len(page.encode()) / 1024)
        found["import"].append(confirm(client, page))
        page, seconds = preview(client, roster_csv(ARGS.rows, domain, changed=True))
        found["preview again"].append(seconds)
        found["preview again page KB"].append(len(page.encode()) / 1024)
        found["import again"].append(confirm(client, page))
        print(
            f"  run {run + 1}: preview {found['preview'][-1]:.2f} s "
            f"({found['preview page KB'][-1]:,.0f} KB), import {found['import'][-1]:.2f} s, "
            f"preview again {found['preview again'][-1]:.2f} s, "
            f"import again {found['import again'][-1]:.2f} s",
            flush=True,
        )
    found["peak MiB"] = [peak_rss_kib() / 1024]
    return found


# --- the command line -----------------------------------------------------------------------


def cli_import(url: str, file: Path, slug: str) -> tuple[float, int, str]:
    """(seconds, peak RSS KiB, the summary line) of one `flask roster import`."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "roster", "import", str(file),
         "--school", slug],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"flask roster import failed: {output}")
    summary = next((line for line in output.splitlines() if " rows: " in line), "")
    return seconds, usage.ru_maxrss, summary


def cli_runs(app: Any, url: str, folder: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {"import": [], "import MiB": [], "again": [], "again MiB": []}
    for run in range(ARGS.runs):
        slug = f"cli-{run}"
        new_school(app, slug)
        file = folder / f"{slug}.csv"
        file.write_text(roster_csv(ARGS.cli_rows, f"{slug}.bench.example.org"), encoding="utf-8")
        seconds, peak, summary = cli_import(url, file, slug)
        found["import"].append(seconds)
        found["import MiB"].append(peak / 1024)
        again, again_peak, again_summary = cli_import(url, file, slug)
        found["again"].append(again)
        found["again MiB"].append(again_peak / 1024)
        print(
            f"  run {run + 1}: import {seconds:.1f} s, peak {peak / 1024:.0f} MiB ({summary}); "
            f"again {again:.1f} s, peak {again_peak / 1024:.0f} MiB ({again_summary})",
            flush=True,
        )
    return found


def figure(name: str, value: float, unit: str, most: float | None = None) -> dict[str, Any]:
    """A figure, with its target when it has one (at most `most`)."""
    target = None if most is None else f"<= {most:g}"
    ok = None if most is None else value <= most
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as tmp:
        folder = Path(tmp)
        url = database_url(folder)
        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {url}")
        app = make_app(url, folder)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            db.session.remove()
        print(f"HTTP: {ARGS.rows:,} rows, {ARGS.runs} runs")
        http = http_runs(app)
        print(f"command line: {ARGS.cli_rows:,} rows, {ARGS.runs} runs")
        cli = cli_runs(app, url, folder) if ARGS.cli_rows else {}
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    def median(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    rows, big = f"{ARGS.rows:,} rows", f"{ARGS.cli_rows:,} rows"
    figures = [
        figure(f"roster over HTTP, {rows}: preview", round(median(http["preview"]), 2), "s", 5),
        figure(f"roster over HTTP, {rows}: preview page", round(median(http["preview page KB"])),
               "KB", 200),
        figure(f"roster over HTTP, {rows}: import", round(median(http["import"]), 2), "s", 5),
        figure(f"roster over HTTP, {rows}, a tenth changed: preview",
               round(median(http["preview again"]), 2), "s", 5),
        figure(f"roster over HTTP, {rows}, a tenth changed: import",
               round(median(http["import again"]), 2), "s", 5),
        figure(f"roster over HTTP, {rows}: peak RSS of the process (app and client)",
               round(http["peak MiB"][0]), "MiB"),
    ]  # fmt: skip
    if cli:
        figures += [
            figure(f"flask roster import, {big}", round(median(cli["import"]), 1), "s", 60),
            figure(f"flask roster import, {big}: peak RSS", round(max(cli["import MiB"])), "MiB"),
            figure(f"flask roster import, {big} again (unchanged)", round(median(cli["again"]), 1),
                   "s", 60),
            figure(f"flask roster import, {big} again: peak RSS", round(max(cli["again MiB"])),
                   "MiB"),
        ]  # fmt: skip
    print(f"medians over {ARGS.runs} runs (peak RSS: the largest):")
    for item in figures:
        print(f"  {item['name']}: {item['value']:,} {item['unit']}")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000, help="rows of the HTTP file")
    parser.add_argument("--cli-rows", type=int, default=50_000, help="rows of the CLI file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
