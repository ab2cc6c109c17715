"""Daily jobs (portal/daily.py): each registered job runs once a day (London date) however
many workers ask; a job that fails is tried again on a later pass; `flask daily run`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal import daily
from portal.extensions import db
from portal.models import DailyRun


@pytest.fixture
def jobs(app):
    ran: list[tuple[str, date]] = []
    app.extensions["portal.daily.jobs"] = {}

    def tidy(day: date, now: datetime) -> str:
        ran.append(("tidy", day))
        return "tidied"

    daily.register(app, "tidy", tidy)
    return ran


def test_a_job_runs_once_a_day_whoever_asks(app, jobs):
    late = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT)
    assert [r.job for r in daily.run_due(late)] == ["tidy"]
    assert daily.run_due(late) == [] and daily.run_due(late) == []  # other workers
    # After midnight in London (BST starts on 29 March 2026 at 01:00 UTC), a new day.
    next_day = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert [r.summary for r in daily.run_due(next_day)] == ["tidied"]
    assert jobs == [("tidy", date(2026, 3, 28)), ("tidy", date(2026, 3, 29))]
    rows = db.session.execute(select(DailyRun.day, DailyRun.summary)).all()
    assert sorted(rows) == [(date(2026, 3, 28), "tidied"), (date(2026, 3, 29), "tidied")]


def test_a_failed_job_is_tried_again_on_a_later_pass(app, jobs):
    calls = []

    def flaky(day: date, now: datetime) -> str:
        calls.append(day)
        if len(calls) == 1:
            raise RuntimeError("the mail server is down")
        return "done"

    daily.register(app, "flaky", flaky)
    now = datetime(2026, 5, 5, 9, 0, tzinfo=UTC)
    assert [r.job for r in daily.run_due(now)] == ["tidy"]
    assert db.session.scalar(select(DailyRun.job).where(DailyRun.job == "flaky")) is None
    assert [r.job for r in daily.run_due(now)] == ["flaky"]
    assert daily.run_due(now) == [] and len(calls) == 2


def test_flask_daily_run(app, jobs, runner):
    result = runner.invoke(args=["daily", "run"])
    assert result.exit_code == 0 and "tidy: tidied" in result.output
    again = runner.invoke(args=["daily", "run"])
    assert "nothing to run" in again.output
    unknown = runner.invoke(args=["daily", "run", "--job", "nope"])
    assert unknown.exit_code != 0 and "no job 'nope'" in unknown.output


def test_flask_holidays_add_and_list(app, runner):
    added = runner.invoke(args=["holidays", "add", "2027-06-07", "A royal occasion"])
    assert added.exit_code == 0 and "added 2027-06-07" in added.output
    listed = runner.invoke(args=["holidays", "list", "--year", "2027"])
    assert "2027-06-07 + A royal occasion" in listed.output
    assert "2027-12-27   Christmas Day (substitute day)" in listed.output
    again = runner.invoke(args=["holidays", "add", "2027-12-27", "Christmas"])
    assert "already a bank holiday" in again.output
    bad = runner.invoke(args=["holidays", "add", "25/12/2027", "Christmas"])
    assert bad.exit_code != 0 and "not a date as YYYY-MM-DD" in bad.output
