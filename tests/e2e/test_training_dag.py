"""End to end: the training and rollback DAGs on the embedded default, run by Airflow (``dag.test``)
as ``make demo`` runs them, against a local MLflow registry and serving folder.

The runs build on each other, as a model's life does: first champion (default settings,
as ``make demo``: the digits' own model), a run below the threshold, a worse run, a run on
other images, fine-tuning the champion, a second champion, a rollback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.steps import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MODEL = "fashion_mnist_8x8"  # the name the default 8x8 digits derive (model_name left empty)
STATE = Path(os.environ["PIPELINE_STATE_DIR"])


def run_dag(conf: dict, dag_id: str = "fashion_mnist_training") -> dict:
    done = subprocess.run([sys.executable, "scripts/run_dag.py", dag_id, "--json", "--conf", json.dumps(conf)],
                          cwd=ROOT, capture_output=True, text=True, env=os.environ.copy(), timeout=900)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    summary = json.loads(lines[-1])
    summary["returncode"] = done.returncode
    return summary


def served(model: str = MODEL) -> list[str]:
    folder = Path(os.environ["PIPELINE_STATE_DIR"]) / "serving" / model
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def champion(model: str = MODEL) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{Path(os.environ['PIPELINE_STATE_DIR']) / 'mlflow' / 'mlflow.db'}"
    return str(MlflowClient(uri, uri).get_model_version_by_alias(model, "champion").version)


@pytest.fixture(scope="module")
def first_run(airflow_db):
    return run_dag({})  # what `make demo` runs


def test_the_first_run_validates_cleans_trains_and_becomes_champion(first_run):
    assert first_run["returncode"] == 0 and first_run["state"] == "success", first_run
    tasks = first_run["tasks"]
    assert tasks["validate_raw"] == tasks["validate_prepared"] == "success"
    assert tasks["deploy"] == "success" and tasks["load_pretrained"] == "skipped"
    assert tasks["trial"] == "skipped" and tasks["pick_best"] == "success"  # tuning off (the default): no trial
    assert first_run["accuracy"] >= 0.95
    cleaning = first_run["cleaning"]
    assert cleaning["dropped_empty_cells"] > 0 and cleaning["dropped_invalid_label"] > 0
    assert cleaning["rows_out"] == cleaning["rows_in"] - cleaning["dropped_empty_cells"] - cleaning[
        "dropped_invalid_label"]
    assert Path(first_run["report"]).is_file()
    assert first_run["registration"]["version"] == 1 and first_run["registration"]["champion_version"] is None
    assert first_run["registration"]["model_name"] == MODEL and first_run["registration"]["model_name_derived"]
    assert served() == ["1"] and champion() == "1"


def test_a_threshold_above_the_accuracy_skips_deploy_and_leaves_serving_alone(first_run):
    run = run_dag({"model_name": MODEL, "accuracy_threshold": 0.999, "epochs": 5})
    assert run["state"] == "success", run
    assert run["tasks"]["register"] == "success" and run["tasks"]["deploy"] == "skipped"
    assert run["accuracy"] < 0.999
    assert served() == ["1"] and champion() == "1"


def test_a_worse_run_is_logged_and_registered_but_not_promoted(first_run):
    run = run_dag({"model_name": MODEL, "epochs": 1, "units": 4, "accuracy_threshold": 0.0})
    assert run["state"] == "success", run
    registration = run["registration"]
    assert registration["champion_version"] == 1 and registration["accuracy"] < registration["champion_accuracy"]
    assert registration["champion"]["table"]["rows"] >= 100  # same data, same split: the champion never saw them
    assert run["tasks"]["deploy"] == "skipped"
    assert served() == ["1"] and champion() == "1"


def test_a_run_on_other_images_gets_its_own_model_and_naming_the_champions_model_clashes(first_run):
    # Given the 8x8 digits champion, when a run with default settings trains on the real 28x28 Fashion-MNIST sample
    folder = Path(os.environ["PIPELINE_STATE_DIR"]) / "serving" / MODEL
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    sample = {"dataset_uri": "embedded://fashion-mnist-sample", "image_height": 28, "image_width": 28, "epochs": 5,
              "empty_cell_rate": 0.0001, "accuracy_threshold": 0.0}
    own = run_dag(sample)

    # Then it registers and deploys as its own model, on an accuracy decision, and the digits champion stays
    assert own["state"] == "success" and own["tasks"]["deploy"] == "success", own
    registration = own["registration"]
    assert (registration["model_name"], registration["version"]) == ("fashion_mnist", 1)
    assert registration["champion"]["problem"] is None and "no champion yet: deploying" in own["gate_reason"]
    assert served("fashion_mnist") == ["1"] and champion("fashion_mnist") == "1"
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before and champion() == "1"

    # When a run names the digits' model explicitly, it is that model's version: the clash, with what to do
    named = run_dag({**sample, "model_name": MODEL})
    assert named["state"] == "success" and named["tasks"]["deploy"] == "skipped", named
    assert named["registration"]["model_name"] == MODEL
    assert "image shape 28x28 here vs its 8x8" in named["registration"]["champion"]["problem"]
    assert named["gate_reason"].endswith("not deploying; set model_name to register a separate model, or "
                                         "replace_incompatible_champion=true to replace it"), named["gate_reason"]
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before and champion() == "1"


def test_the_pretrained_branch_fine_tunes_the_champion_and_records_its_parent(first_run):
    run = run_dag({"model_name": MODEL, "use_pretrained_model": True, "epochs": 5, "learning_rate": 0.0005,
                   "accuracy_threshold": 0.999})  # evaluated and registered, kept out of production
    assert run["state"] == "success", run
    assert run["tasks"]["load_pretrained"] == "success" and run["tasks"]["build_model"] == "skipped"
    assert run["registration"]["parent"] == f"models:/{MODEL}/1"
    assert run["accuracy"] >= 0.9
    assert champion() == "1"


def test_rollback_moves_the_champion_back_and_the_serving_folder_follows(first_run):
    second = run_dag({"model_name": MODEL})  # same data and seed: ties the champion, which stays
    assert second["tasks"]["deploy"] == "skipped", second
    comparison = second["registration"]["champion"]["table"]
    assert comparison["rows"] >= 100 and comparison["champion_accuracy"] is not None  # rows neither model saw
    promoted = str(second["registration"]["version"])
    from tests.support.steps import run_step

    state = Path(os.environ["PIPELINE_STATE_DIR"])  # a person promotes it by hand, with the deploy step
    by_hand = run_step("deploy", "--tracking-uri", f"sqlite:///{state / 'mlflow' / 'mlflow.db'}", "--model-name",
                       MODEL, "--version", promoted, "--serving-root", str(state / "serving"), "--reason", "by hand",
                       "--output", str(state / "deployed-by-hand"))
    assert by_hand.returncode == 0, by_hand.stderr
    assert champion() == promoted and served() == [promoted]

    missing = run_dag({"model_name": MODEL, "target_version": 99, "reason": "wrong version"},
                      "fashion_mnist_rollback")
    assert missing["state"] == "failed" and champion() == promoted and served() == [promoted]

    back = run_dag({"model_name": MODEL, "reason": "regression seen in production"}, "fashion_mnist_rollback")
    assert back["state"] == "success", back
    assert champion() == "1" and served() == ["1"]


def test_the_serving_check_predicts_with_the_champion(first_run, tmp_path):
    from tests.support.steps import run_step

    rows = tmp_path / "rows.csv"
    assert run_step("make_dataset", "--output", str(rows), "--invalid-label-rate", "0", "--empty-cell-rate",
                    "0").returncode == 0
    uri = f"sqlite:///{Path(os.environ['PIPELINE_STATE_DIR']) / 'mlflow' / 'mlflow.db'}"
    done = run_step("predict", "--model-uri", f"models:/{MODEL}@champion", "--tracking-uri", uri, "--input",
                    str(rows), "--limit", "200")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rows"] == 200 and result["accuracy"] >= 0.9
