"""An MLflow server that is not there costs a step seconds, not minutes, and one line instead of a traceback.

Given a tracking URI on 127.0.0.1 where nothing listens (refused) or where a socket accepts
connections and never answers (silent), when ``register``, ``deploy``, ``load_pretrained`` or
``rollback`` runs with ``PIPELINE_MLFLOW_TIMEOUT_S=2``, then it exits 2 within that bound (plus the
interpreter's start) with one line naming the URI and what to check, and no traceback. MLflow's
own client would retry for ~4 minutes first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.steps import ROOT

pytestmark = pytest.mark.integration  # the step CLI against dead servers, timed from outside

TIMEOUT_S = 2
# Importing the step and Python itself take a few seconds on a busy machine; the old behaviour took ~240 s.
SLACK_S = 20


@pytest.fixture
def refused() -> str:
    """A port on 127.0.0.1 that was free a moment ago: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent() -> Iterator[str]:
    """A port that accepts connections (the kernel completes them) and never sends a byte."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def _argv(step: str, uri: str, tmp: Path) -> list[str]:
    common = ["--tracking-uri", uri, "--model-name", "fashion_mnist"]
    if step == "register":
        files = {name: tmp / f"{name}.bin" for name in ("model", "history", "metrics", "test", "fingerprints")}
        for path in files.values():
            path.write_text("{}")
        return ["register", *common, *(f"--{name}={path}" for name, path in files.items()),
                f"--output={tmp / 'register'}"]
    if step == "deploy":
        return ["deploy", *common, "--version=1", f"--serving-root={tmp / 'serving'}", f"--output={tmp / 'deploy'}"]
    if step == "rollback":
        return ["rollback", *common, "--target-version=1", f"--serving-root={tmp / 'serving'}"]
    return ["load_pretrained", *common, "--base-model-uri=", f"--output={tmp / 'load_pretrained'}"]


def _run(argv: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PIPELINE_MLFLOW_TIMEOUT_S": str(TIMEOUT_S), "PYTHONPATH": str(ROOT)}
    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "HTTP_PROXY", "http_proxy"):
        env.pop(name, None)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tasks", *argv], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=TIMEOUT_S + SLACK_S + 60)
    return done, time.monotonic() - started


@pytest.mark.parametrize("server", ["refused", "silent"])
@pytest.mark.parametrize("step", ["register", "deploy", "load_pretrained", "rollback"])
def test_an_unreachable_server_fails_the_step_fast_in_one_line(step, server, request, tmp_path):
    uri = request.getfixturevalue(server)

    done, elapsed = _run(_argv(step, uri, tmp_path))

    assert done.returncode == 2, done.stderr[-2000:]
    assert elapsed < TIMEOUT_S + SLACK_S
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: {step}: MLflow at {uri} did not answer within {TIMEOUT_S} s")
    assert "MLFLOW_TRACKING_URI" in line and "PIPELINE_MLFLOW_TIMEOUT_S" in line


def test_a_bad_timeout_setting_is_named(refused, tmp_path):
    env = {**os.environ, "PIPELINE_MLFLOW_TIMEOUT_S": "soon", "PYTHONPATH": str(ROOT)}

    done = subprocess.run([sys.executable, "-m", "tasks", *_argv("deploy", refused, tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=120)

    assert done.returncode == 2
    assert "PIPELINE_MLFLOW_TIMEOUT_S must be a positive whole number of seconds, got 'soon'" in done.stderr
