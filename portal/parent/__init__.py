"""The parent and carer journey under /family: their children's choices (`choices`), their
own marketing choices (`marketing`) and what they told us (`history`); `layout` is what every
page shares."""

from flask import Blueprint

bp = Blueprint("parent", __name__)

from . import choices, history, layout, marketing  # noqa: E402,F401
