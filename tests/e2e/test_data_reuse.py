"""End to end: a rerun of the training DAG that changes only a training setting reuses every data step.

Two runs on the embedded digits (``dag.test``, every step a local subprocess), one epoch each:
the second, with only ``epochs`` changed, does no data work (``fetch`` to ``split`` link the
first run's outputs), and its report, task results and MLflow run name the first run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import dag_runs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
DATA_STEPS = ("fetch", "validate_raw", "prepare", "validate_prepared", "features", "split")
CONF = {"epochs": 1, "model_name": "reuse_e2e", "accuracy_threshold": 0.0}


def run_dag(conf: dict) -> dict:
    return dag_runs.run_dag(None, conf)


def test_a_rerun_with_only_epochs_changed_reuses_all_data_steps_and_says_whose(airflow_db):
    from run_report.facts import run_facts
    from run_report.reuse import reuse_section

    first = run_dag(CONF)
    second = run_dag({**CONF, "epochs": 2})
    assert first["state"] == second["state"] == "success", (first, second)
    cold, warm = run_facts(first["dag_id"], first["run_id"]), run_facts(second["dag_id"], second["run_id"])
    assert cold["reused"] == {}
    assert sorted(warm["reused"]) == sorted(DATA_STEPS)
    assert {origin["run_id"] for origin in warm["reused"].values()} == {first["run_id"]}
    html = reuse_section(warm["reused"], set(warm["tasks"]))
    assert "6 of 6 data steps reused" in html and first["run_id"].split("+")[0] in html
    # the rerun's folder is complete (the report reads it) and training saw the same rows
    assert second["cleaning"] == first["cleaning"]
    split = Path(second["artifacts"]) / "split" / "train.npz"
    assert split.read_bytes() == (Path(first["artifacts"]) / "split" / "train.npz").read_bytes()
    assert _mlflow_tag(second["registration"]["run_id"], "data_reused_from") == f"{first['dag_id']}/{first['run_id']}"


def _mlflow_tag(run_id: str, name: str) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{Path(os.environ['PIPELINE_STATE_DIR']) / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, uri).get_run(run_id).data.tags.get(name, "")
