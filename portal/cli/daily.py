"""`flask daily ...` and `flask holidays ...`: the once-a-day jobs, and the bank holidays
every due date counts with."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup

from .. import daily, holidays

daily_cli = AppGroup("daily", help="The jobs that run once a day.")
holidays_cli = AppGroup("holidays", help="The bank holidays due dates count with.")


@daily_cli.command("run")
@click.option("--job", default=None, help="Only this job.")
def run_command(job: str | None) -> None:
    """Run each daily job that has not run today (the mail worker does this by itself)."""
    if job is not None and job not in daily.jobs():
        raise click.UsageError(f"no job {job!r}; the jobs are: {', '.join(sorted(daily.jobs()))}")
    ran = daily.run_due(only=job)
    if not ran:
        click.echo("nothing to run: every daily job has run today")
    for item in ran:
        click.echo(f"{item.job}: {item.summary}")


@holidays_cli.command("list")
@click.option("--year", type=int, default=None, help="Only this year.")
def list_command(year: int | None) -> None:
    """Every bank holiday the portal counts with: shipped, and added (marked +)."""
    for day, name, added in holidays.listed():
        if year is None or day.year == year:
            click.echo(f"{day.isoformat()} {'+' if added else ' '} {name}")


@holidays_cli.command("add")
@click.argument("day")
@click.argument("name")
def add_command(day: str, name: str) -> None:
    """Add a bank holiday: DAY as YYYY-MM-DD, and its NAME."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date as YYYY-MM-DD", param_hint="DAY") from None
    try:
        added = holidays.add(parsed, name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None
    click.echo(
        f"added {parsed.isoformat()} {name}"
        if added
        else f"{parsed.isoformat()} is already a bank holiday"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(daily_cli)
    app.cli.add_command(holidays_cli)
