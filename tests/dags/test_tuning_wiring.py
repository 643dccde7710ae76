"""The training DAG's tuning wiring: the form's tuning Params, and build_model/train reading pick_best's choice.

Given the DAG as Airflow loads it, when a run's templates are rendered with pick_best's
result, then build_model and train get the best trial's settings; with tuning off
pick_best hands on the form's own values, so they train on the form's settings.
"""

from __future__ import annotations

import pytest

from benchmarks.step_plan import render_task
from mlops_pipeline.conf_check import conf_problem
from tasks.core import parameters as p
from tests.dags.dag_loading import dag_module, training_dag

pytestmark = pytest.mark.integration
FORM = {"model_type": "cnn", "units": 77, "learning_rate": 0.02, "batch_size": 48}
BEST = {"settings": {"model_type": "cnn", "units": 97, "learning_rate": 0.0042, "batch_size": 64}}


def _rendered(task_id: str, picked: dict) -> list[str]:
    """``task_id``'s command line when pick_best returned ``picked`` (each field its own XCom)."""
    dag = dag_module().dag
    params = {**dag.params.validate(), **FORM}  # not the defaults: a fallback to a default would show
    results = {"pick_best": {**picked, "study": ""}, "split": {"train": "t.npz", "val": "v.npz", "test": "x.npz"},
               "build_model": {"model": "m.keras"}}
    return [str(a) for a in render_task(dag, task_id, params, results)[0].arguments]


def test_the_form_has_the_tuning_params_off_by_default_and_the_search_space_declared_once():
    params = training_dag().params

    assert params["tuning_trials"] == 0 and params["tuning_parallelism"] == 2
    assert params["tuning_metric"] == "val_accuracy" and params["search_space"] == p.SEARCH_SPACE.default
    assert params.get_param("tuning_metric").schema["enum"] == ["val_accuracy", "val_loss"]


def test_a_search_space_outside_a_settings_rules_is_refused_before_any_step_runs():
    problem = conf_problem("fashion_mnist_training", {"search_space": "units: 0..8"}, training_dag().params)

    assert "search_space" in problem and "units: 0 must be >= 1" in problem


def test_with_tuning_off_pick_best_hands_on_the_forms_settings_and_no_study(tmp_path):
    pick_best = training_dag().get_task("pick_best").python_callable
    params = {**training_dag().params.validate(), **FORM, "tuning_trials": 0}

    picked = pick_best(params=params, run_id="manual__1", dag=training_dag())

    assert {name: picked[name] for name in FORM} == FORM and picked["study"] == ""
    assert "--units=77" in _rendered("build_model", picked) and "--batch-size=48" in _rendered("train", picked)


def test_with_tuning_on_build_model_and_train_get_the_best_trials_settings():
    built, trained = _rendered("build_model", BEST["settings"]), _rendered("train", BEST["settings"])

    assert {"--model-type=cnn", "--units=97", "--learning-rate=0.0042"} <= set(built)
    assert {"--batch-size=64", "--learning-rate=0.0042"} <= set(trained)


def test_the_scheduler_less_step_plan_answers_pick_best_as_an_untuned_run_does(tmp_path):
    from benchmarks.step_plan import run_steps

    seen: dict[str, list[str]] = {}

    def record(spec, argv):
        seen[spec.task_id] = argv
        return {"model": "m.keras"}

    run_steps(FORM, tmp_path, execute=record, task_ids=["build_model"])

    assert {"--model-type=cnn", "--units=77", "--learning-rate=0.02"} <= set(seen["build_model"])
    with pytest.raises(ValueError, match="tuning_trials"):
        run_steps({"tuning_trials": 2}, tmp_path, execute=record, task_ids=["build_model"])
