"""A real ``airflow standalone`` on the embedded default, for the browser test.

It runs in a temporary AIRFLOW_HOME and state folder on a free localhost port, with the
environment the Makefile exports and the venv's bin first on PATH (standalone starts its
children as ``airflow ...``). It runs in its own process group so that stopping it stops
the scheduler, API server, DAG processor, triggerer and any step subprocess too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(home: Path, port: int) -> dict[str, str]:
    """The Makefile's environment, isolated in ``home``, serving on ``port``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AIRFLOW", "PIPELINE_")) and key != "MLFLOW_TRACKING_URI"}
    base = f"http://localhost:{port}"
    env.update({
        "AIRFLOW_HOME": str(home / "airflow"), "PIPELINE_STATE_DIR": str(home / "state"), "PIPELINE_MODE": "local",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW_CONN_FS_DEFAULT": "fs://", "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        # The DAG files do not change while a test runs: parsed at start, not again every 30 s (about half
        # of an idle server's CPU, taken from the runs beside it).
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "GX_ANALYTICS_ENABLED": "false", "MLFLOW_ENABLE_TELEMETRY": "false", "DO_NOT_TRACK": "true",
        "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    })
    return env


class Standalone:
    """``airflow standalone`` as a context: started on enter, its whole process group killed on exit."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        self.home = home
        self.env = env or {}
        self.port = free_port()
        self.base = f"http://localhost:{self.port}"
        self.log = home / "standalone.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Standalone:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([str(Path(sys.executable).with_name("airflow")), "standalone"], cwd=ROOT,
                                         env={**server_env(self.home, self.port), **self.env}, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after a grace period."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def wait_healthy(self, timeout: float = 300) -> None:
        """Until the API, scheduler and DAG processor report healthy (or fail with the log's tail)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v2/monitor/health", timeout=5) as resp:
                    health = json.load(resp)
                if all(health.get(part, {}).get("status") == "healthy" for part in ("scheduler", "dag_processor")):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(3)
        raise TimeoutError(f"airflow standalone not healthy after {timeout}s:\n{self.tail()}")

    def admin_password(self) -> str:
        path = self.home / "airflow" / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())["admin"]

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        """One REST call (``/auth/token`` or ``/api/v2/...``), JSON in and out."""
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.load(resp)

    def token(self) -> str:
        return self.api("POST", "/auth/token", {"username": "admin", "password": self.admin_password()})[
            "access_token"]
