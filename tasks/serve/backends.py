"""One MLflow scoring server per served version: start it, know when it is ready, drain and stop it.

A backend is ``mlflow models serve -m <model> --env-manager local`` on a free loopback port,
serving an MLflow model made from the version folder (a ``loader_module`` model around the
SavedModel, see ``pyfunc_model.py``). The model is a copy, so ``deploy`` retiring the folder
never pulls files from under a running server. Requests borrow pooled keep-alive connections
and are counted, so the front can stop a backend only once its last request has returned.
"""

from __future__ import annotations

import http.client
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOADER = "tasks.serve.pyfunc_model"
log = logging.getLogger("tasks.serve")


def free_port() -> int:
    """A loopback port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_model(version_dir: Path, into: Path) -> Path:
    """An MLflow model (``MLmodel``) around a copy of ``version_dir``; no requirement inference (it is slow)."""
    import mlflow.pyfunc

    target = into / "model"
    mlflow.pyfunc.save_model(str(target), loader_module=LOADER, data_path=str(version_dir),
                             pip_requirements=["tensorflow-cpu", "numpy"])
    return target


class Backend:
    """A running scoring server for one version, and the requests in flight to it."""

    def __init__(self, version: int, port: int, process: subprocess.Popen, scratch: Path) -> None:
        self.version, self.port, self.process, self.scratch = version, port, process, scratch
        self._idle: queue.SimpleQueue[http.client.HTTPConnection] = queue.SimpleQueue()
        self._in_flight = 0
        self._changed = threading.Condition()

    @classmethod
    def start(cls, version_dir: Path, version: int, log_file: Path | None = None) -> Backend:
        scratch = Path(tempfile.mkdtemp(prefix=f"serve-v{version}-"))
        try:
            model = mlflow_model(version_dir, scratch)
        except Exception:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        port = free_port()
        env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               "MLFLOW_ENABLE_TELEMETRY": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
               "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
        output = (log_file or scratch / "server.log").open("ab")
        command = [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", str(model),
                   "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
        # Its own session: stopping it ends the CLI and the uvicorn it starts, and only those.
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True)
        output.close()
        return cls(version, port, process, scratch)

    def ready(self) -> bool:
        """True once ``/ping`` answers 200 (the model is loaded and warmed up)."""
        try:
            status, _, _ = self.request("GET", "/ping", None, timeout=2)
        except OSError:
            return False
        return status == 200

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if self.ready():
                return True
            time.sleep(0.25)
        return False

    def request(self, method: str, path: str, body: bytes | None, timeout: float = 60) -> tuple[int, bytes, str]:
        """One HTTP exchange on a pooled keep-alive connection: (status, body, content type).

        The scoring server (uvicorn) closes a connection idle for its keep-alive timeout (5 s): a pooled
        connection it closed fails at once (broken pipe, reset, no status line) and is replaced by a fresh
        one, once. Every call here (ping, status, predict) is safe to send again; a timeout is not retried.
        """
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            return self._exchange(self._connect(timeout), method, path, body)
        try:
            return self._exchange(conn, method, path, body)
        except (ConnectionError, http.client.BadStatusLine):
            return self._exchange(self._connect(timeout), method, path, body)

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def _exchange(self, conn: http.client.HTTPConnection, method: str, path: str,
                  body: bytes | None) -> tuple[int, bytes, str]:
        """Send, read the whole answer and give the connection back to the pool (closed on any failure)."""
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        self._idle.put(conn)
        return response.status, payload, response.getheader("Content-Type", "application/json")

    def enter(self) -> None:
        with self._changed:
            self._in_flight += 1

    def leave(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()

    def drain_and_stop(self, timeout: float = 30) -> None:
        """Wait for the requests in flight (up to ``timeout``), then stop the server and remove its model."""
        with self._changed:
            self._changed.wait_for(lambda: self._in_flight == 0, timeout=timeout)
        self.stop()

    def stop(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)
