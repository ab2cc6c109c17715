"""The staff audit log (admins): who did what, when, with which filter, newest first.

The log is append-only (the database refuses UPDATE and DELETE); this page only reads it.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from werkzeug.wrappers import Response

from .. import audit_log
from ..web.access import staff_required
from ..web.hypermedia import page_or_fragment
from . import bp
from .nav import ADMIN, current_school_id

ACTIONS = {
    "export.ledger": "Downloaded ledger events (CSV)",
    "export.marketing": "Downloaded the marketing list",
    "export.suppression": "Downloaded the suppression list",
    "export.waiting_for_answers": "Downloaded the list of families waiting for an answer",
    "ledger.verify": "Verified the ledger",
    "second_factor.enrol": "Set up a second factor",
    "second_factor.use": "Passed the second factor",
    "second_factor.failure": "Second factor refused",
    "second_factor.recovery_codes": "Made new recovery codes",
    "second_factor.recovery_code_used": "Used a recovery code",
    "second_factor.remove": "Removed a passkey",
    "second_factor.reset": "Reset a staff user's second factor",
}
DETAIL_NAMES = {
    "up_to_seq": "Events up to seq",
    "pupil_search": "Pupil search",
    "head_seq": "Head seq",
    "head_hash": "Head hash",
    "broken_seq": "First broken seq",
    "factor": "Factor",
    "passkey_id": "Passkey",
    "set_up": "While setting it up",
    "left": "Codes left",
    "sessions_ended": "Sessions ended",
    "by": "By",
}


def action_words(action: str) -> str:
    """An action in words: known ones by name, others from their dotted name."""
    if action in ACTIONS:
        return ACTIONS[action]
    words = action.replace(".", ": ").replace("_", " ")
    return words[:1].upper() + words[1:]


def detail_items(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """The detail as (key, value) pairs to show, in a stable order."""
    items = []
    for key in sorted(detail):
        name = DETAIL_NAMES.get(key) or key.replace("_", " ").capitalize()
        value = detail[key]
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
        items.append((name, "" if value is None else str(value)))
    return items


def pagination(page: audit_log.Page) -> list[dict[str, Any]]:
    """GOV.UK pagination items: the first, last and neighbouring pages, with ellipses."""
    shown = sorted(
        {1, page.pages, page.page - 1, page.page, page.page + 1} & set(range(1, page.pages + 1))
    )
    items: list[dict[str, Any]] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append(
            {
                "number": number,
                "href": url_for("staff.audit_log", page=number),
                "current": number == page.page,
            }
        )
        previous = number
    return items


@bp.get("/audit-log", endpoint="audit_log")
@staff_required(ADMIN)
def audit_log_page() -> Response:
    found = audit_log.entries(current_school_id(), page=request.args.get("page", 1, type=int))
    context: dict[str, Any] = {
        "log": found,
        "rows": [
            (entry, action_words(entry.action), detail_items(entry.detail))
            for entry in found.entries
        ],
        "items": pagination(found) if found.pages > 1 else [],
        "previous_href": url_for("staff.audit_log", page=found.page - 1)
        if found.page > 1
        else None,
        "next_href": url_for("staff.audit_log", page=found.page + 1)
        if found.page < found.pages
        else None,
    }
    return page_or_fragment(
        "staff/audit_log/audit_log.html", "staff/audit_log/_partials/entries.html", **context
    )
