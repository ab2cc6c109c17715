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
from ..ledger import checkpoints, notes

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
@click.option(
    "--checkpoint",
    "outside",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A signed checkpoint kept outside the database, or a folder of them (as `flask "
    "ledger checkpoint --out` writes); may be given more than once. Needs --verifier-key.",
)
@click.option(
    "--verifier-key",
    "verifier_key",
    help="The key the checkpoints are signed with (NAME+KEYID+BASE64), or a file holding it.",
)
def verify(slug: str | None, outside: tuple[Path, ...], verifier_key: str | None) -> None:
    """Recompute every hash chain, Merkle tree and the projection. Exit 1 naming the first
    broken seq. With --checkpoint, check instead that each school's events still give the
    signed roots and that today's tree extends them; exit 1 naming the first size that
    differs."""
    if outside or verifier_key:
        _verify_against(slug, outside, verifier_key)
        return
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


def _verify_against(slug: str | None, outside: tuple[Path, ...], verifier_key: str | None) -> None:
    if not outside or not verifier_key:
        raise click.UsageError("--checkpoint and --verifier-key go together")
    try:
        verifier = checkpoints.load_verifier(verifier_key)
        found = checkpoints.read_outside(list(outside), verifier)
        if slug is not None:
            _school(slug)  # a school that exists, or a clear error
            found = [o for o in found if o.checkpoint.origin == checkpoints.origin(slug)]
        if not found:
            raise click.ClickException("no checkpoint to check against")
        results = checkpoints.verify_against(found)
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from exc
    for result in results:
        if result.ok:
            sizes = ", ".join(str(size) for size in result.checked)
            click.echo(
                f"{result.slug}: ok, {result.events} events extend the checkpoints of size {sizes}"
            )
        else:
            click.echo(f"{result.slug}: DIFFERS at size {result.size}: {result.problem}", err=True)
    if not all(result.ok for result in results):
        sys.exit(1)
    click.echo(f"Every checkpoint holds: {len(found)} checkpoint(s) of {len(results)} school(s).")


@ledger_cli.command("head")
@click.option("--school", "slug", help="One school (default: every school).")
def head(slug: str | None) -> None:
    """Print each school's chain head: seq and hash."""
    for item in ledger.heads(_school(slug)):
        click.echo(f"{item.slug}\t{item.seq}\t{item.hash}")


@ledger_cli.command("rebuild")
@click.option("--school", "slug", help="One school (default: every school).")
def rebuild(slug: str | None) -> None:
    """Recompute the projection of current decisions and the Merkle tree from the ledger's
    events."""
    school = _school(slug)
    count = ledger.rebuild_projection(school)
    click.echo(f"Rebuilt the projection: {count} current decisions.")
    try:
        leaves = ledger.rebuild_tree(school)
    except ledger.LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Rebuilt the Merkle tree: {leaves} events.")


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


@ledger_cli.command("checkpoint")
@click.option("--school", "slug", help="One school (default: every school).")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The private key file `flask ledger keygen` wrote.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write DIR/<school>/checkpoint and DIR/<school>/<size> to.",
)
def checkpoint(slug: str | None, key_file: Path, out_dir: Path) -> None:
    """Sign each school's Merkle tree head (C2SP tlog-checkpoint) and write it to --out,
    keeping the earlier ones. A tree that does not extend the last checkpoint is not signed
    (exit 1)."""
    try:
        signer = checkpoints.load_signer(key_file)
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from exc
    results = checkpoints.sign(signer, school=_school(slug), out_dir=out_dir)
    for result in results:
        if not result.ok:
            click.echo(f"{result.slug}: NOT SIGNED: {result.problem}", err=True)
        elif result.new:
            click.echo(f"{result.slug}: signed at size {result.size}")
        else:
            click.echo(f"{result.slug}: unchanged at size {result.size}")
    if not all(result.ok for result in results):
        sys.exit(1)
    click.echo(f"Checkpoints written to {out_dir}; verifier key: {signer.verifier}")


def init_app(app: Flask) -> None:
    app.cli.add_command(ledger_cli)
