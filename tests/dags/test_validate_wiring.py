"""The data quality gates sit where the issue puts them: around prepare, before anything is trained."""

from __future__ import annotations

import os

from airflow.dag_processing.dagbag import DagBag


def load_dag():
    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert not bag.import_errors, bag.import_errors
    return bag.dags["fashion_mnist_training"]


def test_validation_steps_guard_prepare_and_features():
    dag = load_dag()
    # each validation reads the output it guards, and the next step waits for its verdict
    # (resolve_dataset gives every one of them the images' shape)
    assert dag.get_task("validate_raw").upstream_task_ids == {"fetch", "resolve_dataset"}
    assert dag.get_task("prepare").upstream_task_ids == {"fetch", "validate_raw", "resolve_dataset"}
    assert dag.get_task("validate_prepared").upstream_task_ids == {"prepare", "resolve_dataset"}
    assert dag.get_task("features").upstream_task_ids == {"prepare", "validate_prepared", "resolve_dataset"}


def test_threshold_params_have_defaults_that_validate():
    dag = load_dag()
    for name in ("min_valid_label_share", "max_empty_cell_share", "min_rows", "min_class_share"):
        assert name in dag.params
    dag.params.validate()
