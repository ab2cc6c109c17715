"""How htmx and the server agree on the address bar.

A boosted form that is answered with a page (a form with errors, a preview) rather than a
redirect would have htmx push the POST's address into the history: reloading it would then
GET a POST-only address. Such answers say `HX-Push-Url: false`, so the address stays where
the form was. A redirect is unaffected: htmx follows it and pushes the page it ends on.
"""

from __future__ import annotations

from flask import Flask, Response, request


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
