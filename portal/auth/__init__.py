"""Sign-in by emailed link or code, for parents and staff; sign-out (`signin`)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import signin  # noqa: E402,F401
