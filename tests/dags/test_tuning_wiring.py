"""The training DAG's tuning wiring: the form's tuning Params, and build_model/train reading pick_best's choice.

Given the DAG as Airflow loads it, when a run's templates are rendered with pick_best's
result, then build_model and train get the best trial's settings; with tuning off
(pick_best returns ``{}``) they get exactly the command line they get without tuning.
"""

from __future__ import annotations

import copy

import pytest

from mlops_pipeline.conf_check import conf_problem
from tasks.core import parameters as p
from tests.dags.dag_loading import dag_module, training_dag

pytestmark = pytest.mark.integration
FORM = {"model_type": "cnn", "units": 77, "learning_rate": 0.02, "batch_size": 48}
BEST = {"settings": {"model_type": "cnn", "units": 97, "learning_rate": 0.0042, "batch_size": 64}}


class _TaskInstance:
    def __init__(self, best: dict) -> None:
        self.best = best

    def xcom_pull(self, task_ids: str, **_: object) -> object:
        return self.best if task_ids == "pick_best" else {"model": "m.keras", "train": "t.npz", "val": "v.npz"}


def _rendered(task_id: str, best: dict, arguments=None) -> list[str]:
    dag = training_dag()
    params = copy.deepcopy(dag.params)
    params.update(FORM)  # not the defaults: a fallback to a default would show
    context = {"params": params.validate(), "ti": _TaskInstance(best), "run_id": "manual__1", "dag": dag}
    env = dag.get_template_env()
    return [env.from_string(a).render(**context) for a in arguments or dag_module().STEPS[task_id].arguments]


def test_the_form_has_the_tuning_params_off_by_default_and_the_search_space_declared_once():
    params = training_dag().params

    assert params["tuning_trials"] == 0 and params["tuning_parallelism"] == 2
    assert params["tuning_metric"] == "val_accuracy" and params["search_space"] == p.SEARCH_SPACE.default
    assert params.get_param("tuning_metric").schema["enum"] == ["val_accuracy", "val_loss"]


def test_a_search_space_outside_a_settings_rules_is_refused_before_any_step_runs():
    problem = conf_problem("fashion_mnist_training", {"search_space": "units: 0..8"}, training_dag().params)

    assert "search_space" in problem and "units: 0 must be >= 1" in problem


@pytest.mark.parametrize("task_id", ["build_model", "train"])
def test_with_tuning_off_build_model_and_train_get_the_forms_settings_as_without_tuning(task_id):
    from mlops_pipeline.contract_wiring import param_template

    untuned = [a.split("=", 1)[0] + "=" + param_template(s) if s else a
               for a in dag_module().STEPS[task_id].arguments
               for s in [next((x for x in p.SEARCHABLE if a.startswith(x.flag + "=")), None)]]

    assert _rendered(task_id, {}) == _rendered(task_id, {}, untuned)
    assert "--units=77" in _rendered("build_model", {}) and "--batch-size=48" in _rendered("train", {})


def test_with_tuning_on_build_model_and_train_get_the_best_trials_settings():
    built, trained = _rendered("build_model", BEST), _rendered("train", BEST)

    assert {"--model-type=cnn", "--units=97", "--learning-rate=0.0042"} <= set(built)
    assert {"--batch-size=64", "--learning-rate=0.0042"} <= set(trained)
