"""The browser tests' HTTP server closes every response, even one whose client reset the
connection just as it ended (Chromium does, for a favicon or a page it no longer wants)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tests.support.live import serving


def test_a_response_whose_client_reset_the_connection_is_still_closed() -> None:
    reset = threading.Event()
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield b"the whole page"
            # The body ends only once the client has gone: the server then finds the reset
            # on the socket it drains before closing the response.
            reset.wait(10)
            time.sleep(0.002)

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    with serving(app) as port:
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        received = b""
        while b"the whole page" not in received:
            received += client.recv(1024)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset, not a goodbye
        reset.set()
        deadline = time.monotonic() + 10
        while not closed and time.monotonic() < deadline:
            time.sleep(0.01)
    assert closed == [True]
