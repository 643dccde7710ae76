"""The front's pooled connection to a version's scoring server survives the server closing it while idle.

Given a scoring server that, as uvicorn does after its keep-alive timeout (5 s), closes a connection once it
has answered, when the front sends a second request after a pause, then it is answered, not a 502: a pooled
connection the server closed is replaced by a fresh one (a prediction is safe to send again).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from tasks.serve.backends import Backend


def closing_server() -> tuple[int, list[int]]:
    """A loopback HTTP server that answers each connection once (keep-alive promised), then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    answered: list[int] = []

    def serve() -> None:
        while len(answered) < 3:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                answered.append(1)  # counted before the answer leaves, so the client never sees it uncounted
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                             b"Connection: keep-alive\r\n\r\n{}")
                time.sleep(0.05)  # then closes, as an idle keep-alive timeout would
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], answered


def test_a_pooled_connection_the_server_closed_is_replaced_not_a_failed_request():
    port, answered = closing_server()
    backend = Backend(1, port, process=None, scratch=Path("/nonexistent"))

    first = backend.request("POST", "/invocations", b"{}")
    time.sleep(0.3)  # the server has closed the pooled connection meanwhile
    second = backend.request("POST", "/invocations", b"{}")

    assert first[0] == second[0] == 200 and len(answered) == 2
