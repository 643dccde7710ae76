"""
### Ingest new Fashion-MNIST data into the versioned dataset store

wait for a file in the landing folder (deferrable sensor: waits in the triggerer, no
worker slot) → ingest (hash it, copy it to `<store>/<sha256>/` with a manifest, never
overwriting) → publish (update the `fashion_mnist_dataset` Asset with the version's URI
and hash, which starts the training DAG).

One file per run, oldest first; the DAG runs continuously, so the next run picks up the
next file. A file still being copied is waited for; bytes already stored are recorded as
a duplicate and publish nothing (so the same data never trains twice); a file that is not
a `label,pixel1..pixelN` CSV moves to `<landing>/rejected/` and fails the run with one line.
Drop `*.csv` or `*.csv.gz` files into `PIPELINE_LANDING_DIR` (default `<state>/landing/`).
For an object store, swap the sensor for `S3KeySensor(bucket_key="s3://bucket/landing/*.csv*",
wildcard_match=True, deferrable=True)` configured by env (see README, "Triggers").
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import dag, task

from mlops_pipeline.contract_wiring import step_spec
from mlops_pipeline.operations import IO_RETRIES, default_args
from mlops_pipeline.runners import step_operator
from mlops_pipeline.settings import load_settings
from mlops_pipeline.triggers import dataset_asset

SETTINGS = load_settings()
DATASET = dataset_asset()
# The settle time (min_age, max_wait) is the ingest contract's default (tasks/contracts.py), applied by the step.
INGEST = step_spec("ingest", "ingest", SETTINGS.artifact_root,
                   inputs={"landing": SETTINGS.landing_dir, "store": SETTINGS.dataset_store})


@dag(
    dag_id="dataset_ingest",
    description="Version new dataset files from the landing folder and publish them as Asset events.",
    doc_md=__doc__,
    schedule="@continuous",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ml", "data", "ingest"],
    default_args=default_args(timedelta(minutes=30)),
)
def dataset_ingest() -> None:
    wait_for_file = FileSensor(
        task_id="wait_for_file", filepath=f"{SETTINGS.landing_dir}/*.csv*", deferrable=True, poke_interval=10,
        timeout=timedelta(hours=6).total_seconds(), soft_fail=True, execution_timeout=timedelta(hours=7))

    @task(task_id="publish", outlets=[DATASET])
    def publish(ingested: dict | None, outlet_events=None) -> dict:
        """Update the dataset Asset for a new version only; skipping emits no event."""
        from airflow.sdk.exceptions import AirflowSkipException

        result = ingested or {}
        if result.get("status") != "new":
            raise AirflowSkipException(f"nothing new to publish ({result.get('status')}: "
                                       f"{result.get('filename') or result.get('pending') or 'no file'})")
        shape = {key: result[key] for key in ("image_height", "image_width") if key in result}
        outlet_events[DATASET].extra = {"uri": result["uri"], "sha256": result["sha256"],
                                        "filename": result["filename"], **shape}
        print(f"published dataset version {result['sha256']} at {result['uri']}")
        return result

    ingest = step_operator(INGEST, **IO_RETRIES)
    wait_for_file >> ingest
    publish(ingest.output)


dataset_ingest()
