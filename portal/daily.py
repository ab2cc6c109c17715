"""Jobs that run once a day (the retention run, reminders of rights requests, the digest of
overdue take-downs), whoever triggers them: `flask daily run`, or the mail worker, which
asks on every pass and runs what is due.

Each job is registered on the application (`register`, called by `portal.wiring`). A job
runs at most once per day across every worker and server: claiming it inserts the
(job, day) row of `daily_runs`, and the primary key lets only one insert succeed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask, current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .database import writing
from .extensions import db
from .models import DailyRun
from .types import london_date, utcnow

log = logging.getLogger(__name__)

# A job gets today's date in London and the time now, and returns a one-line summary.
Job = Callable[[date, datetime], str]
_JOBS = "portal.daily.jobs"


def register(app: Flask, name: str, job: Job) -> None:
    jobs: dict[str, Job] = app.extensions.setdefault(_JOBS, {})
    jobs[name] = job


def jobs() -> dict[str, Job]:
    found: dict[str, Job] = current_app.extensions.get(_JOBS, {})
    return found


def today(now: datetime | None = None) -> date:
    return london_date(now or utcnow())


@dataclass(frozen=True)
class Ran:
    job: str
    summary: str


def _claim(name: str, day: date, now: datetime) -> bool:
    """Claim today's run of a job: True for exactly one caller, however many ask at once.
    A quick read first, so that a worker asking on every pass does not try an insert that
    fails (and that PostgreSQL would log) all day long."""
    seen = db.session.scalar(select(DailyRun.job).where(DailyRun.job == name, DailyRun.day == day))
    db.session.rollback()
    if seen is not None:
        return False
    try:
        with writing() as session:
            session.execute(insert(DailyRun).values(job=name, day=day, started_at=now))
    except IntegrityError:  # another worker claimed it between the read and the insert
        return False
    return True


def run_due(now: datetime | None = None, *, only: str | None = None) -> list[Ran]:
    """Run each registered job that has not yet run today (London time). A job that raises
    is logged and its claim released, so a later pass tries again."""
    now = now or utcnow()
    day = today(now)
    ran: list[Ran] = []
    for name, job in jobs().items():
        if only is not None and name != only:
            continue
        if not _claim(name, day, now):
            continue
        try:
            summary = job(day, now)
        except Exception:
            log.exception("daily job %s failed; it will be tried again", name)
            db.session.rollback()
            with writing() as session:
                session.execute(delete(DailyRun).where(DailyRun.job == name, DailyRun.day == day))
            continue
        with writing() as session:
            session.execute(
                update(DailyRun)
                .where(DailyRun.job == name, DailyRun.day == day)
                .values(finished_at=utcnow(), summary=summary[:2000])
            )
        ran.append(Ran(name, summary))
    return ran


def last_runs() -> list[DailyRun]:
    """The most recent run of each job, newest first."""
    return list(
        db.session.scalars(select(DailyRun).order_by(DailyRun.day.desc(), DailyRun.job).limit(50))
    )
