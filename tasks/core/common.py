"""What every step shares: its error type, atomic outputs and the result line.

A step fails with :class:`StepError` carrying one line that names the file and
the problem; :func:`run_cli` turns it into that line on stderr and exit code 2.
A step's result is one JSON line on stdout (the task's XCom); when
``STEP_RESULT_PATH`` is set (the pod sets it to ``/airflow/xcom/return.json``)
the same JSON is written there as well. Every result carries ``provenance``: the commits
of the step's code and of its DAG (:mod:`tasks.core.provenance`), for the run report's skew check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tasks.core.provenance import provenance

log = logging.getLogger("tasks")
# The exit code of a StepError: bad input that a retry cannot mend. Both runners fail such a task without retrying.
BAD_INPUT_EXIT_CODE = 2


class StepError(Exception):
    """A failure the user can act on; its message is one line naming file and problem."""


def json_object(name: str, text: str, error: type[Exception] = StepError) -> dict[str, Any]:
    """A JSON object from ``text`` (a setting's or an argument's), or ``error`` with one line naming ``name``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{name} is not valid JSON ({err})") from err
    if not isinstance(value, dict):
        raise error(f"{name} must be a JSON object, got {type(value).__name__}")
    return value


def _readable_by_others(path: Path, mode: int) -> None:
    """mkstemp/mkdtemp create private files; shared artifact volumes need the umask's mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (or that we cannot even look into)."""
    while not os.path.exists(path) and path != path.parent:
        path = path.parent
    return path


def require_writable(target: Path) -> None:
    """Fail at once, in one line, unless this process may create ``target`` or write into it.

    A shared volume whose root belongs to root with mode 0755 (a ReadWriteMany class that
    ignores the pod's ``fsGroup``) otherwise fails a step deep inside with a PermissionError
    traceback, and the task is retried for nothing. The line names the folder that refuses,
    its owner and mode, who the step runs as, and what to change.
    """
    folder = _nearest_existing(Path(target))
    if not os.path.isdir(folder):  # a file in the way: the step's own error says it better
        return
    if os.access(folder, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids):
        return
    info = folder.stat()
    uid, gid = os.geteuid(), os.getegid()
    raise StepError(f"{folder}: not writable by this step (uid {uid}, gid {gid}): owned by "
                    f"{info.st_uid}:{info.st_gid} with mode {stat.S_IMODE(info.st_mode):04o}; give uid {uid} or "
                    f"group {gid} write access to it (on Kubernetes: pod fsGroup {gid} on a storage class that "
                    "applies it, or run k8s/prepare-artifacts-volume.yaml once, see docs/kubernetes.md)")


def strip_file_scheme(uri: str) -> str:
    """Turn ``file://`` URIs into local paths; leave other strings alone."""
    return uri[len("file://") :] if uri.startswith("file://") else uri


def require_file(uri: str, what: str = "input") -> Path:
    """Return the local path of ``uri`` or fail with a one-line error if it is missing."""
    path = Path(strip_file_scheme(uri))
    if not path.is_file():
        raise StepError(f"{path}: {what} file not found")
    return path


@contextlib.contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place only on success."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    _readable_by_others(tmp_path, 0o666)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; it replaces ``final`` only on success."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    _readable_by_others(tmp, 0o777)
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically (the reader never sees half a file)."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash of a file, for lineage."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def emit_result(result: dict[str, Any]) -> None:
    """Print the step's result as the last stdout line, and write it where the pod wants it.

    The line also records which commits the step's code and its DAG came from (``provenance``).
    """
    line = json.dumps({**result, "provenance": provenance()}, sort_keys=True, default=str)
    target = os.environ.get("STEP_RESULT_PATH")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(line)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run_cli(step: str, body: Callable[[], dict[str, Any]]) -> int:
    """Run a step body: emit its result, or turn a StepError into one line and exit 2."""
    logging.basicConfig(level=logging.INFO, format=f"[{step}] %(message)s", stream=sys.stderr)
    try:
        result = body()
    except StepError as err:
        print(f"error: {step}: {err}", file=sys.stderr)
        return BAD_INPUT_EXIT_CODE
    emit_result(result)
    return 0
