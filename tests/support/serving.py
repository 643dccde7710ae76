"""``make serve``'s server as a test starts it: ``python -m tasks.serve`` on a free loopback port, ready, stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.serve.backends import free_port
from tests.support.steps import ROOT


@contextlib.contextmanager
def local_server(serving_root: Path, model_name: str, log: Path, ready_within: float = 240,
                 port: int | None = None) -> Iterator[str]:
    """Yield the server's base URL once ``/ping`` answers 200; SIGTERM after, which must end it cleanly (exit 0).

    ``port``: one chosen earlier (a server told to use it, such as the browser test's API server); default a free one.
    """
    port = port or free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "tasks.serve", "--port", str(port), "--serving-root",
                                    str(serving_root), "--model-name", model_name], cwd=ROOT, stdout=out, stderr=out,
                                   env=os.environ.copy())
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + ready_within
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/ping", timeout=5) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"the server did not come up: {log.read_text()[-2000:]}")
    try:
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
