"""DAG integrity: every DAG imports, is configured for operations, validates its Params and parses fast."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.dag_parse import MODES, probe_dag_file
from tests.dags.dag_loading import dag_module
from tests.support.steps import ROOT

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "fashion_mnist_training" in dagbag.dags


def test_every_dag_is_set_up_for_operations(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        assert dag.catchup is False and dag.max_active_runs == 1, dag_id
        for task in dag.tasks:
            assert task.owner not in (None, "", "airflow"), (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)
            assert task.execution_timeout is not None, (dag_id, task.task_id)


def test_default_params_validate(dagbag):
    for dag in dagbag.dags.values():
        dag.params.validate()


@pytest.mark.parametrize("conf, words", [
    ({"epochs": 0}, "epochs"),
    ({"optimizer": "adagrad-ish"}, "optimizer"),
    ({"accuracy_threshold": 1.5}, "accuracy_threshold"),
    ({"epochs": "ten"}, "epochs"),
])
def test_invalid_conf_is_rejected_before_any_step_runs(dagbag, conf, words):
    from airflow.sdk.definitions.param import ParamValidationError

    params = copy.deepcopy(dagbag.dags["fashion_mnist_training"].params)
    with pytest.raises(ParamValidationError, match=words):
        params.update(conf)
        params.validate()


def test_the_demo_runner_refuses_bad_conf_with_one_line():
    done = subprocess.run([sys.executable, "scripts/run_dag.py", "fashion_mnist_training", "--conf",
                           json.dumps({"epochs": -1})], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "invalid conf" in done.stderr and "epochs" in done.stderr
    typo = subprocess.run([sys.executable, "scripts/run_dag.py", "fashion_mnist_training", "--conf",
                           json.dumps({"epoch": 3})], cwd=ROOT, capture_output=True, text=True)
    assert typo.returncode == 2 and "unknown field(s) epoch" in typo.stderr


def test_the_branch_and_gate_wiring(dagbag):
    dag = dagbag.dags["fashion_mnist_training"]
    assert dag.get_task("choose_model").downstream_task_ids == {"build_model", "load_pretrained"}
    # train takes the model of whichever branch ran, its data from split, the searched settings from pick_best
    assert dag.get_task("train").upstream_task_ids == {"build_model", "load_pretrained", "split", "pick_best"}
    assert dag.get_task("train").trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("gate").downstream_task_ids == {"deploy"}
    assert dag.get_task("evaluate").downstream_task_ids == {"register"}
    # register gets load_pretrained's parent when that branch ran, so it too lets a skipped branch pass
    assert dag.get_task("register").trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("register").downstream_task_ids == {"gate", "deploy"}


def test_deploy_acts_on_the_model_register_used_not_on_the_form_field():
    from benchmarks.step_plan import render_task

    dag = dag_module().dag
    params = {**dag.params.validate(), "model_name": None}
    results = {"register": {"model_name": "fashion_mnist_8x8", "version": 4}, "gate": {"reason": "better"}}
    # register gets the form's model_name (empty: derived from the input); deploy gets register's answer
    assert "--model-name=" in render_task(dag, "register", params, {})[0].arguments
    deploy = render_task(dag, "deploy", params, results)[0].arguments
    assert {"--model-name=fashion_mnist_8x8", "--version=4", "--reason=better"} <= set(deploy)
    assert "--categories={{ params.categories }}" in dag_module().STEPS["load_pretrained"].arguments


def test_the_graph_reads_data_then_model_then_delivery(dagbag):
    dag = dagbag.dags["fashion_mnist_training"]
    groups = {}
    for task in dag.tasks:
        groups.setdefault(task.task_group.group_id, []).append(task.task_id)
    assert groups == {
        "data": ["resolve_dataset", "wait_for_data", "fetch", "validate_raw", "prepare", "validate_prepared",
                 "features", "split"],
        "tuning": ["plan_trials", "trial", "pick_best"],
        "model": ["choose_model", "build_model", "load_pretrained", "train", "evaluate"],
        "delivery": ["register", "gate", "deploy"],
    }  # task ids carry no group prefix: links, artifact folders and the gate's branch target use them as they are


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_each_dag_file_parses_fast_without_heavy_imports(path: Path, mode: str):
    """In both modes: no TensorFlow, pandas, GX, MLflow, nor the pod operator's provider at parse time."""
    seconds, heavy = probe_dag_file(path, mode)
    assert heavy == [], f"{path.name} ({mode} mode) imports {', '.join(heavy)} at parse time"
    for _ in range(2):  # best of three: the budget is judged idle by the benchmark, a shared machine adds noise
        seconds = min(seconds, probe_dag_file(path, mode)[0]) if seconds >= 0.5 else seconds
    assert seconds < 0.5, f"{path.name} ({mode} mode) parsed in {seconds:.3f}s"
