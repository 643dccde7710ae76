"""
### Fashion-MNIST training and delivery pipeline

wait for data → fetch → validate_raw (Great Expectations) → prepare → validate_prepared
→ features → split → **branch** (build a model or fine-tune the champion) → train
→ evaluate → register (MLflow run + model version) → **gate** (accuracy ≥ threshold
and beats the champion) → deploy (champion alias, serving folder).

Every step is `python -m tasks <step> ...`: a local subprocess in the embedded
default (`PIPELINE_MODE=local`), a pod from the step images in `kubernetes` mode.
Steps pass URIs under `<artifact root>/<dag_id>/<run_id>/<step>/`, never data.
Start a run from the trigger form; every field is described there.

Triggers: a cron (`PIPELINE_RETRAIN_CRON`, default Mondays 03:00 UTC) retrains on the
latest stored dataset version; a new version published by `dataset_ingest` (the
`fashion_mnist_dataset` Asset) trains on exactly that version; a manual run uses its
`dataset_uri` Param. `resolve_dataset` logs which, and `register` tags the MLflow run with it.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import TriggerRule, dag, task

from mlops_pipeline.decisions import BUILD_MODEL, LOAD_PRETRAINED, choose_model_source, gate_decision
from mlops_pipeline.operations import IO_RETRIES, default_args
from mlops_pipeline.params import training_params
from mlops_pipeline.runners import step_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import TRAIN_RESOURCES, StepSpec, first_xcom, path_safe, run_dir, xcom
from mlops_pipeline.triggers import dataset_asset, training_schedule

SETTINGS = load_settings()
ROOT = SETTINGS.artifact_root
TRACKING = SETTINGS.tracking_uri
DATASET = dataset_asset(SETTINGS.dataset_store)
PARENT = "{{ (ti.xcom_pull(task_ids='load_pretrained') or {}).get('parent') or '' }}"
P = "{{ params.%s }}"


def _p(name: str) -> str:
    return P % name


COMPILE_ARGS = ("--optimizer", _p("optimizer"), "--loss", _p("loss"), "--learning-rate", _p("learning_rate"),
                "--output-activation", _p("output_activation"))
SHAPE_ARGS = ("--height", _p("image_height"), "--width", _p("image_width"))
CHECK_ARGS = ("--min-rows", _p("min_rows"), "--min-valid-label-share", _p("min_valid_label_share"),
              "--max-empty-cell-share", _p("max_empty_cell_share"), "--min-class-share", _p("min_class_share"))

STEPS = {
    "fetch": StepSpec("fetch", "fetch", (
        "--source", xcom("resolve_dataset", "uri"), "--output", run_dir(ROOT, "fetch"),
        "--invalid-label-rate", _p("invalid_label_rate"), "--empty-cell-rate", _p("empty_cell_rate"),
        "--seed", _p("fault_seed"))),
    "validate_raw": StepSpec("validate_raw", "validate", (
        "--suite", "raw", "--input", xcom("fetch", "raw"), "--output", run_dir(ROOT, "validate_raw"), *SHAPE_ARGS,
        *CHECK_ARGS)),
    "prepare": StepSpec("prepare", "prepare", (
        "--input", xcom("fetch", "raw"), "--output", run_dir(ROOT, "prepare"), *SHAPE_ARGS)),
    "validate_prepared": StepSpec("validate_prepared", "validate", (
        "--suite", "prepared", "--input", xcom("prepare", "prepared"), "--output", run_dir(ROOT, "validate_prepared"),
        *SHAPE_ARGS, *CHECK_ARGS)),
    "features": StepSpec("features", "features", (
        "--input", xcom("prepare", "prepared"), "--output", run_dir(ROOT, "features"), *SHAPE_ARGS,
        "--loss", _p("loss"))),
    "split": StepSpec("split", "split", (
        "--input", xcom("features", "features"), "--output", run_dir(ROOT, "split"),
        "--test-size", _p("test_size"), "--validation-size", _p("validation_size"),
        "--random-state", _p("random_state"))),
    BUILD_MODEL: StepSpec(BUILD_MODEL, BUILD_MODEL, (
        "--output", run_dir(ROOT, BUILD_MODEL), "--model-type", _p("model_type"), *SHAPE_ARGS,
        "--units", _p("units"), "--hidden-activation", _p("hidden_activation"), "--seed", _p("random_state"),
        *COMPILE_ARGS)),
    LOAD_PRETRAINED: StepSpec(LOAD_PRETRAINED, LOAD_PRETRAINED, (
        "--model-uri", "{{ params.base_model_uri or '' }}", "--tracking-uri", TRACKING,
        "--model-name", _p("model_name"),
        "--output", run_dir(ROOT, LOAD_PRETRAINED), *SHAPE_ARGS, *COMPILE_ARGS), image="train"),
    "train": StepSpec("train", "train", (
        "--model", first_xcom((BUILD_MODEL, LOAD_PRETRAINED), "model"), "--train", xcom("split", "train"),
        "--validation", xcom("split", "val"), "--output", run_dir(ROOT, "train"), "--epochs", _p("epochs"),
        "--batch-size", _p("batch_size"), "--learning-rate", _p("learning_rate"),
        "--patience", _p("early_stopping_patience"), "--seed", _p("random_state")),
        image="train", resources=TRAIN_RESOURCES, gpus=_p("gpu_count")),
    "evaluate": StepSpec("evaluate", "evaluate", (
        "--model", xcom("train", "model"), "--test", xcom("split", "test"), "--output", run_dir(ROOT, "evaluate")),
        image="train"),
    "register": StepSpec("register", "register", (
        "--tracking-uri", TRACKING, "--model-name", _p("model_name"), "--train-dir", run_dir(ROOT, "train"),
        "--evaluate-dir", run_dir(ROOT, "evaluate"), "--test", xcom("split", "test"),
        "--params-json", "{{ params | tojson }}", "--parent", PARENT, "--output", run_dir(ROOT, "register"),
        "--tag", "dataset_uri=" + xcom("fetch", "source"), "--tag", "dataset_sha256=" + xcom("fetch", "sha256"),
        "--tag", "dataset_trigger=" + xcom("resolve_dataset", "trigger"),
        "--tag", "dataset_version=" + xcom("resolve_dataset", "version"),
        "--tag", "airflow_dag_id={{ dag.dag_id }}", "--tag", "airflow_run_id={{ run_id }}"), image="train"),
    "deploy": StepSpec("deploy", "deploy", (
        "--tracking-uri", TRACKING, "--model-name", _p("model_name"), "--version", xcom("register", "version"),
        "--serving-root", SETTINGS.serving_root, "--reason", "{{ ti.xcom_pull(task_ids='gate', key='reason') }}",
        "--by", "airflow:{{ dag.dag_id }}/{{ run_id }}"), image="train"),
}


@dag(
    dag_id="fashion_mnist_training",
    description="Validate, clean, train, evaluate and (if good enough) deploy a Fashion-MNIST classifier.",
    doc_md=__doc__,
    schedule=training_schedule(SETTINGS.retrain_cron, DATASET),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml", "training", "fashion-mnist"],
    default_args=default_args(timedelta(hours=2)),
    params=training_params(),
    user_defined_filters={"path_safe": path_safe},
)
def fashion_mnist_training() -> None:
    @task(task_id="resolve_dataset")
    def resolve(params: dict, dag_run=None, triggering_asset_events=None) -> dict:
        """Pick the dataset version: the triggering event's, the latest stored one, or the Param."""
        from mlops_pipeline.triggers import latest_version, resolve_dataset

        run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
        events = list(triggering_asset_events[DATASET]) if triggering_asset_events else []
        events.sort(key=lambda event: event.timestamp)
        resolved = resolve_dataset(run_type, [dict(event.extra or {}) for event in events],
                                   latest_version(SETTINGS.dataset_store), params["dataset_uri"])
        print(f"{run_type} run trains on {resolved['uri']} (chosen by {resolved['trigger']}, "
              f"version {resolved['version'] or 'n/a'})")
        return resolved

    @task.sensor(task_id="wait_for_data", poke_interval=30, timeout=timedelta(hours=6), mode="reschedule")
    def wait_for_data(ti=None) -> bool:
        """Succeed once the resolved dataset URI can be read (the embedded dataset always can)."""
        from mlops_pipeline.datasets import dataset_available

        return dataset_available(ti.xcom_pull(task_ids="resolve_dataset")["uri"])

    @task.branch(task_id="choose_model")
    def choose_model(params: dict) -> str:
        """Fine-tune a pretrained model or build a new one, as the trigger form says."""
        return choose_model_source(bool(params["use_pretrained_model"]))

    @task.branch(task_id="gate")
    def gate(params: dict, ti=None) -> str | None:
        """Let deploy run only if the challenger clears the threshold and beats the champion."""
        result = ti.xcom_pull(task_ids="register") or {}
        deploy, reason = gate_decision(result.get("accuracy"), float(params["accuracy_threshold"]),
                                       result.get("champion_accuracy"), float(params["min_improvement"]),
                                       result.get("champion_version"))
        print(f"gate: {reason}")
        ti.xcom_push(key="reason", value=reason)
        return "deploy" if deploy else None

    ops = {name: step_operator(spec, **(IO_RETRIES if name == "fetch" else {})) for name, spec in STEPS.items()}
    ops["train"].trigger_rule = TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS

    resolve() >> wait_for_data() >> ops["fetch"] >> ops["validate_raw"] >> ops["prepare"] >> ops["validate_prepared"]
    ops["validate_prepared"] >> ops["features"] >> ops["split"]
    ops["split"] >> choose_model() >> [ops[BUILD_MODEL], ops[LOAD_PRETRAINED]] >> ops["train"]
    ops["train"] >> ops["evaluate"] >> ops["register"] >> gate() >> ops["deploy"]


fashion_mnist_training()
