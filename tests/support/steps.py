"""Run a step by its command line: in this process (unit tier) or as the process a runner starts (integration).

Both take exactly the arguments the local runner and the pod give ``python -m tasks`` and return a
``subprocess.CompletedProcess`` (return code, stdout with the JSON result line, stderr with the log and the
one-line error), so a test reads the same whichever way the step ran.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_step(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m tasks <args>`` in a new process, exactly as the local runner and the pod do."""
    return subprocess.run([sys.executable, "-m", "tasks", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def call_step(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``tasks.__main__.main(args)`` in this process with ``env`` added, capturing what it prints.

    The step's log goes to the captured stderr as the CLI's would (``[step] message``); an uncaught
    exception becomes exit code 1 with its traceback, as the interpreter would report it.
    """
    from tasks.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.update(env or {})
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter(f"[{args[0] if args else 'tasks'}] %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
            except Exception:  # noqa: BLE001 - reported as the interpreter reports an uncaught exception
                traceback.print_exc()
                code = 1
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["python", "-m", "tasks", *args], code, out.getvalue(), err.getvalue())
