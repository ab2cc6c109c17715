"""`flask ledger ...`: verify, show and rebuild the consent ledger; make a checkpoint key."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from .. import ledger, schools
from ..errors import NotFound
from ..ledger import notes

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


@ledger_cli.command("keygen")
@click.option(
    "--name", required=True, help="The key's name: the deployment, e.g. consent.example.org."
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file the private key is written to (created with mode 0600; never overwritten).",
)
def keygen(name: str, out: Path) -> None:
    """Make a key to sign checkpoints: the private key goes to --out (mode 0600, never into the
    database); the verifier key, to publish, is printed (NAME+KEYID+BASE64, as Go's note
    package writes it)."""
    try:
        signer = notes.Signer.generate(name)
    except notes.NoteError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise click.ClickException(f"{out} exists already: it is never overwritten") from exc
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(f"{signer}\n")
    click.echo(str(signer.verifier))


def init_app(app: Flask) -> None:
    app.cli.add_command(ledger_cli)
