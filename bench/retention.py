"""Retention benchmark: the retention run (`flask retention run`) over a trust of 100 schools.

Seeds its own trust with bench/seed.py's helpers (100 schools x 600 pupils, about 1.5
guardians with parental responsibility per pupil, 200,000 decisions without notes in format
1), then adds to every school decisions with notes in format 2 (staff taking down paper
forms) and marks pupils as having left: 8% of each school's pupils a year ago last July (past
the default period of 12 months on the run's day, 7 September, so erased) and 8% this July
(within it, so kept): the year 6 that left last year and the one that left this summer. The
seeded database is the template of a fresh copy for each run, so every run erases the same
rows.

Each run times the retention run one school at a time (`retention.run(now,
school_slug=...)`, each its own transaction, as the whole run does), then checks that the
ledger still verifies and that a second run erases nothing. Printed: per school ms (median,
95th percentile, slowest), the whole trust's seconds, rows erased per second, and the
counts; the median over the runs.

Targets: the median school in at most 500 ms, so that the daily job over a trust of 100
schools is done in about a minute.

Usage:  .venv/bin/python bench/retention.py [--runs 3] [--schools 100] [--pupils 600]
                                             [--events 200000] [--json PATH]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench);
the script makes and drops databases of its own named after it (`<name>_retention`,
`<name>_retention_run`), and never touches the database itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import seed  # noqa: E402

from portal import create_app, ledger, retention  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.ledger import tree  # noqa: E402
from portal.ledger.encoding import new_salt, note_commitment  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench"
TARGET_MEDIAN_MS = 500
LEFT_LONG_AGO = 0.08  # of each school's pupils: left last year
LEFT_RECENTLY = 0.08  # left this summer
NOTED_PER_SCHOOL = 300  # format-2 decisions with a note, per school
NOW = datetime(2026, 9, 7, 5, 0, tzinfo=UTC)
NOTES = ("Paper form handed in at the office", "Phoned: said yes for the trip",
         "Form returned in book bag", "Told the class teacher at pick-up")  # fmt: skip


def named(url: str, suffix: str) -> str:
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}{suffix}").render_as_string(hide_password=False)


def noted_events(conn: Any, school_ids: list[int], rng: random.Random) -> int:
    """Append, to every school's chain, format-2 decisions with notes taken down by staff."""
    written = 0
    for school_id in school_ids:
        seq, prev, edge = conn.execute(
            "SELECT seq, hash, tree FROM ledger_heads WHERE school_id = %s", (school_id,)
        ).fetchone()
        grown = tree.Growing.from_stored(seq, bytes(edge or b""))
        staff_id = conn.execute(
            "SELECT id FROM staff_users WHERE school_id = %s AND role = 'staff'", (school_id,)
        ).fetchone()[0]
        pairs = conn.execute(
            "SELECT guardian_id, pupil_id FROM guardian_links WHERE school_id = %s", (school_id,)
        ).fetchall()
        purposes = [row[0] for row in conn.execute(
            "SELECT id FROM purposes WHERE school_id = %s AND choice = 'consent'"
            " AND scope = 'pupil'", (school_id,)).fetchall()]  # fmt: skip
        occurred = datetime.now(UTC) - timedelta(days=1)
        rows = []
        for _ in range(NOTED_PER_SCHOOL):
            seq += 1
            occurred += timedelta(seconds=1)
            guardian_id, pupil_id = rng.choice(pairs)
            purpose_id, note, salt = rng.choice(purposes), rng.choice(NOTES), new_salt()
            commitment = note_commitment(salt, note)
            body = ledger.canonical(
                school_id=school_id, seq=seq, occurred_at=occurred, actor_type="staff",
                actor_id=staff_id, guardian_id=guardian_id, pupil_id=pupil_id,
                purpose_id=purpose_id, purpose_version=1, notice_version=1, decision="grant",
                channel="paper", note=note, format=2, note_commitment=commitment,
            )  # fmt: skip
            digest = ledger.chain_hash(prev, body)
            grown.append(tree.leaf_of(body))
            rows.append((school_id, seq, occurred.isoformat(), "staff", staff_id, guardian_id,
                         pupil_id, purpose_id, 1, 1, "grant", "paper", note, prev, digest, 2,
                         salt, commitment))  # fmt: skip
            prev = digest
        written += seed.copy_rows(
            conn,
            "consent_events",
            seed.EVENT_COLUMNS + ", format, note_salt, note_commitment",
            rows,
        )
        seed.copy_tree(conn, school_id, grown)
        conn.execute(
            "UPDATE ledger_heads SET seq = %s, hash = %s, tree = %s WHERE school_id = %s",
            (seq, prev, grown.stored(), school_id),
        )
    return written


def make_template(url: str) -> dict[str, int]:
    """Seed the trust into `url`, add the noted decisions and the leavers."""
    rng = random.Random(ARGS.seed)
    began = time.perf_counter()
    seed.recreate_database(url)
    made = seed.make_schools(url, ARGS.schools)
    with seed.connect(url) as conn:
        pairs = seed.people(conn, made, ARGS.pupils, rng)
        largest = ARGS.events // ARGS.schools
        seed.events(conn, made, pairs, seed.event_counts(made, ARGS.events, largest), rng)
        noted = noted_events(conn, [s.id for s in made], rng)
        long_ago, recently = date(NOW.year - 1, 7, 22), date(NOW.year, 7, 22)
        for school in made:
            ids = [row[0] for row in conn.execute(
                "SELECT id FROM pupils WHERE school_id = %s ORDER BY id", (school.id,)
            ).fetchall()]  # fmt: skip
            rng.shuffle(ids)
            cut = round(len(ids) * LEFT_LONG_AGO)
            cut_2 = cut + round(len(ids) * LEFT_RECENTLY)
            for chosen, day in ((ids[:cut], long_ago), (ids[cut:cut_2], recently)):
                conn.execute(
                    "UPDATE pupils SET on_roll = false, left_on = %s WHERE id = ANY(%s)",
                    (day, chosen),
                )
        conn.commit()
        left = conn.execute("SELECT count(*) FROM pupils WHERE NOT on_roll").fetchone()[0]
    # The projection of current decisions, with the noted decisions replayed into it.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    with app.app_context():
        ledger.rebuild_projection()
        if not ledger.verify().ok:
            raise SystemExit("the seeded ledger does not verify")
        db.session.remove()
        db.engine.dispose()
    with seed.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    print(f"  seeded in {time.perf_counter() - began:.1f} s: {noted:,} noted decisions,"
          f" {left:,} pupils left")  # fmt: skip
    return {"noted_events": noted, "pupils_left": left}


def copy_of(template: str, target: str) -> None:
    parsed, name = make_url(template), make_url(target).database
    with seed.connect(str(parsed.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')


def drop(url: str) -> None:
    parsed = make_url(url)
    with seed.connect(str(parsed.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def one_run(url: str) -> dict[str, Any]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    with app.app_context():
        from sqlalchemy import select

        from portal.models import School

        slugs = list(db.session.scalars(select(School.slug).order_by(School.id)))
        db.session.rollback()
        per_school, rows = [], 0
        counts: dict[str, int] = {}
        kinds = ("pupils", "contacts", "guardians", "event_notes", "task_notes", "requests")
        for slug in slugs:
            began = time.perf_counter()
            report = retention.run(NOW, school_slug=slug)
            per_school.append((time.perf_counter() - began) * 1000)
            (school,) = report.schools
            if school.error:
                raise SystemExit(f"{slug}: {school.error}")
            rows += school.erased
            for kind in kinds:
                counts[kind] = counts.get(kind, 0) + getattr(school, kind)
        verified = ledger.verify()
        again = retention.run(NOW)
        db.session.remove()
        db.engine.dispose()
    if not verified.ok:
        raise SystemExit("the ledger does not verify after the retention run")
    if again.erased:
        raise SystemExit(f"a second run erased {again.erased} more rows")
    return {"per_school_ms": per_school, "rows": rows, "counts": counts}


def result(name: str, value: Any, unit: str, target: str, ok: bool | None, **raw: Any) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, **raw}


def main() -> None:
    base = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    template, target = named(base, "_retention"), named(base, "_retention_run")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {template}")
    print(f"seeding {ARGS.schools} schools x {ARGS.pupils} pupils, {ARGS.events:,} events")
    seeded = make_template(template)
    runs = []
    try:
        for n in range(ARGS.runs):
            copy_of(template, target)
            run = one_run(target)
            runs.append(run)
            times = sorted(run["per_school_ms"])
            total = sum(times) / 1000
            print(f"run {n + 1}: {total:.2f} s for {len(times)} schools, median school"
                  f" {statistics.median(times):.0f} ms, slowest {times[-1]:.0f} ms;"
                  f" {run['rows']:,} rows erased, {run['rows'] / total:,.0f} rows/s;"
                  f" {run['counts']}")  # fmt: skip
    finally:
        drop(target)
        if not ARGS.keep:
            drop(template)
    medians = [statistics.median(r["per_school_ms"]) for r in runs]
    p95s = [sorted(r["per_school_ms"])[int(0.95 * (len(r["per_school_ms"]) - 1))] for r in runs]
    totals = [sum(r["per_school_ms"]) / 1000 for r in runs]
    median_ms, total_s = statistics.median(medians), statistics.median(totals)
    rows = runs[0]["rows"]
    results = [
        result("retention: median school", round(median_ms, 1), "ms", f"<= {TARGET_MEDIAN_MS} ms",
               median_ms <= TARGET_MEDIAN_MS, runs=[round(m, 1) for m in medians],
               schools=ARGS.schools, pupils_per_school=ARGS.pupils),
        result("retention: 95th percentile school", round(statistics.median(p95s), 1), "ms",
               "(reference)", None, runs=[round(m, 1) for m in p95s]),
        result("retention: whole trust", round(total_s, 2), "s", "(reference)", None,
               runs=[round(t, 2) for t in totals]),
        result("retention: rows erased per second", round(rows / total_s), "rows/s",
               "(reference)", None, rows=rows, counts=runs[0]["counts"], **seeded),
    ]  # fmt: skip
    print()
    print(f"{'measure':<40} {'value':>10} {'unit':<8} {'target':<12} ok")
    for item in results:
        ok = "-" if item["ok"] is None else ("yes" if item["ok"] else "NO")
        print(
            f"{item['name']:<40} {item['value']:>10,} {item['unit']:<8} {item['target']:<12} {ok}"
        )
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--pupils", type=int, default=600)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the seeded template database")
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
