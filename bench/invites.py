"""Invitations benchmark: invite every parent and carer of a seeded trust, then deliver the
emails to a local SMTP sink.

1. Queue: for each school, as its admin, `invitations.send(admin, "all")`: one batch per
   school, one outbox row per guardian with parental responsibility for a pupil on roll.
   Prints the total time, the guardians queued and the rate, and what that rate gives for
   150,000 guardians (the target: 150,000 queued in at most 60 s).
2. Deliver: a counting SMTP sink (aiosmtpd, in a process of its own, so that it does not
   share this process's interpreter) and the mail worker's pass, `send_pending(limit=
   --batch)`, repeated until a pass claims nothing, as `flask mail worker` does. Prints
   emails/s (the target: at least 100) and the SMTP connections the passes opened.
3. Checks: every queued row is marked sent; the sink received exactly one email per
   guardian and batch, each to that guardian's address alone: no guardian got two.

The trust is the one bench/seed.py makes (100 schools x 600 pupils by default): run it first
(with the same BENCH_DATABASE_URL), or pass --seed to run it from here. The invitations of
an earlier run (outbox rows of the template "invitation" and the batches) are deleted at the
start. --schools N invites the first N schools only (a reduced run).

Usage:  .venv/bin/python bench/invites.py [--schools N] [--batch 100] [--seed] [--json PATH]
Database: BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_invites)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select as select_module
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app, invitations  # noqa: E402
from portal.config import normalise_database_url  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.mail.delivery import send_pending  # noqa: E402
from portal.models import InvitationBatch, OutboxMessage, School, StaffUser  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench_invites"
TARGET_GUARDIANS = 150_000
TARGET_QUEUE_SECONDS = 60.0
TARGET_EMAILS_PER_SECOND = 100.0

# The sink: an aiosmtpd server that counts SMTP sessions (EHLO/HELO), messages and the
# messages per recipient, and prints the counts as JSON when its standard input closes.
SINK = r"""
import asyncio, json, sys, threading
from collections import Counter
from aiosmtpd.controller import Controller

class Counting:
    def __init__(self):
        self.sessions = 0
        self.messages = 0
        self.bytes = 0
        self.per_recipient = Counter()
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return "250 {}".format(server.hostname)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages += 1
            self.bytes += len(envelope.content)
            for address in envelope.rcpt_tos:
                self.per_recipient[address.lower()] += 1
        return "250 Message accepted for delivery"

handler = Counting()
controller = Controller(handler, hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
per = handler.per_recipient
print(json.dumps({
    "sessions": handler.sessions, "messages": handler.messages, "bytes": handler.bytes,
    "recipients": len(per), "duplicates": sum(n - 1 for n in per.values() if n > 1),
    "per_recipient": dict(per),
}), flush=True)
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """The counting SMTP server in a child process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port)], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        ready, _, _ = select_module.select([self.process.stdout], [], [], 30)
        if not ready or self.process.stdout.readline().strip() != "ready":
            self.process.kill()
            raise SystemExit("the SMTP sink did not start")

    def stop(self) -> dict[str, Any]:
        """Stop the sink; its counts."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        counts = json.loads(self.process.stdout.read())
        self.process.wait(timeout=30)
        return counts


def seed(url: str) -> None:
    command = [
        sys.executable,
        str(ROOT / "bench" / "seed.py"),
        "--schools",
        str(ARGS.schools or 100),
    ]
    subprocess.run(command, cwd=ROOT, env={**os.environ, "BENCH_DATABASE_URL": url}, check=True)


def reset(app: Any) -> None:
    """Forget the invitations of an earlier run, and every email still waiting in the outbox:
    the earlier benchmarks' (bench/http_load.py's consent POSTs queue receipts and take-down
    emails, bench/export.py signs its admins in by link). The worker below must deliver the
    invitations alone, or the sink would count those as second emails to the same people."""
    with app.app_context():
        db.session.execute(
            delete(OutboxMessage).where(
                (OutboxMessage.template == "invitation") | OutboxMessage.sent_at.is_(None)
            )
        )
        db.session.execute(delete(InvitationBatch))
        db.session.commit()
        db.session.remove()


def queue_all(app: Any) -> tuple[int, int, float, list[float]]:
    """Every school's invitation, as its admin: (schools, guardians queued, seconds, the
    seconds of each school's send)."""
    with app.app_context():
        query = select(School.id, School.slug).order_by(School.slug)
        found = db.session.execute(query).all()
        if ARGS.schools:
            found = found[: ARGS.schools]
        admins = []
        for school_id, slug in found:
            admin = db.session.scalars(
                select(StaffUser)
                .where(StaffUser.school_id == school_id, StaffUser.role == "admin")
                .order_by(StaffUser.id)
            ).first()
            if admin is None:
                raise SystemExit(f"{slug} has no admin: seed the trust with bench/seed.py")
            admins.append(admin)
        db.session.commit()
        per_school = []
        queued = 0
        began = time.perf_counter()
        for admin in admins:
            at = time.perf_counter()
            batch = invitations.send(admin, "all")
            per_school.append(time.perf_counter() - at)
            queued += batch.total
        seconds = time.perf_counter() - began
        db.session.remove()
    return len(admins), queued, seconds, per_school


def deliver_all(app: Any) -> tuple[int, int, int, int, float]:
    """Mail worker passes until one claims nothing: (sent, failed, skipped, passes,
    seconds)."""
    sent = failed = skipped = passes = 0
    with app.app_context():
        began = time.perf_counter()
        while True:
            result = send_pending(limit=ARGS.batch)
            if not result.claimed:
                break
            passes += 1
            sent, failed, skipped = (
                sent + result.sent, failed + result.failed, skipped + result.skipped,
            )  # fmt: skip
            if failed:
                break  # the sink does not fail: something is wrong; stop and report it
        seconds = time.perf_counter() - began
        db.session.remove()
    return sent, failed, skipped, passes, seconds


def outbox_state(app: Any) -> dict[str, int]:
    with app.app_context():
        rows = OutboxMessage.template == "invitation"
        total = db.session.scalar(select(func.count()).where(rows)) or 0
        unsent = db.session.scalar(
            select(func.count()).where(rows, OutboxMessage.sent_at.is_(None))
        )
        addresses = db.session.scalar(
            select(func.count(func.distinct(OutboxMessage.to_address))).where(rows)
        )
        db.session.remove()
    return {"rows": total, "unsent": unsent or 0, "addresses": addresses or 0}


def row(name: str, value: float, unit: str, target: str, ok: bool | None, **raw: Any) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok, **raw}


def main() -> None:
    url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {url}")
    if ARGS.seed:
        seed(url)
    sink = Sink()
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench" * 8,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": sink.port,
        "MAIL_USE_TLS": False,
    }
    app = create_app(config)
    try:
        reset(app)
        schools, queued, queue_seconds, per_school = queue_all(app)
        print(
            f"queued {queued:,} invitations ({schools} schools, one batch each) in "
            f"{queue_seconds:.2f} s = {queued / queue_seconds:,.0f} guardians/s; slowest "
            f"school {max(per_school):.2f} s; for {TARGET_GUARDIANS:,} guardians: "
            f"{TARGET_GUARDIANS / (queued / queue_seconds):.1f} s (target <= 60 s)"
        )
        sent, failed, skipped, passes, deliver_seconds = deliver_all(app)
    finally:
        counts = sink.stop()
    state = outbox_state(app)
    rate = sent / deliver_seconds if deliver_seconds else 0.0
    print(
        f"delivered {sent:,} emails in {passes} passes of up to {ARGS.batch} in "
        f"{deliver_seconds:.2f} s = {rate:,.1f} emails/s (target >= 100); failed {failed}, "
        f"skipped {skipped}; SMTP sessions at the sink: {counts['sessions']:,}"
    )
    per_recipient = Counter(counts.pop("per_recipient"))
    duplicates = counts["duplicates"]
    complete = (
        state["unsent"] == 0 and counts["messages"] == queued == state["rows"]
        and counts["recipients"] == queued and failed == 0 and skipped == 0
    )  # fmt: skip
    print(
        f"check: {counts['messages']:,} messages to {counts['recipients']:,} addresses at the "
        f"sink for {queued:,} queued rows ({state['addresses']:,} addresses), "
        f"{state['unsent']} unsent; guardians who got two or more: "
        f"{sum(1 for n in per_recipient.values() if n > 1)} (duplicates: {duplicates})"
    )
    queue_ok = queue_seconds * TARGET_GUARDIANS / max(queued, 1) <= TARGET_QUEUE_SECONDS
    results = [
        row("invitations: guardians queued", queued, "guardians", "all of the trust",
            queued == state["rows"], schools=schools),
        row("invitations: queueing time", round(queue_seconds, 2), "s",
            f"<= 60 s for {TARGET_GUARDIANS:,}", queue_ok, guardians=queued,
            per_guardian_ms=round(1000 * queue_seconds / max(queued, 1), 4),
            projected_150k_s=round(TARGET_GUARDIANS * queue_seconds / max(queued, 1), 1)),
        row("invitations: queue rate", round(queued / queue_seconds), "guardians/s",
            f">= {TARGET_GUARDIANS / TARGET_QUEUE_SECONDS:,.0f}", queue_ok),
        row("invitations: delivery rate", round(rate, 1), "emails/s", ">= 100",
            rate >= TARGET_EMAILS_PER_SECOND, sent=sent, seconds=round(deliver_seconds, 2),
            passes=passes, batch=ARGS.batch, smtp_sessions=counts["sessions"]),
        row("invitations: duplicates", duplicates, "emails", "0",
            duplicates == 0 and complete, messages=counts["messages"],
            recipients=counts["recipients"], unsent=state["unsent"], failed=failed,
            skipped=skipped),
    ]  # fmt: skip
    print()
    print(f"{'measure':<34} {'value':>12} {'unit':<12} {'target':<22} ok")
    for item in results:
        print(
            f"{item['name']:<34} {item['value']:>12,} {item['unit']:<12} {item['target']:<22} "
            f"{'yes' if item['ok'] else 'NO'}"
        )
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {ARGS.json}")
    if not complete:
        raise SystemExit("not every invitation was delivered exactly once")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--schools", type=int, default=0, help="only the first N schools")
    parser.add_argument("--batch", type=int, default=100, help="messages per worker pass")
    parser.add_argument("--seed", action="store_true", help="run bench/seed.py first")
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
