"""Reuse of data work: a data step whose input content and settings match an earlier success reuses its outputs.

This is the caching of Kubeflow Pipelines and TFX, keyed by content, never by run id. A
step's key is the SHA-256 of: the content key of its input (for ``fetch`` the dataset's
own bytes, :func:`tasks.steps.fetch.source_digest`; for a later step the key its upstream left
beside the file it reads, :data:`KEY_FILE`), the values of the settings the step's contract
says it reads, and the code version (every file of the ``tasks`` package, and the versions
of the libraries whose output a data step keeps). Two runs on the same bytes with the same
data settings therefore share every key from ``fetch`` to ``split``; a changed setting
changes the key of the first step that reads it and, through the chain, of every later one.

The index is ``<reuse_index>/<step>/<key>.json``, written atomically only after the step
succeeded: the earlier output folder, its files and sizes, its result and the run that made
it. On a hit the earlier files are checked (present, same size), hard-linked into this
run's output folder (copied across devices), so the run's folder is complete as if it had
computed them, and the earlier result is returned with its paths moved into this folder
plus ``reused_from``: the dag, run and task whose work was used. No work is done and no
data library is imported. A miss (no entry, a file gone) computes as before and records.
No airflow import here: a local subprocess and a pod reuse the same way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from tasks.core.common import atomic_dir, write_json

log = logging.getLogger("tasks")
KEY_FILE = "reuse_key.json"
INDEX_FOLDER = "reuse"  # <artifact root>/reuse: the DAG wires it as the data steps' --reuse-index
_TASKS_ROOT = Path(__file__).resolve().parents[1]
# Libraries whose output a data step keeps (a new version may parse, sample or check differently)
LIBRARIES = ("numpy", "pandas", "pyarrow", "scikit-learn", "great-expectations")


@functools.cache
def code_version() -> str:
    """A hash of every file of the ``tasks`` package, the Python version and the data libraries' versions."""
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(p for p in _TASKS_ROOT.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(_TASKS_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} absent".encode())
    return digest.hexdigest()


def step_key(step: str, upstream: str, settings: Mapping[str, Any], code: str | None = None) -> str:
    """The content key of one step's outputs: its input's key, its settings' values and the code version."""
    payload = {"step": step, "input": upstream, "settings": dict(settings), "code": code or code_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def upstream_key(input_uri: str) -> str | None:
    """The key the upstream step left beside ``input_uri``; ``None`` for a file no keyed step wrote."""
    path = Path(input_uri[len("file://"):] if input_uri.startswith("file://") else input_uri)
    try:
        return str(json.loads((path.parent / KEY_FILE).read_text())["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def origin(output: Path, index: Path) -> dict[str, Any]:
    """Which run and task wrote ``output``: from ``<artifact root>/<dag_id>/<run folder>/<task_id>``.

    The index lies in the artifact root (``<root>/reuse``). Airflow's run id comes from
    the task's environment where the runner passes it (a local step inherits it).
    """
    try:
        dag_id, run_folder, task_id = Path(output).resolve().relative_to(index.resolve().parent).parts
    except ValueError:
        dag_id, run_folder, task_id = None, str(output), Path(output).name
    run_id = os.environ.get("AIRFLOW_CTX_DAG_RUN_ID") or None
    return {"dag_id": dag_id, "run_id": run_id, "run_folder": run_folder, "task_id": task_id,
            "run": f"{dag_id}/{run_id or run_folder}" if dag_id else run_folder}


def files_of(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` (relative path -> size), what a hit must still find."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def lookup(index: Path, step: str, key: str) -> dict[str, Any] | None:
    """The index entry of ``key`` if every file it lists is still there with its size; else ``None``.

    The earlier folder must lie in the artifact root the index lies in, and a listed file
    must stay inside that folder (no ``..``): a hit links only files the pipeline wrote.
    """
    try:
        entry = json.loads((index / step / f"{key}.json").read_text())
        earlier = Path(entry["output"])
        files = dict(entry["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not earlier.resolve().is_relative_to(index.resolve().parent):  # an entry never leads out of the artifact root
        log.warning("reuse entry %s points outside the artifact root (%s): ignored", key[:12], earlier)
        return None
    for relative, size in files.items():
        path = earlier / relative
        if not path.resolve().is_relative_to(earlier.resolve()):
            return None
        if not path.is_file() or path.stat().st_size != size:
            log.info("earlier %s outputs of key %s are gone or changed (%s): computing", step, key[:12], path)
            return None
    return entry


def record(index: Path, step: str, key: str, output: Path, result: dict[str, Any]) -> None:
    """Leave the key beside the outputs (for the next step) and index them; a failure to index only warns."""
    try:
        write_json(output / KEY_FILE, {"key": key, "step": step})
        entry = {"key": key, "step": step, "output": str(output), "files": files_of(output), "result": result,
                 "origin": origin(output, index)}
        write_json(index / step / f"{key}.json", entry)
    except OSError as err:
        log.warning("could not index %s outputs for reuse (%s)", step, err)


def _link_tree(source: Path, target: Path, files: Mapping[str, int]) -> None:
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / relative, destination)
        except OSError:  # another device, or a volume without hard links
            shutil.copy2(source / relative, destination)


def _moved(value: Any, earlier: str, output: str) -> Any:
    """``value`` with every path under the earlier output folder moved under this run's."""
    if isinstance(value, str) and (value == earlier or value.startswith(earlier + "/")):
        return output + value[len(earlier):]
    if isinstance(value, dict):
        return {k: _moved(v, earlier, output) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, earlier, output) for v in value]
    return value


def adopt(entry: Mapping[str, Any], output: Path) -> dict[str, Any]:
    """Put the earlier outputs in ``output`` (hard links) and return the earlier result, moved, with its origin."""
    earlier = Path(entry["output"])
    result = dict(entry["result"])
    if earlier.resolve() == Path(output).resolve():  # a retry of the task that computed it
        return {**result, "reused_from": None}
    with atomic_dir(Path(output)) as scratch:
        _link_tree(earlier, scratch, entry["files"])
    return {**_moved(result, str(earlier), str(output)), "reused_from": {**entry["origin"], "key": entry["key"]}}


def run(step: str, arguments: dict[str, Any], settings: Mapping[str, Any], options: Mapping[str, Any],
        body: Callable[..., dict], content: Callable[[dict[str, Any]], str | None] | None = None,
        inputs: tuple[str, ...] = ()) -> dict[str, Any]:
    """Reuse the earlier outputs of this step's key, or call ``body(**arguments)`` and index what it wrote.

    ``options`` are the reuse settings (``reuse_index``: empty means no reuse at all;
    ``reuse_data_steps``: false computes without looking, and still indexes); ``content``
    gives the input's content key (default: the key beside ``arguments["input"]``). A reused
    result names this run's ``inputs`` where it echoes them (the same bytes may lie elsewhere now).
    """
    index = str(options.get("reuse_index") or "")
    upstream = (content(arguments) if content else upstream_key(str(arguments.get("input", "")))) if index else None
    if upstream is None:
        return {**body(**arguments), "reused_from": None}
    key, output = step_key(step, upstream, settings), Path(arguments["output"])
    entry = lookup(Path(index), step, key) if options.get("reuse_data_steps", True) else None
    if entry is not None:
        result = adopt(entry, output)
        result.update({name: arguments[name] for name in inputs if name in result})
        found = result.get("reused_from") or entry["origin"]
        log.info("reused %s outputs of %s/%s (task %s, content key %s): nothing recomputed", step,
                 found.get("dag_id"), found.get("run_id") or found.get("run_folder"), found.get("task_id"), key[:12])
        return result
    result = body(**arguments)
    record(Path(index), step, key, output, result)
    return {**result, "reused_from": None}
