"""Each step input is the output of the task that made it, wired as an object, not a template naming a task id.

Given the training DAG and the results its upstream tasks pushed (each field as its own XCom),
when a step task is rendered as Airflow renders it, then its command line carries exactly those
values: the model of whichever branch ran, the dataset lineage, the gate's reason as one token.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.step_plan import render_task
from tests.dags.dag_loading import dag_module
from tests.support.steps import ROOT

SPLIT = {"train": "/a/split/train.npz", "val": "/a/split/val.npz", "test": "/a/split/test.npz"}
TRAINED = {"model": "/a/train/model.keras", "history": "/a/train/history.json", "fingerprints": "/a/train/f.npy"}


def _render(task_id: str, results: dict, **params) -> list[str]:
    dag = dag_module().dag
    return [str(a) for a in render_task(dag, task_id, {**dag.params.validate(), **params}, results)[0].arguments]


@pytest.mark.parametrize("branch", ["build_model", "load_pretrained"])
def test_train_takes_the_model_of_whichever_branch_ran(branch):
    # Given only the branch that ran pushed a model (the other was skipped)
    results = {branch: {"model": f"/a/{branch}/model.keras"}, "split": SPLIT}

    # When train is rendered
    argv = _render("train", results)

    # Then it trains that model on split's files
    assert f"--model=/a/{branch}/model.keras" in argv
    assert {"--train=/a/split/train.npz", "--validation=/a/split/val.npz"} <= set(argv)


def test_register_names_the_parent_only_after_a_fine_tune_and_records_the_dataset_lineage():
    results = {"train": TRAINED, "split": SPLIT, "evaluate": {"metrics": "/a/evaluate/metrics.json"},
               "fetch": {"source": "s3://data/f.csv", "sha256": "ab" * 32},
               "resolve_dataset": {"uri": "s3://data/f.csv", "trigger": "asset_event", "version": "v7"}}

    built = _render("register", results)
    tuned = _render("register", {**results, "load_pretrained": {"model": "m", "parent": "models:/fashion_mnist/2"}})

    assert "--parent=" in built and "--parent=models:/fashion_mnist/2" in tuned
    lineage = json.loads(next(a for a in built if a.startswith("--lineage="))[len("--lineage="):])
    assert lineage == {"dataset_uri": "s3://data/f.csv", "dataset_sha256": "ab" * 32, "dataset_trigger": "asset_event",
                       "dataset_version": "v7", "data_reused_from": None,
                       "airflow_dag_id": "fashion_mnist_training", "airflow_run_id": "manual__step_plan"}


def test_a_gate_reason_that_starts_with_a_dash_stays_the_value_of_its_flag():
    results = {"register": {"model_name": "fashion_mnist", "version": 2}, "gate": {"reason": "-0.02 vs champion"}}

    argv = _render("deploy", results)

    assert "--reason=-0.02 vs champion" in argv and "-0.02 vs champion" not in argv


@pytest.mark.parametrize("name", ["fashion_mnist_training", "dataset_ingest", "fashion_mnist_rollback",
                                  "model_monitoring"])
def test_no_step_argument_pulls_a_task_s_result_by_its_id(name):
    # A template naming a task id hides the dependency from Airflow and from a reader; an output object does not.
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags" / f"{name}.py")).dags[name]
    steps = [task for task in dag.tasks if hasattr(task, "step")]
    assert steps
    for task in steps:
        assert not [a for a in task.arguments if isinstance(a, str) and "xcom_pull" in a], task.task_id


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_both_runners_push_each_result_field_so_a_task_can_be_handed_one(mode):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from mlops_pipeline.runners import step_operator
    from mlops_pipeline.settings import load_settings

    with DAG(dag_id=f"probe_{mode}", schedule=None):
        features = EmptyOperator(task_id="features")
        op = step_operator(dag_module().STEPS["split"], load_settings({"PIPELINE_MODE": mode}),
                           wiring={"input": features.output["features"]})

    assert op.multiple_outputs is True and op.upstream_task_ids == {"features"}


def test_wiring_a_slot_the_step_does_not_have_fails_at_parse_time():
    with pytest.raises(ValueError, match=r"no upstream slot \['inputs'\]; unwired \['input'\]"):
        dag_module().STEPS["split"].wire({"inputs": "x"})  # type: ignore[dict-item]
