"""`flask mail ...`: deliver what waits in the outbox."""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import AppGroup

from .. import daily
from ..mail.delivery import send_pending

mail_cli = AppGroup("mail", help="Deliver the emails waiting in the outbox.")


@mail_cli.command("send-pending")
@click.option("--limit", default=500, show_default=True, help="At most this many messages.")
def send_pending_command(limit: int) -> None:
    """Send every due message once (for cron)."""
    result = send_pending(limit=limit)
    click.echo(f"sent {result.sent}, failed {result.failed} (will retry), skipped {result.skipped}")


@mail_cli.command("worker")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@click.option("--batch", default=100, show_default=True, help="Messages per pass.")
def worker(interval: float, batch: int) -> None:
    """Keep sending due messages until stopped (Ctrl-C). Runs the daily jobs once a day."""
    click.echo(f"mail worker: a pass every {interval:g}s; Ctrl-C stops")
    try:
        while True:
            for item in daily.run_due():
                click.echo(f"daily {item.job}: {item.summary}")
            result = send_pending(limit=batch)
            if result.sent or result.failed or result.skipped:
                click.echo(f"sent {result.sent}, failed {result.failed}, skipped {result.skipped}")
            if result.claimed < batch:
                time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("mail worker stopped")


def init_app(app: Flask) -> None:
    app.cli.add_command(mail_cli)
