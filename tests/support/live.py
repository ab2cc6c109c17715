"""The app served over real HTTP for the browser tests, one request at a time.

Werkzeug's development server closes a response (its file, and Flask's teardown of the
request) only after it has drained the client's socket; when Chromium resets a connection
mid-response (a favicon it no longer wants, a page it navigated away from), that drain
raises and the response is never closed: its file is left for the garbage collector, whose
ResourceWarning fails whichever test is running, and the request's teardown never runs.
Here every response is closed once, when its request is over, whatever the socket did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

_RESPONSE = "tests.live.response"


class _Response:
    """The app's response body, closed at most once."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


class _Handler(WSGIRequestHandler):
    """No access log on the test output (errors still reach the app's logger); the
    response closed when the request is over."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            environ = getattr(self, "environ", None) or {}
            response = environ.get(_RESPONSE)
            if response is not None:
                response.close()


def _closed_when_done(app: Callable[..., Any]) -> Callable[..., Any]:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> _Response:
        response = _Response(app(environ, start_response))
        environ[_RESPONSE] = response
        return response

    return wsgi


@contextmanager
def serving(app: Any) -> Iterator[int]:
    """Serve `app` on a free port of 127.0.0.1 until the block ends; gives the port.

    Single-threaded (one request at a time, HTTP/1.0, each connection closed after its
    response), which is all a test needs and keeps the database simple.
    """
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, _closed_when_done(app), threaded=False, request_handler=_Handler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server"
    )
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
