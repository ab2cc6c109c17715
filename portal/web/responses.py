"""Responses that are not pages: a streamed CSV attachment (docs/security.md, promise 19).

The body is a generator from the domain (`portal.csv_files`), which reads the database in
batches: it runs only as the response is sent, a piece at a time, and is never held whole.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator

from flask import Response, current_app


def csv_response(body: Iterator[bytes], filename: str) -> Response:
    """A streamed CSV attachment: `body` (a generator that reads the database in batches)
    runs only as the response is sent, a piece at a time, and is never held whole."""
    response = Response(_in_own_app_context(body), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # personal data
    return response


def _in_own_app_context(body: Iterator[bytes]) -> Iterator[bytes]:
    """Run `body` in an application context of its own (so its own database session), kept
    in a `contextvars.Context` of its own, pushed when the first piece is asked for and
    popped when the last is sent or the server closes the response.

    Unlike `stream_with_context`, which leaves the request context pushed in the caller's
    context between pieces, nothing here touches the caller's context: a response that is
    never read to the end and only garbage-collected (a client gone, a test that looks at
    the status) cannot pop the wrong context later, and no request context is kept alive
    for the minutes a big file may take.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    own = contextvars.copy_context()
    app_context = app.app_context()

    def finish() -> None:
        try:
            close = getattr(body, "close", None)  # a generator: run its finally blocks
            if close is not None:
                close()
        finally:
            app_context.pop()

    def pieces() -> Iterator[bytes]:
        own.run(app_context.push)
        try:
            while (piece := own.run(next, body, None)) is not None:
                yield piece
        finally:
            own.run(finish)

    return pieces()
