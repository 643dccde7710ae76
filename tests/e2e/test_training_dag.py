"""End to end: one model's life through the training and rollback DAGs, run by Airflow (``dag.test``) as
``make demo`` and ``make rollback`` run them, against a local MLflow registry and serving folder.

Given the session's champion (``make demo``'s first run: the digits' own model, version 1, deployed), the
lifecycle goes on in order, once: a worse run (training settings changed, nothing a data step reads) reuses
every data step of the champion's run, and is registered and refused; fine-tuning the champion is
registered with its parent and kept out of production by the threshold; a person promotes it by hand; a
rollback to a version that does not exist fails and changes nothing; a rollback moves the champion back
and the serving folder follows; the champion then answers predictions. Each test reads one stage.

What these runs used to prove beside this lifecycle is proven cheaper elsewhere (docs/testing.md lists where).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.dag_runs import ROLLBACK, champion, run_dag, served, tracking_uri
from tests.support.steps import run_step

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _stage(state: Path, model: str, run: dict | None = None, **more) -> dict:
    """What a stage left: its run (if any) and, right after it, the serving folder and the champion alias."""
    return {"run": run, "served": served(state, model), "champion": champion(state, model), **more}


@pytest.fixture(scope="module")
def lifecycle(champion) -> dict[str, dict]:
    """Every stage after the first champion, in order; the tests assert on the recorded results."""
    assert champion.run["state"] == "success", champion.run
    state, model = champion.state, champion.model
    stages = {"worse": _stage(state, model, run_dag(state, {"model_name": model, "epochs": 1, "units": 4,
                                                            "accuracy_threshold": 0.0}))}
    fine_tuned = run_dag(state, {"model_name": model, "use_pretrained_model": True, "epochs": 5,
                                 "learning_rate": 0.0005, "accuracy_threshold": 0.999})
    stages["fine_tune"] = _stage(state, model, fine_tuned)
    version = str(fine_tuned.get("registration", {}).get("version"))
    by_hand = run_step("deploy", "--tracking-uri", tracking_uri(state), "--model-name", model, "--version", version,
                       "--serving-root", str(state / "serving"), "--reason", "by hand",
                       "--output", str(state / "deployed-by-hand"))
    stages["by_hand"] = _stage(state, model, version=version, returncode=by_hand.returncode, stderr=by_hand.stderr)
    stages["missing"] = _stage(state, model, run_dag(state, {"model_name": model, "target_version": 99,
                                                             "reason": "wrong version"}, ROLLBACK))
    stages["rollback"] = _stage(state, model, run_dag(state, {"model_name": model,
                                                              "reason": "regression seen in production"}, ROLLBACK))
    return stages


def test_the_first_run_validates_cleans_trains_and_becomes_champion(champion):
    run = champion.run
    assert run["returncode"] == 0 and run["state"] == "success", run
    tasks = run["tasks"]
    assert tasks["validate_raw"] == tasks["validate_prepared"] == "success"
    assert tasks["deploy"] == "success" and tasks["load_pretrained"] == "skipped"
    assert tasks["trial"] == "skipped" and tasks["pick_best"] == "success"  # tuning off (the default): no trial
    assert run["accuracy"] >= 0.95
    cleaning = run["cleaning"]
    assert cleaning["dropped_empty_cells"] > 0 and cleaning["dropped_invalid_label"] > 0
    assert cleaning["rows_out"] == cleaning["rows_in"] - cleaning["dropped_empty_cells"] - cleaning[
        "dropped_invalid_label"]
    assert Path(run["report"]).is_file()
    registration = run["registration"]
    assert registration["version"] == 1 and registration["champion_version"] is None
    assert registration["model_name"] == champion.model and registration["model_name_derived"]
    assert "no champion yet: deploying" in run["gate_reason"]
    assert champion.served == ["1"] and champion.alias == "1"


def test_a_worse_run_is_registered_and_compared_on_unseen_rows_but_not_promoted(lifecycle):
    stage = lifecycle["worse"]
    run = stage["run"]
    assert run["state"] == "success", run
    registration = run["registration"]
    assert registration["version"] == 2 and registration["champion_version"] == 1
    assert registration["accuracy"] < registration["champion_accuracy"]
    assert registration["champion"]["table"]["rows"] >= 100  # same data, same split: the champion never saw them
    assert run["tasks"]["register"] == "success" and run["tasks"]["deploy"] == "skipped"
    assert run["gate_reason"].endswith("challenger is not better, not deploying"), run["gate_reason"]
    assert stage["served"] == ["1"] and stage["champion"] == "1"


def test_the_worse_run_changed_only_training_settings_so_it_reused_every_data_step_and_says_whose(lifecycle,
                                                                                                  champion):
    from mlflow import MlflowClient

    from run_report.facts import run_facts
    from run_report.reuse import DATA_STEPS, reuse_section

    first, second = champion.run, lifecycle["worse"]["run"]
    cold, warm = run_facts(first["dag_id"], first["run_id"]), run_facts(second["dag_id"], second["run_id"])
    assert cold["reused"] == {}  # a fresh state folder: nothing to reuse
    assert sorted(warm["reused"]) == sorted(DATA_STEPS)
    assert {origin["run_id"] for origin in warm["reused"].values()} == {first["run_id"]}
    html = reuse_section(warm["reused"], set(warm["tasks"]))
    assert "6 of 6 data steps reused" in html and first["run_id"].split("+")[0] in html
    # the rerun's folder is complete (the report reads it) and training saw the same rows
    assert second["cleaning"] == first["cleaning"]
    split = Path(second["artifacts"]) / "split" / "train.npz"
    assert split.read_bytes() == (Path(first["artifacts"]) / "split" / "train.npz").read_bytes()
    uri = tracking_uri(champion.state)
    tags = MlflowClient(uri, uri).get_run(second["registration"]["run_id"]).data.tags
    assert tags.get("data_reused_from") == f"{first['dag_id']}/{first['run_id']}"


def test_fine_tuning_starts_from_the_champion_records_its_parent_and_the_threshold_keeps_it_out(lifecycle):
    stage = lifecycle["fine_tune"]
    run = stage["run"]
    assert run["state"] == "success", run
    assert run["tasks"]["load_pretrained"] == "success" and run["tasks"]["build_model"] == "skipped"
    assert run["registration"]["parent"] == f"models:/{run['registration']['model_name']}/1"
    assert 0.9 <= run["accuracy"] < 0.999
    assert run["tasks"]["register"] == "success" and run["tasks"]["deploy"] == "skipped"
    assert run["gate_reason"].endswith("< threshold 0.9990: not deploying"), run["gate_reason"]
    assert stage["served"] == ["1"] and stage["champion"] == "1"


def test_a_person_promotes_a_version_by_hand_with_the_deploy_step(lifecycle):
    stage = lifecycle["by_hand"]
    assert stage["returncode"] == 0, stage["stderr"]
    assert stage["champion"] == stage["version"] and stage["served"] == [stage["version"]]


def test_a_rollback_to_a_missing_version_fails_and_changes_nothing(lifecycle):
    stage, promoted = lifecycle["missing"], lifecycle["by_hand"]["version"]
    assert stage["run"]["state"] == "failed" and stage["run"]["returncode"] != 0, stage["run"]
    assert stage["champion"] == promoted and stage["served"] == [promoted]


def test_rollback_moves_the_champion_back_and_the_serving_folder_follows(lifecycle):
    stage = lifecycle["rollback"]
    assert stage["run"]["state"] == "success", stage["run"]
    assert stage["champion"] == "1" and stage["served"] == ["1"]


def test_the_champion_rolled_back_to_answers_predictions(lifecycle, champion, tmp_path):
    assert lifecycle["rollback"]["champion"] == "1"
    rows = tmp_path / "rows.csv"
    made = run_step("make_dataset", "--output", str(rows), "--invalid-label-rate", "0", "--empty-cell-rate", "0")
    assert made.returncode == 0, made.stderr
    done = run_step("predict", "--model-uri", f"models:/{champion.model}@champion", "--tracking-uri",
                    tracking_uri(champion.state), "--input", str(rows), "--limit", "200")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rows"] == 200 and result["accuracy"] >= 0.9
