"""
### Fashion-MNIST training and delivery pipeline

wait for data → fetch (the CSV, parsed once into a columnar copy) → validate_raw (Great
Expectations) → prepare → validate_prepared → features → split → **tuning** if asked
(`tuning_trials` above 0: plan_trials → one mapped train task per trial → pick_best, whose
settings build_model and train then use) → **branch** (build a model or fine-tune the champion) → train → evaluate
→ register (MLflow run + model version) → **gate** (accuracy ≥ threshold and significantly
better than the champion on test rows neither model trained on; a champion that cannot be
compared blocks it) → deploy
(champion alias, serving folder).

Every step is `python -m tasks <step> ...`: a local subprocess in the embedded
default (`PIPELINE_MODE=local`), a pod from the step images in `kubernetes` mode.
Steps pass URIs under `<artifact root>/<dag_id>/<run_id>/<step>/`, never data.
Start a run from the trigger form; every field is described there.

Triggers: a cron (`PIPELINE_RETRAIN_CRON`, default Mondays 03:00 UTC) retrains on the
latest stored dataset version; a new version published by `dataset_ingest` (the
`fashion_mnist_dataset` Asset) trains on exactly that version; a manual run uses its
`dataset_uri` Param. `resolve_dataset` logs which, and `register` tags the MLflow run with it.
`fetch` to `split` reuse an earlier run's outputs when the dataset's bytes and the settings
each reads are the same (`reuse_data_steps`); the task log, the run report and the MLflow
run's `data_reused_from` tag name that run.

The model: `model_name` as given, or, left empty (the default), named after the run's
input, so that a run on other images never meets a champion it cannot be compared with:
`fashion_mnist` for 28x28 Fashion-MNIST images, `fashion_mnist_8x8` for the embedded digits.
`register` says which in its result and on the MLflow run; `deploy` acts on that model.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import TaskGroup, TriggerRule, dag, task

from mlops_pipeline.contract_wiring import FROM_UPSTREAM, checked, form_params, step_spec
from mlops_pipeline.decisions import BUILD_MODEL, LOAD_PRETRAINED, choose_model_source, comparison_lines, gate_for
from mlops_pipeline.operations import IO_RETRIES, default_args
from mlops_pipeline.run_keys import run_key
from mlops_pipeline.runners import step_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.steps import FirstOf, StepSpec
from mlops_pipeline.triggers import SHAPE, dataset_asset, training_schedule
from mlops_pipeline.tuning import SEARCHED, tuning_tasks
from tasks.contracts import DECIDERS

DAG_ID = "fashion_mnist_training"
SETTINGS = load_settings()
ROOT = SETTINGS.artifact_root
DATASET = dataset_asset()
TRACKING = {"tracking_uri": SETTINGS.tracking_uri}


def _spec(task_id: str, step: str | None = None, searched: tuple[str, ...] = (), **fixed) -> StepSpec:
    """A step whose image shape (resolve_dataset's) and searched settings (pick_best's) are wired in the run."""
    return step_spec(task_id, step or task_id, ROOT, fixed=fixed, wired=(*SHAPE, *searched))


# What each task runs and the settings this DAG fixes; the inputs (and FROM_UPSTREAM settings)
# are wired to upstream task outputs where the tasks are built, in fashion_mnist_training().
STEPS = {s.task_id: s for s in (
    _spec("fetch"),
    _spec("validate_raw", "validate", suite="raw"),
    _spec("prepare"),
    _spec("validate_prepared", "validate", suite="prepared"),
    _spec("features"),
    _spec("split"),
    _spec(BUILD_MODEL, searched=SEARCHED),
    _spec(LOAD_PRETRAINED, **TRACKING),
    _spec("train", searched=SEARCHED),
    _spec("evaluate"),
    _spec("register", **TRACKING, run_params="{{ params | tojson }}", lineage=FROM_UPSTREAM),
    # deploy acts on the model register used: model_name as given, or derived from the input when empty.
    _spec("deploy", **TRACKING, model_name=FROM_UPSTREAM, version=FROM_UPSTREAM, reason=FROM_UPSTREAM,
          serving_root=SETTINGS.serving_root, by="airflow:{{ dag.dag_id }}/{{ run_id }}"),
)}


FORM = form_params(STEPS.values(), DECIDERS)


@dag(
    dag_id=DAG_ID,
    description="Validate, clean, train, evaluate and (if good enough) deploy a Fashion-MNIST classifier.",
    doc_md=__doc__,
    schedule=training_schedule(SETTINGS.retrain_cron, DATASET),
    catchup=False,  # no start_date: with one, Airflow 3.3.2 ignores run_immediately and unpausing starts a run
    max_active_runs=1,
    tags=["ml", "training", "fashion-mnist"],
    default_args=default_args(timedelta(hours=2)),
    params=FORM,
    user_defined_filters={"run_key": run_key},
)
def fashion_mnist_training() -> None:
    @task(task_id="resolve_dataset", multiple_outputs=True)
    def resolve(params: dict, dag_run=None, triggering_asset_events=None) -> dict:
        """Refuse a bad conf as the API server does; pick the dataset: the event's, the latest stored, or the Param."""
        from airflow.sdk.exceptions import AirflowSkipException

        from mlops_pipeline.conf_check import check_conf
        from mlops_pipeline.triggers import NoStoredDataset, resolve_for_run

        check_conf(DAG_ID, dag_run.conf, FORM)  # not params: Airflow adds unknown conf keys to those
        run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
        events = sorted(triggering_asset_events[DATASET], key=lambda e: e.timestamp) if triggering_asset_events else []
        try:
            resolved = resolve_for_run(run_type, [dict(event.extra or {}) for event in events],
                                       SETTINGS.dataset_store, params)
        except NoStoredDataset as skip:  # never train an automated run on the embedded demo data
            raise AirflowSkipException(str(skip)) from None
        print(f"{run_type} run trains on {resolved['uri']} (chosen by {resolved['trigger']}, "
              f"version {resolved['version'] or 'n/a'}, {resolved['image_height']}x{resolved['image_width']} images)")
        return resolved

    @task.sensor(task_id="wait_for_data", poke_interval=30, timeout=timedelta(hours=6), mode="reschedule")
    def wait_for_data(uri: str, params: dict, dag_run=None) -> bool:
        """Succeed once the resolved dataset can be read; a missing local one fails at once, a remote one in time."""
        from mlops_pipeline.datasets import dataset_available

        minutes = checked(params, "wait_for_data")["data_wait_timeout_minutes"]
        return dataset_available(uri, waiting_since=dag_run.start_date, timeout=timedelta(minutes=minutes))

    @task.branch(task_id="choose_model")
    def choose_model(params: dict) -> str:
        """Fine-tune a pretrained model or build a new one, as the trigger form says."""
        return choose_model_source(checked(params, "choose_model")["use_pretrained_model"])

    @task.branch(task_id="gate")
    def gate(registered: dict, params: dict, ti=None) -> str | None:
        """Let deploy run only if the challenger clears the threshold and beats the champion on unseen rows."""
        deploy, reason, table = gate_for(params, registered or {})
        print("\n".join(["gate: champion/challenger comparison", *comparison_lines(table), f"gate: {reason}"]))
        ti.xcom_push(key="reason", value=reason)
        ti.xcom_push(key="comparison", value=table)
        return "deploy" if deploy else None

    def step(task_id: str, **wiring) -> dict:
        """The task running ``STEPS[task_id]``, its slots filled with upstream outputs (the image shape included)."""
        retries = IO_RETRIES if task_id == "fetch" else {}
        shape = {name: dataset[name] for name in SHAPE if name in STEPS[task_id].slots()}
        return {task_id: step_operator(STEPS[task_id], wiring={**shape, **wiring}, **retries)}

    # Each input is the output of the task that made it: Airflow derives the upstream edges from
    # these; `>>` adds only the order no data carries (wait, validate before use, branch, gate).
    # The graph reads data → model → delivery; task ids keep no group prefix (links, files and tests use them).
    with TaskGroup("data", prefix_group_id=False, tooltip="find, validate, clean and split the dataset"):
        ops = {"resolve_dataset": (dataset := resolve())}
        ops |= {"wait_for_data": wait_for_data(dataset["uri"])}
        ops |= step("fetch", source=dataset["uri"])
        ops |= step("validate_raw", input=ops["fetch"].output["profile"])
        ops |= step("prepare", input=ops["fetch"].output["profile"])
        ops |= step("validate_prepared", input=ops["prepare"].output["prepared"])
        ops |= step("features", input=ops["prepare"].output["prepared"])
        ops |= step("split", input=ops["features"].output["features"])
    split = ops["split"].output
    with TaskGroup("tuning", prefix_group_id=False, tooltip="search hyperparameters: one train task per trial"):
        ops["plan_trials"], ops["trial"], ops["pick_best"] = tuning_tasks(SETTINGS, split, dataset)
    best = ops["pick_best"]

    def searched(task_id: str) -> dict:
        """The searched settings ``task_id`` takes: the best trial's, or the form's without tuning."""
        return {name: best[name] for name in SEARCHED if name in STEPS[task_id].slots()}
    with TaskGroup("model", prefix_group_id=False, tooltip="build or fine-tune, train and evaluate"):
        ops |= {"choose_model": choose_model(), **step(BUILD_MODEL, **searched(BUILD_MODEL)), **step(LOAD_PRETRAINED)}
        model = FirstOf(ops[BUILD_MODEL].output["model"], ops[LOAD_PRETRAINED].output["model"])
        ops |= step("train", model=model, train=split["train"], validation=split["val"], **searched("train"))
        trained = ops["train"].output
        ops |= step("evaluate", model=trained["model"], test=split["test"])
    with TaskGroup("delivery", prefix_group_id=False, tooltip="register, compare with the champion, deploy"):
        lineage = {"dataset_uri": ops["fetch"].output["source"], "dataset_sha256": ops["fetch"].output["sha256"],
                   "dataset_trigger": dataset["trigger"], "dataset_version": dataset["version"],
                   "data_reused_from": split["reused_from"],
                   "airflow_dag_id": "{{ dag.dag_id }}", "airflow_run_id": "{{ run_id }}"}
        ops |= step("register", model=trained["model"], history=trained["history"],
                    fingerprints=trained["fingerprints"], metrics=ops["evaluate"].output["metrics"],
                    test=split["test"], lineage=lineage,
                    parent=FirstOf(ops[LOAD_PRETRAINED].output["parent"], default=""), tuning=best["study"])
        registered = ops["register"].output
        ops |= {"gate": gate(registered)}
        ops |= step("deploy", model_name=registered["model_name"], version=registered["version"],
                    reason=ops["gate"]["reason"])
    # Both run after whichever branch ran (the other was skipped): train takes its model, register its parent.
    ops["train"].trigger_rule = TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    ops["register"].trigger_rule = TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS

    ops["wait_for_data"] >> ops["fetch"]
    ops["validate_raw"] >> ops["prepare"]
    ops["validate_prepared"] >> ops["features"]
    ops["choose_model"] >> [ops[BUILD_MODEL], ops[LOAD_PRETRAINED]]
    ops["pick_best"] >> ops["choose_model"]


dag = fashion_mnist_training()
