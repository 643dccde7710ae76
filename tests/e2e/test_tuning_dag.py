"""End to end: a training run that tunes first (6 trials, 2 at a time) on the embedded digits, run by Airflow.

Given ``tuning_trials: 6, tuning_parallelism: 2`` and a search space wide enough that some
settings are hopeless, when the run ends, then 6 mapped trial tasks ran, at least one was
pruned, the final build_model and train used the best trial's settings, every trial is a
nested MLflow run under the registered run, the version and its card record the chosen
settings, and the run report shows the trials.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.dag_runs import run_dag

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SPACE = "model_type: mlp|cnn; units: 4..64 log; learning_rate: 0.00001..0.03 log; batch_size: 16|64"
CONF = {"tuning_trials": 6, "tuning_parallelism": 2, "epochs": 6, "search_space": SPACE}


@pytest.fixture(scope="module")
def tuned_run(airflow_db):
    return run_dag(None, CONF, timeout=1500)


def test_six_trial_tasks_ran_and_at_least_one_was_pruned(tuned_run):
    assert tuned_run["state"] == "success", tuned_run
    assert tuned_run["mapped"]["trial"] == ["success"] * 6
    table = json.loads((Path(tuned_run["artifacts"]) / "tuning" / "trials.json").read_text())
    states = [row["state"] for row in table["trials"]]
    assert len(states) == 6 and "pruned" in states and "complete" in states, table


def test_the_final_model_is_built_and_trained_with_the_best_trials_settings(tuned_run):
    from mlflow import MlflowClient

    best = json.loads((Path(tuned_run["artifacts"]) / "register" / "model_card.json").read_text())["tuning"]
    registration = tuned_run["registration"]
    uri = f"sqlite:///{Path(os.environ['PIPELINE_STATE_DIR']) / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    logged = client.get_run(registration["run_id"]).data.params
    version = client.get_model_version(registration["model_name"], str(registration["version"]))

    assert best["trials"] == 6 and best["pruned"] >= 1
    assert {k: str(v) for k, v in best["settings"].items()} == {k: logged[k] for k in best["settings"]}
    assert json.loads(version.tags["tuned_settings"]) == best["settings"]
    import keras

    model = keras.models.load_model(Path(tuned_run["artifacts"]) / "train" / "model.keras")
    assert model.name == f"fashion_{best['settings']['model_type']}"
    assert model.get_layer("hidden").units == best["settings"]["units"]
    assert model.optimizer.learning_rate.numpy() == pytest.approx(best["settings"]["learning_rate"], rel=1e-5)


def test_each_trial_is_a_nested_run_under_the_registered_run(tuned_run):
    from mlflow import MlflowClient

    uri = f"sqlite:///{Path(os.environ['PIPELINE_STATE_DIR']) / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    parent = client.get_run(tuned_run["registration"]["run_id"])
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")

    assert sorted(run.data.tags["tuning_trial"] for run in children) == [str(n) for n in range(6)]
    assert {run.info.status for run in children} >= {"FINISHED", "KILLED"}  # completed and pruned trials


def test_the_run_report_shows_the_trials_table_and_chart(tuned_run):
    from run_report.artifacts import load_trials
    from run_report.trials import trials_section

    html = trials_section(load_trials(Path(tuned_run["artifacts"])))

    assert "id='trials'" in html and html.count("<tr>") == 7 and "<svg" in html
