"""End to end: the ingest DAG, run by Airflow (``dag.test``), versions a new file and publishes one Asset event;
the same bytes again publish nothing, so the training DAG is not started twice for the same data.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from tests.support.dag_runs import run_dag
from tests.support.steps import run_step

pytestmark = [pytest.mark.e2e]


def run_ingest_dag() -> dict:
    return run_dag(None, {}, "dataset_ingest", 600)


def dataset_events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                 .where(AssetModel.name == "fashion_mnist_dataset").order_by(AssetEvent.id))
        return [{"extra": event.extra, "source_task_id": event.source_task_id}
                for event in session.scalars(query)]


def land(name: str) -> Path:
    """Drop a finished copy of the embedded dataset into the landing folder."""
    landing = Path(os.environ["PIPELINE_STATE_DIR"]) / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    target = landing / name
    assert run_step("make_dataset", "--output", str(target)).returncode == 0
    past = time.time() - 120
    os.utime(target, (past, past))
    return target


def test_a_new_file_is_versioned_and_published_once_and_the_same_bytes_again_publish_nothing(airflow_db):
    store = Path(os.environ["PIPELINE_STATE_DIR"]) / "datasets"
    digest = hashlib.sha256(land("digits.csv").read_bytes()).hexdigest()
    before = len(dataset_events())

    first = run_ingest_dag()

    assert first["returncode"] == 0 and first["state"] == "success", first
    assert first["tasks"] == {"wait_for_file": "success", "ingest": "success", "publish": "success"}
    stored = store / digest / "digits.csv"
    assert stored.is_file() and (store / digest / "manifest.json").is_file()
    events = dataset_events()
    assert len(events) == before + 1
    assert events[-1]["extra"]["uri"] == str(stored) and events[-1]["extra"]["sha256"] == digest
    assert events[-1]["source_task_id"] == "publish"

    land("digits-again.csv")
    second = run_ingest_dag()

    assert second["state"] == "success" and second["tasks"]["publish"] == "skipped", second
    assert len(dataset_events()) == before + 1
    assert sorted(p.name for p in store.iterdir() if p.is_dir()) == [digest]
