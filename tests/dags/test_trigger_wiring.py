"""How the DAGs start each other: the ingest DAG publishes the Asset the training DAG is scheduled on."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from types import SimpleNamespace

import pytest

from tests.support.steps import ROOT


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def test_training_runs_on_the_weekly_cron_or_when_the_dataset_asset_updates(dags):
    from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable

    timetable = dags["fashion_mnist_training"].timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert isinstance(timetable.timetable, CronTriggerTimetable)
    assert timetable.timetable.expression == "0 3 * * 1" and str(timetable.timetable.timezone) == "UTC"
    assert timetable.asset_condition == Asset("fashion_mnist_dataset", uri="fashion-mlops://datasets/fashion_mnist")


def test_the_asset_does_not_move_with_the_store(dags):
    # Airflow refuses a second URI under a name it holds: an Asset URI built from the store's path went inactive
    # (no events, no triggered runs) once the store moved, or when test modules with their own stores shared a DB.
    asset = dags["fashion_mnist_training"].timetable.asset_condition
    assert _store_uri() != asset.uri and os.environ["PIPELINE_STATE_DIR"] not in asset.uri


def test_the_ingest_dag_publishes_that_same_asset_and_only_from_publish(dags):
    ingest = dags["dataset_ingest"]
    training_asset = dags["fashion_mnist_training"].timetable.asset_condition
    outlets = {task.task_id: task.outlets for task in ingest.tasks if task.outlets}
    assert outlets == {"publish": [training_asset]}
    assert ingest.get_task("wait_for_file").downstream_task_ids == {"ingest"}
    assert ingest.get_task("ingest").downstream_task_ids == {"publish"}


def test_the_ingest_sensor_is_deferrable_on_the_absolute_landing_folder_and_times_out_softly(dags):
    import os

    sensor = dags["dataset_ingest"].get_task("wait_for_file")
    landing = os.path.join(os.environ["PIPELINE_STATE_DIR"], "landing")
    assert sensor.deferrable and sensor.filepath == f"{landing}/*.csv*" and os.path.isabs(sensor.filepath)
    assert sensor.fs_conn_id == "fs_default" and sensor.soft_fail and sensor.timeout == 6 * 3600
    assert dags["dataset_ingest"].get_task("ingest").arguments[:2] == [
        f"--landing={landing}", f"--store={os.path.join(os.environ['PIPELINE_STATE_DIR'], 'datasets')}"]


def test_fetch_reads_the_resolved_dataset_and_io_steps_retry_with_capped_exponential_backoff(dags):
    training = dags["fashion_mnist_training"]
    from benchmarks.step_plan import render_task

    fetch = training.get_task("fetch")
    resolved = {"uri": "/data/new.csv", "trigger": "asset_event", "version": "abc", "image_height": 28,
                "image_width": 28}
    rendered = render_task(training, "fetch", training.params.validate(), {"resolve_dataset": resolved})[0]
    assert rendered.arguments[0] == "--source=/data/new.csv"
    # the version's image shape, not the form's 8x8 default: a run the scheduler starts has no conf
    assert {"--image-height=28", "--image-width=28"} <= {str(a) for a in rendered.arguments}
    # the sensor waits for that same dataset, fetch reads it, register records where it came from, and every
    # step that reads images takes their shape from it
    shaped = {"fetch", "validate_raw", "prepare", "validate_prepared", "features", "build_model", "load_pretrained"}
    assert training.get_task("resolve_dataset").downstream_task_ids == {"wait_for_data", "register", "plan_trials",
                                                                         *shaped}
    for task in (fetch, dags["dataset_ingest"].get_task("ingest")):
        assert task.retries >= 3 and task.retry_exponential_backoff == 2.0
        assert task.max_retry_delay == timedelta(minutes=10)


def test_every_task_alerts_on_failure(dags):
    from mlops_pipeline.alerts import on_failure

    for dag in dags.values():
        for task in dag.tasks:
            assert on_failure in (task.on_failure_callback or []), (dag.dag_id, task.task_id)


@pytest.mark.parametrize("run_type, expected", [
    ("asset_triggered", f"{tempfile.gettempdir()}/store/new/b.csv"),
    ("scheduled", None),  # the test store is empty: skipped, never trained on the demo data
    ("manual", "embedded://digits"),
])
def test_resolve_dataset_reads_the_events_of_the_dataset_asset(dags, run_type, expected):
    from airflow.sdk.exceptions import AirflowSkipException

    training = dags["fashion_mnist_training"]
    asset = training.timetable.asset_condition
    store = f"{tempfile.gettempdir()}/store"
    events = {asset: [SimpleNamespace(timestamp=2, extra={"uri": f"{store}/new/b.csv", "sha256": "b"}),
                      SimpleNamespace(timestamp=1, extra={"uri": f"{store}/old/a.csv", "sha256": "a"})]}
    resolve = training.get_task("resolve_dataset").python_callable

    def call():
        return resolve(params=dict(training.params), dag_run=SimpleNamespace(run_type=run_type, conf={}),
                       triggering_asset_events=events if run_type == "asset_triggered" else {})

    if expected is None:
        with pytest.raises(AirflowSkipException, match="no stored version"):
            call()
    else:
        assert call()["uri"] == expected


def _store_uri() -> str:
    return "file://" + os.path.join(os.environ["PIPELINE_STATE_DIR"], "datasets")


def test_a_skipped_resolve_dataset_skips_every_task_after_it_deploy_included(dags):
    # A scheduled run with an empty store skips resolve_dataset (above); Airflow then skips a task only if
    # its trigger rule skips on all-skipped upstreams: all_success and none_failed_min_one_success do.
    training = dags["fashion_mnist_training"]
    downstream = training.get_task("resolve_dataset").get_flat_relatives(upstream=False)
    assert {"deploy", "train", "register"} <= {t.task_id for t in downstream}
    assert {getattr(t.trigger_rule, "value", t.trigger_rule) for t in downstream} <= {"all_success",
                                                                                   "none_failed_min_one_success"}
