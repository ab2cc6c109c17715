"""Ledger export benchmark: the trust's whole ledger as the staff download it, against
PostgreSQL's own COPY of the same rows, in the same run.

The database is the trust bench/seed.py makes (100 schools, 1,000,000 events, the largest
school 200,000): run it first with the same BENCH_DATABASE_URL, or pass --seed.

- The app: every school's file, downloaded through the real view (`POST
  /staff/ledger/export` with the Flask test client, `buffered=False`, as that school's
  admin), read piece by piece as it streams, in a child process of its own, so that its
  peak memory (ru_maxrss, from wait4) is the exporting process's own. Per run: rows/s
  over all schools, the time to first byte of each file (from the POST to the first
  piece), and the process's peak RSS (and its RSS before the first export, for scale).
- COPY: for each school, the very SELECT the app's export runs
  (`ledger_browser.ledger_copy_statement`: the same columns, filter, order and safe cells),
  as `COPY (...) TO STDOUT WITH (FORMAT csv)` through psycopg, every row read, with the
  same session settings as the app's export: rows/s and time to first row. Also, for
  scale, COPY of the bare event rows (`SELECT * FROM consent_events WHERE school_id = ...
  ORDER BY seq`).
- Before: the old way of making the file (rows by SQLAlchemy, cells by csv.writer:
  `ledger_csv(method="python")`), for the largest school (--no-python skips it).

Runs alternate (app, COPY, app, COPY, ...); medians over --runs. Targets: the app at least
200,000 rows/s and at least 25% of COPY's rate; first byte within 1 s; peak memory at most
150 MB.

Usage:  .venv/bin/python bench/export.py [--runs 3] [--schools N] [--seed] [--no-python]
                                         [--json PATH]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_export)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from staff_client import csrf, staff_client  # noqa: E402

from portal import create_app, csv_files, ledger_browser  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.ledger_browser import EventFilter  # noqa: E402
from portal.models import LedgerHead, School, StaffUser  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_export"
TARGET_ROWS_PER_SECOND = 200_000
TARGET_SHARE_OF_COPY = 0.25
TARGET_FIRST_BYTE = 1.0
TARGET_PEAK_MB = 150


def app_for(url: str) -> Any:
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8, "RATELIMIT_ENABLED": False}
    )


def schools_of(app: Any) -> list[tuple[int, str, int, str]]:
    """(id, slug, head seq, admin email) of each school, by slug; the first --schools."""
    with app.app_context():
        rows = db.session.execute(
            select(School.id, School.slug, LedgerHead.seq)
            .join(LedgerHead, LedgerHead.school_id == School.id)
            .order_by(School.slug)
        ).all()
        found = []
        for school_id, slug, seq in rows[: ARGS.schools or None]:
            admin = db.session.scalars(
                select(StaffUser.email)
                .where(StaffUser.school_id == school_id, StaffUser.role == "admin")
                .order_by(StaffUser.id)
            ).first()
            if admin is None:
                raise SystemExit(f"{slug} has no admin: seed the trust with bench/seed.py")
            found.append((school_id, slug, seq, admin))
        db.session.remove()
    return found


# --- the app's export, in a child process ---------------------------------------------------


def signed_in(app: Any, email: str) -> tuple[Any, str]:
    """A test client signed in as this staff user (by the emailed link's POST, then the second
    factor: bench/staff_client.py), and a CSRF token for the ledger page's forms."""
    client = staff_client(app, email)
    return client, csrf(client.get("/staff/ledger").get_data(as_text=True))


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(url: str) -> None:
    """Download every school's file through the view; print the figures as JSON."""
    app = app_for(url)
    schools = schools_of(app)
    clients = [(slug, seq, *signed_in(app, admin)) for _id, slug, seq, admin in schools]
    before = rss_kib("VmRSS")
    results = []
    began = time.perf_counter()
    for slug, seq, client, token in clients:
        at = time.perf_counter()
        response = client.post("/staff/ledger/export", data={"csrf_token": token}, buffered=False)
        assert response.status_code == 200 and response.is_streamed, response.status_code
        first = None
        size = lines = 0
        for piece in response.response:
            if first is None:
                first = time.perf_counter() - at
            size += len(piece)
            lines += piece.count(b"\r\n")
        response.close()
        seconds = time.perf_counter() - at
        results.append({"school": slug, "rows": lines - 1, "expected": seq, "bytes": size,
                        "seconds": seconds, "first_byte": first})  # fmt: skip
    total = time.perf_counter() - began
    print(json.dumps({"schools": results, "seconds": total, "rss_before_kib": before,
                      "hwm_kib": rss_kib("VmHWM")}))  # fmt: skip


def run_app(url: str) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", *(["--schools", str(ARGS.schools)] if ARGS.schools
                                                else [])],
        cwd=ROOT, env={**os.environ, "BENCH_DATABASE_URL": url}, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"the exporting child failed ({status}): {output[-2000:]}")
    figures: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    figures["maxrss_kib"] = usage.ru_maxrss
    for school in figures["schools"]:
        if school["rows"] != school["expected"]:
            raise SystemExit(f"{school['school']}: {school['rows']} rows, {school['expected']} "
                             "events")  # fmt: skip
    return figures


# --- COPY of the same rows --------------------------------------------------------------------


def copy_statements(
    app: Any, schools: list[tuple[int, str, int, str]]
) -> list[tuple[str, str, str]]:
    """Per school: the app's export SELECT as COPY (its parameters bound on the client, as
    the app's export binds them), and COPY of the bare event rows."""
    statements = []
    with app.app_context():
        raw = db.session.connection().connection.driver_connection
        for school_id, slug, seq, _admin in schools:
            statement, params = ledger_browser.ledger_copy_statement(
                school_id, EventFilter(), up_to_seq=seq
            )
            with psycopg.ClientCursor(raw) as cursor:
                bound = cursor.mogrify(statement, params)
                bare = cursor.mogrify(
                    "COPY (SELECT * FROM consent_events WHERE school_id = %s AND seq <= %s"
                    " ORDER BY seq) TO STDOUT WITH (FORMAT csv)",
                    (school_id, seq),
                )
            statements.append((slug, bound, bare))
        db.session.rollback()
        db.session.remove()
    return statements


def connect(url: str) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, dbname=parsed.database, autocommit=True,
    )  # fmt: skip


def run_copy(url: str, statements: list[tuple[str, str, str]], which: int) -> dict[str, Any]:
    """COPY every school's rows (statement `which`: 1 the app's SELECT, 2 the bare rows),
    reading each row; the same session settings as the app's export."""
    results = []
    with connect(url) as conn:
        for name, value in csv_files.STREAM_SETTINGS.items():
            conn.execute(f"SET {name} = {value}")
        began = time.perf_counter()
        for item in statements:
            at = time.perf_counter()
            first = None
            rows = size = 0
            with conn.cursor() as cursor, cursor.copy(item[which]) as copy:
                for data in copy:
                    if first is None:
                        first = time.perf_counter() - at
                    rows += 1
                    size += len(data)
            results.append({"school": item[0], "rows": rows, "bytes": size,
                            "seconds": time.perf_counter() - at, "first_byte": first})  # fmt: skip
        total = time.perf_counter() - began
    return {"schools": results, "seconds": total}


def run_python(app: Any, school: tuple[int, str, int, str]) -> tuple[int, float, float]:
    """The old path (rows by SQLAlchemy, cells by csv.writer) for one school: rows, seconds,
    first byte."""
    school_id, _slug, seq, _admin = school
    with app.app_context():
        began = time.perf_counter()
        first = None
        lines = 0
        pieces = ledger_browser.ledger_csv(school_id, EventFilter(), up_to_seq=seq, method="python")
        for piece in pieces:
            if first is None:
                first = time.perf_counter() - began
            lines += piece.count(b"\r\n")
        seconds = time.perf_counter() - began
        db.session.remove()
    return lines - 1, seconds, first or 0.0


# --- the report -------------------------------------------------------------------------------


def result(name: str, value: Any, unit: str, target: str, ok: bool | None, **raw: Any) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, **raw}


def main() -> None:
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {url}")
    if ARGS.seed:
        subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py")], cwd=ROOT, check=True,
                       env={**os.environ, "BENCH_DATABASE_URL": url})  # fmt: skip
    with connect(url) as conn:
        conn.execute("ANALYZE")
    app = app_for(url)
    schools = schools_of(app)
    total_rows = sum(seq for _id, _slug, seq, _admin in schools)
    largest = max(schools, key=lambda s: s[2])
    print(f"{len(schools)} schools, {total_rows:,} events (largest {largest[1]}: {largest[2]:,})")
    statements = copy_statements(app, schools)
    run_copy(url, statements[:1], 1)  # warm the caches
    app_runs, copy_runs, bare_runs = [], [], []
    for n in range(ARGS.runs):
        app_runs.append(run_app(url))
        copy_runs.append(run_copy(url, statements, 1))
        bare_runs.append(run_copy(url, statements, 2))
        a, c = app_runs[-1], copy_runs[-1]
        print(f"run {n + 1}: app {total_rows / a['seconds']:,.0f} rows/s ({a['seconds']:.2f} s),"
              f" COPY {total_rows / c['seconds']:,.0f} rows/s ({c['seconds']:.2f} s), bare COPY "
              f"{total_rows / bare_runs[-1]['seconds']:,.0f} rows/s; app peak RSS "
              f"{a['maxrss_kib'] * 1024 / 1e6:.0f} MB")  # fmt: skip
    for run in copy_runs:
        got = sum(s["rows"] for s in run["schools"])
        assert got == total_rows, f"COPY read {got} rows, expected {total_rows}"

    app_seconds = statistics.median(r["seconds"] for r in app_runs)
    copy_seconds = statistics.median(r["seconds"] for r in copy_runs)
    bare_seconds = statistics.median(r["seconds"] for r in bare_runs)
    app_rate, copy_rate = total_rows / app_seconds, total_rows / copy_seconds
    bare_rate = total_rows / bare_seconds
    share = app_rate / copy_rate
    first_bytes = [s["first_byte"] for r in app_runs for s in r["schools"]]
    largest_first = statistics.median(
        s["first_byte"] for r in app_runs for s in r["schools"] if s["school"] == largest[1]
    )
    copy_first = max(s["first_byte"] or 0.0 for r in copy_runs for s in r["schools"])
    # MB as in the target: 1,000,000 bytes.
    peak_mb = max(r["maxrss_kib"] for r in app_runs) * 1024 / 1e6
    before_mb = max(r["rss_before_kib"] for r in app_runs) * 1024 / 1e6
    megabytes = sum(s["bytes"] for s in app_runs[-1]["schools"]) / 1_048_576
    largest_rate = statistics.median(
        s["rows"] / s["seconds"]
        for r in app_runs
        for s in r["schools"]
        if s["school"] == largest[1]
    )

    results = [
        result("ledger export: app rows/s", round(app_rate), "rows/s", ">= 200,000",
               app_rate >= TARGET_ROWS_PER_SECOND, rows=total_rows, schools=len(schools),
               seconds=round(app_seconds, 3), megabytes=round(megabytes, 1),
               via="POST /staff/ledger/export, Flask test client, buffered=False",
               runs=[round(r["seconds"], 3) for r in app_runs],
               largest_school_rows_per_s=round(largest_rate)),
        result("ledger export: largest school's file rows/s", round(largest_rate), "rows/s",
               ">= 200,000", largest_rate >= TARGET_ROWS_PER_SECOND, school=largest[1],
               rows=largest[2], first_byte_s=round(largest_first, 4)),
        result("ledger export: COPY rows/s", round(copy_rate), "rows/s", "(reference)", None,
               seconds=round(copy_seconds, 3), runs=[round(r["seconds"], 3) for r in copy_runs],
               what="COPY (the app's export SELECT) TO STDOUT WITH (FORMAT csv)"),
        result("ledger export: app / COPY", round(share, 3), "ratio", ">= 0.25",
               share >= TARGET_SHARE_OF_COPY, bare_copy_rows_per_s=round(bare_rate),
               app_over_bare_copy=round(app_rate / bare_rate, 3)),
        result("ledger export: time to first byte", round(max(first_bytes), 3), "s",
               "<= 1 s", max(first_bytes) <= TARGET_FIRST_BYTE,
               median_s=round(statistics.median(first_bytes), 4),
               largest_school_s=round(largest_first, 4), copy_max_s=round(copy_first, 4)),
        result("ledger export: peak memory", round(peak_mb, 1), "MB", "<= 150 MB",
               peak_mb <= TARGET_PEAK_MB, rss_before_first_export_mb=round(before_mb, 1),
               what="ru_maxrss of the exporting child process"),
    ]  # fmt: skip
    if ARGS.python:
        rows, seconds, first = run_python(app, largest)
        results.append(result(
            "ledger export: old Python path rows/s", round(rows / seconds), "rows/s",
            "(before)", None, school=largest[1], rows=rows, seconds=round(seconds, 3),
            first_byte_s=round(first, 4)))  # fmt: skip
    print()
    print(f"{'measure':<40} {'value':>12} {'unit':<8} {'target':<12} ok")
    for item in results:
        ok = "-" if item["ok"] is None else ("yes" if item["ok"] else "NO")
        print(
            f"{item['name']:<40} {item['value']:>12,} {item['unit']:<8} {item['target']:<12} {ok}"
        )
    print(
        f"bare COPY of the event rows: {bare_rate:,.0f} rows/s (app / bare: "
        f"{app_rate / bare_rate:.2f}); RSS before the first export {before_mb:.0f} MB; "
        f"largest school {largest_rate:,.0f} rows/s, first byte {largest_first * 1000:.0f} ms"
    )
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--schools", type=int, default=0, help="only the first N schools")
    parser.add_argument("--seed", action="store_true", help="run bench/seed.py first")
    parser.add_argument("--no-python", dest="python", action="store_false",
                        help="skip the old Python path")  # fmt: skip
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ARGS = parser.parse_args()
    if ARGS.child:
        child(normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)))
    else:
        main()
