"""Domain errors and the error pages: a person never sees a stack trace."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class PortalError(Exception):
    """Something a user or operator asked for that the portal refuses, with a clear reason."""


class NotFound(PortalError):
    """A thing that does not exist (or that this person may not see, which looks the same)."""


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return render_template("errors/http.html", error=error, code=code), code

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        return render_template("errors/http.html", error=None, code=500), 500
