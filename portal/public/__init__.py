"""Public pages: no sign-in, because a privacy notice is a public document."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import languages, ledger, school_pages  # noqa: E402,F401
