"""Web plumbing shared by every blueprint: what every request must be (`incoming`), who may
reach a page (`access`), how htmx and plain requests are answered (`hypermedia`), the
language of each request (`language`), response headers (`security`), template filters
(`filters`), error pages (`error_pages`), file responses (`responses`) and form helpers
(`forms`)."""

from __future__ import annotations

from flask import Flask

from . import error_pages, filters, hypermedia, incoming, language, security


def init_app(app: Flask) -> None:
    incoming.init_app(app)
    language.init_app(app)
    security.init_app(app)
    hypermedia.init_app(app)
    filters.init_app(app)
    error_pages.init_app(app)
