"""
### Monitor the served models, and turn user feedback into training data

Hourly (`PIPELINE_MONITOR_CRON`): `monitor` computes, per served version of each model that users
sent images to (the feedback page), its live accuracy on their labels (count and Wilson 95% interval)
and the drift of its predicted classes and of the images' mean intensity from the training rows (PSI).
The figures go to the model history page and the model card; each version out of bounds is one alert
line through the alert hook (`PIPELINE_ALERT_HOOK`).

When live accuracy is below `min_live_accuracy` over at least `min_labelled` labelled rows, or a drift
passes `max_drift`, the labelled feedback becomes a new dataset version: the current dataset plus the
feedback rows, dropped into the landing folder, so `dataset_ingest` validates and versions it like any
file and its Asset event starts the training DAG (whose gate judges the new model as any other).

Beside it, `canary` judges each roll-out that a deploy with `canary_percent` > 0 left in progress: with at
least `min_labelled` labelled answers from the canary and from the stable version, the canary is rolled
back when even the top of its live accuracy's Wilson interval is below the stable's (minus 0.02), and
completed otherwise; with fewer it waits. Its verdicts go to the alert hook too.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

from mlops_pipeline.contract_wiring import form_params, step_spec
from mlops_pipeline.operations import default_args
from mlops_pipeline.run_keys import run_key
from mlops_pipeline.runners import step_operator
from mlops_pipeline.settings import load_settings

SETTINGS = load_settings()
DAG_ID = "model_monitoring"

MONITOR = step_spec("monitor", "monitor", SETTINGS.artifact_root,
                    inputs={"landing": SETTINGS.landing_dir, "store": SETTINGS.dataset_store})
CANARY = step_spec("canary", "canary", SETTINGS.artifact_root, fixed={
    "tracking_uri": SETTINGS.tracking_uri, "serving_root": SETTINGS.serving_root,
    "by": "airflow:{{ dag.dag_id }}/{{ run_id }}"})
FORM = form_params([MONITOR, CANARY])


@dag(
    dag_id=DAG_ID,
    description="Live accuracy and drift per served version; feedback becomes a new dataset version when they fall.",
    doc_md=__doc__,
    schedule=CronTriggerTimetable(SETTINGS.monitor_cron, timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml", "monitoring", "feedback"],
    default_args=default_args(timedelta(minutes=30)),
    params=FORM,
    user_defined_filters={"run_key": run_key},
)
def model_monitoring() -> None:
    @task(task_id="check_conf")
    def check(dag_run=None) -> None:
        """Refuse a bad conf (a CLI trigger bypasses the API server's check) before anything is measured."""
        from mlops_pipeline.conf_check import check_conf

        check_conf(DAG_ID, dag_run.conf, FORM)

    @task(task_id="alert")
    def alert(result: dict | None, canary: dict | None, ti=None, **context) -> list[str]:
        """Each version out of bounds, and each canary completed or rolled back, is one line to the alert hook.

        ``result`` and ``canary`` are the two steps' results, handed over as their outputs (XComArgs).
        """
        from mlops_pipeline.alerts import notify

        result = result or {}
        lines = [f"model monitoring: {line}" for line in result.get("alerts", [])]
        if result.get("landed"):
            lines.append(f"model monitoring: feedback landed as a new dataset file {result['landed']}")
        decisions = (canary or {}).get("decisions", {})
        lines += [f"canary of {model}: {line}" for model, line in decisions.items() if not line.startswith("wait")]
        return [notify(line, {"ti": ti, **context}) for line in lines]

    monitor, canary = step_operator(MONITOR), step_operator(CANARY)
    check() >> [monitor, canary]
    alert(monitor.output, canary.output)


dag = model_monitoring()
