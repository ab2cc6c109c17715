"""`flask retention run`: erase what each school's retention period no longer allows
(docs/retention.md). The daily job does the same once a day."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from .. import retention, schools
from ..errors import NotFound

retention_cli = AppGroup("retention", help="Erase families' details after the retention period.")


@retention_cli.command("run")
@click.option("--school", "slug", help="One school (default: every school).")
@click.option("--dry-run", is_flag=True, help="Say what would be erased; erase nothing.")
def run_command(slug: str | None, dry_run: bool) -> None:
    """Erase the names, email addresses and notes of families whose pupil left more than
    the school's retention period ago. Exit 1 if any school failed (the others are done)."""
    if slug is not None:
        try:
            schools.get_by_slug(slug)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from exc
    report = retention.run(school_slug=slug, dry_run=dry_run)
    verb = "would erase" if dry_run else "erased"
    for school in report.schools:
        if school.error is not None:
            click.echo(f"{school.slug}: FAILED, nothing erased: {school.error}", err=True)
            continue
        period = f"{school.retention_months} month{'s' if school.retention_months != 1 else ''}"
        click.echo(f"{school.slug} (retention {period}): {verb} {school.counts()}")
        for line in school.kept():
            click.echo(f"  {line}")
    click.echo(("Dry run: nothing was erased. " if dry_run else "") + report.summary() + ".")
    if report.failed:
        sys.exit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(retention_cli)
