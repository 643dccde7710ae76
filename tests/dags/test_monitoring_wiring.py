"""The monitoring DAG only wires: an hourly run of the monitor step with its bounds as Params, then the alert hook."""

from __future__ import annotations

from tests.dags.dag_loading import dag_module


def test_the_monitoring_dag_runs_the_monitor_step_on_the_landing_folder_and_store_then_alerts():
    module = dag_module("model_monitoring")
    dag = module.dag
    dag.params.validate()
    assert {"min_labelled", "min_live_accuracy", "max_drift", "model_name"} <= set(dag.params)
    assert "feedback_db" not in dag.params  # a database URL (with its password) never reaches a form or a command line
    arguments = " ".join(dag.get_task("monitor").arguments)
    assert f"--landing={module.SETTINGS.landing_dir}" in arguments and "--feedback-db" not in arguments
    assert "--min-live-accuracy={{ params.min_live_accuracy }}" in arguments
    assert dag.get_task("monitor").downstream_task_ids == {"alert"}
    assert dag.get_task("check_conf").downstream_task_ids == {"monitor"}
    assert dag.timetable.expression == "17 * * * *"
