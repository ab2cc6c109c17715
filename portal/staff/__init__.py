"""The staff workspace: photo check, records, ledger, exports (built in a later issue)."""

from flask import Blueprint

bp = Blueprint("staff", __name__)
