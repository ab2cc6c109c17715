"""Verify benchmark: `flask ledger verify` over the trust's 1,000,000 events, spread over
100 schools (bench/seed.py's trust; run it first with the same BENCH_DATABASE_URL, or pass
--seed).

The command runs as a child process, as an operator runs it, --runs times:
- events/s of the command's own check (the figure it prints: from reading the first event
  to the last comparison) and including the process's start-up (wall time of the child);
- its peak memory (ru_maxrss, from wait4);
- the same for the largest school alone (`--school school-001`, 200,000 events), so that
  the cost of spreading the events over many schools shows: the per-school overhead is
  the difference between the trust's time and its events at the largest school's rate,
  divided by the schools (it includes each school's projection, which is larger, per
  event, at a school with fewer events).

Targets: at least 200,000 events/s, peak memory at most 150 MB.

Usage:  .venv/bin/python bench/verify.py [--runs 3] [--seed] [--json PATH]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_export)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.config import normalise_database_url  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_export"
TARGET_EVENTS_PER_SECOND = 200_000
TARGET_PEAK_MB = 150
CHECKED = re.compile(
    r"All chains hold: (\d+) events in (\d+) school\(s\) \(checked in [\d.]+ s, ([\d,]+) events/s"
)


def verify_once(url: str, *args: str) -> dict[str, Any]:
    """One `flask ledger verify` in a child process: events, schools, the command's own
    seconds, wall seconds and peak RSS (KiB)."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "ledger", "verify", *args],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    found = CHECKED.search(output)
    if status != 0 or found is None:
        raise SystemExit(f"verify failed ({status}):\n{output[-3000:]}")
    # The command's own rate (it prints the seconds to two places only).
    events, schools = int(found[1]), int(found[2])
    seconds = events / int(found[3].replace(",", ""))
    return {"events": events, "schools": schools, "seconds": seconds, "wall": wall,
            "maxrss_kib": usage.ru_maxrss}  # fmt: skip


def largest_school(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, dbname=parsed.database,
    ) as conn:  # fmt: skip
        row = conn.execute(
            "SELECT s.slug, h.seq FROM schools s JOIN ledger_heads h ON h.school_id = s.id"
            " ORDER BY h.seq DESC, s.slug LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("no schools: seed the trust with bench/seed.py")
    return row[0], row[1]


def result(name: str, value: Any, unit: str, target: str, ok: bool | None, **raw: Any) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, **raw}


def main() -> None:
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {url}")
    if ARGS.seed:
        subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py")], cwd=ROOT, check=True,
                       env={**os.environ, "BENCH_DATABASE_URL": url})  # fmt: skip
    slug, _events = largest_school(url)
    verify_once(url, "--school", slug)  # warm the caches
    trust, one = [], []
    for n in range(ARGS.runs):
        trust.append(verify_once(url))
        one.append(verify_once(url, "--school", slug))
        t, o = trust[-1], one[-1]
        print(f"run {n + 1}: trust {t['events']:,} events in {t['schools']} schools: "
              f"{t['events'] / t['seconds']:,.0f} events/s checking, "
              f"{t['events'] / t['wall']:,.0f} with start-up, {t['maxrss_kib'] * 1024 / 1e6:.0f} "
              f"MB; {slug}: {o['events'] / o['seconds']:,.0f} events/s checking")  # fmt: skip
    events, schools = trust[0]["events"], trust[0]["schools"]
    seconds = statistics.median(r["seconds"] for r in trust)
    wall = statistics.median(r["wall"] for r in trust)
    peak_mb = max(r["maxrss_kib"] for r in trust) * 1024 / 1e6  # MB: 1,000,000 bytes
    one_events = one[0]["events"]
    one_seconds = statistics.median(r["seconds"] for r in one)
    one_peak_mb = max(r["maxrss_kib"] for r in one) * 1024 / 1e6
    rate, one_rate = events / seconds, one_events / one_seconds
    overhead_ms = 1000 * (seconds - events / one_rate) / max(schools - 1, 1)
    startup = statistics.median(r["wall"] - r["seconds"] for r in trust)
    results = [
        result("verify: events/s (the command's check)", round(rate), "events/s",
               ">= 200,000", rate >= TARGET_EVENTS_PER_SECOND, events=events, schools=schools,
               seconds=round(seconds, 3), runs=[round(r["seconds"], 3) for r in trust]),
        result("verify: events/s with process start-up", round(events / wall), "events/s",
               "(reference)", None, wall_seconds=round(wall, 3),
               startup_and_exit_seconds=round(startup, 3)),
        result("verify: peak memory", round(peak_mb, 1), "MB", "<= 150 MB",
               peak_mb <= TARGET_PEAK_MB, what="ru_maxrss of the flask ledger verify process",
               largest_school_alone_mb=round(one_peak_mb, 1)),
        result("verify: largest school alone", round(one_rate), "events/s", "(reference)", None,
               school=slug, events=one_events, seconds=round(one_seconds, 3)),
        result("verify: per-school overhead", round(overhead_ms, 1), "ms/school", "small",
               None, what="(trust time - its events at the largest school's rate) / schools"),
    ]  # fmt: skip
    print()
    print(f"{'measure':<42} {'value':>10} {'unit':<10} {'target':<12} ok")
    for item in results:
        ok = "-" if item["ok"] is None else ("yes" if item["ok"] else "NO")
        print(
            f"{item['name']:<42} {item['value']:>10,} {item['unit']:<10} {item['target']:<12} {ok}"
        )
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", action="store_true", help="run bench/seed.py first")
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
