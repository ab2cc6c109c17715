"""The operator commands, all under `flask --app app`: one module per command group."""

from __future__ import annotations

from flask import Flask

from . import daily, ledger, mail, retention, setup


def init_app(app: Flask) -> None:
    setup.init_app(app)
    ledger.init_app(app)
    mail.init_app(app)
    daily.init_app(app)
    retention.init_app(app)
