"""The error pages: a person never sees a stack trace. They are in the page's language (staff
pages: English), HTTP's names of errors included."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..errors import NotFound
from .hypermedia import whole_page_headers
from .incoming import BadInput, too_large_hint

Page = tuple[str, int, dict[str, str]]

# HTTP's names of the errors the generic page may show, as Werkzeug writes them in English.
ERROR_NAMES = {
    400: _l("Bad Request"),
    401: _l("Unauthorized"),
    405: _l("Method Not Allowed"),
    406: _l("Not Acceptable"),
    408: _l("Request Timeout"),
    409: _l("Conflict"),
    410: _l("Gone"),
    414: _l("Request URI Too Long"),
    415: _l("Unsupported Media Type"),
    422: _l("Unprocessable Entity"),
    431: _l("Request Header Fields Too Large"),
}


def init_app(app: Flask) -> None:
    # An error answers a region's htmx request with a whole page, swapped for the body.
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Page:
        return render_template("errors/csrf.html"), 400, whole_page_headers()

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> Page:
        return render_template("errors/http.html", error=None, code=404), 404, whole_page_headers()

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Page:
        limit = request.max_content_length or 0
        page = render_template(
            "errors/http.html",
            error=error,
            code=413,
            limit_words=_size_words(limit),
            large_hint=too_large_hint(),
        )
        return page, 413, whole_page_headers()

    @app.errorhandler(BadInput)
    def bad_input(error: BadInput) -> Page:
        page = render_template(
            "errors/http.html", error=error, code=400, own_message=error.description
        )
        return page, 400, whole_page_headers()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Page:
        code = error.code or 500
        return (
            render_template(
                "errors/http.html", error=error, code=code, error_name=_error_name(error)
            ),
            code,
            whole_page_headers(),
        )

    @app.errorhandler(500)
    def server_error(error: Exception) -> Page:
        return render_template("errors/http.html", error=None, code=500), 500, whole_page_headers()


def _error_name(error: HTTPException) -> str:
    """The error's name in the page's language (Werkzeug's English for one not listed)."""
    name = ERROR_NAMES.get(error.code or 0)
    return str(name) if name is not None else error.name


def _size_words(size: int) -> str:
    """A byte count as people say it: "64 KB", "5 MB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{max(1, size // 1024)} KB"
