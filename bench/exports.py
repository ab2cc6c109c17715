"""Export benchmark: the streamed ledger CSV of one school's chain on PostgreSQL.

Seeds a chain (200,000 events by default, real hashes, the seeding of bench/ledger.py), then
downloads `POST /staff/ledger/export` through the Flask test client as an admin, reading the
response as it streams, and prints:
- rows/s (median over several runs) and the size of the file;
- peak memory of one export: Python's traced allocations (tracemalloc) and the process's
  resident set (VmHWM, reset just before the export), for the whole chain and for a tenth of
  it, to show that memory does not grow with the number of rows;
- the same for the marketing and suppression lists (small: one row per guardian; the
  seeding adds `--objections` guardians who object to direct marketing).

Usage:  .venv/bin/python bench/exports.py [--events 200000] [--runs 3] [--objections 100]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_exports);
that database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from staff_client import csrf, staff_client  # noqa: E402

from portal import create_app, ledger, schools  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.ledger_browser import LEDGER_HEADER  # noqa: E402
from portal.models import ConsentEvent, GuardianLink, Purpose  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_exports"
ADMIN = "bench-admin@bench.example.org"


def bench_ledger() -> Any:
    """bench/ledger.py, for its seeding (one chain with real hashes, by COPY)."""
    spec = importlib.util.spec_from_file_location("bench_ledger", ROOT / "bench" / "ledger.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signed_in_client(app: Any) -> tuple[Any, str]:
    """A test client signed in as the bench school's admin (bench/staff_client.py), and its
    CSRF token."""
    client = staff_client(app, ADMIN)
    return client, csrf(client.get("/staff/ledger").get_data(as_text=True))


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Linux: make VmHWM start again from the current RSS (writes "5" to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def download(client: Any, path: str, data: dict[str, str]) -> tuple[int, int, float]:
    """POST and read the streamed response piece by piece: (rows, bytes, seconds)."""
    began = time.perf_counter()
    response = client.post(path, data=data)
    assert response.status_code == 200, (path, response.status_code)
    assert response.is_streamed and response.mimetype == "text/csv"
    size = lines = 0
    for piece in response.response:
        size += len(piece)
        lines += piece.count(b"\r\n")
    response.close()
    return lines - 1, size, time.perf_counter() - began


def measure_memory(run: Callable[[], tuple[int, int, float]]) -> tuple[int, int, int]:
    """(rows, tracemalloc peak bytes, peak RSS KiB) of one run: traced in one run and the
    RSS high-water mark in another (tracing itself costs memory)."""
    reset_peak_rss()
    rows, _size, _seconds = run()
    rss = peak_rss_kib()
    tracemalloc.start()
    run()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, peak, rss


def check_file(client: Any, token: str) -> None:
    """The first rows of the real file parse with every column."""
    response = client.post("/staff/ledger/export", data={"csrf_token": token})
    first = next(iter(response.response)).decode("utf-8-sig")
    response.close()
    rows = list(csv.reader(io.StringIO(first[: first.rfind("\r\n") + 2], newline="")))
    assert rows[0] == list(LEDGER_HEADER), rows[0]
    assert all(len(row) == len(LEDGER_HEADER) for row in rows), "a row without every column"


def main() -> None:
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {url}")
    seeding = bench_ledger()
    seeding.recreate_database(url)
    school_id, _head = seeding.seed(url, ARGS.events, random.Random(ARGS.seed))

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    with app.app_context():
        school = schools.get_by_slug("bench-school")
        schools.add_staff(school, ADMIN, role="admin", name="Bench Admin")
        # Some objections to direct marketing (the seeding has none), through the real append.
        marketing = db.session.scalars(
            select(Purpose).where(Purpose.school_id == school.id, Purpose.marketing.is_(True))
        ).all()
        guardians = sorted(
            set(db.session.scalars(
                select(GuardianLink.guardian_id).where(GuardianLink.school_id == school.id)
            ))
        )  # fmt: skip
        objectors = random.Random(ARGS.seed).sample(guardians, min(ARGS.objections, len(guardians)))
        for guardian_id in objectors:
            for purpose in marketing:
                ledger.record(
                    actor=ledger.Actor.guardian(guardian_id), guardian=guardian_id,
                    purpose=purpose.id, decision="object", channel="web",
                )  # fmt: skip
        first, last = db.session.execute(
            select(func.min(ConsentEvent.occurred_at), func.max(ConsentEvent.occurred_at)).where(
                ConsentEvent.school_id == school_id
            )
        ).one()
        db.session.remove()
        db.engine.dispose()
    # Fresh planner statistics for every table, as autovacuum keeps them on a live server
    # (the seeding analyses only the events; without this, the join to pupils is planned
    # for a table of one row).
    raw = make_url(url)
    with psycopg.connect(
        host=raw.host, port=raw.port or 5432, user=raw.username, dbname=raw.database,
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute("ANALYZE")
    client, token = signed_in_client(app)
    check_file(client, token)

    everything = {"csrf_token": token}
    # About a tenth of the chain: the last tenth of its days (the seeding spreads events
    # evenly over 399 days).
    tenth_from = (last - (last - first) / 10 + timedelta(days=1)).date().isoformat()
    tenth = {"csrf_token": token, "date_from": tenth_from}

    download(client, "/staff/ledger/export", everything)  # warm up caches and the pool
    timings = []
    for _ in range(ARGS.runs):
        rows, size, seconds = download(client, "/staff/ledger/export", everything)
        timings.append(seconds)
    median = statistics.median(timings)
    print(
        f"ledger export: {rows:,} rows, {size / 1_048_576:.1f} MiB, median {median:.2f} s over "
        f"{len(timings)} runs = {rows / median:,.0f} rows/s "
        f"(runs: {', '.join(f'{t:.2f}' for t in timings)} s)"
    )

    small_rows, small_peak, small_rss = measure_memory(
        lambda: download(client, "/staff/ledger/export", tenth)
    )
    big_rows, big_peak, big_rss = measure_memory(
        lambda: download(client, "/staff/ledger/export", everything)
    )
    print(
        f"ledger export peak traced memory (tracemalloc): {big_peak / 1_048_576:.1f} MiB for "
        f"{big_rows:,} rows, {small_peak / 1_048_576:.1f} MiB for {small_rows:,} rows "
        f"(ratio {big_peak / small_peak:.2f}; flat memory gives ~1)"
    )
    print(
        f"ledger export peak RSS of the process (VmHWM): {big_rss / 1024:.0f} MiB for "
        f"{big_rows:,} rows, {small_rss / 1024:.0f} MiB for {small_rows:,} rows"
    )

    for name, path in (
        ("marketing list", "/staff/exports/marketing-list"),
        ("suppression list", "/staff/exports/suppression-list"),
    ):
        rows, peak, rss = measure_memory(
            lambda path=path: download(client, path, {"csrf_token": token, "purpose": "any"})
        )
        _rows, _size, seconds = download(client, path, {"csrf_token": token, "purpose": "any"})
        print(
            f"{name}: {rows:,} rows in {seconds * 1000:.0f} ms, peak traced memory "
            f"{peak / 1_048_576:.1f} MiB, peak RSS {rss / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--objections", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    ARGS = parser.parse_args()
    main()
