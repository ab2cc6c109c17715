"""The parent and carer journey: notice, choices per child, history (built in a later issue)."""

from flask import Blueprint

bp = Blueprint("parent", __name__)
