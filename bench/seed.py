"""Seed a trust of schools on PostgreSQL for the benchmarks: fast, repeatable, verifiable.

By default 100 schools x 600 pupils (classes of about 30, years R to 6), about 1.5 guardians
with parental responsibility per pupil (some brothers and sisters share a parent), the demo
notice and purposes in every school, three staff users per school (admin, staff,
marketing), and 1,000,000 ledger events with real hashes spread over the schools, the
largest school holding 200,000 of them. The projection of current decisions and the chain
heads are written to match, so `flask ledger verify` passes.

Schools, notices, purposes and staff go through the portal's own modules; pupils, guardians,
links and events are bulk-loaded with COPY. The same --seed gives the same data.

Usage:  .venv/bin/python bench/seed.py [--schools 100] [--pupils 600] [--events 1000000]
                                       [--largest 200000] [--seed 2026]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench);
it is dropped and recreated.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app, notices, purposes, schools  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.ledger import canonical, chain_hash, tree  # noqa: E402
from portal.models import GENESIS_HASH, Choice, Purpose, Scope, StaffUser  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench"
EXAMPLES = ROOT / "examples"
FORENAMES = [
    "Amira",
    "Yusuf",
    "Zoe",
    "Kacper",
    "Harvey",
    "Priya",
    "Tomasz",
    "Lily",
    "Oliver",
    "Ava",
    "Noah",
    "Isla",
    "Muhammad",
    "Freya",
    "Leo",
    "Maya",
    "Arthur",
    "Evie",
    "Theo",
    "Aisha",
    "Oscar",
    "Ivy",
    "Jack",
    "Sofia",
    "Charlie",
    "Grace",
    "Ali",
    "Ella",
    "Finley",
    "Rosie",
]
SURNAMES = [
    "Hussain",
    "Smith",
    "Jones",
    "Patel",
    "Nowak",
    "Obrien",
    "Kowalski",
    "Taylor",
    "Brown",
    "Williams",
    "Khan",
    "Wilson",
    "Evans",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
]
RELATIONSHIPS = ("Mother", "Father", "Carer", "Stepmother", "Stepfather", "Grandparent")
EVENT_COLUMNS = (
    "school_id, seq, occurred_at, actor_type, actor_id, guardian_id, pupil_id, purpose_id,"
    " purpose_version, notice_version, decision, channel, note, prev_hash, hash"
)
PROJECTION_COLUMNS = (
    "school_id, guardian_id, pupil_id, purpose_id, axis, decision, purpose_version,"
    " notice_version, decided_at, channel, actor_type, seq"
)
OBJECTIONS = {"object", "lift_objection"}


@dataclass(frozen=True)
class School:
    id: int
    slug: str
    staff_id: int  # the user with role "staff", who takes down paper answers
    pupil_purposes: list[tuple[int, str]]  # (purpose id, choice) decided per child
    guardian_purposes: list[int]  # marketing: decided per person


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        autocommit=autocommit,
    )


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    with connect(str(parsed.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def copy_rows(conn: psycopg.Connection, table: str, columns: str, rows: Iterable[Sequence]) -> int:
    """COPY rows (tuples; None is NULL) into a table, in chunks. Returns the count."""
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
            count += 1
            if count % 20_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


def copy_tree(conn: psycopg.Connection, school_id: int, grown: tree.Growing) -> None:
    """The Merkle tree's nodes that appends of the events given to `grown` would have stored
    (docs/ledger.md, "The Merkle tree"); the caller sets the head's edge (`grown.stored()`)."""
    copy_rows(
        conn,
        "ledger_tree_nodes",
        "school_id, level, position, hash",
        (
            (school_id, level, position, "\\\\x" + node.hex())
            for level, position, node in grown.made
        ),
    )
    grown.made.clear()


def make_schools(url: str, count: int) -> list[School]:
    """Schools, notices, purposes and staff through the portal's modules."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        notice = (EXAMPLES / "notice.md").read_text(encoding="utf-8")
        purposes_file = (EXAMPLES / "purposes.toml").read_text(encoding="utf-8")
        made = []
        for n in range(1, count + 1):
            slug = f"school-{n:03d}"
            school = schools.create(
                slug,
                name=f"Bench School {n:03d}",
                contact_email=f"office@{slug}.example.org",
                dpo_name="Dana Okafor",
                dpo_email=f"dpo@{slug}.example.org",
            )
            notices.publish(school, title="Privacy notice", source=notice, source_format="markdown")
            purposes.load(school, purposes_file)
            staff_id = 0
            for role in ("admin", "staff", "marketing"):
                user = schools.add_staff(school, f"{role}@{slug}.example.org", role=role,
                                         name=f"{role.title()} {n:03d}").user  # fmt: skip
                if role == "staff":
                    staff_id = user.id
            found = list(db.session.scalars(select(Purpose).where(Purpose.school_id == school.id)))
            made.append(
                School(
                    school.id,
                    slug,
                    staff_id,
                    [
                        (p.id, p.choice)
                        for p in found
                        if p.scope == Scope.PUPIL and p.choice != Choice.NONE
                    ],
                    [p.id for p in found if p.scope == Scope.GUARDIAN and p.marketing],
                )
            )
        assert db.session.scalar(select(StaffUser.id).limit(1)) is not None
        db.session.remove()
        db.engine.dispose()
    return made


def people(conn: psycopg.Connection, made: list[School], pupils_per_school: int,
           rng: random.Random) -> dict[int, list[tuple[int, int]]]:  # fmt: skip
    """Pupils, guardians and links with parental responsibility. Returns, per school, the
    (guardian id, pupil id) pairs that may decide."""
    now = datetime.now(UTC).isoformat()
    pupils, guardians, contacts, links = [], [], [], []
    pairs: dict[int, list[tuple[int, int]]] = {}
    pupil_id = guardian_id = link_id = 0
    years = ("R", "1", "2", "3", "4", "5", "6")
    per_year = -(-pupils_per_school // len(years))
    for school in made:
        pairs[school.id] = []
        previous_first: int | None = None
        for n in range(pupils_per_school):
            pupil_id += 1
            year = years[min(n // per_year, len(years) - 1)]
            klass = f"{year} {'ABC'[min((n % per_year) // 30, 2)]}"
            surname = rng.choice(SURNAMES)
            pupils.append((pupil_id, school.id, f"M{n:05d}", rng.choice(FORENAMES), surname,
                           year, klass, True, None, now, now))  # fmt: skip
            # About one pupil in seven shares a parent with the pupil before (a brother or
            # sister); half the pupils have a second person with parental responsibility.
            family: list[int] = []
            if previous_first is not None and rng.random() < 0.15:
                family.append(previous_first)
            else:
                guardian_id += 1
                guardians.append((guardian_id, f"g{guardian_id}@bench.example.org", now))
                contacts.append((school.id, guardian_id, rng.choice(FORENAMES), surname))
                family.append(guardian_id)
            if rng.random() < 0.5:
                guardian_id += 1
                guardians.append((guardian_id, f"g{guardian_id}@bench.example.org", now))
                contacts.append((school.id, guardian_id, rng.choice(FORENAMES),
                                 rng.choice(SURNAMES)))  # fmt: skip
                family.append(guardian_id)
            previous_first = family[0]
            for g in family:
                link_id += 1
                links.append((link_id, school.id, g, pupil_id, rng.choice(RELATIONSHIPS), True,
                              None, now, now))  # fmt: skip
                pairs[school.id].append((g, pupil_id))
    copy_rows(conn, "guardians", "id, email, created_at", guardians)
    # The name each school holds for its guardians (docs/architecture.md, "Contacts and names").
    copy_rows(conn, "school_contacts", "school_id, guardian_id, forename, surname", contacts)
    copy_rows(conn, "pupils", "id, school_id, mis_id, forename, surname, year_group, class_name,"
              " on_roll, left_on, created_at, updated_at", pupils)  # fmt: skip
    copy_rows(conn, "guardian_links", "id, school_id, guardian_id, pupil_id, relationship,"
              " parental_responsibility, ended_at, created_at, updated_at", links)  # fmt: skip
    for table in ("guardians", "pupils", "guardian_links"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))")  # fmt: skip
    print(f"  {len(pupils):,} pupils, {len(guardians):,} guardians, {len(links):,} links")
    return pairs


def event_counts(made: list[School], total: int, largest: int) -> dict[int, int]:
    if len(made) == 1:
        return {made[0].id: total}
    largest = min(largest, total)
    rest, others = total - largest, len(made) - 1
    counts = {made[0].id: largest}
    for n, school in enumerate(made[1:]):
        counts[school.id] = rest // others + (1 if n < rest % others else 0)
    return counts


def events(conn: psycopg.Connection, made: list[School], pairs: dict[int, list[tuple[int, int]]],
           counts: dict[int, int], rng: random.Random) -> int:  # fmt: skip
    """Each school's chain with real hashes, its projection and its head."""
    start = datetime.now(UTC) - timedelta(days=400)
    written = 0
    for school in made:
        n = counts[school.id]
        step = timedelta(days=399) / max(n, 1)
        prev = GENESIS_HASH
        grown = tree.Growing(0, [])
        latest: dict[tuple[int, int | None, int, str], tuple] = {}
        rows = []
        for seq in range(1, n + 1):
            guardian_id, pupil_id = pairs[school.id][rng.randrange(len(pairs[school.id]))]
            occurred = start + step * seq
            actor_type, actor_id, channel = "guardian", guardian_id, "web"
            if school.guardian_purposes and rng.random() < 0.1:
                purpose_id, subject = rng.choice(school.guardian_purposes), None
                decision = rng.choice(("grant", "grant", "withdraw", "object", "lift_objection"))
            else:
                purpose_id, choice = rng.choice(school.pupil_purposes)
                subject = pupil_id
                if choice == Choice.OBJECTION:
                    decision = "object" if rng.random() < 0.3 else "lift_objection"
                else:
                    decision = "grant" if rng.random() < 0.7 else "withdraw"
                if rng.random() < 0.1:  # a paper form, taken down by the office
                    actor_type, actor_id, channel = "staff", school.staff_id, "paper"
            text = canonical(
                school_id=school.id, seq=seq, occurred_at=occurred, actor_type=actor_type,
                actor_id=actor_id, guardian_id=guardian_id, pupil_id=subject,
                purpose_id=purpose_id, purpose_version=1, notice_version=1,
                decision=decision, channel=channel, note=None,
            )  # fmt: skip
            digest = chain_hash(prev, text)
            grown.append(tree.leaf_of(text))
            stamp = occurred.isoformat()
            rows.append((school.id, seq, stamp, actor_type, actor_id, guardian_id, subject,
                         purpose_id, 1, 1, decision, channel, None, prev, digest))  # fmt: skip
            axis = "objection" if decision in OBJECTIONS else "answer"
            latest[(guardian_id, subject, purpose_id, axis)] = (
                school.id, guardian_id, subject, purpose_id, axis, decision, 1, 1, stamp,
                channel, actor_type, seq,
            )  # fmt: skip
            prev = digest
        written += copy_rows(conn, "consent_events", EVENT_COLUMNS, rows)
        copy_rows(conn, "current_decisions", PROJECTION_COLUMNS, latest.values())
        copy_tree(conn, school.id, grown)
        conn.execute("UPDATE ledger_heads SET seq = %s, hash = %s, tree = %s WHERE school_id = %s",
                     (n, prev, grown.stored(), school.id))  # fmt: skip
    return written


def main() -> None:
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    rng = random.Random(ARGS.seed)
    began = time.perf_counter()
    largest = min(ARGS.largest, ARGS.events)
    print(f"seeding {url}: {ARGS.schools} schools x {ARGS.pupils} pupils, "
          f"{ARGS.events:,} events (largest school {largest:,})")  # fmt: skip
    recreate_database(url)
    made = make_schools(url, ARGS.schools)
    print(f"  schools, notices, purposes and staff in {time.perf_counter() - began:.1f} s")
    with connect(url) as conn:
        pairs = people(conn, made, ARGS.pupils, rng)
        conn.commit()
        at = time.perf_counter()
        written = events(conn, made, pairs, event_counts(made, ARGS.events, ARGS.largest), rng)
        conn.commit()
        print(f"  {written:,} events with real hashes in {time.perf_counter() - at:.1f} s")
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    print(f"seeded in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--pupils", type=int, default=600)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--largest", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    ARGS = parser.parse_args()
    main()
