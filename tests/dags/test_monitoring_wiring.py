"""The monitoring DAG only wires: hourly, the monitor and canary steps with their bounds as Params, then alerts."""

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
    assert dag.get_task("check_conf").downstream_task_ids == {"monitor", "canary"}
    assert dag.timetable.expression == "17 * * * *"


def test_the_canary_step_judges_roll_outs_in_the_deployments_registry_and_serving_folder_and_alerts():
    module = dag_module("model_monitoring")
    arguments = module.CANARY.arguments

    assert f"--tracking-uri={module.SETTINGS.tracking_uri}" in arguments
    assert f"--serving-root={module.SETTINGS.serving_root}" in arguments
    assert "--min-labelled={{ params.min_labelled }}" in arguments  # the monitor's bound and model name, shared
    assert any(a.startswith("--model-name={{") and "params.model_name" in a for a in arguments)
    assert not any(a.startswith("--feedback-db") for a in arguments)
    assert module.dag.get_task("canary").downstream_task_ids == {"alert"}


def test_the_alert_task_takes_both_steps_results_as_their_outputs_not_by_task_id():
    alert = dag_module("model_monitoring").dag.get_task("alert")
    handed = [arg.operator.task_id for arg in alert.op_args]
    assert handed == ["monitor", "canary"]


def test_a_completed_or_rolled_back_canary_is_an_alert_line_and_a_waiting_one_is_not(monkeypatch):
    alert = dag_module("model_monitoring").dag.get_task("alert").python_callable
    monkeypatch.delenv("PIPELINE_ALERT_HOOK", raising=False)

    lines = alert({"alerts": ["m v1: live accuracy 0.5"]}, {"decisions": {
        "m": "rollback: canary 0.6000 vs stable 0.9500", "n": "wait: too few labelled answers"}}, ti=None)

    assert lines == ["model monitoring: m v1: live accuracy 0.5",
                     "canary of m: rollback: canary 0.6000 vs stable 0.9500"]
