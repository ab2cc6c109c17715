"""Ledger benchmark: one school's chain of 1,000,000 events on PostgreSQL.

Seeds the chain with real hashes (bulk COPY), then prints:
- single-append latency (median, p95) through `ledger.record`, with that chain in place;
- `flask ledger verify` throughput in events/s and its peak memory, as a child process (so
  the figure is the command's own), over several runs (median), and the peak memory of a
  verify over a tenth of the events, to show that memory does not grow with the chain;
- with the Merkle tree in place (seeded with the events' nodes): the time to sign a school's
  checkpoint (which first proves the tree extends the last one), and the time to build one
  event's inclusion proof and a consistency proof at that size (median, p95).

Usage:  .venv/bin/python bench/ledger.py [--events 1000000] [--appends 300] [--runs 3]
                                        [--json PATH] [--format 1|2]
Database: its own, beside the trust's: BENCH_DATABASE_URL's database name (default
consent_bench) with `_ledger` (and `_ledger_small`) added, dropped and recreated; the trust
that bench/seed.py seeded stays as it is.
"""

from __future__ import annotations

import argparse
import io
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app, purposes, roster, schools  # noqa: E402
from portal import ledger as ledger_module  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.ledger import checkpoints, notes, tree  # noqa: E402
from portal.models import (  # noqa: E402
    GENESIS_HASH,
    Choice,
    GuardianLink,
    LedgerHead,
    Purpose,
    Scope,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench"
COLUMNS = (
    "school_id, seq, occurred_at, actor_type, actor_id, guardian_id, pupil_id, purpose_id,"
    " purpose_version, notice_version, decision, channel, note, prev_hash, hash, format,"
    " note_salt, note_commitment"
)
# Format 2 (what the portal writes now): one event in twenty carries a note, committed with
# its own salt; format 1 (events written before): no notes, as before.
NOTE = "Paper form handed in at the office"
NOTE_SHARE = 0.05


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres")
    with psycopg.connect(
        host=admin.host, port=admin.port or 5432, user=admin.username, dbname="postgres",
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def roster_csv(pupils: int, rng: random.Random) -> str:
    lines = [
        "pupil_id,pupil_forename,pupil_surname,year_group,class,contact_forename,"
        "contact_surname,contact_email,relationship,parental_responsibility"
    ]
    for n in range(pupils):
        year = n % 7
        klass = f"{year or 'R'} {'ABCD'[n % 4]}"
        contacts = 2 if rng.random() < 0.5 else 1
        for c in range(contacts):
            lines.append(
                f"P{n:05d},Pupil{n},Family{n},{year or 'R'},{klass},Carer{c},Family{n},"
                f"carer{c}.family{n}@bench.example.org,{'Mother' if c == 0 else 'Father'},yes"
            )
    return "\n".join(lines) + "\n"


def seed(url: str, events: int, rng: random.Random) -> tuple[int, str]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        school = schools.create("bench-school", name="Bench School")
        purposes.load(school, (ROOT / "examples" / "purposes.toml").read_text())
        roster.import_roster(school, roster_csv(600, rng))
        links = db.session.execute(
            select(GuardianLink.guardian_id, GuardianLink.pupil_id).where(
                GuardianLink.school_id == school.id
            )
        ).all()
        choices = [
            p
            for p in db.session.scalars(select(Purpose).where(Purpose.school_id == school.id))
            if p.choice != Choice.NONE
        ]
        school_id = school.id
        db.session.remove()
        db.engine.dispose()

    start = datetime.now(UTC) - timedelta(days=400)
    step = timedelta(days=399) / max(events, 1)
    prev = GENESIS_HASH
    grown = tree.Growing(0, [])  # the Merkle tree, as the appends would have stored it
    # The tree's nodes (about two per event) wait in a file for their own COPY.
    nodes = tempfile.TemporaryFile("w+", encoding="ascii")  # noqa: SIM115  (closed after its COPY)
    began = time.perf_counter()
    raw = make_url(url)
    with psycopg.connect(
        host=raw.host, port=raw.port or 5432, user=raw.username, dbname=raw.database
    ) as conn:
        with conn.cursor() as cur, cur.copy(f"COPY consent_events ({COLUMNS}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for seq in range(1, events + 1):
                guardian_id, pupil_id = links[rng.randrange(len(links))]
                purpose = choices[rng.randrange(len(choices))]
                if purpose.choice == Choice.OBJECTION:
                    decision = "object" if rng.random() < 0.3 else "lift_objection"
                else:
                    decision = "grant" if rng.random() < 0.7 else "withdraw"
                subject = None if purpose.scope == Scope.GUARDIAN else pupil_id
                occurred = start + step * seq
                note = salt = commitment = None
                if ARGS.format == 2 and rng.random() < NOTE_SHARE:
                    note, salt = NOTE, ledger_module.new_salt()
                    commitment = ledger_module.note_commitment(salt, note)
                text = ledger_module.canonical(
                    school_id=school_id, seq=seq, occurred_at=occurred,
                    actor_type="guardian", actor_id=guardian_id, guardian_id=guardian_id,
                    pupil_id=subject, purpose_id=purpose.id, purpose_version=1,
                    notice_version=None, decision=decision, channel="web", note=note,
                    format=ARGS.format, note_commitment=commitment,
                )  # fmt: skip
                digest = ledger_module.chain_hash(prev, text)
                grown.append(tree.leaf_of(text))
                for level, position, node in grown.made:
                    nodes.write(f"{school_id}\t{level}\t{position}\t\\\\x{node.hex()}\n")
                grown.made.clear()
                null = chr(92) + "N"
                buffer.write(
                    f"{school_id}\t{seq}\t{occurred.isoformat()}\tguardian\t{guardian_id}\t"
                    f"{guardian_id}\t{subject if subject is not None else null}\t"
                    f"{purpose.id}\t1\t{null}\t{decision}\tweb\t{note or null}\t{prev}\t"
                    f"{digest}\t{ARGS.format}\t{salt or null}\t{commitment or null}\n"
                )
                prev = digest
                if seq % 20_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY ledger_tree_nodes (school_id, level, position, hash) FROM STDIN"
            ) as copy,
        ):
            nodes.seek(0)
            while chunk := nodes.read(1 << 20):
                copy.write(chunk)
        nodes.close()
        conn.execute(
            "UPDATE ledger_heads SET seq = %s, hash = %s, tree = %s WHERE school_id = %s",
            (events, prev, grown.stored(), school_id),
        )
        conn.commit()
    with psycopg.connect(
        host=raw.host, port=raw.port or 5432, user=raw.username, dbname=raw.database,
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute("VACUUM ANALYZE consent_events")
        conn.execute("VACUUM ANALYZE ledger_tree_nodes")
    seeded = time.perf_counter() - began

    with app.app_context():
        ledger_module.rebuild_projection(schools.get_by_slug("bench-school"))
        db.session.remove()
        db.engine.dispose()
    print(f"seeded {events:,} events with real hashes in {seeded:.1f} s")
    return school_id, prev


def append_latency(url: str, appends: int, rng: random.Random) -> list[float]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    timings: list[float] = []
    with app.app_context():
        school = schools.get_by_slug("bench-school")
        links = db.session.execute(
            select(GuardianLink.guardian_id, GuardianLink.pupil_id).where(
                GuardianLink.school_id == school.id
            )
        ).all()
        photo = db.session.scalars(
            select(Purpose).where(Purpose.school_id == school.id, Purpose.key == "photos-website")
        ).one()
        for n in range(appends + 20):
            guardian_id, pupil_id = links[rng.randrange(len(links))]
            began = time.perf_counter()
            ledger_module.record(
                actor=ledger_module.Actor.guardian(guardian_id),
                guardian=guardian_id,
                pupil=pupil_id,
                purpose=photo.id,
                decision="grant" if n % 2 else "withdraw",
                channel="web",
            )
            if n >= 20:  # the first appends warm the connection pool and caches
                timings.append(time.perf_counter() - began)
        head = db.session.get(LedgerHead, school.id)
        print(f"chain head after appends: seq {head.seq}")
        db.session.remove()
        db.engine.dispose()
    return timings


def proofs(url: str, rounds: int, rng: random.Random) -> dict[str, list[float]]:
    """Sign the school's checkpoint (the first, then after each few appends), and build
    inclusion and consistency proofs against it, from the stored tree."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    signer = notes.Signer.generate("bench.example.org")
    found: dict[str, list[float]] = {"first": [], "sign": [], "inclusion": [], "consistency": []}
    with app.app_context(), app.test_request_context():
        school = schools.get_by_slug("bench-school")
        links = db.session.execute(
            select(GuardianLink.guardian_id, GuardianLink.pupil_id).where(
                GuardianLink.school_id == school.id
            )
        ).all()
        photo = db.session.scalars(
            select(Purpose).where(Purpose.school_id == school.id, Purpose.key == "photos-website")
        ).one()
        began = time.perf_counter()
        [first] = checkpoints.sign(signer, school=school)
        found["first"].append(time.perf_counter() - began)
        assert first.ok and first.new, first
        for _ in range(rounds):
            for i in range(5):  # the school's ledger grows between two checkpoints
                guardian_id, pupil_id = links[rng.randrange(len(links))]
                ledger_module.record(
                    actor=ledger_module.Actor.guardian(guardian_id), guardian=guardian_id,
                    pupil=pupil_id, purpose=photo.id, decision="grant" if i % 2 else "withdraw",
                    channel="web",
                )  # fmt: skip
            began = time.perf_counter()
            [signed] = checkpoints.sign(signer, school=school)
            found["sign"].append(time.perf_counter() - began)
            assert signed.ok and signed.new, signed
            size = signed.size
            for _ in range(10):
                leaf = rng.randrange(size)
                began = time.perf_counter()
                document = checkpoints.proof_document(school, leaf)
                found["inclusion"].append(time.perf_counter() - began)
                assert document["tree_size"] == size
                first_size = rng.randrange(1, size)
                began = time.perf_counter()
                checkpoints.consistency(school, first_size, size)
                found["consistency"].append(time.perf_counter() - began)
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return found


def verify_peak(url: str) -> tuple[list[float], int, str]:
    times: list[float] = []
    peaks: list[int] = []
    last = ""
    for _ in range(ARGS.runs):
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "ledger", "verify", "--school",
             "bench-school"],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        output = process.stdout.read()
        _pid, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - began)
        peaks.append(usage.ru_maxrss)
        last = output.strip().splitlines()[-1] if output.strip() else ""
        if status != 0:
            raise SystemExit(f"verify failed: {output}")
    return times, max(peaks), last


def own_database(trust_url: str) -> str:
    """This benchmark's database: the trust's name with `_ledger` added."""
    parsed = make_url(trust_url)
    return parsed.set(database=f"{parsed.database}_ledger").render_as_string(hide_password=False)


def figure(name: str, value: float, unit: str, target: str | None, ok: bool | None) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def main() -> None:
    trust = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    url = own_database(trust)
    rng = random.Random(ARGS.seed)
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {url}, "
        f"ledger format {ARGS.format}"
    )

    small_url = url + "_small"
    recreate_database(small_url)
    seed(small_url, ARGS.events // 10, random.Random(ARGS.seed))
    _, small_peak, _ = verify_peak(small_url)

    recreate_database(url)
    seed(url, ARGS.events, rng)
    times, peak, last = verify_peak(url)
    median = statistics.median(times)
    # Let the seeding's writes settle (a checkpoint) so that appends are not measured
    # against the flush of a million rows.
    raw = make_url(url)
    with psycopg.connect(
        host=raw.host, port=raw.port or 5432, user=raw.username, dbname=raw.database,
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute("CHECKPOINT")
    timings = append_latency(url, ARGS.appends, rng)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    tree_times = proofs(url, ARGS.proof_rounds, rng)

    def ms(values: list[float]) -> tuple[float, float]:
        ordered = sorted(values)
        return (
            statistics.median(ordered) * 1000,
            ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        )

    print(f"verify output (last run): {last}")
    print(
        f"verify: median {median:.2f} s wall time over {len(times)} runs of the command for "
        f"{ARGS.events:,} events = {ARGS.events / median:,.0f} events/s including process "
        "start-up; the command's own events/s (checking only) is in its output above "
        "(target >= 200,000)"
    )
    print(
        f"verify peak memory: {peak / 1024:.0f} MiB for {ARGS.events:,} events, "
        f"{small_peak / 1024:.0f} MiB for {ARGS.events // 10:,} events "
        f"(ratio {peak / small_peak:.2f}; flat memory gives ~1)"
    )
    print(
        f"append latency over {len(timings)} appends: median "
        f"{statistics.median(timings) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms (target p95 <= 5 ms)"
    )
    first_ms = tree_times["first"][0] * 1000
    sign_median, sign_p95 = ms(tree_times["sign"])
    inclusion_median, inclusion_p95 = ms(tree_times["inclusion"])
    consistency_median, consistency_p95 = ms(tree_times["consistency"])
    print(
        f"checkpoint of one school at {ARGS.events:,} events: first {first_ms:.2f} ms; "
        f"after 5 more events, median {sign_median:.2f} ms, p95 {sign_p95:.2f} ms over "
        f"{len(tree_times['sign'])} checkpoints (each proves it extends the last one)"
    )
    print(
        f"inclusion proof (the proof document: audit path, event, checkpoint): median "
        f"{inclusion_median:.2f} ms, p95 {inclusion_p95:.2f} ms; consistency proof: median "
        f"{consistency_median:.2f} ms, p95 {consistency_p95:.2f} ms "
        f"({len(tree_times['inclusion'])} of each, random leaves and sizes)"
    )
    if ARGS.json:
        found = re.search(r"([\d,]+) events/s", last)
        checking = int(found.group(1).replace(",", "")) if found else None
        figures = [
            figure("one chain: verify events/s (the command's check)", checking or 0,
                   "events/s", ">= 200,000", checking is not None and checking >= 200_000),
            figure("one chain: verify events/s with process start-up",
                   round(ARGS.events / median), "events/s", None, None),
            figure("one chain: verify peak memory", round(peak / 1024, 1), "MB", "<= 150",
                   peak / 1024 <= 150),
            figure(f"one chain: verify memory, {ARGS.events:,} vs {ARGS.events // 10:,} events",
                   round(peak / small_peak, 2), "ratio", None, None),
            figure("one chain: append latency median", round(statistics.median(timings) * 1000, 2),
                   "ms", None, None),
            figure("one chain: append latency p95", round(p95 * 1000, 2), "ms", "<= 5",
                   p95 * 1000 <= 5),
            figure("one school: sign a checkpoint (median)", round(sign_median, 2), "ms",
                   None, None),
            figure("one school: inclusion proof (median)", round(inclusion_median, 2), "ms",
                   None, None),
            figure("one school: consistency proof (median)", round(consistency_median, 2),
                   "ms", None, None),
        ]  # fmt: skip
        Path(ARGS.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--proof-rounds", type=int, default=20,
        help="checkpoints to sign (each after 5 appends), with 10 proofs of each kind",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument(
        "--format", type=int, choices=(1, 2), default=2,
        help="the ledger format of the seeded events (2: what the portal writes now)",
    )  # fmt: skip
    ARGS = parser.parse_args()
    main()
