"""`flask ledger ...`: verify, show and rebuild the consent ledger."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask
from flask.cli import AppGroup

from .. import ledger, schools
from ..errors import NotFound

ledger_cli = AppGroup("ledger", help="Verify and inspect the consent ledger.")


def _school(slug: str | None) -> schools.School | None:
    if slug is None:
        return None
    try:
        return schools.get_by_slug(slug)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from exc


@ledger_cli.command("verify")
@click.option("--school", "slug", help="Verify one school (default: every school).")
def verify(slug: str | None) -> None:
    """Recompute every hash chain and the projection. Exit 1 naming the first broken seq."""
    began = time.perf_counter()
    result = ledger.verify(_school(slug))
    elapsed = time.perf_counter() - began
    for check in result.schools:
        if check.ok:
            erased = f" ({check.erased_notes} notes erased)" if check.erased_notes else ""
            click.echo(f"{check.slug}: ok, {check.events} events{erased}")
        else:
            where = f"seq {check.seq}" if check.seq is not None else "the chain"
            click.echo(f"{check.slug}: BROKEN at {where}: {check.problem}", err=True)
    if not result.ok:
        sys.exit(1)
    rate = f", {result.events / elapsed:,.0f} events/s" if elapsed > 0 and result.events else ""
    click.echo(
        f"All chains hold: {result.events} events in {len(result.schools)} school(s)"
        f" (checked in {elapsed:.2f} s{rate})."
    )


@ledger_cli.command("head")
@click.option("--school", "slug", help="One school (default: every school).")
def head(slug: str | None) -> None:
    """Print each school's chain head: seq and hash."""
    for item in ledger.heads(_school(slug)):
        click.echo(f"{item.slug}\t{item.seq}\t{item.hash}")


@ledger_cli.command("rebuild")
@click.option("--school", "slug", help="One school (default: every school).")
def rebuild(slug: str | None) -> None:
    """Recompute the projection of current decisions from the ledger's events."""
    count = ledger.rebuild_projection(_school(slug))
    click.echo(f"Rebuilt the projection: {count} current decisions.")


def init_app(app: Flask) -> None:
    app.cli.add_command(ledger_cli)
