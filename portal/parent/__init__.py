"""The parent and carer journey: notice, choices per child, history."""

from flask import Blueprint

bp = Blueprint("parent", __name__)

from . import views  # noqa: E402,F401
