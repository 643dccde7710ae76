"""Run a DAG as ``make demo`` does (``scripts/run_dag.py``, Airflow's ``dag.test``) and read what it left behind.

A run works in the pipeline state folder it is given (artifacts, MLflow store, serving folder), so a session's
shared champion and a module's own state never mix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.steps import ROOT

TRAINING = "fashion_mnist_training"
ROLLBACK = "fashion_mnist_rollback"


def run_dag(state: Path | None, conf: dict, dag_id: str = TRAINING, timeout: int = 900, flags: tuple[str, ...] = (),
            env: dict[str, str] | None = None) -> dict:
    """The run's JSON summary (``run_dag.py --json``) with the script's exit code as ``returncode``.

    ``state`` is the pipeline state folder (``None``: the module's, from the environment); ``flags`` go to
    the script (``--asset-triggered``); ``env`` adds variables (an alert hook)."""
    extra = {"PIPELINE_STATE_DIR": str(state)} if state is not None else {}
    done = subprocess.run([sys.executable, "scripts/run_dag.py", dag_id, "--json", "--conf", json.dumps(conf), *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **extra, **(env or {})})
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    return {**json.loads(lines[-1]), "returncode": done.returncode}


def tracking_uri(state: Path) -> str:
    """The local MLflow store the steps use under ``state``."""
    return f"sqlite:///{state / 'mlflow' / 'mlflow.db'}"


def served(state: Path, model: str) -> list[str]:
    """The versions in the model's serving folder (what TF Serving would load)."""
    folder = state / "serving" / model
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def champion(state: Path, model: str) -> str:
    """The version the registry's ``champion`` alias names."""
    from mlflow import MlflowClient

    uri = tracking_uri(state)
    return str(MlflowClient(uri, uri).get_model_version_by_alias(model, "champion").version)
