"""How a view answers htmx and plain requests alike: one helper per mechanic.

Every page works without JavaScript. htmx upgrades a region's own form or link (not a
boosted navigation, which gets whole pages) to an in-place swap of the region's partial, the
same partial the whole page includes. So a view names its page and its region's partial and
lets `page_or_fragment` choose; after a change it calls `saved`, which answers htmx with the
region and the confirmation, and a plain request with a redirect (POST-redirect-GET) whose
page shows the confirmation. Templates receive `fragment` (True when rendered alone), so a
partial can add what only a swap needs (the live region's announcement).

A boosted form that is answered with a page (a form with errors, a preview) rather than a
redirect would have htmx push the POST's address into the history: reloading it would then
GET a POST-only address. Such answers say `HX-Push-Url: false`, so the address stays where
the form was. A redirect is unaffected: htmx follows it and pushes the page it ends on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Flask,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
)
from werkzeug.wrappers import Response

from ..extensions import htmx

# The htmx event sent with every saved change, for scripts that listen.
SAVED_EVENT = "consent-saved"


def wants_fragment() -> bool:
    """An htmx request from a region's own form or link (not a boosted page load)."""
    return bool(htmx) and not htmx.boosted


def whole_page_headers() -> dict[str, str]:
    """Headers for answering a region's htmx request with a whole page (an error, a form whose
    errors sit outside the region): htmx swaps it for the body instead of into the region."""
    if wants_fragment():
        return {"HX-Retarget": "body", "HX-Reswap": "innerHTML"}
    return {}


def page_or_fragment(
    page: str,
    fragment: str,
    /,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """Render the region's partial `fragment` for a region's htmx request, else the whole
    `page` (which includes that partial). The two are positional only, so that a template's
    context may have a `page` of its own."""
    alone = wants_fragment()
    body = render_template(fragment if alone else page, fragment=alone, **context)
    response = make_response(body, status)
    response.headers.update(headers or {})
    return response


def whole_page(page: str, /, *, status: int = 200, **context: Any) -> Response:
    """A whole page that also answers a region's htmx request (swapped for the body)."""
    response = make_response(render_template(page, fragment=False, **context), status)
    response.headers.update(whole_page_headers())
    return response


def saved(
    message: str,
    *,
    fragment: str,
    redirect_to: str,
    category: str,
    trigger: str | None = SAVED_EVENT,
    fragment_context: Callable[[], dict[str, Any]] | None = None,
    **context: Any,
) -> Response:
    """After a change: htmx gets the region re-rendered with the confirmation (`saved`) and an
    `HX-Trigger` event; a plain request a redirect to `redirect_to`, whose page shows the
    confirmation flashed under `category`. `fragment_context`, when given, is called for htmx
    only: what the region needs that a redirect does not (the changed data read again), so
    that a plain request does not read it for nothing."""
    if wants_fragment():
        context.update(fragment_context() if fragment_context else {})
        response = make_response(render_template(fragment, fragment=True, saved=message, **context))
        if trigger is not None:  # None: no change that a listener cares about
            response.headers["HX-Trigger"] = trigger
        return response
    flash(message, category)
    return redirect(redirect_to)


def confirmation(category: str) -> str | None:
    """The confirmation `saved` flashed under `category` before its redirect, for the whole
    page the redirect lands on. None when there is none (the page was opened, not landed on),
    and for a region's htmx request, which leaves a waiting confirmation to the whole page."""
    if wants_fragment():
        return None
    messages: list[str] = get_flashed_messages(category_filter=[category])  # type: ignore[assignment]
    return messages[0] if messages else None


def keep_the_address_of_boosted_posts(response: Response) -> Response:
    if (
        request.method != "GET"
        and request.headers.get("HX-Boosted")
        and not response.is_streamed
        and not 300 <= response.status_code < 400
    ):
        response.headers.setdefault("HX-Push-Url", "false")
    return response


def init_app(app: Flask) -> None:
    app.after_request(keep_the_address_of_boosted_posts)
