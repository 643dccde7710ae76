"""
### Roll back the served Fashion-MNIST model

Points the registered model's `champion` alias back at an earlier version, re-exports
that version to the serving folder (TensorFlow Serving follows without a restart) and
records who rolled back, when and why in the promotion history. The target defaults
to the previous champion. A target that does not exist fails the run and changes nothing.
`model_name` must be set: `fashion_mnist` for 28x28 Fashion-MNIST images, `fashion_mnist_8x8`
for the embedded digits demo (a training run's report names the model it registered).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from mlops_pipeline.contract_wiring import form_params, step_spec
from mlops_pipeline.operations import default_args
from mlops_pipeline.runners import step_operator
from mlops_pipeline.settings import load_settings

SETTINGS = load_settings()
DAG_ID = "fashion_mnist_rollback"

ROLLBACK = step_spec("rollback", "rollback", SETTINGS.artifact_root, fixed={
    "tracking_uri": SETTINGS.tracking_uri, "serving_root": SETTINGS.serving_root,
    "by": "airflow:{{ dag.dag_id }}/{{ run_id }}"})
FORM = form_params([ROLLBACK])


@dag(
    dag_id=DAG_ID,
    description="Move the champion back to an earlier registered version and serve it.",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml", "deployment", "rollback"],
    default_args=default_args(timedelta(minutes=30)),
    params=FORM,
)
def fashion_mnist_rollback() -> None:
    @task(task_id="check_conf")
    def check(dag_run=None) -> None:
        """Refuse a bad conf (a CLI trigger bypasses the API server's check) before the champion moves."""
        from mlops_pipeline.conf_check import check_conf

        check_conf(DAG_ID, dag_run.conf, FORM)

    check() >> step_operator(ROLLBACK)


fashion_mnist_rollback()
