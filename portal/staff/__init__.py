"""The staff workspace: photo check, records, ledger, exports."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from . import views  # noqa: E402,F401
