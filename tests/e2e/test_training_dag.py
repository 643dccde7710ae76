"""End to end: the training DAG on the embedded default, run by Airflow (``dag.test``) as the demo runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def run_dag(conf: dict) -> dict:
    done = subprocess.run([sys.executable, "scripts/run_dag.py", "fashion_mnist_training", "--json", "--conf",
                           json.dumps(conf)], cwd=ROOT, capture_output=True, text=True, env=os.environ.copy(),
                          timeout=900)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    summary = json.loads(lines[-1])
    summary["returncode"] = done.returncode
    return summary


def serving_versions(model_name: str) -> list[str]:
    folder = Path(os.environ["PIPELINE_STATE_DIR"]) / "serving" / model_name
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture(scope="module")
def first_run(airflow_db):
    return run_dag({"model_name": "e2e"})


def test_the_pipeline_trains_evaluates_and_deploys_on_the_embedded_digits(first_run):
    assert first_run["returncode"] == 0 and first_run["state"] == "success", first_run
    assert first_run["tasks"]["deploy"] == "success"
    assert first_run["tasks"]["load_pretrained"] == "skipped"
    assert first_run["accuracy"] >= 0.95
    cleaning = first_run["cleaning"]
    assert cleaning["dropped_empty_cells"] > 0 and cleaning["dropped_invalid_label"] > 0
    assert cleaning["rows_out"] == cleaning["rows_in"] - cleaning["dropped_empty_cells"] - cleaning[
        "dropped_invalid_label"]
    assert Path(first_run["report"]).is_file()
    assert serving_versions("e2e") == ["1"]


def test_a_threshold_above_the_accuracy_skips_deploy_and_leaves_serving_alone(first_run):
    before = serving_versions("e2e")
    run = run_dag({"model_name": "e2e", "accuracy_threshold": 0.999, "epochs": 5})
    assert run["state"] == "success", run
    assert run["tasks"]["evaluate"] == "success" and run["tasks"]["deploy"] == "skipped"
    assert run["accuracy"] < 0.999
    assert serving_versions("e2e") == before


def test_the_pretrained_branch_fine_tunes_the_served_model(first_run):
    base = Path(os.environ["PIPELINE_STATE_DIR"]) / "serving" / "e2e" / "1" / "model.keras"
    run = run_dag({"model_name": "e2e", "use_pretrained_model": True, "base_model_uri": f"file://{base}",
                   "epochs": 5, "learning_rate": 0.0005, "accuracy_threshold": 0.9})
    assert run["state"] == "success", run
    assert run["tasks"]["load_pretrained"] == "success" and run["tasks"]["build_model"] == "skipped"
    assert run["tasks"]["train"] == "success"
    assert run["accuracy"] >= 0.9
