"""The parent and carer journey under /family: their children's choices (`choices`), their
own marketing choices (`marketing`), what they told us (`history`) and their rights requests
(`rights_requests`); `layout` is what every page shares."""

from flask import Blueprint

bp = Blueprint("parent", __name__)

from . import choices, history, layout, marketing, rights_requests  # noqa: E402,F401
