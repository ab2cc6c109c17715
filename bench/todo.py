"""Things-to-do benchmark: the staff home page of a trust of 100 schools, with the work the
portal's promises make for each school's office.

On the trust bench/seed.py seeded (BENCH_DATABASE_URL; 100 schools by default), adds to
each school what an office has waiting on a busy day: open take-downs (some overdue) and
some done, leaving tasks, rights requests (one overdue, one paused) and some closed. The
seeded ledger already holds objections that nobody has answered (a share of the objection
purposes' decisions), which the queue lists as objections to review. Then, in process (the
Flask test client, signed in as each role, as a browser is), for --sample schools, prints
medians over --runs requests after a warm-up:
- the staff home page (Things to do, then the dashboard) for an admin and for staff;
- its parts, called directly: `todo.items` (the queue: every source) and
  `dashboard.summary` (the dashboard as it was before the queue), and the queue's share of
  the page;
- the objections page of the same school.
Times are wall and CPU of this process (PostgreSQL's own work is in the wall time only).

Usage:  BENCH_DATABASE_URL=... .venv/bin/python bench/todo.py [--sample 10] [--runs 15]
                                                               [--json PATH]
Seed first:  .venv/bin/python bench/seed.py --schools 100 (the Makefile's `bench` does both).
The rows this adds are removed again by the next run (marked by their text), so it can be
run again on the same trust.
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from staff_client import staff_client  # noqa: E402

from portal import create_app, daily, dashboard, todo  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import (  # noqa: E402
    GuardianLink,
    Purpose,
    RightsRequest,
    School,
    StaffUser,
    TakedownTask,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench"
MARK = "bench-todo"  # in the rows this script adds, so that the next run removes them
# Wall-time targets (ms): the home page well within a second on a busy day, the queue a small
# part of it.
TARGETS = {"home page, admin": 500, "home page, staff": 500, "todo.items (the queue)": 100}
FIRST_SEQ = 10_000_000  # the take-downs it adds name seqs from here, far beyond any real one


def add_work(rng: random.Random, now: datetime) -> dict[str, int]:
    """Each school's open and done tasks and rights requests (what an office has waiting)."""
    today = daily.today(now)
    counts = {"takedowns": 0, "leaving": 0, "requests": 0}
    db.session.execute(delete(TakedownTask).where(TakedownTask.event_seq >= FIRST_SEQ))
    db.session.execute(
        delete(TakedownTask).where(TakedownTask.kind == "leaving", TakedownTask.event_seq.is_(None))
    )
    db.session.execute(delete(RightsRequest).where(RightsRequest.details == MARK))
    db.session.commit()
    for school in db.session.scalars(select(School).order_by(School.id)):
        pupils = db.session.scalars(
            select(GuardianLink.pupil_id).where(GuardianLink.school_id == school.id).limit(50)
        ).all()
        guardians = db.session.scalars(
            select(GuardianLink.guardian_id).where(GuardianLink.school_id == school.id).limit(20)
        ).all()
        purposes = db.session.scalars(
            select(Purpose.id).where(Purpose.school_id == school.id)
        ).all()
        if not pupils or not purposes:
            continue
        admin = db.session.scalar(
            select(StaffUser.id).where(StaffUser.school_id == school.id, StaffUser.role == "admin")
        )
        tasks = []
        # Far beyond any real seq, so they never meet the unique (school, seq, purpose).
        for n in range(26):
            created = now - timedelta(days=rng.randrange(1, 20))
            done = n >= 6  # six open, twenty done
            tasks.append({
                "school_id": school.id, "pupil_id": rng.choice(pupils),
                "purpose_id": rng.choice(purposes), "event_seq": FIRST_SEQ + n,
                "kind": "takedown", "created_at": created,
                "due_on": created.date() + timedelta(days=7 if n % 3 else -1),
                "done_at": now if done else None, "done_by_id": admin if done else None,
                "done_note": MARK if done else None,
            })  # fmt: skip
        for _n in range(3):
            tasks.append({
                "school_id": school.id, "pupil_id": rng.choice(pupils),
                "purpose_id": rng.choice(purposes), "event_seq": None, "kind": "leaving",
                "action": "remove", "created_at": now - timedelta(days=3),
                "due_on": today + timedelta(days=2), "done_at": None, "done_by_id": None,
                "done_note": None,
            })  # fmt: skip
        db.session.execute(insert(TakedownTask), tasks)
        requests = []
        for n in range(14):
            received = today - timedelta(days=rng.randrange(1, 40))
            status = "open" if n < 3 else ("paused" if n == 3 else "answered")
            requests.append({
                "school_id": school.id, "guardian_id": rng.choice(guardians),
                "requester_name": "", "requester_contact": "", "kind": "access",
                "details": MARK, "channel": "web", "received_on": received,
                "due_on": received + timedelta(days=30), "status": status,
                "paused_on": today if status == "paused" else None, "paused_days": 0,
                "extension_months": 0, "created_at": now,
                "closed_on": today if status == "answered" else None,
            })  # fmt: skip
        db.session.execute(insert(RightsRequest), requests)
        counts["takedowns"] += 6
        counts["leaving"] += 3
        counts["requests"] += 4
    db.session.commit()
    return counts


def timed(call: Callable[[], Any], runs: int, warmup: int = 3) -> tuple[float, float]:
    """Median wall and CPU seconds of `call` over `runs` calls after `warmup`."""
    for _ in range(warmup):
        call()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    rng = random.Random(ARGS.seed)
    now = datetime.now(UTC)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {url}")
    with app.app_context():
        schools = db.session.scalar(select(func.count()).select_from(School))
        began = time.perf_counter()
        counts = add_work(rng, now)
        print(f"trust: {schools} schools; added {counts} in {time.perf_counter() - began:.1f} s")
        sample = list(db.session.execute(select(School.id, School.slug).order_by(School.id)))
    rng.shuffle(sample)
    sample = sample[: ARGS.sample]
    today = daily.today(now)
    rows: dict[str, list[float]] = {}

    def keep(name: str, value: tuple[float, float]) -> None:
        rows.setdefault(name + " wall", []).append(value[0])
        rows.setdefault(name + " cpu", []).append(value[1])

    sizes: list[int] = []
    queue_lengths: list[int] = []

    def measure(school_id: int, slug: str) -> None:
        admin = staff_client(app, f"admin@{slug}.example.org")
        staff = staff_client(app, f"staff@{slug}.example.org")

        def home(client: Any) -> Callable[[], Any]:
            def get() -> None:
                response = client.get("/staff")
                assert response.status_code == 200, response.status_code
                sizes.append(len(response.data))

            return get

        def objections_page() -> None:
            assert admin.get("/staff/objections").status_code == 200

        def queue() -> None:
            queue_lengths.append(len(todo.items(school_id, today, "admin")))

        def board() -> None:
            dashboard.summary(school_id)

        keep("home page, admin", timed(home(admin), ARGS.runs))
        keep("home page, staff", timed(home(staff), ARGS.runs))
        keep("objections page", timed(objections_page, ARGS.runs))
        with app.test_request_context("/staff"):
            keep("  todo.items (the queue)", timed(queue, ARGS.runs))
            keep("  dashboard.summary", timed(board, ARGS.runs))
            db.session.remove()

    for school_id, slug in sample:
        measure(school_id, slug)
    size_kb = statistics.median(sizes) / 1024
    print(f"sample: {len(sample)} schools, {ARGS.runs} requests each after 3 of warm-up; "
          f"queue length (admin) median {statistics.median(queue_lengths):.0f}, "
          f"max {max(queue_lengths)}; home page median {size_kb:.0f} KB")  # fmt: skip
    print(f"{'':34} {'wall (median of schools)':>26} {'CPU':>10}")
    # As bench/report.py reads them: name, value, unit, target, ok (None: for reference).
    figures: list[dict[str, Any]] = []
    for name in dict.fromkeys(n.rsplit(" ", 1)[0] for n in rows):
        wall = statistics.median(rows[name + " wall"])
        cpu = statistics.median(rows[name + " cpu"])
        print(f"{name:34} {ms(wall):>26} {ms(cpu):>10}")
        target = TARGETS.get(name.strip())
        figures.append({
            "name": f"things to do: {name.strip()} (wall)", "value": round(wall * 1000, 1),
            "unit": "ms", "target": f"<= {target} ms" if target else "(reference)",
            "ok": wall * 1000 <= target if target else None, "cpu_ms": round(cpu * 1000, 1),
        })  # fmt: skip
    page = statistics.median(rows["home page, admin wall"])
    queue_share = statistics.median(rows["  todo.items (the queue) wall"]) / page
    print(f"the queue's share of the admin's home page (wall): {queue_share:.0%}")
    figures.append({
        "name": "things to do: the queue's share of the admin's home page", "unit": "%",
        "value": round(queue_share * 100), "target": "(reference)", "ok": None,
        "queue_length_median": statistics.median(queue_lengths), "page_kb": round(size_kb),
    })  # fmt: skip
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=10, help="schools measured")
    parser.add_argument("--runs", type=int, default=15, help="requests per school and page")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
