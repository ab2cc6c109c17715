"""The parent and carer journey under /family: their children's choices (`choices`), their
own marketing choices (`marketing`), what they told us (`history`), a child's record to keep
(`record`), their rights requests (`rights_requests`) and what they told the school's office
(`reports`); `layout` is what every page shares."""

from flask import Blueprint

bp = Blueprint("parent", __name__)

from . import (  # noqa: E402,F401
    choices,
    history,
    layout,
    marketing,
    record,
    reports,
    rights_requests,
)
