"""Find and read one run's step outputs under the artifact root, and nothing outside it.

A dag id, run id or file name comes from a URL a person can type: the run id is turned
into its folder with ``run_key`` (as the steps do when they write: a readable prefix plus
a hash of the exact id, so an alias id never reaches another run's files), and every
path is resolved and checked to stay inside the artifact root before anything is read,
so ``..``, absolute paths and symlinks pointing out are refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mlops_pipeline.run_keys import run_key
from tasks.contracts import CONTRACTS
from tasks.model.tuning import TRIALS_FILE

FORBIDDEN = ("..", "/", "\\", "\x00")
DAG_ID = re.compile(r"^[A-Za-z0-9_.-]+$")  # what Airflow allows in a dag id
# task id -> the JSON file the report reads from its folder, by the step contract's output name
REPORT_OUTPUTS = {"validate_raw": ("validate", "validation"), "validate_prepared": ("validate", "validation"),
                  "prepare": ("prepare", "report"), "train": ("train", "history"), "evaluate": ("evaluate", "metrics"),
                  "register": ("register", "registration")}
# The evaluate step's confusion matrix, relative to the run folder (the contract names the file)
CONFUSION_MATRIX = CONTRACTS["evaluate"].output_path("evaluate", "confusion_matrix").as_posix()


class UnsafePath(ValueError):
    """A URL part that would lead outside the artifact root (or is no identifier at all)."""


def inside(root: Path, candidate: Path) -> Path:
    """``candidate`` resolved, if it lies within ``root`` (resolved too); else ``UnsafePath``."""
    base = root.resolve()
    resolved = candidate.resolve()
    if resolved != base and not resolved.is_relative_to(base):
        raise UnsafePath(f"{candidate} is outside {base}")
    return resolved


def run_folder(artifact_root: str | Path, dag_id: str, run_id: str) -> Path:
    """The folder a run's steps wrote to: ``<root>/<dag_id>/<run_key(run_id)>`` (as ``steps.run_dir``)."""
    for value in (dag_id, run_id):
        if not value or any(part in value for part in FORBIDDEN):
            raise UnsafePath(f"{value!r} is not a DAG or run id")
    if not DAG_ID.match(dag_id):
        raise UnsafePath(f"{dag_id!r} is not a DAG id")
    root = Path(artifact_root)
    return inside(root, root / dag_id / run_key(run_id))


def file_in(folder: Path, relative: str) -> Path:
    """A file below ``folder`` named by a URL path (e.g. Data Docs' ``static/styles.css``)."""
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")):
        raise UnsafePath(f"{relative!r} is not a relative file name")
    return inside(folder, folder / relative)


def _read_json(path: Path) -> Any:
    """The JSON in ``path``, or ``None`` when the step has not written it (yet) or it is unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def load_run(folder: Path) -> dict[str, Any]:
    """Every report file of the run, keyed by step; a missing one is ``None`` (the step did not run)."""
    return {task_id: _read_json(CONTRACTS[step].output_path(folder / task_id, output))
            for task_id, (step, output) in REPORT_OUTPUTS.items()}


def load_trials(folder: Path) -> dict[str, Any] | None:
    """The tuning trials table ``pick_best`` wrote (``tuning/trials.json``), or ``None`` for a run that did not tune."""
    table = _read_json(folder / "tuning" / TRIALS_FILE)
    return table if isinstance(table, dict) else None


def load_model_card(folder: Path) -> dict[str, Any] | None:
    """The model card ``register`` wrote beside its registration, or ``None``."""
    card = _read_json(CONTRACTS["register"].output_path(folder / "register", "model_card"))
    return card if isinstance(card, dict) else None
