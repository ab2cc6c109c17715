"""The error pages: a person never sees a stack trace."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import NotFound
from .hypermedia import whole_page_headers

Page = tuple[str, int, dict[str, str]]


def init_app(app: Flask) -> None:
    # An error answers a region's htmx request with a whole page, swapped for the body.
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Page:
        return render_template("errors/csrf.html"), 400, whole_page_headers()

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Page:
        return render_template("errors/http.html", error=None, code=404), 404, whole_page_headers()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Page:
        code = error.code or 500
        return (
            render_template("errors/http.html", error=error, code=code),
            code,
            whole_page_headers(),
        )

    @app.errorhandler(500)
    def server_error(error: Exception) -> Page:
        return render_template("errors/http.html", error=None, code=500), 500, whole_page_headers()
