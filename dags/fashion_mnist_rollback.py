"""
### Roll back the served Fashion-MNIST model

Points the registered model's `champion` alias back at an earlier version, re-exports
that version to the serving folder (TensorFlow Serving follows without a restart) and
records who rolled back, when and why in the promotion history. The target defaults
to the previous champion. A target that does not exist fails the run and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag

from mlops_pipeline.operations import default_args
from mlops_pipeline.runners import step_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import StepSpec

SETTINGS = load_settings()

ROLLBACK = StepSpec("rollback", "rollback", (
    "--tracking-uri", SETTINGS.tracking_uri, "--model-name", "{{ params.model_name }}",
    "--target-version", "{{ params.target_version }}", "--serving-root", SETTINGS.serving_root,
    "--reason", "{{ params.reason }}", "--by", "airflow:{{ dag.dag_id }}/{{ run_id }}"), image="train")


@dag(
    dag_id="fashion_mnist_rollback",
    description="Move the champion back to an earlier registered version and serve it.",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml", "deployment", "rollback"],
    default_args=default_args(timedelta(minutes=30)),
    params={
        "model_name": Param("fashion_mnist", type="string", pattern="^[A-Za-z0-9_.-]+$", title="Model name",
                            description="Registered model to roll back."),
        "target_version": Param(0, type="integer", minimum=0, title="Target version",
                                description="Registered version to serve again; 0 = the previous champion."),
        "reason": Param("manual rollback", type="string", minLength=3, title="Reason",
                        description="Why: recorded in the promotion history."),
    },
)
def fashion_mnist_rollback() -> None:
    step_operator(ROLLBACK)


fashion_mnist_rollback()
