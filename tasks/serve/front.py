"""The HTTP front: TensorFlow Serving's REST API, answered by the version's MLflow scoring server.

Routes (the subset of TF Serving's REST API our clients use, same paths and bodies):

- ``POST /v1/models/<name>:predict`` (or ``/versions/<v>:predict``), body ``{"instances": [...]}``
  -> ``{"predictions": [...], "model_version": "<v>"}`` and header ``X-Model-Version``;
- ``GET /v1/models/<name>`` -> TF Serving's model status (``model_version_status``);
- ``GET /ping`` -> 200 once a version is served (503 before).

Errors are TF Serving's shape, ``{"error": "..."}``. The body goes to MLflow's
``/invocations`` unchanged (it reads ``instances`` itself), so the front adds one loopback hop.
"""

from __future__ import annotations

import json
import logging
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tasks.serve.switch import ServedModel

log = logging.getLogger("tasks.serve")
VERSION_HEADER = "X-Model-Version"
PREDICT = re.compile(r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?:predict")
STATUS = re.compile(r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?")
MAX_BODY = 64 * 2**20


def _mlflow_error(body: bytes) -> str:
    try:
        found = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:500]
    return str(found.get("message") or found.get("error") or found)[:2000] if isinstance(found, dict) else str(found)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connection
    # Headers and body leave in one write, with Nagle off: written apart, the body waited for the client's
    # delayed ACK, 40 ms a request (measured: p50 48 ms -> see benchmarks/serving.py).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    served: ServedModel

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.debug("%s %s", self.address_string(), format % args)

    def reply(self, status: int, payload: dict, version: int | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if version is not None:
            self.send_header(VERSION_HEADER, str(version))
        self.end_headers()
        self.wfile.write(body)

    def not_served(self, name: str, version: str | None) -> None:
        which = f"Specific({name}, {version})" if version else f"Latest({name})"
        self.reply(404, {"error": f"Servable not found for request: {which}"})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        version = self.served.version
        if path == "/ping":
            self.reply(200 if version else 503, {"model_version": version}, version)
            return
        match = STATUS.fullmatch(path)
        if not match or match["name"] != self.served.model_name or version is None or (
                match["version"] and int(match["version"]) != version):
            self.not_served(match["name"] if match else path, match["version"] if match else None)
            return
        self.reply(200, {"model_version_status": [{"version": str(version), "state": "AVAILABLE",
                                                   "status": {"error_code": "OK", "error_message": ""}}]}, version)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        match = PREDICT.fullmatch(self.path.split("?", 1)[0])
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self.reply(413, {"error": f"request body over {MAX_BODY} bytes"})
            return
        body = self.rfile.read(length)
        if not match or match["name"] != self.served.model_name:
            self.not_served(match["name"] if match else self.path, None)
            return
        backend = self.served.acquire()
        if backend is None:
            self.reply(503, {"error": f"no version of {self.served.model_name} is deployed yet"})
            return
        try:
            if match["version"] and int(match["version"]) != backend.version:
                self.not_served(match["name"], match["version"])
                return
            status, payload, _ = backend.request("POST", "/invocations", body)
        except OSError as err:
            self.reply(502, {"error": f"model server for v{backend.version} failed: {err}"}, backend.version)
            return
        finally:
            backend.leave()
        if status != 200:
            self.reply(400 if 400 <= status < 500 else status, {"error": _mlflow_error(payload)}, backend.version)
            return
        self.reply(200, {**json.loads(payload), "model_version": str(backend.version)}, backend.version)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is routine (a load balancer's probe, a cancelled call): one debug line."""
        log.debug("request from %s ended early", client_address, exc_info=True)


def make_server(served: ServedModel, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server answering for ``served`` on ``host:port`` (not started)."""
    handler = type("ServedHandler", (Handler,), {"served": served})
    server = Server((host, port), handler)
    return server
