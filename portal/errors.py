"""Domain errors and the error pages: a person never sees a stack trace."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class PortalError(Exception):
    """Something a user or operator asked for that the portal refuses, with a clear reason."""


class NotFound(PortalError):
    """A thing that does not exist (or that this person may not see, which looks the same)."""


Page = tuple[str, int, dict[str, str]]


def _whole_page() -> dict[str, str]:
    """An error answers a card's htmx request with a whole page: swap it for the body, not
    into the card (htmx takes the body and the title from a whole document)."""
    if request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted"):
        return {"HX-Retarget": "body", "HX-Reswap": "innerHTML"}
    return {}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Page:
        return render_template("errors/csrf.html"), 400, _whole_page()

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Page:
        return render_template("errors/http.html", error=None, code=404), 404, _whole_page()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Page:
        code = error.code or 500
        return render_template("errors/http.html", error=error, code=code), code, _whole_page()

    @app.errorhandler(500)
    def server_error(error: Exception) -> Page:
        return render_template("errors/http.html", error=None, code=500), 500, _whole_page()
